"""What a query needs from a fresh export, so its first answer loads only that.

A responder's first query on a fresh export names one index pattern and a handful of
fields; loading every index and every field first makes them wait several times longer
than DuckDB over the raw file would. :func:`needs` reads the query (the engine's own
parser) for the ``FROM`` patterns and the fields it uses; :func:`may_hold` proves, per
file, whether it can hold documents of those indices. The narrow load that follows still
decides every loaded field's type and multi-valuedness from the whole file, so the answer
is the one a complete load gives; the complete load (and its cache) is built afterwards.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import mmap
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from collectors.offline import inputs
from collectors.offline.sql import lit

if TYPE_CHECKING:  # imported where used: collectors/offline/ahead.py's child runs without it
    import duckdb

DS = ("type", "dataset", "namespace")


@dataclass(frozen=True)
class Need:
    """The indices (``FROM`` patterns) and fields one query reads; ``fields`` None: all."""

    patterns: tuple[str, ...]
    fields: frozenset[str] | None

    def covers(self, other: "Need") -> bool:
        """Does a load made for ``self`` answer ``other`` exactly?"""
        if not set(other.patterns) <= set(self.patterns):
            return False
        if self.fields is None:
            return True
        return other.fields is not None and other.fields <= self.fields


def matches(pattern: str, name: str) -> bool:
    """Does index ``name`` match a ``FROM`` pattern (exact, or ``*`` as any characters; a
    wildcard matches hidden ``.``-names only when the pattern starts with ``.``)."""
    pattern = pattern.strip()
    if "*" not in pattern:
        return pattern == name
    regex = re.compile(".*".join(re.escape(p) for p in pattern.split("*")), re.DOTALL)
    return bool(regex.fullmatch(name)) and (pattern.startswith(".") or not name.startswith("."))


def needs(query: str) -> Need | None:
    """The query's needs, or None when it cannot be told (not a ``FROM`` query, or one
    that does not parse: the complete load then gives the usual answer or error)."""
    from collectors.esql import ast  # noqa: PLC0415  (the engine is imported on first use)
    from collectors.esql.parser import parse  # noqa: PLC0415

    try:
        tree = parse(query)
    except Exception:  # any parse failure: let the complete path report it
        return None
    if not tree.commands or not isinstance(tree.commands[0], ast.From):
        return None
    source = tree.commands[0]
    names: set[str] = set()
    narrowed = False  # does a command before the end choose the output columns?
    for cmd in tree.commands[1:]:
        if isinstance(cmd, (ast.Keep, ast.Drop)):
            if any("*" in p for p in cmd.patterns):
                return Need(tuple(source.indices), None)
            names.update(cmd.patterns)
            narrowed = narrowed or isinstance(cmd, ast.Keep)
        elif isinstance(cmd, ast.Rename):
            names.update(old for old, _ in cmd.pairs)
        elif isinstance(cmd, ast.MvExpand):
            names.add(cmd.field)
        elif isinstance(cmd, ast.Stats):
            narrowed = True
        names.update(_field_names(cmd))
        if narrowed:
            break  # later commands only see what KEEP / STATS produced
    return Need(tuple(source.indices), frozenset(names) if narrowed else None)


def _field_names(node: Any) -> Iterator[str]:
    """Every field named anywhere inside an AST node."""
    from collectors.esql import ast  # noqa: PLC0415

    if isinstance(node, ast.Field):
        yield node.name
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            yield from _field_names(getattr(node, f.name))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _field_names(item)


def named_by(path: Path, forced: str | None, patterns: tuple[str, ...]) -> bool | None:
    """Does ``path`` hold documents of an index matching ``patterns``, as far as its name (or
    the forced index) and its first document tell? True or False when that settles it (a
    forced index, or a name that matches); None when only a scan can prove it (see
    :func:`may_hold`)."""
    if forced:
        return any(matches(p, forced) for p in patterns)
    first = _first_line(path)
    if first is None:
        return True  # not NDJSON objects: only the complete load can tell
    if _any_match({inputs.stem(path)} | _names_in(first), patterns):
        return True
    return None


def may_hold(con: duckdb.DuckDBPyConnection, path: Path, forced: str | None, patterns: tuple[str, ...]) -> bool:
    """Can ``path`` hold a document of an index matching ``patterns``? False only when proven.

    A document's index is its ``_index`` (hit dumps), its ``data_stream`` name or the file's
    name: the first line is checked first (the usual case: the file holds the index), then
    the file's bytes (:func:`_bytes_may_name`, which settles most files), then a scan reading
    only those keys proves the whole file. Anything unexpected (a malformed
    line, a ``data_stream`` that is not an object, a whole-JSON file) counts as "may hold"."""
    quick = named_by(path, forced, patterns)
    if quick is not None:
        return quick
    if not any(_told_or_searched(path, p) for p in patterns):
        return False
    ds = "STRUCT(type VARCHAR, dataset VARCHAR, namespace VARCHAR)"
    dotted = ", ".join(f'"data_stream.{k}" VARCHAR' for k in DS)
    columns = "{" + ", ".join([
        "'_index': 'VARCHAR'", f"'data_stream': '{ds}'", f"'_source': 'STRUCT(data_stream {ds}, {dotted})'",
        *(f"'data_stream.{k}': 'VARCHAR'" for k in DS),
    ]) + "}"

    def concat(parts: list[str]) -> str:
        return " || '-' || ".join(parts)

    candidates = [
        "_index",
        concat([f"data_stream.{k}" for k in DS]),
        concat([f"_source.data_stream.{k}" for k in DS]),
        concat([f'"data_stream.{k}"' for k in DS]),
        concat([f'_source."data_stream.{k}"' for k in DS]),
    ]
    sql = (
        f"SELECT DISTINCT unnest([{', '.join(candidates)}]) "
        f"FROM read_json({lit(str(path))}, format='newline_delimited', columns={columns})"
    )
    import duckdb

    try:
        found = {r[0] for r in con.execute(sql).fetchall() if r[0] is not None}
    except duckdb.InterruptException:
        raise
    except duckdb.Error:
        return True
    return _any_match({inputs.stem(path)} | found, patterns)


class Proofs:
    """Proves, in a second thread, which files can hold a query's indices, while the first
    thread loads the files that surely do (a context manager).

    Type detection, the first step of every load, runs on one core; the proof scans read
    only the keys naming an index and fill the other. The scans run on their own cursor, so
    leaving the block early (an error, Esc) interrupts them and waits for the thread."""

    def __init__(self, con: duckdb.DuckDBPyConnection, files: list[tuple[Path, str | None]],
                 patterns: tuple[str, ...], connected: Callable[[duckdb.DuckDBPyConnection], None] | None = None):
        self._files = files
        self._patterns = patterns
        self._cursor = con.cursor() if files else None
        if self._cursor is not None and connected is not None:
            connected(self._cursor)  # so that Esc interrupts the proofs too
        self._results: dict[int, bool | BaseException] = {}
        self._done = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="huntbench-proofs", daemon=True)

    def __enter__(self) -> "Proofs":
        if self._files:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._cursor is None:
            return
        if self._thread.is_alive():
            self._cursor.interrupt()
            stop_ahead()  # a proof waiting for the child's answer stops waiting
            self._thread.join()
        self._cursor.close()

    def holds(self, n: int) -> bool:
        """The proof for ``files[n]`` (waits for it); a scan's error is raised here."""
        with self._done:
            self._done.wait_for(lambda: n in self._results)
            result = self._results[n]
        if isinstance(result, BaseException):
            raise result
        return result

    def _run(self) -> None:
        assert self._cursor is not None
        for n, (path, forced) in enumerate(self._files):
            result: bool | BaseException
            try:
                result = may_hold(self._cursor, path, forced, self._patterns)
            except BaseException as exc:  # handed to the loading thread in holds()
                result = exc
            with self._done:
                self._results[n] = result
                self._done.notify_all()
            if isinstance(result, BaseException):  # the others are not proven: all raise it
                with self._done:
                    self._results.update({rest: result for rest in range(n + 1, len(self._files))})
                    self._done.notify_all()
                return


