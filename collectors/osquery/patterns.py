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
import os
import posixpath
import re
from functools import lru_cache

from collectors.osquery.fsroot import FsRoot

MAX_RECURSIVE_GLOBS = 64
GLOB_FILES = 1
GLOB_FOLDERS = 2
GLOB_ALL = GLOB_FILES | GLOB_FOLDERS

_MAGIC = re.compile(r"[*?\[]")


def resolve_file_pattern(fs: FsRoot, pattern: str, limits: int = GLOB_ALL) -> list[str]:
    """Image paths matching an osquery LIKE pattern (directories end with ``/``).

    Paths are returned as the file system spells them (names that are not UTF-8 keep
    their surrogate escapes) so they can be stat'ed; tables make them displayable.
    """
    path = pattern.replace("%", "*")
    if path.startswith("~") and fs.root is None:
        path = os.path.expanduser(path)
    if not path.startswith("/"):
        path = posixpath.join(os.getcwd() if fs.root is None else "/", path)
    results: list[str] = []
    for _ in range(1, MAX_RECURSIVE_GLOBS):
        found = _glob(fs, path)
        results.extend(found)
        wild = path.rfind("**")
        if not found or wild < 0 or wild + 3 < len(path):
            break
        path += "/**"
        fs.check_deadline()
    keep = []
    for hit in results:
        is_folder = hit.endswith("/")
        if (is_folder and limits & GLOB_FOLDERS) or (not is_folder and limits & GLOB_FILES):
            keep.append(hit)
    return keep


def _glob(fs: FsRoot, pattern: str) -> list[str]:
    out: list[str] = []
    for alternative in expand_braces(pattern):
        out.extend(sorted(_glob_one(fs, alternative)))
    return out


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


def _glob_one(fs: FsRoot, pattern: str) -> list[str]:
    components = [c for c in pattern.split("/") if c]
    want_dirs_only = pattern.endswith("/") and bool(components)
    current = ["/"]
    last_index = len(components) - 1
    for index, component in enumerate(components):
        last = index == last_index
        found: list[str] = []
        if not _MAGIC.search(component):
            for directory in current:
                candidate = posixpath.join(directory, component)
                if not last:
                    if fs.is_dir(candidate):
                        found.append(candidate)
                elif fs.exists(candidate):
                    found.append(candidate + "/" if fs.is_dir(candidate) else candidate)
        else:
            match = _matcher(component)
            dot_ok = component.startswith(".")
            for directory in current:
                try:
                    with fs.scandir(directory) as entries:
                        listing = list(entries)
                except PermissionError:
                    fs.skip()
                    continue
                except OSError:
                    continue
                prefix = directory if directory.endswith("/") else directory + "/"
                for entry in listing:
                    name = entry.name
                    if (name[0] == "." and not dot_ok) or not match(name):
                        continue
                    image = prefix + name
                    if last:
                        # GLOB_MARK: a directory (or a link to one) gets a trailing slash.
                        try:
                            if entry.is_dir(follow_symlinks=False) or (entry.is_symlink() and fs.is_dir(image)):
                                image += "/"
                        except OSError:
                            pass
                        found.append(image)
                    elif _entry_is_dir(fs, entry, image):
                        found.append(image)
        current = found
        if not current:
            return []
    if not components:
        return ["/"]
    marked = current
    if want_dirs_only:
        marked = [p for p in marked if p.endswith("/")]
    return marked


def _entry_is_dir(fs: FsRoot, entry: os.DirEntry, image: str) -> bool:
    try:
        if entry.is_symlink():
            return fs.is_dir(image)
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
