"""The on-disk cache that makes reopening a large export take seconds.

A loaded export is kept as a DuckDB database file in the XDG cache directory
(``platformdirs.user_cache_dir("huntbench")/offline``, or ``$HUNTBENCH_CACHE_DIR``), named
by a hash of: the loader's format version, the resolved path, every file's size, mtime,
inode, ctime and a hash of its first and last blocks, the forced index and the mappings. A changed file gets a new key, so a stale cache
is never read; an unreadable or half-written cache file is deleted and rebuilt silently.
Files are written under a temporary name (in a background thread, so the data is usable
at once) and renamed into place, so an interrupted load leaves no cache behind; writing a
new version of an export's cache deletes the older one.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import threading
import time
import uuid
import weakref
from pathlib import Path

import duckdb

from collectors.offline import inputs
from collectors.offline.build import Built, Part
from collectors.offline.sql import ident, lit
from collectors.private import user_cache_root

FORMAT_VERSION = 4
"""Bump whenever the tables the loader writes change shape or meaning."""

CACHE_MIN_BYTES = int(os.environ.get("HUNTBENCH_CACHE_MIN_BYTES", str(4 << 20)))
"""Inputs smaller than this load in well under a second and are not cached."""


def wanted(files: list[Path], size: int) -> bool:
    """Is this input worth a cache file? Big exports, and the bundled sample: its files never
    change within an install and the TUI opens it at every launch, where a cache hit skips
    the JSON parse (about 1 s of the launch)."""
    if size >= CACHE_MIN_BYTES:
        return True
    import sample_data  # noqa: PLC0415  (only needed for small inputs)

    bundled = sample_data.folder().resolve()
    return bool(files) and all(f.resolve().is_relative_to(bundled) for f in files)


def cache_dir() -> Path:
    env = os.environ.get("HUNTBENCH_CACHE_DIR")
    return Path(env) if env else user_cache_root() / "offline"


def cache_key(files: list[Path], forced: str | None, mappings: dict) -> str:
    """``{inputs}-{version}``: the first half names the inputs (so an older cache of the same
    export can be found and deleted), the second covers what changes with their content.

    Each file's :func:`inputs.file_identity` (not just size and mtime: an edit that keeps the
    size, followed by ``touch -r``, would bring the old answer back) and a hash of its first
    and last blocks are part of the key."""
    stats = []
    for f in files:
        identity = inputs.file_identity(f)
        stats.append([str(f.resolve()), *identity, _ends_digest(f, size=identity[2])])
    names = json.dumps({"files": [s[0] for s in stats], "index": forced}, sort_keys=True)
    blob = json.dumps(
        {"v": FORMAT_VERSION, "files": stats, "index": forced, "mappings": mappings},
        sort_keys=True, default=str,
    )
    return f"{_digest(names, 16)}-{_digest(blob, 24)}"


ENDS_BYTES = 1 << 16


def _ends_digest(path: Path, size: int) -> str:
    """A hash of the file's first and last 64 KiB: cheap, and catches most edits even where
    the file system's times cannot be trusted."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            h.update(fh.read(ENDS_BYTES))
            if size > ENDS_BYTES:
                fh.seek(max(ENDS_BYTES, size - ENDS_BYTES))
                h.update(fh.read(ENDS_BYTES))
    except OSError:
        return ""
    return h.hexdigest()[:16]


def replaced(key: str) -> bool:
    """Is there a cache of the same inputs under another key (their files changed)?"""
    prefix = key.split("-")[0]
    return any(p.name != f"{key}.duckdb" for p in cache_dir().glob(f"{prefix}-*.duckdb"))


