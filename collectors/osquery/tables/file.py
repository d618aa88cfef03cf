"""``file`` and ``hash``: osquery's utility tables over paths and directories.

Follows osquery/tables/utility/file.cpp (genFileInfo, genFileImpl) and
specs/utility/file.table, specs/hash.table:

* ``path = X`` stats X; ``path LIKE P`` expands P with :func:`resolve_file_pattern`
  (files and directories); ``directory = D`` lists every entry of D (dotfiles included:
  a directory listing is not a pattern); ``directory LIKE P`` expands P to folders.
* lstat first; a path that cannot be lstat'ed gives no row. Links are followed for the
  stat columns (``symlink`` = 1); a dangling link keeps its own stat and type
  ``unknown`` (boost's status of a missing target).
* ``mode`` is four octal digits (osquery's lsperms), times are Unix seconds, ``btime``
  is 0: osquery's Linux build writes ``r["btime"] = "0"`` (no birth time on Linux).
* Directories matched by a pattern keep glob's trailing ``/``; as with boost's
  filesystem v3 their ``filename`` is ``.`` and their ``directory`` the path without it.
"""

from __future__ import annotations

import hashlib
import heapq
import stat as stat_mod
from typing import Any, Hashable, Iterable, Iterator, Sequence

from collectors.osquery.fsroot import FsRoot, display
from collectors.osquery.patterns import GLOB_ALL, GLOB_FILES, GLOB_FOLDERS, resolve_file_pattern
from collectors.osquery.vtable import Col, Constraints, Table

_TYPE_NAMES = {
    stat_mod.S_IFREG: "regular",
    stat_mod.S_IFDIR: "directory",
    stat_mod.S_IFLNK: "symlink",
    stat_mod.S_IFBLK: "block",
    stat_mod.S_IFCHR: "character",
    stat_mod.S_IFIFO: "fifo",
    stat_mod.S_IFSOCK: "socket",
}


def file_type(mode: int) -> str:
    """boost's file_type names as osquery's kTypeNames spells them."""
    return _TYPE_NAMES.get(stat_mod.S_IFMT(mode), "unknown")


def lsperms(mode: int) -> str:
    """osquery's ``lsperms``: setuid/setgid/sticky digit then rwx digits, e.g. ``0644``."""
    return f"{mode & 0o7777:04o}"


def boost_parts(path: str) -> tuple[str, str]:
    """(directory, filename) as boost::filesystem v3 splits ``path``."""
    if path == "/":
        return "", "/"
    if path.endswith("/"):
        return path.rstrip("/") or "/", "."
    head, _, tail = path.rpartition("/")
    return (head or "/"), tail


def join_dir(directory: str, name: str) -> str:
    """boost's ``dir / name``: no doubled separator."""
    return directory + name if directory.endswith("/") else f"{directory}/{name}"


def _stat_getter(field: str):
    return lambda row: getattr(row.st, field)


def _time_getter(field: str):
    return lambda row: int(getattr(row.st, field))


class FileRow:
    """One ``file`` row; columns are computed when SQLite asks for them."""

    __slots__ = ("path", "directory", "filename", "st", "symlink", "type")

    def __init__(self, path, directory, filename, st, symlink, type_):
        self.path, self.directory, self.filename = path, directory, filename
        self.st, self.symlink, self.type = st, symlink, type_

    def __getitem__(self, n: int) -> Any:
        return _FILE_COLUMNS[n](self)


_FILE_COLUMNS = (
    lambda r: r.path, lambda r: r.directory, lambda r: r.filename,
    _stat_getter("st_ino"), _stat_getter("st_uid"), _stat_getter("st_gid"),
    lambda r: lsperms(r.st.st_mode), _stat_getter("st_rdev"), _stat_getter("st_size"),
    _stat_getter("st_blksize"), _time_getter("st_atime"), _time_getter("st_mtime"),
    _time_getter("st_ctime"), lambda r: 0, _stat_getter("st_nlink"),
    lambda r: r.symlink, lambda r: r.type,
)


def stat_path(fs: FsRoot, path: str, directory: str, filename: str | None = None) -> FileRow | None:
    """genFileInfo: a row for ``path`` (an image path), or None if it cannot be lstat'ed.

    ``directory`` is used as given (already displayable); ``path`` and ``filename`` are
    made displayable here, after the file system calls that need the raw name.
    """
    try:
        link_st = fs.lstat(path)
    except PermissionError:
        fs.skip()
        return None
    except OSError:
        return None
    st = link_st
    symlink = 0
    kind = None
    if stat_mod.S_ISLNK(link_st.st_mode):
        symlink = 1
        try:
            st = fs.stat(path)
        except PermissionError:
            kind = "error"
        except OSError:
            kind = "unknown"
    if kind is None:
        kind = _TYPE_NAMES.get(stat_mod.S_IFMT(st.st_mode), "unknown")
    if filename is None:
        filename = boost_parts(path)[1]
    if not path.isascii():
        path, filename = display(path), display(filename)
    return FileRow(path, directory, filename, st, symlink, kind)


