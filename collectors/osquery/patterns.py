"""osquery's file patterns: what ``path LIKE '/var/lib/dpkg/info/%'`` walks.

Follows osquery/filesystem/filesystem.cpp (``resolveFilePattern``, ``genGlobs``,
``replaceGlobWildcards``) and its POSIX ``platformGlob`` (glob(3) with GLOB_TILDE |
GLOB_MARK | GLOB_BRACE):

* ``%`` becomes glob's ``*``: one path level. ``_`` stays a literal underscore.
* A pattern ending in ``%%`` (``**``, optionally followed by ``/``) recurses: the glob is
  repeated with ``/**`` appended, one level deeper each time, until a level matches
  nothing (at most 64 levels).
* Wildcards never match names starting with ``.`` (glob(3) without GLOB_PERIOD), so
  dotfiles appear only when the pattern names the dot itself.
* Directories come back with a trailing ``/`` (GLOB_MARK); ``{a,b}`` alternatives expand.
* A missing directory matches nothing and is not an error; an unreadable one is skipped
  (and counted, see :class:`FsRoot`).
"""

from __future__ import annotations

import fnmatch
import heapq
import os
import posixpath
import re
from functools import lru_cache
from typing import Iterable, Iterator

from collectors.osquery.fsroot import FsRoot

MAX_RECURSIVE_GLOBS = 64
GLOB_FILES = 1
GLOB_FOLDERS = 2
GLOB_ALL = GLOB_FILES | GLOB_FOLDERS

_MAGIC = re.compile(r"[*?\[]")


def resolve_file_pattern(fs: FsRoot, pattern: str, limits: int = GLOB_ALL) -> Iterator[str]:
    """Image paths matching an osquery LIKE pattern (directories end with ``/``), sorted.

    Paths are returned as the file system spells them (names that are not UTF-8 keep
    their surrogate escapes) so they can be stat'ed; tables make them displayable.

    The walk is lazy and depth-first, each directory's entries in the order that makes the
    whole stream sorted (a directory sorts as ``name/``, as glob marks it): the results are
    those of osquery's level-by-level globs, in the order of its ``std::set``, but a LIMIT
    stops the walk early and memory does not grow with the number of paths.
    """
    path = pattern.replace("%", "*")
    if path.startswith("~") and fs.root is None:
        path = os.path.expanduser(path)
    if not path.startswith("/"):
        path = posixpath.join(os.getcwd() if fs.root is None else "/", path)
    wild = path.rfind("**")
    recursive = wild >= 0 and wild + 3 >= len(path)
    streams = [_glob_one(fs, alternative, recursive) for alternative in expand_braces(path)]
    hits = streams[0] if len(streams) == 1 else _unique(heapq.merge(*streams))
    if limits == GLOB_ALL:
        yield from hits
        return
    for hit in hits:
        if (limits & GLOB_FOLDERS) if hit.endswith("/") else (limits & GLOB_FILES):
            yield hit


def _unique(sorted_items: Iterable[str]) -> Iterator[str]:
    last = None
    for item in sorted_items:
        if item != last:
            yield item
        last = item


def expand_braces(pattern: str) -> list[str]:
    """glob(3)'s GLOB_BRACE: ``/etc/{passwd,group}`` -> both paths (nesting allowed)."""
    depth = 0
    start = -1
    commas: list[int] = []
    for i, ch in enumerate(pattern):
        if ch == "{":
            if depth == 0:
                start = i
                commas = []
            depth += 1
        elif ch == "," and depth == 1:
            commas.append(i)
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                bounds = [start] + commas + [i]
                head, tail = pattern[:start], pattern[i + 1:]
                out: list[str] = []
                for a, b in zip(bounds, bounds[1:]):
                    out.extend(expand_braces(head + pattern[a + 1:b] + tail))
                return out
    return [pattern]


@lru_cache(maxsize=256)
def _matcher(component: str):
    return re.compile(fnmatch.translate(component)).match


