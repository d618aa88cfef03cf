"""Files with too many distinct fields: keep the frequent ones, fold the rare ones.

A DuckDB table holds one column per field, and each column costs memory for every row
group whether it has values or not: 10,000 documents that each carry a key of their own
(random keys, one-off labels, keys that are really values) make a 10,000-column table and
exhaust the memory limit. Elasticsearch refuses such data (its
``index.mapping.total_fields.limit`` is 1,000 by default); offline the file still loads:

* :func:`head_too_wide` looks at the file's first 64 KiB (milliseconds), and
  :func:`too_wide` at the types DuckDB's detection returned anyway, so ordinary files pay
  no extra pass;
* only a file found too wide is read by :func:`fold`, twice, one document at a time (in
  Python: DuckDB's ``json_tree`` needs memory quadratic in a document's width, the very
  case at hand). It counts in how many documents each field has a value, keeps the most
  frequent fields (at most :data:`MAX_FIELDS`, none rarer than :data:`RARE_SHARE`) and
  writes a copy of the file where each document holds its kept fields and :data:`FOLDED`:
  the others as one JSON object text (``{"dotted.name": value}``), a keyword much like
  what Elasticsearch's ``flattened`` type indexes;
* the loader loads that copy as usual; the folded names stay with the index (and its
  cache), so a query naming one is told where it went instead of "Unknown column".

A "unit" below is what is kept or folded whole: a field reached through objects only (an
array, with all it holds, is one unit; so is a key that is an object in some documents and
a value in others).
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import duckdb

MAX_FIELDS = 1000
"""Most fields one file may load as columns; past it the rarest are folded into
:data:`FOLDED`. Elasticsearch's default ``index.mapping.total_fields.limit``, and the width
at which a load's memory stays well inside the catalog's limit: with one column per
distinct field, 3,000 sparse fields over 3,000 documents already take ~400 MB and 10,000
exhaust 1 GB."""

RARE_SHARE = 0.001
"""Past :data:`MAX_FIELDS`, a field with values in fewer than this share of the file's
documents is folded even when the bound leaves room: a column costs memory for every row,
with values or not, so a thousand one-off columns over 100,000 documents would cost
~900 MB and defeat the folding. (A file of few documents keeps as many as fit.)"""

FOLDED = "_folded"
"""The column holding each document's folded fields as one JSON object text."""


@dataclass(frozen=True)
class Folding:
    """What was folded out of one file (kept with the index, and in its cache)."""

    label: str  # the file, as problems name it
    column: str  # where the folded fields' values are
    fields: tuple[str, ...]  # dotted names, sorted

    def warning(self) -> str:
        return (f"{self.label}: {len(self.fields):,} rare field{'s' if len(self.fields) != 1 else ''} folded "
                f"into [{self.column}] (more than {MAX_FIELDS:,} distinct fields)")

    def explain(self, name: str) -> str | None:
        """Why the query cannot find field ``name``, when it was folded here (or lies under
        a folded array or object)."""
        parts = name.split(".")
        if not any(".".join(parts[:i]) in self._names for i in range(1, len(parts) + 1)):
            return None
        return (f"field [{name}] was folded into [{self.column}] because {self.label} has more than "
                f"{MAX_FIELDS:,} distinct fields; its values are in the JSON text of [{self.column}]")

    @cached_property
    def _names(self) -> frozenset[str]:
        return frozenset(self.fields)

    def to_json(self) -> dict:
        return {"label": self.label, "column": self.column, "fields": list(self.fields)}

    @classmethod
    def from_json(cls, value: dict | None) -> "Folding | None":
        if not value:
            return None
        return cls(str(value["label"]), str(value["column"]), tuple(str(f) for f in value["fields"]))


def is_hit_dump(types: dict) -> bool:
    """A dump of search hits: fields live below ``_source`` (index and id beside it)."""
    return "_source" in types and (types["_source"].id == "struct" or str(types["_source"]) == "JSON")


def too_wide(types: dict) -> bool:
    """Do DuckDB's detected types hold more than :data:`MAX_FIELDS` leaf fields? Walks the
    type tree only (never the documents)."""
    count = 0
    stack = list(types.values())
    while stack:
        typ = stack.pop()
        if typ.id == "struct":
            stack.extend(c for _, c in typ.children)
        elif typ.id == "list":
            stack.append(typ.children[0][1])
        else:
            count += 1
            if count > MAX_FIELDS:
                return True
    return False


_ARRAY = ("[]",)  # the path step into an array's elements (a tuple: never a key)


@dataclass
class _Node:
    count: int = 0  # documents where the path has a non-null value
    is_value: bool = False  # an array or scalar in some document (else always an object)
    children: dict = field(default_factory=dict)


def fold(source: Path, tmp: Path, label: str) -> tuple[Path, Folding] | None:
    """Write ``source`` with its rarest fields folded into :data:`FOLDED`; None when
    its fields, counted exactly, are within :data:`MAX_FIELDS` after all (or a document
    nests deeper than Python's recursion allows: DuckDB's reader then has its say).

    A malformed line raises ``duckdb.InvalidInputException``, as DuckDB's reader would,
    so the loader's usual handling (skip it, with a warning) applies."""
    try:
        return _fold(source, tmp, label)
    except RecursionError:
        return None