def expand_paths(fs: FsRoot, constraints: Constraints, column: str, limits: int) -> Iterator[str]:
    """EQUALS values plus LIKE patterns resolved to paths, sorted and unique (osquery's
    std::set), as a stream: the patterns are walked only as far as rows are asked for."""
    equals = sorted(set(constraints.equals(column)))
    streams: list[Iterable[str]] = [equals] if equals else []
    streams += [resolve_file_pattern(fs, pattern, limits) for pattern in constraints.like(column)]
    if len(streams) == 1:  # one pattern (or one list): already sorted and unique
        yield from streams[0]
        return
    last = None
    for path in heapq.merge(*streams):
        if path != last:
            yield path
        last = path


def listed_directory(fs: FsRoot, directory: str) -> list[tuple[str, str]]:
    """(path, name) of every entry in ``directory`` (dotfiles too); [] if unreadable."""
    try:
        with fs.scandir(directory) as entries:
            names = sorted(e.name for e in entries)
    except PermissionError:
        fs.skip()
        return []
    except OSError:
        return []
    return [(join_dir(directory, n), n) for n in names]


class FileTable(Table):
    name = "file"
    description = "Interactive filesystem attributes and metadata."
    columns = (
        Col("path", "TEXT", required=True, index=True),
        Col("directory", "TEXT", required=True),
        Col("filename", "TEXT"),
        Col("inode", "BIGINT"),
        Col("uid", "BIGINT"),
        Col("gid", "BIGINT"),
        Col("mode", "TEXT"),
        Col("device", "BIGINT"),
        Col("size", "BIGINT"),
        Col("block_size", "INTEGER"),
        Col("atime", "BIGINT"),
        Col("mtime", "BIGINT"),
        Col("ctime", "BIGINT"),
        Col("btime", "BIGINT"),
        Col("hard_links", "INTEGER"),
        Col("symlink", "INTEGER"),
        Col("type", "TEXT"),
    )

    def generate(self, constraints: Constraints) -> Iterable[FileRow]:
        fs = self.fs
        shown: dict[str, str] = {}
        for n, path in enumerate(expand_paths(fs, constraints, "path", GLOB_ALL)):
            if not n & 511:  # a huge folder is stat'ed entry by entry: the deadline holds there too
                fs.check_deadline()
            directory, filename = boost_parts(path)
            if directory not in shown:
                shown[directory] = display(directory)
            row = stat_path(fs, path, shown[directory], filename)
            if row is not None:
                yield row
        for directory in expand_paths(fs, constraints, "directory", GLOB_FOLDERS):
            if not fs.is_dir(directory):
                continue
            label = display(directory)
            for path, name in listed_directory(fs, directory):
                fs.check_deadline()
                row = stat_path(fs, path, label, name)
                if row is not None:
                    yield row

    def row_key(self, row: FileRow) -> Hashable:
        return row.path, row.directory


HASH_CHUNK = 1 << 20


def hash_file(fs: FsRoot, path: str) -> tuple[str, str, str] | None:
    """(md5, sha1, sha256) of a regular file, or None when it cannot be read."""
    md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
    try:
        with fs.open(path) as handle:
            while chunk := handle.read(HASH_CHUNK):
                md5.update(chunk)
                sha1.update(chunk)
                sha256.update(chunk)
                fs.check_deadline()
    except PermissionError:
        fs.skip()
        return None
    except OSError:
        return None
    return md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest()


class HashTable(Table):
    """osquery's ``hash``: only regular files are hashed (directories give no row)."""

    name = "hash"
    description = "Filesystem hash data."
    columns = (
        Col("path", "TEXT", required=True, index=True),
        Col("directory", "TEXT", required=True),
        Col("md5", "TEXT"),
        Col("sha1", "TEXT"),
        Col("sha256", "TEXT"),
    )

    def _row(self, path: str, directory: str):
        fs = self.fs
        try:
            if not stat_mod.S_ISREG(fs.stat(path).st_mode):
                return None
        except PermissionError:
            fs.skip()
            return None
        except OSError:
            return None
        digests = hash_file(fs, path)
        if digests is None:
            return None
        return (display(path), display(directory)) + digests

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        fs = self.fs
        for path in expand_paths(fs, constraints, "path", GLOB_FILES):
            row = self._row(path, boost_parts(path)[0])
            if row:
                yield row
        for directory in expand_paths(fs, constraints, "directory", GLOB_FOLDERS):
            for path, _ in listed_directory(fs, directory):
                row = self._row(path, directory)
                if row:
                    yield row

    def row_key(self, row: Sequence[Any]) -> Hashable:
        return (row[0], row[1])
