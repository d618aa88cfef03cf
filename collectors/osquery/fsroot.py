"""Reading the host, or a mounted evidence image, the way osquery reads ``/``.

With ``--root DIR`` every path a table reads (``/etc/passwd``, ``/var/lib/dpkg/status``,
the paths in a ``file`` constraint) is looked up under DIR, and every path it reports is
the path *on the image* (without DIR), so results read like osquery's on that machine.
Symbolic links inside the image are followed inside the image: ``/etc/alternatives/x ->
/usr/bin/x`` resolves to ``DIR/usr/bin/x``, never to the examiner's own ``/usr/bin/x``.
Every component of every path is resolved that way before the kernel sees it (a relative
link ``d/up -> ../../..`` or a ``..`` stops at DIR, as ``..`` stops at ``/``), so no table
reports a file of the examiner's machine as the image's; a link loop is skipped and noted.

Unreadable paths are skipped, as osquery skips them, and counted so the responder is
told results may be partial.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat as stat_mod
import time

_MAX_LINKS = 40


class FsRoot:
    """The filesystem a query reads: the host's ``/`` or an image mounted at ``root``."""

    def __init__(self, root: str | os.PathLike | None = None, *, deadline: float | None = None):
        self.root = os.path.abspath(os.fspath(root)) if root else None
        if self.root == "/":
            self.root = None
        self.unreadable = 0
        """Paths skipped because the effective user may not read them."""
        self.deadline = deadline
        self._dirs: dict[str, str] = {}
        self.loops: list[str] = []
        """Image paths skipped because resolving them met a symbolic link loop."""

    # -- paths -------------------------------------------------------------------------
    def host(self, image_path: str) -> str:
        """Where ``image_path`` lives on this machine (lexically; links not followed)."""
        if self.root is None:
            return image_path
        if "/." not in image_path and "//" not in image_path and image_path.startswith("/"):
            return self.root + image_path.rstrip("/") if image_path != "/" else self.root
        clean = posixpath.normpath("/" + image_path)
        if clean.startswith("//"):
            clean = clean[1:]
        return self.root if clean == "/" else self.root + clean

    def resolve(self, image_path: str) -> str:
        """The host path of ``image_path`` with symlinks followed *inside* the image."""
        if self.root is None:
            return image_path
        parts = posixpath.normpath("/" + image_path).split("/")[1:]
        parts.reverse()
        current = "/"
        links = 0
        while parts:
            name = parts.pop()
            if name in ("", "."):
                continue
            if name == "..":
                current = posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, name)
            host = self.root + candidate
            try:
                st = os.lstat(host)
            except OSError:
                rest = "/".join(reversed(parts))
                return self.host(posixpath.join(candidate, rest) if rest else candidate)
            if stat_mod.S_ISLNK(st.st_mode):
                links += 1
                if links > _MAX_LINKS:
                    if len(self.loops) < 100 and image_path not in self.loops:
                        self.loops.append(image_path)
                    raise OSError(errno.ELOOP, "too many levels of symbolic links", image_path)
                target = os.readlink(host)
                if target.startswith("/"):
                    current = "/"
                parts.extend(reversed(target.split("/")))
            else:
                current = candidate
        return self.host(current)

    # -- file system calls -------------------------------------------------------------
    def lstat(self, image_path: str) -> os.stat_result:
        """``lstat`` of the last component, every directory above it resolved inside the image."""
        if self.root is None:
            return os.lstat(image_path)
        clean = image_path
        if not clean.startswith("/") or "/." in clean or "//" in clean or clean.endswith("/"):
            clean = posixpath.normpath("/" + image_path)  # the common case (a walked path) skips this
        parent, _, name = clean.rpartition("/")
        if not name:
            return os.lstat(self.root)
        return os.lstat(self._resolved_dir(parent or "/") + name)

    def _resolved_dir(self, image_dir: str) -> str:
        """:meth:`resolve` of a directory with a trailing ``/``, remembered for the query (a walk lstat's every
        entry of one directory in turn; resolving its parent each time would cost a
        system call per path component per file)."""
        found = self._dirs.get(image_dir)
        if found is None:
            if len(self._dirs) >= 4096:
                self._dirs.clear()
            found = self._dirs[image_dir] = self.resolve(image_dir).rstrip("/") + "/"
        return found

    def stat(self, image_path: str) -> os.stat_result:
        """``stat`` following links (inside the image under --root)."""
        if self.root is None:
            return os.stat(image_path)
        return os.stat(self.resolve(image_path), follow_symlinks=False)

    def is_dir(self, image_path: str) -> bool:
        try:
            return stat_mod.S_ISDIR(self.stat(image_path).st_mode)
        except OSError:
            return False

    def exists(self, image_path: str) -> bool:
        """``lexists``: a dangling symlink exists."""
        try:
            self.lstat(image_path)
            return True
        except OSError:
            return False

    def scandir(self, image_dir: str):
        """``os.scandir`` of an image directory (raises OSError like os.scandir)."""
        return os.scandir(self.resolve(image_dir) if self.root else image_dir)

    def open(self, image_path: str, mode: str = "rb"):
        """Open for reading; under --root the resolved path is opened without following a
        link that appeared since it was resolved."""
        if self.root is None:
            return open(image_path, mode)
        fd = os.open(self.resolve(image_path), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        return os.fdopen(fd, mode)

    def read_text(self, image_path: str) -> str | None:
        """A small text file, or None when it is missing; unreadable ones are counted."""
        try:
            with self.open(image_path) as handle:
                return handle.read().decode("utf-8", "replace")
        except PermissionError:
            self.skip()
            return None
        except OSError:
            return None

    # -- bookkeeping -------------------------------------------------------------------
    def skip(self) -> None:
        """Count one path the effective user could not read."""
        self.unreadable += 1

    def loop(self, image_path: str) -> None:
        """Note a directory not entered again because a link led back into it."""
        if len(self.loops) < 100 and image_path not in self.loops:
            self.loops.append(image_path)

    def check_deadline(self) -> None:
        """Stop a long walk once the query's timeout has passed."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            from collectors.result import SourceError

            raise SourceError("osquery SQL did not finish within its timeout (built-in tables)")


def display(text: str) -> str:
    """A file name as valid text: bytes that are not UTF-8 become ``\\xNN`` escapes.

    Python keeps such bytes as lone surrogates, which SQLite cannot store; osquery
    escapes non-printable bytes in its output the same way.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