def _digest(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def lookup(con: duckdb.DuckDBPyConnection, alias: str, key: str) -> Built | None:
    """The cached load for ``key`` attached as ``alias``, or None (a bad file is removed)."""
    path = cache_dir() / f"{key}.duckdb"
    if not path.exists():
        return None
    built = _attach(con, alias, path, key)
    if built is None:
        _remove(path)
    return built


class Writer:
    """Copies freshly loaded tables into the cache in a background thread.

    The catalog is usable at once; the copy (DuckDB compresses while it writes) only has
    to finish before the process exits, which :func:`wait_all` (run at exit) ensures."""

    def __init__(self, con: duckdb.DuckDBPyConnection, key: str, schema: str, built: Built):
        self._cursor = con.cursor()
        self.key = key
        self.schema = schema
        self.built = Built(list(built.parts), list(built.problems))
        self.thread = threading.Thread(target=self._run, name=f"huntbench-cache-{key[:8]}", daemon=True)
        _PENDING.add(self)
        self.thread.start()

    def wait(self) -> None:
        self.thread.join()

    def _run(self) -> None:
        folder = cache_dir()
        tmp = folder / f"{self.key}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        alias = ident(f"hb_write_{uuid.uuid4().hex[:8]}")
        cur = self._cursor
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # data from the export: yours only
            _sweep(folder)
            cur.execute(f"ATTACH {lit(str(tmp))} AS {alias}")
            tables: list[str] = []
            for part in self.built.parts:
                bare = part.table[len(self.schema) + 1:]
                if bare not in tables:
                    tables.append(bare)
                    cur.execute(f"CREATE TABLE {alias}.main.{bare} AS SELECT * FROM {part.table}")
            meta = {
                "version": FORMAT_VERSION,
                "key": self.key,
                "parts": [{**p.to_json(), "table": p.table[len(self.schema) + 1:]} for p in self.built.parts],
                "problems": self.built.problems,
            }
            cur.execute(f"CREATE TABLE {alias}.main._hb_meta (meta VARCHAR)")
            cur.execute(f"INSERT INTO {alias}.main._hb_meta VALUES (?)", [json.dumps(meta)])
            cur.execute(f"DETACH {alias}")
            final = folder / f"{self.key}.duckdb"
            os.replace(tmp, final)
            prefix = self.key.split("-")[0]
            for older in folder.glob(f"{prefix}-*.duckdb"):
                if older != final:  # an earlier version of the same export
                    _remove(older)
        except Exception:  # a cache is an optimisation: never fail the user's work over it
            try:
                cur.execute(f"DETACH DATABASE IF EXISTS {alias}")
            except Exception:
                pass
            _remove(tmp)
            _remove(Path(str(tmp) + ".wal"))
        finally:
            try:
                cur.close()
            except Exception:
                pass
            _PENDING.discard(self)


_PENDING: "weakref.WeakSet[Writer]" = weakref.WeakSet()


def wait_all() -> None:
    """Finish every cache being written (registered to run at interpreter exit)."""
    for writer in list(_PENDING):
        writer.wait()


atexit.register(wait_all)


def _sweep(folder: Path) -> None:
    """Remove temporary files an interrupted writer left behind a day ago or more."""
    cutoff = time.time() - 86400
    for stale in folder.glob("*.tmp*"):
        try:
            if stale.stat().st_mtime < cutoff:
                stale.unlink()
        except OSError:
            pass


def _attach(con: duckdb.DuckDBPyConnection, alias: str, path: Path, key: str) -> Built | None:
    try:
        con.execute(f"ATTACH {lit(str(path))} AS {ident(alias)} (READ_ONLY)")
    except duckdb.Error:
        return None
    try:
        row = con.execute(f"SELECT meta FROM {ident(alias)}.main._hb_meta").fetchone()
        if row is None:
            raise ValueError("no cache metadata")
        meta = json.loads(row[0])
        if meta.get("version") != FORMAT_VERSION or meta.get("key") != key:
            raise ValueError("stale cache")
        parts = [Part.from_json(p, f"{ident(alias)}.main.{p['table']}") for p in meta["parts"]]
        for part in parts:  # every table must be there and readable
            con.execute(f"SELECT * FROM {part.table} LIMIT 0")
        return Built(parts, list(meta.get("problems", [])))
    except (duckdb.Error, ValueError, KeyError, TypeError, IndexError):
        try:
            con.execute(f"DETACH {ident(alias)}")
        except duckdb.Error:
            pass
        return None


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