def _fold(source: Path, tmp: Path, label: str) -> tuple[Path, Folding] | None:
    root = _Node()
    docs = 0
    for doc in _documents(source):
        docs += 1
        _count(doc, root)
    # a dump of search hits (as the loader sees one): fields below _source, the hit's own
    # keys (_index, _id) are left as they are
    hit_dump = bool(root.children.get("_source", _Node()).children)
    units = _units(root.children["_source"] if hit_dump else root, ())
    if sum(leaves for _, _, leaves in units) <= MAX_FIELDS:
        return None  # not too wide after all (the head's or DuckDB's count was close)
    column = FOLDED
    while any(path == (column,) for path, _, _ in units):
        column += "_"
    budget = MAX_FIELDS - 1  # one column is the folded one
    kept: set[tuple] = set()
    for path, node, leaves in sorted(units, key=lambda u: (-u[1].count, ".".join(u[0]))):
        if leaves <= budget and node.count >= docs * RARE_SHARE:
            kept.add(path)
            budget -= leaves
    folded_units = {path for path, _, _ in units if path not in kept}
    if not folded_units:
        return None

    target = tmp / f"folded{len(list(tmp.iterdir()))}.ndjson"
    with open(target, "w", encoding="ascii") as out:
        for doc in _documents(source):
            fields = doc.get("_source") if hit_dump else doc
            if not isinstance(fields, dict):
                out.write(json.dumps(doc) + "\n")
                continue
            folded: dict = {}
            pruned = _prune(fields, root.children["_source"] if hit_dump else root, (), folded_units, folded)
            if folded:
                pruned[column] = json.dumps(folded, ensure_ascii=False, separators=(",", ":"))
            if hit_dump:
                doc["_source"] = pruned
            else:
                doc = pruned
            out.write(json.dumps(doc) + "\n")  # ASCII: lone surrogates survive as escapes
    return target, Folding(label, column, tuple(sorted(".".join(p) for p in folded_units)))


def head_too_wide(source: Path) -> bool:
    """Does the file's head already hold more than :data:`MAX_FIELDS` distinct fields?

    Spares such a file DuckDB's type detection over all of it, whose time and memory grow
    faster than the number of fields (30,000 one-off keys: 11 s and 600 MB before a single
    row is loaded). Cheap for ordinary files: their first :data:`HEAD_BYTES` (a few
    milliseconds) hold far fewer fields; only a head with more than half the bound is
    read further, up to :data:`HEAD_MORE_BYTES`."""
    root = _Node()
    with _open(source) as fh:
        rest = b""
        for limit in (HEAD_BYTES, HEAD_MORE_BYTES - HEAD_BYTES):
            chunk = fh.read(limit)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop() if len(chunk) == limit else b""  # cut short: the next read ends it
            for line in lines:
                try:
                    doc = json.loads(line)
                except (ValueError, RecursionError):
                    continue  # the loader reports malformed lines
                if isinstance(doc, dict):
                    try:
                        _count(doc, root)
                    except RecursionError:
                        return False  # nested too deep to walk here: DuckDB's detection decides
            fields = _values_below(root)
            if fields > MAX_FIELDS or fields <= MAX_FIELDS // 2 or len(chunk) < limit:
                break
    return fields > MAX_FIELDS


HEAD_BYTES = 64 << 10
"""How much of every file :func:`head_too_wide` reads."""
HEAD_MORE_BYTES = 1 << 20
"""How far it reads a file whose head is already half as wide as the bound."""


def _open(source: Path):
    return gzip.open(source, "rb") if source.name.lower().endswith(".gz") else open(source, "rb")


def _documents(source: Path):
    """The file's documents, one at a time."""
    with _open(source) as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                doc = json.loads(line, parse_float=_number)
            except ValueError:  # (a RecursionError goes up: see fold)
                doc = None
            if not isinstance(doc, dict):
                raise duckdb.InvalidInputException(f"line {number} is not a readable JSON object")
            yield doc


def _number(text: str):
    """A JSON float as Python's float (the same double DuckDB reads), unless it overflows
    (then its text, which DuckDB reads as a keyword too, instead of an invalid Infinity)."""
    value = float(text)
    return value if math.isfinite(value) else text


def _count(obj: dict, node: _Node, in_array: bool = False) -> None:
    """Add one document's fields below ``node`` (in arrays: only which paths exist)."""
    for key, value in obj.items():
        if value is None:
            continue
        child = node.children.get(key)
        if child is None:
            child = node.children[key] = _Node()
        child.count += 0 if in_array else 1
        _count_value(value, child, in_array)


def _count_value(value, node: _Node, in_array: bool) -> None:
    if isinstance(value, dict):
        _count(value, node, in_array)
        return
    node.is_value = True
    if isinstance(value, list):
        element = node.children.get(_ARRAY)
        if element is None:
            element = node.children[_ARRAY] = _Node()
        for item in value:
            if item is not None:
                _count_value(item, element, True)


def _prune(obj: dict, node: _Node, path: tuple, folded_units: set, folded: dict) -> dict:
    """``obj`` without its folded units (moved into ``folded`` by dotted name); objects
    left empty by that are dropped."""
    out: dict = {}
    for key, value in obj.items():
        child = node.children.get(key)
        here = path + (key,)
        if value is None or child is None:
            out[key] = value
        elif isinstance(value, dict) and not child.is_value:
            inner = _prune(value, child, here, folded_units, folded)
            if inner or not value:
                out[key] = inner
        elif here in folded_units:
            folded[".".join(here)] = value
        else:
            out[key] = value
    return out


def _units(node: _Node, path: tuple) -> list[tuple[tuple, _Node, int]]:
    """(path, node, leaf fields it makes) for every unit below ``node``: objects are walked
    into, anything else (or an object that is a value elsewhere) is one unit."""
    out = []
    for step, child in node.children.items():
        if step == _ARRAY:
            continue
        if child.is_value:
            out.append((path + (step,), child, max(1, _values_below(child))))
        else:
            out.extend(_units(child, path + (step,)))
    return out


def _values_below(node: _Node) -> int:
    """Distinct paths below (and at) ``node`` holding values: the fields it becomes."""
    own = 1 if node.is_value and not node.children else 0
    return own + sum(_values_below(c) for c in node.children.values())