NUMBER_TEXT = set("0123456789+-.eE")
SCALAR_WORDS = ("true", "false", "null", "infinity", "nan")


def _told_or_searched(path: Path, pattern: str) -> bool:
    """:func:`_bytes_may_name`, or its answer from the search made ahead (:class:`Ahead`)."""
    told = told_ahead(path, pattern)
    return _bytes_may_name(path, pattern) if told is None else told


def _bytes_may_name(path: Path, pattern: str) -> bool:
    """Can any document of ``path`` name an index matching ``pattern``, as far as its bytes
    tell? False only when proven; costs one substring search over the file (memchr speed,
    several times faster than the JSON scan of :func:`may_hold`).

    Why it is a proof: an index name is the ``_index`` text or the ``data_stream`` parts
    joined with ``-``. A piece of the pattern holding neither ``*`` nor ``-`` cannot span two
    parts, so it lies inside one JSON string of the file. That string's bytes hold the piece
    literally unless an escape spells one of its characters (``\\uXXXX``; the short escapes
    only spell punctuation and controls, excluded below). Numbers and words like ``true``
    can be read as text too, so a piece they could spell proves nothing."""
    if path.name.lower().endswith(".gz"):
        return True  # reading it costs as much as the scan
    pieces = [piece for part in pattern.split("*") for piece in part.split("-")]
    pieces = [p for p in pieces if p and p.isascii() and p.isprintable() and not set(p) & set('"\\/')
              and not set(p) <= NUMBER_TEXT and not any(p.lower() in w for w in SCALAR_WORDS)]
    if not pieces:
        return True
    piece = max(pieces, key=len)
    hex_codes = sorted({f"{ord(c):02{case}}".encode() for c in piece for case in "xX"})
    escapes = re.compile(rb"\\u00(?:" + b"|".join(hex_codes) + rb")")  # ASCII only: \u00XX
    literal = piece.encode()
    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            # Slice by slice: a search holds the GIL, and the load beside it needs it too.
            for start in range(0, len(data), PROOF_SLICE):
                end = min(start + PROOF_SLICE + len(literal), len(data))  # a piece may straddle two
                if data.find(literal, start, end) >= 0 or escapes.search(data, start, min(end + 6, len(data))):
                    return True
            return False
    except (OSError, ValueError):  # unreadable, empty (mmap refuses it) ...: let the scan decide
        return True


