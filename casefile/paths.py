"""Where the case file is, and whether a file there may be opened as one.

Precedence: ``--case PATH``, else ``$HUNTBENCH_CASE``, else ``huntbench-case.db``
in the current directory. A file that is not SQLite is never handed to SQLite: the header
is sniffed first, so a mistyped ``--case notes.txt`` cannot be turned into a database.
"""

from __future__ import annotations

import os
from pathlib import Path

from casefile.errors import CaseError

DEFAULT_NAME = "huntbench-case.db"
ENV_VAR = "HUNTBENCH_CASE"
SQLITE_MAGIC = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file (sqlite.org/fileformat.html, 1.3)."""


def resolve_case_path(path: str | Path | None) -> Path:
    """``path`` if given, else ``$HUNTBENCH_CASE``, else ``./huntbench-case.db`` (absolute)."""
    chosen = path if path not in (None, "") else os.environ.get(ENV_VAR) or DEFAULT_NAME
    return Path(chosen).expanduser().absolute()


def check_file(path: Path, *, create: bool) -> bool:
    """Refuse what cannot be a case file; True when there is nothing there yet (new case).

    An empty file counts as new (``touch case.db``): there is nothing in it to lose.
    """
    if path.is_dir():
        raise CaseError(f"{path} is a folder, not a case file")
    if path.is_symlink() and not path.exists():
        raise CaseError(f"{path} is a symbolic link to {os.readlink(path)}, which does not exist; "
                        f"refusing to create a case file through it (give --case a real path)")
    if not path.exists():
        if not create:
            raise CaseError(f"no case file at {path} (tag a finding first, or give --case PATH)")
        if not path.parent.is_dir():
            raise CaseError(f"cannot create case file {path}: folder {path.parent} does not exist")
        if not os.access(path.parent, os.W_OK):
            raise CaseError(f"cannot create case file {path}: folder {path.parent} is read-only")
        return True
    try:
        with open(path, "rb") as handle:
            head = handle.read(100)
    except OSError as exc:
        raise CaseError(f"cannot read case file {path}: {exc.strerror or exc}") from None
    if not head:
        return True
    if not head.startswith(SQLITE_MAGIC) or len(head) < 100:
        raise CaseError(f"{path} is not a SQLite database, so not a huntbench case file; refusing to touch it")
    return False


def create_file(path: Path) -> None:
    """Create the empty file a new case starts from: mode 0600 (findings hold host names,
    command lines and notes), and never through a symbolic link or over an existing file,
    so a link planted at the default path cannot make huntbench write somewhere else.

    SQLite gives the ``-wal`` and ``-shm`` files the database file's mode, so they are
    private too. Another huntbench creating the same case at the same moment is fine: its
    file is opened as it is.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        if path.is_symlink():
            raise CaseError(f"{path} is a symbolic link; refusing to create a case file through it "
                            f"(give --case a real path)") from None
        return
    except OSError as exc:
        raise CaseError(f"cannot create case file {path}: {exc.strerror or exc}") from None
    os.close(fd)


def side_files_present(path: Path) -> bool:
    """True when SQLite's ``-wal`` and ``-shm`` files exist beside the case file (a writer
    has it open, or did without closing)."""
    return all(Path(f"{path}{end}").exists() for end in ("-wal", "-shm"))
