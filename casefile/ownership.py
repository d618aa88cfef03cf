"""Whose file a case write goes into: only yours.

A case file holds host names, command lines and notes. In a folder others can write (a
shared working directory, ``/tmp``) another user can put something at the case path
before the responder runs huntbench: a symbolic link to a case of theirs, their own case
made writable for everyone, an empty file, or a ``-wal`` beside the responder's case.
Writing would then hand the findings to that user. So a command that writes a case
(tagging in the workbench or the CLI, ``case note``, ``case untag``, ``case info --name``,
a schema upgrade) first claims the file:

- every symbolic link at the path (the last component, link after link) is yours;
- the file it leads to is a regular file that is yours;
- the side files SQLite writes beside it (``-wal``, ``-shm``, ``-journal``), where they
  exist, are regular files that are yours.

"Yours" is the effective user id. Root gets no exception for other users' files (a file
planted for root to write into is the worst case of all), with one: root running under
``sudo`` may write the case of the user who ran sudo (``$SUDO_UID``), which is that
user's own case, opened with root's rights to read what needs root; SQLite gives the side
files it creates the case file's owner, so that user is not locked out afterwards.

Reading commands do not claim: reading a colleague's case is legitimate, and they open it
read-only (see ``casefile.store._connect_readonly``). The claim is checked again once
SQLite has the file open, so a file swapped in between is refused too.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from casefile.errors import CaseError

SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
"""The files SQLite writes beside a database: the write-ahead log, its index, and the
rollback journal (used before a new case is switched to WAL)."""

_MAX_LINKS = 40  # the kernel's own limit on links followed while resolving one path


@dataclass(frozen=True)
class Claim:
    """A case file checked to be yours: ``real`` is what SQLite is given (no link left in
    it, so its side files are looked for where SQLite puts them)."""

    given: Path
    real: Path
    device: int
    inode: int


def _me() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def _trusted(uid: int, me: int) -> bool:
    """Yours, or (root under sudo) the sudo user's."""
    if uid == me:
        return True
    if me == 0:
        sudo = os.environ.get("SUDO_UID", "")
        return sudo.isdigit() and int(sudo) == uid
    return False


def user_name(uid: int) -> str:
    """``nobody (uid 65534)``: the name, when the system knows it, and the number."""
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def claim(path: Path) -> Claim:
    """Check that writing the case at ``path`` writes only into your files; the claim to
    :func:`confirm` once SQLite has it open. Raises :class:`CaseError` naming the path,
    its owner and what to do."""
    me = _me()
    if me is None:  # no user ids on this platform: nothing to compare
        return Claim(path, path, 0, 0)
    current = path
    for _ in range(_MAX_LINKS):
        info = _lstat(current, path)
        if not stat.S_ISLNK(info.st_mode):
            break
        if not _trusted(info.st_uid, me):
            raise CaseError(f"{current} is a symbolic link owned by {user_name(info.st_uid)}, not by you; "
                            f"refusing to write a case through it (give --case a case file of your own)")
        current = current.parent / os.readlink(current)
    else:
        raise CaseError(f"{path}: too many symbolic links; give --case the case file itself")
    real = Path(os.path.realpath(current))
    info = _lstat(real, path)
    _check_owned(real, info, me, path)
    _check_side_files(real, me)
    return Claim(path, real, info.st_dev, info.st_ino)


def confirm(held: Claim) -> None:
    """Check again, with SQLite's files open, that the case and its side files are yours
    and the case is the very file :func:`claim` checked (not one swapped in meanwhile)."""
    me = _me()
    if me is None:
        return
    info = _lstat(held.real, held.given)
    if (info.st_dev, info.st_ino) != (held.device, held.inode):
        raise CaseError(f"case file {held.given} was replaced by another file while being opened; "
                        f"refusing to write it (keep cases in a folder only you can write)")
    _check_owned(held.real, info, me, held.given)
    _check_side_files(held.real, me)


def _lstat(path: Path, given: Path) -> os.stat_result:
    try:
        return os.lstat(path)
    except OSError as exc:
        raise CaseError(f"cannot open case file {given}: {path}: {exc.strerror or exc}") from None


def _check_owned(real: Path, info: os.stat_result, me: int, given: Path) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise CaseError(f"case file {real} is not a regular file; refusing to write a case into it")
    if not _trusted(info.st_uid, me):
        via = f" ({given} leads to it)" if given != real else ""
        raise CaseError(f"case file {real}{via} belongs to {user_name(info.st_uid)}, not to you; refusing "
                        f"to write your findings into it (give --case a case file of your own; case list, "
                        f"show and export can still read this one)")


def _check_side_files(real: Path, me: int) -> None:
    for suffix in SIDE_SUFFIXES:
        side = Path(f"{real}{suffix}")
        try:
            info = os.lstat(side)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise CaseError(f"cannot check {side} beside case file {real}: {exc.strerror or exc}") from None
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
            raise CaseError(f"{side} beside case file {real} is not a regular file; refusing to write the "
                            f"case (SQLite would write findings into it): remove it, or give --case a "
                            f"case file of your own")
        if not _trusted(info.st_uid, me):
            raise CaseError(f"{side} beside case file {real} belongs to {user_name(info.st_uid)}, not to "
                            f"you; refusing to write the case (SQLite would write findings into it): "
                            f"remove it, or give --case a case file of your own")