PROOF_SLICE = 8 << 20
"""Bytes searched at a time by :func:`_bytes_may_name` (a few milliseconds of GIL)."""


def _any_match(names: set[str], patterns: tuple[str, ...]) -> bool:
    return any(matches(p, n) for p in patterns for n in names)


def _first_line(path: Path) -> dict | None:
    """The first document of an NDJSON file, or None (not NDJSON, or not an object)."""
    try:
        if inputs.sniff(path) != "ndjson":
            return None
        with inputs.open_text(path) as fh:
            for line in fh:
                if line.strip():
                    value = json.loads(line)
                    return value if isinstance(value, dict) else None
    except (ValueError, OSError, EOFError):
        return None
    except Exception:  # e.g. a SourceError from sniffing an unreadable file
        return None
    return None


def _names_in(doc: dict) -> set[str]:
    out = set()
    if isinstance(doc.get("_index"), str):
        out.add(doc["_index"])
    for holder in (doc, doc.get("_source")):
        if isinstance(holder, dict):
            ds = holder.get("data_stream")
            if isinstance(ds, dict) and all(isinstance(ds.get(k), str) for k in DS):
                out.add("-".join(ds[k] for k in DS))
            flat = [holder.get(f"data_stream.{k}") for k in DS]
            if all(isinstance(v, str) for v in flat):
                out.add("-".join(flat))  # type: ignore[arg-type]
    return out


# Proofs searched ahead, by a child process started before the workbench's first frame
# (collectors/offline/ahead.py explains why a process).

AheadKey = tuple[str, tuple[int, ...], str]
"""(file, :func:`inputs.file_identity`, pattern)."""

AHEAD_WAIT = 10.0
"""Most seconds the load waits for an answer still coming (a stalled child: it then searches itself)."""


class Ahead:
    """One child process searching ahead, and the answers it has printed so far."""

    def __init__(self, specs: list[tuple[str, str | None]], query: str) -> None:
        arg = json.dumps({"specs": specs, "query": query})
        self._proc = subprocess.Popen(  # -P: never import from the working directory (an export's folder)
            [sys.executable, "-P", "-m", "collectors.offline.ahead", arg],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True,
        )
        self._planned: set[tuple[str, str]] | None = None
        self._answered: set[tuple[str, str]] = set()
        self._answers: dict[AheadKey, bool] = {}
        self._finished = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, name="huntbench-ahead", daemon=True).start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        try:
            for line in self._proc.stdout:
                try:
                    record = json.loads(line)
                    if "plan" in record:
                        planned = {(str(path), str(pattern)) for path, pattern in record["plan"]}
                        with self._changed:
                            self._planned = planned
                            self._changed.notify_all()
                        continue
                    pair = (str(record["path"]), str(record["pattern"]))
                    identity = tuple(int(n) for n in record["file"]) if record["file"] is not None else None
                    may = record["may"]
                except (ValueError, KeyError, TypeError):
                    continue
                with self._changed:
                    self._answered.add(pair)
                    if identity is not None and isinstance(may, bool):
                        self._answers[(pair[0], identity, pair[1])] = may
                    self._changed.notify_all()
        finally:
            self._proc.stdout.close()
            self._proc.wait()
            with self._changed:
                self._finished = True
                self._changed.notify_all()

    def told(self, path: Path, pattern: str) -> bool | None:
        """The child's answer for ``path`` as it is now and ``pattern``, waiting (up to
        :data:`AHEAD_WAIT`) while it is planned and still coming; None when there is none
        (search here)."""
        pair = (str(path), pattern)

        def settled() -> bool:
            if pair in self._answered or self._finished:
                return True
            return self._planned is not None and pair not in self._planned

        with self._changed:
            self._changed.wait_for(settled, timeout=AHEAD_WAIT)
        try:
            identity = inputs.file_identity(path)
        except OSError:
            return None
        with self._changed:
            return self._answers.get((pair[0], identity, pattern))

    def stop(self) -> None:
        """End the child (its answers are no longer wanted)."""
        if self._proc.poll() is None:
            self._proc.kill()


_running: Ahead | None = None
_lock = threading.Lock()


def start_ahead(specs: list[tuple[str, str | None]], query: str) -> None:
    """Start searching ahead for ``query`` over ``specs`` ((path, forced index) each); once."""
    global _running
    with _lock:
        if _running is None:
            try:
                _running = Ahead(specs, query)
            except OSError:
                return
            atexit.register(_running.stop)


def told_ahead(path: Path, pattern: str) -> bool | None:
    """What the search ahead found for ``path`` and ``pattern``, if it was asked (see :meth:`Ahead.told`)."""
    running = _running
    return running.told(path, pattern) if running is not None else None


def stop_ahead() -> None:
    """No more proofs are wanted (the complete catalog is open)."""
    if _running is not None:
        _running.stop()