def _glob_one(fs: FsRoot, pattern: str, recursive: bool = False) -> Iterator[str]:
    """glob(3) of one brace-free pattern, as a sorted stream. ``recursive`` (the pattern
    ends in ``**``): below each directory matched, every level down to
    MAX_RECURSIVE_GLOBS, as osquery's repeated ``/**`` globs find them."""
    components = [c for c in pattern.split("/") if c]
    if not components:
        yield "/"
        return
    want_dirs_only = pattern.endswith("/")
    # Literal leading folders (``/var/lib/dpkg/info``) are one directory, not a walk: descend
    # them here so each row does not pass through a generator per level.
    directory, index = "/", 0
    while index < len(components) - 1 and not _MAGIC.search(components[index]):
        directory = directory.rstrip("/") + "/" + components[index]
        if not fs.is_dir(directory):
            return
        index += 1
    yield from _walk(fs, directory, components, index, want_dirs_only, recursive, ())


def _walk(fs: FsRoot, directory: str, components: list[str], index: int, dirs_only: bool,
          recursive: int | bool, seen: tuple) -> Iterator[str]:
    """Matches of ``components[index:]`` under image ``directory``, sorted."""
    fs.check_deadline()
    component = components[index]
    last = index == len(components) - 1
    prefix = directory if directory.endswith("/") else directory + "/"
    if not _MAGIC.search(component):
        candidate = prefix + component
        if not last:
            if fs.is_dir(candidate):
                yield from _walk(fs, candidate, components, index + 1, dirs_only, recursive, seen)
        elif fs.exists(candidate):
            is_dir = fs.is_dir(candidate)
            if is_dir or not dirs_only:
                yield candidate + "/" if is_dir else candidate
            if is_dir and recursive:
                yield from _below(fs, candidate, 1, seen)
        return
    match = _matcher(component)
    dot_ok = component.startswith(".")
    for name, image, is_dir in _listing(fs, prefix):
        if (name[0] == "." and not dot_ok) or not match(name):
            continue
        if not last:
            if is_dir:
                yield from _walk(fs, image, components, index + 1, dirs_only, recursive, seen)
            continue
        if is_dir or not dirs_only:
            # GLOB_MARK: a directory (or a link to one) gets a trailing slash.
            yield image + "/" if is_dir else image
        if is_dir and recursive:
            yield from _below(fs, image, 1, seen)


def _below(fs: FsRoot, directory: str, depth: int, seen: tuple) -> Iterator[str]:
    """Every non-dot entry below ``directory`` (a ``**`` level each), depth-first, sorted.

    A directory reached again through a link on the way down (a loop) is not entered
    twice; the query says so.
    """
    if depth >= MAX_RECURSIVE_GLOBS - 1:
        return
    if not seen:  # the directories above the first level count too: ``a/up -> ..`` is a loop
        parts = directory.rstrip("/").split("/")
        seen = tuple(_identity(fs, "/".join(parts[:i]) or "/") for i in range(1, len(parts)))
    identity = _identity(fs, directory)
    if identity is not None and identity in seen:
        fs.loop(directory)
        return
    seen = seen + (identity,)
    for name, image, is_dir in _listing(fs, directory + "/"):
        if name[0] == ".":
            continue
        yield image + "/" if is_dir else image
        if is_dir:
            yield from _below(fs, image, depth + 1, seen)


def _identity(fs: FsRoot, directory: str) -> tuple[int, int] | None:
    try:
        st = fs.stat(directory)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _listing(fs: FsRoot, prefix: str) -> list[tuple[str, str, bool]]:
    """(name, image path, is a directory) of a directory's entries, in sorted-stream order."""
    fs.check_deadline()
    try:
        with fs.scandir(prefix) as entries:
            listing = list(entries)
    except PermissionError:
        fs.skip()
        return []
    except OSError:
        return []
    out = []
    for entry in listing:
        image = prefix + entry.name
        out.append((entry.name, image, _entry_is_dir(fs, entry, image)))
    out.sort(key=lambda item: item[0] + "/" if item[2] else item[0])
    return out


def _entry_is_dir(fs: FsRoot, entry: os.DirEntry, image: str) -> bool:
    try:
        if entry.is_symlink():
            return fs.is_dir(image)
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
