"""Turning JSON files into one DuckDB table per file, seen as one view per index.

How (all heavy work inside DuckDB, never a Python loop over documents):
1. DuckDB's ``read_json`` detects the file's types: nested objects as STRUCTs, arrays as
   LISTs, ISO-8601 strings as timestamps, clashing values as JSON. Small files: over the
   whole file (``sample_size=-1``, so no field is missed). Big files: over a sample, and
   the data pass itself proves the sample complete (see ``Builder._bind_sampled``): every
   scalar field but dates is steered to JSON by a two-line primer and its values checked
   to be of the JSON type the sample saw (dates: their detected type rejects the rest). When the sample falls short, a bigger one is tried, then the
   whole file. A query's narrow load (``Builder.wanted``) reads only the fields it needs
   straight from the file, with the sample's types fixed and the same checks
   (``Builder._bind_direct``), so it needs no primed copy of the file.
2. The STRUCT/LIST type tree is walked in Python to produce one SQL expression per leaf:
   ``struct_extract`` for objects, ``list_transform``/``flatten`` for arrays of objects,
   so every leaf is either a scalar or a list of scalars. JSON-typed (clashing) columns are
   resolved with ``json_group_structure`` + ``json_transform``.
3. ONE ``CREATE TABLE AS`` reads the file (again, for small files) and writes every
   field converted to its dynamic Elasticsearch type, plus the document's index name
   (``__hb_index``). Arrays stay lists (cleaned, sorted as doc values are).
4. One aggregate query grouped by index finds which fields have values in each index and
   whether any document holds two or more; list columns that never do are turned into
   plain columns (``ALTER ... USING col[1]``).
5. Each index is a :class:`Part`: the table, a filter on ``__hb_index`` and one expression
   per field. An index with a mapping gets its own table, converted per the mapping.

Malformed lines make ``read_json`` fail; only then the file is scanned again to count
them, find the first one's line number, and load the good lines.
"""

from __future__ import annotations

import fnmatch
import gzip
import hashlib
import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from collectors.offline import inputs, wide
from collectors.offline.fields import FieldInfo
from collectors.offline.sql import Names, ident, lit, one
from collectors.offline.types import STORAGE, MappedField, convert, dynamic_type
from collectors.result import SourceError

INDEX_COLUMN = "__hb_index"
INDEX_FIELDS = ("data_stream.type", "data_stream.dataset", "data_stream.namespace")
"""The fields naming a document's index (with the file name when they are missing)."""
SAMPLED_MIN_BYTES = 8 << 20
"""Files at least this big try DuckDB's sampled detection first (checked, see _bind_sampled)."""
PRIMER_SAMPLE = 2048
"""Lines of the small sample the primer is first drawn from (see Builder._bind_sampled)."""
WHOLE_FILE = -1
"""``sample_size`` for detection over the whole file."""
SAMPLES = (PRIMER_SAMPLE + 1, 20_480)
"""Sample sizes tried in turn on a big file before the whole file (see ``Builder.add_file``).

Detection reads its sample on one core, and a sampled load detects twice (once to learn the
types, once more in the data pass): 20,480 lines (DuckDB's default) take about 0.45 s each,
the primer's own 2,048 lines (plus the primer line) about 0.13 s. The data pass proves the
whole file fits the types either way; a key or value the small sample did not show makes it
fail, usually within the first lines it reads, and the next sample size is tried."""


def _next_sample(sample: int) -> int:
    later = [s for s in SAMPLES if s > sample]
    return later[0] if later else WHOLE_FILE


PRIMER_KEY = "__hb_primer"
"""Marks the primer line put in front of a sampled file (see :meth:`Builder._bind_sampled`)."""
_EMPTY = object()
KEYWORDISH = ("keyword", "ip")


@dataclass
class Part:
    """Rows of one index loaded from one file: ``SELECT columns FROM table WHERE where``."""

    index: str
    table: str  # fully qualified and quoted
    fields: dict[str, FieldInfo]
    columns: dict[str, str]  # field name -> SQL over the table's columns
    where: str | None = None
    folding: wide.Folding | None = None  # the file's fields folded into one column, if any

    def select(self) -> str:
        cols = ", ".join(f"{self.columns[n]} AS {ident(n)}" for n in self.fields) or "NULL AS __hb_empty"
        where = f" WHERE {self.where}" if self.where else ""
        return f"SELECT {cols} FROM {self.table}{where}"

    def to_json(self) -> dict:
        return {
            "index": self.index, "table": self.table, "where": self.where, "columns": self.columns,
            "fields": [f.to_json() for f in self.fields.values()],
            "folding": self.folding.to_json() if self.folding else None,
        }

    @classmethod
    def from_json(cls, value: dict, table: str | None = None) -> "Part":
        fields = [FieldInfo.from_json(f) for f in value["fields"]]
        return cls(value["index"], table or value["table"], {f.name: f for f in fields},
                   dict(value["columns"]), value.get("where"), wide.Folding.from_json(value.get("folding")))


@dataclass
class Leaf:
    """One dotted field's values in the file: a scalar or a list expression."""

    name: str
    expr: str
    duck: str  # DuckDB type of the scalar values
    is_list: bool
    doubled: bool = False  # sampled as integers, read as DOUBLE until the whole file agrees


@dataclass
class Built:
    parts: list[Part] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Builder:
    """Loads files into tables named ``{schema}."t{n}"`` on ``con``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str, mappings: dict[str, dict[str, MappedField]],
                 wanted: set[str] | None = None):
        self.con = con
        self.wanted = wanted  # None: every field; else only these (a query's first, narrow load)
        self.schema = schema  # quoted, e.g. "memory"."_hb" or "c0"."main"
        self.mappings = mappings
        self.names = Names()
        self.out = Built()
        self._tables = 0
        self._created: list[str] = []
        self._reader = ""
        self._fast = False
        self._direct = False
        self._steered: dict[tuple[str, ...], str] = {}
        self._spellings: dict[tuple[str, ...], str] = {}
        self._present: list[str] = []  # SQL: "a key of self._spellings has a value" (see _leaves)

    # -- files ---------------------------------------------------------------------------
    def add_file(self, path: Path, forced: str | None, label: str | None = None) -> None:
        """Load one file. Big files first try DuckDB's sampled type detection, checked
        against the whole file (see :meth:`_bind_sampled`); anything the sample missed, and
        every small file, gets whole-file detection."""
        label = label or path.name
        with tempfile.TemporaryDirectory(prefix="huntbench-load-", dir=self._scratch_root()) as tmp:
            source = path
            if inputs.sniff(path) == "document":
                records, bad = inputs.document_records(path)
                if bad:
                    self.out.problems.append(f"{label}: skipped {bad} entries that are not JSON objects")
                source = Path(tmp) / "records.ndjson"
                with open(source, "w", encoding="utf-8") as fh:
                    for record in records:
                        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            sample = WHOLE_FILE if source.stat().st_size < SAMPLED_MIN_BYTES else SAMPLES[0]
            cleaned = False
            folding: wide.Folding | None = None
            while True:
                exact = sample == WHOLE_FILE
                mark = (len(self.out.parts), len(self.out.problems), len(self._created))
                try:
                    # Too many distinct fields (seen in the file's head, or in the detected
                    # types): load a copy with the rare ones folded (see collectors.offline.wide)
                    types: dict | None = None
                    if folding is None and not wide.head_too_wide(source):
                        types = self._bind(source, sample, Path(tmp))
                    folded = None
                    if folding is None and (types is None or wide.too_wide(types)):
                        folded = wide.fold(source, Path(tmp), label)
                    if folded is not None:
                        source, folding = folded
                        self.out.problems.append(folding.warning())
                        sample = WHOLE_FILE
                        continue
                    if types is None:
                        types = self._bind(source, sample, Path(tmp))
                    if self._load(path, source, types, forced, label, exact):
                        for part in self.out.parts[mark[0]:]:
                            part.folding = folding
                        return
                    self._rollback(mark)
                    sample = WHOLE_FILE  # a value the sampled types did not hold: detect over the whole file
                except duckdb.InterruptException:
                    raise  # cancelled by the user: no retry
                except duckdb.Error as exc:
                    self._rollback(mark)
                    if not exact and KIND_ERROR in str(exc):
                        sample = WHOLE_FILE  # a field of two JSON types: whole-file detection types it
                        continue
                    if not exact and ("JSON transform error" in str(exc) or SHAPE_ERROR in str(exc)):
                        sample = _next_sample(sample)  # a key or value the sample did not show
                        continue
                    if not cleaned:
                        cleaned = True
                        good = self._skip_bad_lines(source, label, Path(tmp))
                        if good is _EMPTY:
                            return
                        if good is not None:
                            source = good
                            continue
                    if not exact:
                        sample = WHOLE_FILE
                        continue
                    raise SourceError(f"{label}: cannot load ({_first_line(exc)})") from None

    def _scratch_root(self) -> str | None:
        """Where a load's copies go: the connection's spill folder (private, one per process,
        and removed by the next load once the process is gone, so a killed load does not
        leave a copy of the export behind), else the system's temp folder."""
        folder = one(self.con.execute("SELECT current_setting('temp_directory')"))[0]
        return folder if folder and Path(folder).is_dir() else None

    def _rollback(self, mark: tuple[int, int, int]) -> None:
        del self.out.parts[mark[0]:]
        del self.out.problems[mark[1]:]
        for table in self._created[mark[2]:]:
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        del self._created[mark[2]:]

    def _read_json(self, source: Path, columns: dict | None = None, exact: bool = True,
                   sample: int | None = None) -> str:
        files = lit(str(source))
        if columns is None:
            size = ", sample_size=-1" if exact else (f", sample_size={sample}" if sample else "")
            return (f"read_json({files}, format='newline_delimited', records=true, "
                    f"map_inference_threshold=-1{size})")
        spec = ", ".join(f"{lit(n)}: {lit(t)}" for n, t in columns.items())
        return f"read_json({files}, format='newline_delimited', records=true, columns={{{spec}}})"

    def _bind(self, source: Path, sample: int, tmp: Path) -> dict:
        """Column name -> DuckDB type, detected over the whole file or a sample of ``sample`` lines.

        Sets ``self._reader``: what the data pass reads. With whole-file detection, a
        ``read_json`` with those types fixed (so the data pass does not detect again);
        UUID-looking strings stay text, a keyword keeps its spelling."""
        if sample != WHOLE_FILE:
            return self._bind_sampled(source, sample, tmp)
        rel = self.con.sql(f"SELECT * FROM {self._read_json(source, exact=True)}")
        types = dict(zip(rel.columns, rel.types))
        self._fast = False
        self._direct = False
        self._steered, self._spellings = {}, {}
        self._reader = self._read_json(source, {n: _render(t) for n, t in types.items()})
        return types

    def _bind_sampled(self, source: Path, sample: int, tmp: Path) -> dict:
        """Types from a sample (the first ``sample`` lines), checked by the data pass itself.

        Why this shape: DuckDB's ``read_json`` with *detected* types rejects, while it reads,
        any object key its sample did not see (at every depth, as long as the query uses
        every column), any object or array where the sample saw something else, and any
        text a detected date or timestamp cannot parse; with fixed ``columns`` it checks
        none of these. So the data pass reads with detection, and one scan both loads and
        proves the sample complete. What detection does *not* reject is a scalar of another
        JSON type: a column detected as a number takes ``true`` or ``"2"``, one detected as
        text takes ``5``, where whole-file detection would have typed the field JSON (and
        loaded it as keyword). So every scalar field but dates is *steered* to JSON by a
        *primer*: two synthetic lines put in front of the file (a gzip member prepended to
        a ``.gz``, which costs no decompression; a copy for plain files; a second file
        listed first would not do: DuckDB checks keys only in the first), one giving the
        field a number and one a string. The data pass then reads each such field's JSON
        text and :func:`_read_steered` converts it to the sampled type, raising
        :data:`KIND_ERROR` for any value of another JSON type (-> whole-file detection).
        Integer fields are read as DOUBLE (:meth:`_sample_held` proves them whole
        afterwards). The primer is first drawn from a small sample (cheap); fields that only
        a bigger ``sample`` shows are steered too and the sample read again (rarely needed).
        The primer lines are filtered out by their marker key."""
        self._fast = True
        self._direct = False
        self._spellings = {}
        rel = self.con.sql(f"SELECT * FROM {self._read_json(source, exact=False, sample=PRIMER_SAMPLE)}")
        sampled = dict(zip(rel.columns, rel.types))
        if self.wanted is not None and sample == SAMPLES[0]:
            direct = self._bind_direct(source, sampled)
            if direct is not None:
                return direct
        marker = PRIMER_KEY
        while marker in sampled:
            marker += "_"
        primer: list[dict] = [{}, {}]
        self._steered = {}
        for _attempt in range(3):
            more, steered = _primer(sampled, self._could_want)
            if _attempt and not steered:
                break
            for into, doc in zip(primer, more):
                _merge(into, doc)
            self._steered.update(steered)
            primed = _primed_copy(source, [{**doc, marker: True} for doc in primer], tmp)
            call = self._read_json(primed, exact=False, sample=sample)
            rel = self.con.sql(f"SELECT * FROM {call}")
            if marker not in rel.columns:
                raise duckdb.InvalidInputException("the primer did not steer the types")  # -> whole-file
            sampled = {n: t for n, t in zip(rel.columns, rel.types) if n != marker}
        else:
            raise duckdb.InvalidInputException("the primer did not steer the types")  # -> whole-file
        self._reader = f"(SELECT * EXCLUDE ({ident(marker)}) FROM {call} WHERE {ident(marker)} IS NULL)"
        return sampled

    def _bind_direct(self, source: Path, sampled: dict) -> dict | None:
        """A narrow load's types read straight from ``source``: only the wanted fields (and
        the ones naming the index), fixed as the sample typed their paths, every leaf read
        as JSON text and checked by :func:`_read_steered`. No primer, so no copy of the
        file, and no read of the other columns. None when this cannot be exact: a wanted
        field the sample did not show (or showed with two JSON types), a hit dump, a file
        too wide to load as is, or a date type :func:`_read_steered` cannot check.

        Why it is exact otherwise: a fixed read still rejects an array or a scalar where the
        sample saw an object (and the reverse) on a wanted path; every leaf's value must
        have the JSON type the sample saw (dates: a form that whole-file detection and a
        cast read alike); and the sample saw every wanted field, so only another spelling
        of one could add values the sample did not show: a key holding a dot
        (``{"host.os": {"type": ...}}``, ``{"host": {"os.type": ...}}``), or ``_source``
        (a hit dump after all). Those keys are read too (:class:`_Node`), and the load
        fails with :data:`SHAPE_ERROR` (-> the sampled route) if any document has one."""
        assert self.wanted is not None
        if wide.is_hit_dump(sampled) or wide.too_wide(sampled):
            return None
        if "data_stream" in sampled and sampled["data_stream"].id != "struct":
            return None
        names = self.wanted | set(INDEX_FIELDS)
        root = _Node()
        try:
            for top, typ in sampled.items():
                node = _Node.of(typ, top, (top,), names)
                if node is not None:
                    root.children[top] = node
        except _NotDirect:
            return None
        steered = root.leaves()
        if not self.wanted <= {".".join(route) for route in steered}:
            return None
        if not all(("data_stream", k) in steered for k in ("type", "dataset", "namespace")):
            if "data_stream" in root.children:
                return None  # some of the three only: rare enough to take the usual route
            # a document naming its data stream names its index: read those keys anyway
            root.children["data_stream"] = _Node({k: _Node(kind="varchar") for k in ("type", "dataset", "namespace")})
        for name in names:
            root.add_spellings(name.split("."))
        root.children.setdefault("_source", _Node(kind=_Node.OTHER_SPELLING))
        self._direct = True
        self._steered = root.leaves()
        self._spellings = root.leaves(_Node.OTHER_SPELLING)
        self._reader = self._read_json(source, {k: n.sql() for k, n in root.children.items()})
        rel = self.con.sql(f"SELECT * FROM {self._reader}")
        return dict(zip(rel.columns, rel.types))

    def _skip_bad_lines(self, source: Path, label: str, tmp: Path):
        """Count malformed / non-object lines, note the first, write the good ones aside.

        Returns the file of good lines, ``_EMPTY`` when there is no document at all, or None
        when every line is a JSON object (the trouble was elsewhere). A line too long for
        DuckDB's reader makes it fail outright: then Python sorts the lines instead, so one
        oversized line costs only that line."""
        objects = f"read_ndjson_objects({lit(str(source))}, ignore_errors=true)"
        kept = tmp / f"good{len(self.out.problems)}.ndjson"
        try:
            bad, good = one(self.con.execute(
                f"SELECT count(*) FILTER (WHERE json IS NULL OR json_type(json) <> 'OBJECT'), "
                f"count(*) FILTER (WHERE json_type(json) = 'OBJECT') FROM {objects}"
            ))
            first = _first_bad_line(self.con, source) if bad else None
            oversized: list[int] = []
        except duckdb.Error as exc:
            if "maximum_object_size" not in str(exc):
                raise SourceError(f"{label}: cannot read ({_first_line(exc)})") from None
            bad, good, first, oversized = _sort_lines(source, kept)
            if not oversized and not bad:
                return None
        for number in oversized[:MAX_NAMED]:
            self.out.problems.append(f"{label}: skipped line {number}: longer than {MAX_LINE_BYTES >> 20} MiB")
        if len(oversized) > MAX_NAMED:
            self.out.problems.append(f"{label}: skipped {len(oversized) - MAX_NAMED} more lines longer than "
                                     f"{MAX_LINE_BYTES >> 20} MiB")
        if not bad and not oversized:
            return None if good else _EMPTY
        if not good:
            total = bad + len(oversized)
            where = f", first at line {first}" if first else ""
            self.out.problems.append(
                f"{label}: no line is a JSON object ({total} malformed line{'s' if total != 1 else ''}{where}); "
                "nothing loaded from it"
            )
            return _EMPTY
        if bad:
            where = f" (first at line {first})" if first else ""
            self.out.problems.append(f"{label}: skipped {bad} malformed line{'s' if bad != 1 else ''}{where}")
        if not oversized:
            self.con.execute(
                f"COPY (SELECT json FROM {objects} WHERE json_type(json) = 'OBJECT') TO {lit(str(kept))} "
                "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\x01')"
            )
        return kept

    def _sample_held(self, table: str, groups: dict[str, Leaf], names: list[str]) -> bool:
        """After a sampled load: were the fields sampled as integers whole in the whole file?

        They were read as DOUBLE (see :meth:`_bind_sampled`): every value must be whole and
        within 2^53, else whole-file detection would have typed them double (or kept digits
        a double cannot)."""
        checks = []
        for n in names:
            g, col, v = groups[n], ident(n), self.names()
            if g.doubled:
                odd = "({x} <> trunc({x}) OR abs({x}) >= 9007199254740992)"
                checks.append(f"len(list_filter({col}, lambda {v}: {odd.format(x=v)})) > 0"
                              if g.is_list else odd.format(x=col))
        if not checks:
            return True
        found = one(self.con.execute(f"SELECT {', '.join(f'bool_or({c})' for c in checks)} FROM {table}"))
        return not any(found)

    # -- one file ------------------------------------------------------------------------
    def _load(self, path: Path, source: Path, types: dict, forced: str | None, label: str, exact: bool) -> bool:
        """Build the file's table and parts; False when the sampled schema proved short."""
        if not types:
            return True
        hit_dump = not self._direct and wide.is_hit_dump(types)  # a direct read reads _source to refuse it
        self._present = []
        if hit_dump:
            leaves = list(self._leaves(ident("_source"), types["_source"], "", False, label, ("_source",)))
            used = {"_source"}
        else:
            leaves, used = [], set()
            for name, typ in types.items():
                found = list(self._leaves(ident(name), typ, name, False, label, (name,)))
                leaves.extend(found)
                if found:
                    used.add(name)
        groups = {n: g for n, g in self._group(leaves, label).items() if n != INDEX_COLUMN}
        index_expr = self._index_expr(path, types, groups, forced, hit_dump)
        unwanted: list[Leaf] = []
        if self.wanted is not None:
            unwanted = [g for n, g in groups.items() if n not in self.wanted]
            groups = {n: g for n, g in groups.items() if n in self.wanted}

        table = self._new_table()
        names = sorted(groups)
        dyn = {n: dynamic_type(groups[n].duck) for n in names}
        select = [f"{index_expr} AS {ident(INDEX_COLUMN)}"]
        select += [
            f"{self._column(groups[n], 'double' if groups[n].doubled else dyn[n], groups[n].is_list)} AS {ident(n)}"
            for n in names
        ]
        big = source.stat().st_size >= SAMPLED_MIN_BYTES
        if big:  # file order is no promise in Elasticsearch either; keeping it costs threads
            self.con.execute("SET preserve_insertion_order = false")
        # A sampled read checks only the columns the query uses: use the others too (a
        # narrow load uses all of them, unless its keys are proven otherwise: the whole file
        # must fit the sampled schema), and read the steered fields a narrow load does not
        # keep (an object where the sample saw only nulls, say, is caught only there).
        unused = [] if self._direct else [f"{ident(n)} IS NULL" for n in types if n not in used or self.wanted is not None]
        unused += [f"{g.expr} IS NULL" for g in unwanted if g.expr not in index_expr]
        # (Always true, but it reads every column; cheaper than hashing them.)
        guard = f" WHERE greatest({', '.join(unused)}, false) IS NOT NULL" if self._fast and unused else ""
        if self._present:
            shape = f"(CASE WHEN {' OR '.join(self._present)} THEN {_raise(SHAPE_ERROR)} ELSE true END)"
            guard = f"{guard} AND {shape}" if guard else f" WHERE {shape}"
        try:
            self.con.execute(f"CREATE TABLE {table} AS SELECT {', '.join(select)} FROM {self._reader}{guard}")
        finally:
            if big:
                self.con.execute("RESET preserve_insertion_order")

        # Which fields have values in which index, and which ever hold 2+ values.
        aggs = [f"max(len({ident(n)}))" if groups[n].is_list else f"count({ident(n)})" for n in names]
        stats: dict[str, list] = {}
        for row in self.con.execute(
            f"SELECT {ident(INDEX_COLUMN)}, {', '.join(aggs) or '0'} FROM {table} GROUP BY 1 ORDER BY 1"
        ).fetchall():
            stats[row[0]] = [v or 0 for v in row[1:]]
        if not exact and not self._sample_held(table, groups, names):
            return False
        if not stats:
            return True
        for i, n in enumerate(names):
            col, base = ident(n), STORAGE[dyn[n]]
            if groups[n].is_list and all(s[i] <= 1 for s in stats.values()):
                self.con.execute(f"ALTER TABLE {table} ALTER {col} TYPE {base} USING CAST({col}[1] AS {base})")
                groups[n] = Leaf(n, groups[n].expr, groups[n].duck, False)
            elif groups[n].doubled:
                typ = f"{base}[]" if groups[n].is_list else base
                self.con.execute(f"ALTER TABLE {table} ALTER {col} TYPE {typ} USING CAST({col} AS {typ})")

        for index, counts in stats.items():
            where = None if len(stats) == 1 else f"{ident(INDEX_COLUMN)} = {lit(index)}"
            fields: dict[str, FieldInfo] = {}
            columns: dict[str, str] = {}
            for i, n in enumerate(names):
                if not counts[i]:
                    continue  # a field without values gets no mapping in Elasticsearch
                multi = groups[n].is_list and counts[i] > 1
                fields[n] = FieldInfo(n, dyn[n], multi)
                columns[n] = ident(n) if multi or not groups[n].is_list else f"{ident(n)}[1]"
            part = Part(index, table, fields, columns, where)
            mapping = self.mapping_for(index)
            if mapping:
                part = self._apply_mapping(part, mapping)
            if not part.fields and self.wanted is None:  # a narrow load may want no field at all
                self.out.problems.append(f"{label}: documents of index [{index}] hold no field with a value")
            self.out.parts.append(part)
        return True

    def _index_expr(self, path: Path, types: dict, groups: dict[str, Leaf], forced: str | None, hit_dump: bool) -> str:
        """``_index``, else the data stream name, else the file name (or the forced name)."""
        if forced:
            return lit(forced)
        choices = []
        if hit_dump and "_index" in types:
            choices.append(f"CAST({ident('_index')} AS VARCHAR)")
        ds = [groups.get(f"data_stream.{k}") for k in ("type", "dataset", "namespace")]
        if all(ds):
            parts = [self._first(g) for g in ds if g is not None]
            choices.append(f"({parts[0]} || '-' || {parts[1]} || '-' || {parts[2]})")
        choices.append(lit(inputs.stem(path)))
        return f"coalesce({', '.join(choices)})" if len(choices) > 1 else choices[0]

    def _first(self, g: Leaf) -> str:
        """The leaf's first non-null value as text (for naming the index)."""
        if not g.is_list:
            return f"CAST({g.expr} AS VARCHAR)"
        v = self.names()
        return f"CAST(list_filter({g.expr}, lambda {v}: {v} IS NOT NULL)[1] AS VARCHAR)"

    def mapping_for(self, index: str) -> dict[str, MappedField]:
        if index in self.mappings:
            return self.mappings[index]
        for pattern, mapping in self.mappings.items():
            if fnmatch.fnmatchcase(index, pattern):
                return mapping
        return {}

    def _apply_mapping(self, part: Part, mapping: dict[str, MappedField]) -> Part:
        """Materialise an index typed by its mapping: mapped fields (values or not) take the
        mapping's type, multi-fields index their parent's values, the rest stay dynamic."""
        fields = {n: f for n, f in part.fields.items() if n not in mapping}
        columns = {n: ident(n) for n in fields}
        exprs = {n: part.columns[n] for n in fields}
        for name, mf in mapping.items():
            have = part.fields.get(mf.source)
            if have is None:
                fields[name] = FieldInfo(name, mf.type, False)
                exprs[name] = f"CAST(NULL AS {STORAGE[mf.type]})"
            else:
                fields[name] = FieldInfo(name, mf.type, have.multi)
                exprs[name] = _convert_field(part.columns[mf.source], have, mf, self.names)
            columns[name] = ident(name)
        fields = dict(sorted(fields.items()))
        table = self._new_table()
        select = ", ".join(f"{exprs[n]} AS {ident(n)}" for n in fields) or "NULL AS __hb_empty"
        where = f" WHERE {part.where}" if part.where else ""
        self.con.execute(f"CREATE TABLE {table} AS SELECT {select} FROM {part.table}{where}")
        return Part(part.index, table, fields, columns)

    def empty_index(self, index: str) -> None:
        """An index with a mapping and no documents: its mapped columns, no rows."""
        fields = {n: FieldInfo(n, mf.type, False) for n, mf in sorted(self.mapping_for(index).items())}
        select = ", ".join(f"CAST(NULL AS {STORAGE[f.type]}) AS {ident(n)}" for n, f in fields.items())
        table = self._new_table()
        self.con.execute(f"CREATE TABLE {table} AS SELECT {select or 'NULL AS __hb_empty'} WHERE false")
        self.out.parts.append(Part(index, table, fields, {n: ident(n) for n in fields}))

    def _new_table(self) -> str:
        table = f"{self.schema}.{ident(f't{self._tables}')}"
        self._tables += 1
        self._created.append(table)
        return table

    def _column(self, g: Leaf, es: str, as_list: bool) -> str:
        """The stored column: the leaf converted to ``es``; lists without nulls, sorted like
        Elasticsearch doc values (keywords de-duplicated), NULL when empty."""
        if not as_list:
            return convert(g.expr, g.duck, es)
        v, w = self.names(), self.names()
        clean = f"list_filter({g.expr}, lambda {v}: {v} IS NOT NULL)"
        converted = clean if convert(v, g.duck, es) == v else (
            f"list_filter(list_transform({clean}, lambda {v}: {convert(v, g.duck, es)}), lambda {w}: {w} IS NOT NULL)"
        )
        ordered = f"list_sort(list_distinct({converted}))" if es in KEYWORDISH else f"list_sort({converted})"
        return f"(CASE WHEN len({ordered}) = 0 THEN NULL ELSE {ordered} END)"

    # -- flattening ----------------------------------------------------------------------
    def _leaves(self, expr: str, typ, name: str, in_list: bool, label: str,
                route: tuple[str, ...] | None = None) -> Iterator[Leaf]:
        """Leaves under ``expr`` (of DuckDB type ``typ``, or a LIST of it when ``in_list``).

        ``route`` is the object keys leading to ``expr`` in the source line (None below a
        JSON column this loader resolved itself): a field the primer steered to JSON is
        known by it (see :meth:`_bind_sampled`)."""
        kind = typ.id
        if route is not None and route in self._spellings:
            v = self.names()
            self._present.append(f"len(list_filter({expr}, lambda {v}: {v} IS NOT NULL)) > 0"
                                 if in_list else f"{expr} IS NOT NULL")
            return
        if not self._could_want(name):
            return
        if str(typ) == "JSON":
            steered = self._steered.get(route) if route is not None and self._fast else None
            if steered is None:
                yield from self._json_leaves(expr, name, in_list, label)
            else:
                yield _steered_leaf(expr, name, in_list, steered, self.names)
        elif kind == "struct":
            for child, ctype in typ.children:
                cname = f"{name}.{child}" if name else child
                if in_list:
                    v = self.names()
                    cexpr = f"list_transform({expr}, lambda {v}: struct_extract({v}, {lit(child)}))"
                else:
                    cexpr = f"struct_extract({expr}, {lit(child)})"
                yield from self._leaves(cexpr, ctype, cname, in_list, label, route and (*route, child))
        elif kind == "list":
            child = typ.children[0][1]
            yield from self._leaves(f"flatten({expr})" if in_list else expr, child, name, True, label, route)
        elif kind == "null":
            return  # only nulls: Elasticsearch creates no field
        elif kind in ("map", "union", "array"):
            v = self.names()
            cast = f"list_transform({expr}, lambda {v}: CAST({v} AS VARCHAR))" if in_list else f"CAST({expr} AS VARCHAR)"
            yield Leaf(name, cast, "VARCHAR", in_list)
        else:
            yield Leaf(name, expr, str(typ), in_list)

    def _could_want(self, name: str) -> bool:
        """Can a wanted field (or one naming the index) lie at or under dotted ``name``?"""
        if self.wanted is None or not name:
            return True
        return any(w == name or w.startswith(name + ".") for w in self.wanted) or any(
            f"data_stream.{k}" == name or name == "data_stream" for k in ("type", "dataset", "namespace")
        )

    def _json_leaves(self, expr: str, name: str, in_list: bool, label: str) -> Iterator[Leaf]:
        """Values DuckDB could not give one type (a scalar here, an array there; a number
        here, a string there): normalise to arrays, learn their structure, transform."""
        if in_list:
            norm = f"to_json({expr})"
        else:
            norm = f"(CASE WHEN {expr} IS NULL THEN NULL WHEN json_type({expr}) = 'ARRAY' THEN {expr} ELSE json_array({expr}) END)"
        structure = one(self.con.execute(f"SELECT json_group_structure({norm}) FROM {self._reader}"))[0]
        if structure is None:
            return
        element = json.loads(structure)
        element = element[0] if isinstance(element, list) and element else "NULL"
        element = _fix_structure(element)
        if element == "NULL":
            return
        if element == "JSON":
            if name:
                self.out.problems.append(
                    f"{label}: field [{name}] has values of different JSON types; loaded as keyword"
                )
            element = "VARCHAR"
        transformed = f"json_transform({norm}, {lit(json.dumps([element]))})"
        typ = self.con.sql(f"SELECT {transformed} FROM {self._reader} LIMIT 0").types[0]
        yield from self._leaves(transformed, typ.children[0][1], name, True, label)

    def _group(self, leaves: list[Leaf], label: str) -> dict[str, Leaf]:
        """Merge leaves that name the same field (``{"a.b": 1}`` and ``{"a": {"b": 2}}``)."""
        by_name: dict[str, list[Leaf]] = {}
        for leaf in leaves:
            by_name.setdefault(leaf.name, []).append(leaf)
        out: dict[str, Leaf] = {}
        for name, group in by_name.items():
            if len(group) == 1:
                out[name] = group[0]
                continue
            ducks = {g.duck for g in group}
            duck = ducks.pop() if len(ducks) == 1 else "VARCHAR"
            if duck == "VARCHAR" and len({g.duck for g in group}) > 1:
                self.out.problems.append(f"{label}: field [{name}] has values of different types; loaded as keyword")
            lists = []
            for g in group:
                part = g.expr if g.is_list else f"list_value({g.expr})"
                if g.duck != duck:
                    v = self.names()
                    part = f"list_transform({part}, lambda {v}: CAST({v} AS VARCHAR))"
                lists.append(part)
            out[name] = Leaf(name, f"list_concat({', '.join(lists)})", duck, True,
                             doubled=duck == "BIGINT" and any(g.doubled for g in group))
        return out


def _render(typ) -> str:
    """A detected DuckDB type as SQL for fixed ``columns``, with UUID read as VARCHAR (a
    keyword keeps its spelling; DuckDB would print a UUID lower-cased and hyphenated)."""
    if typ.id == "struct":
        return "STRUCT(" + ", ".join(f"{ident(n)} {_render(c)}" for n, c in typ.children) + ")"
    if typ.id == "list":
        return _render(typ.children[0][1]) + "[]"
    if typ.id == "uuid":
        return "VARCHAR"
    return str(typ)


_SKIP = object()


class _NotDirect(Exception):
    """A sampled field :meth:`Builder._bind_direct` cannot read exactly."""


class _Node:
    """One object key of :meth:`Builder._bind_direct`'s fixed read: an object of more
    keys, or a leaf read as JSON text (``kind``: its sampled type, or
    :data:`OTHER_SPELLING` for a key that must hold nothing), under ``lists`` arrays."""

    OTHER_SPELLING = "other spelling"

    def __init__(self, children: dict[str, "_Node"] | None = None, kind: str | None = None, lists: int = 0):
        self.children = children if children is not None else {}
        self.kind = kind
        self.lists = lists

    @classmethod
    def of(cls, typ, name: str, route: tuple[str, ...], names: set[str]) -> "_Node | None":
        """The node for sampled type ``typ`` at dotted ``name``, keeping only ``names``
        (None: none below it). Raises :class:`_NotDirect` for a leaf it cannot check."""
        lists = 0
        while typ.id == "list":
            typ, lists = typ.children[0][1], lists + 1
        if not any(n == name or n.startswith(name + ".") for n in names):
            return None
        if typ.id == "struct":
            kept = {child: node for child, ctype in typ.children
                    if (node := cls.of(ctype, f"{name}.{child}", (*route, child), names)) is not None}
            return cls(kept, lists=lists) if kept else None
        if name not in names:
            return None
        if str(typ) == "JSON" or (typ.id not in STEERED and typ.id not in DATES):
            raise _NotDirect(name)
        return cls(kind=typ.id, lists=lists)

    def add_spellings(self, segments: list[str]) -> None:
        """Read the keys that would spell the field ``segments`` with a dot inside a key,
        from this node down its nested path."""
        node: _Node | None = self
        for i in range(len(segments) - 1):
            if node is None or node.kind is not None:
                return
            for j in range(i + 2, len(segments) + 1):
                node.children.setdefault(".".join(segments[i:j]), _Node(kind=self.OTHER_SPELLING))
            node = node.children.get(segments[i])

    def leaves(self, kind: str | None = None, route: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
        """Route -> kind of the leaves below (only those of ``kind``; else all but other spellings)."""
        out: dict[tuple[str, ...], str] = {}
        for key, node in self.children.items():
            if node.kind is None:
                out.update(node.leaves(kind, (*route, key)))
            elif node.kind == kind or (kind is None and node.kind != self.OTHER_SPELLING):
                out[(*route, key)] = node.kind
        return out

    def sql(self) -> str:
        inner = "JSON" if self.kind is not None else \
            "STRUCT(" + ", ".join(f"{ident(k)} {n.sql()}" for k, n in self.children.items()) + ")"
        return inner + "[]" * self.lists



STEERED = {  # sampled type -> (JSON values it may hold, DuckDB type read, read as DOUBLE)
    "varchar": ("string", "VARCHAR", False),
    "uuid": ("string", "VARCHAR", False),
    "boolean": ("boolean", "BOOLEAN", False),
    "double": ("number", "DOUBLE", False),
    "bigint": ("number", "BIGINT", True),
    "ubigint": ("number", "BIGINT", True),
    "null": ("number", "BIGINT", True),
}
"""How a field the primer steered to JSON is read (see :meth:`Builder._bind_sampled`). A
field seen only as null takes numbers (proven whole, or not, like integers); any other late
value sends the file to whole-file detection. Dates and timestamps are not steered: their
detected types already reject anything else."""
DATES = {  # sampled type -> (checked as, DuckDB type read); read only by Builder._bind_direct
    "timestamp with time zone": ("timestamptz", "TIMESTAMP WITH TIME ZONE"),
    "timestamp": ("timestamp", "TIMESTAMP"),
    "date": ("date", "DATE"),
}
DATE_FORMS = {  # ISO forms that whole-file detection types as the sample did and reads as a cast does
    "timestamptz": r'"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})"',
    "timestamp": r'"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?"',
    "date": r'"\d{4}-\d{2}-\d{2}"',
}
KIND_ERROR = "huntbench: a value of another JSON type than the sample showed"
"""Raised (SQL ``error``) by the data pass when a steered field breaks its sampled type."""
SHAPE_ERROR = "huntbench: a key the sample did not show"
"""Raised (SQL ``error``) by a direct read (:meth:`Builder._bind_direct`) that finds another
spelling of a wanted field."""


def _raise(message: str) -> str:
    return f"error({lit(message)})"


def _read_steered(x: str, kind: str) -> str:
    """SQL reading JSON text ``x`` as a ``kind`` of :data:`STEERED`, else raising
    :data:`KIND_ERROR`. The reader writes JSON values minified, so the first character tells
    the JSON type without parsing (a string: ``"``; a number never parses from a string's
    quotes, ``true`` or brackets); only strings holding escapes are parsed."""
    t, fail = f"CAST({x} AS VARCHAR)", f"error({lit(KIND_ERROR)})"
    null = f"{t} IS NULL OR {t} = 'null'"
    if kind == "string":
        return (f"(CASE WHEN {null} THEN NULL WHEN NOT prefix({t}, '\"') THEN {fail} "
                f"WHEN contains({t}, '\\') THEN ({x} ->> '$') ELSE replace({t}, '\"', '') END)")
    if kind == "boolean":
        return f"(CASE WHEN {null} THEN NULL WHEN {t} = 'true' THEN true WHEN {t} = 'false' THEN false ELSE {fail} END)"
    if kind in DATE_FORMS:
        duck = next(d for k, d in DATES.values() if k == kind)
        return (f"(CASE WHEN {null} THEN NULL WHEN NOT regexp_full_match({t}, {lit(DATE_FORMS[kind])}) THEN {fail} "
                f"ELSE coalesce(TRY_CAST(replace({t}, '\"', '') AS {duck}), {fail}) END)")
    return f"(CASE WHEN {null} THEN NULL ELSE coalesce(TRY_CAST({t} AS DOUBLE), {fail}) END)"


def _steered_leaf(expr: str, name: str, in_list: bool, sampled: str, names: Names) -> Leaf:
    """The leaf of a steered field: its JSON text read as the sampled type, or the load fails
    with :data:`KIND_ERROR`."""
    kind, duck, doubled = STEERED[sampled] if sampled in STEERED else (*DATES[sampled], False)
    if in_list:
        v = names()
        return Leaf(name, f"list_transform({expr}, lambda {v}: {_read_steered(v, kind)})", duck, True, doubled=doubled)
    return Leaf(name, _read_steered(expr, kind), duck, False, doubled=doubled)


def _primer(types: dict, wanted: Callable[[str], bool]) -> tuple[list[dict], dict[tuple[str, ...], str]]:
    """The two primer documents for sampled types (see :meth:`Builder._bind_sampled`) and
    the fields they steer to JSON, by route (object keys from the line's top) -> sampled type.

    The documents give each steered scalar a number and a string, and are empty when nothing
    needs steering. Only fields ``wanted`` (by dotted name) are steered: a narrow load reads
    the others only for the keys they hold. In a hit dump only ``_source`` is steered (its
    metadata is read as is) and field names start below it."""
    hit_dump = "_source" in types and types["_source"].id == "struct"
    steered: dict[tuple[str, ...], str] = {}

    def value(typ, route: tuple[str, ...], which: int):
        if typ.id == "struct":
            doc = {}
            for child, ctype in typ.children:
                v = value(ctype, (*route, child), which)
                if v is not _SKIP:
                    doc[child] = v
            return doc or _SKIP
        if typ.id == "list":
            v = value(typ.children[0][1], route, which)
            return _SKIP if v is _SKIP else [v]
        if str(typ) != "JSON" and typ.id in STEERED and wanted(".".join(route[1:] if hit_dump else route)):
            steered[route] = typ.id
            return (0.5, "x")[which]
        return _SKIP

    docs: list[dict] = [{}, {}]
    for name, typ in types.items():
        if hit_dump and name != "_source":
            continue
        for which, doc in enumerate(docs):
            v = value(typ, (name,), which)
            if v is not _SKIP:
                doc[name] = v
    return docs, steered


def _primed_copy(source: Path, primer: list[dict], tmp: Path) -> Path:
    """``source`` with the primer lines in front: a gzip member before a ``.gz`` file's own
    members (gzip readers read concatenated members as one stream), else a plain copy.

    Copying a big export takes seconds, so a plain copy is made once per source: its last
    primer line is padded with spaces (room for the lines to grow), and a later primer (a
    bigger sample showed more fields) is written over them in place. The file then takes a
    new name, so that nothing read under the old one is taken for the new content."""
    head = b"\n".join(json.dumps(doc, ensure_ascii=False).encode("utf-8") for doc in primer)
    gz = source.name.lower().endswith(".gz")
    of_source = "primed-" + hashlib.sha256(str(source).encode()).hexdigest()[:12]
    target = tmp / f"{of_source}-{hashlib.sha256(head).hexdigest()[:12]}.ndjson{'.gz' if gz else ''}"
    if target.exists():
        return target
    for old in tmp.glob(f"{of_source}-*"):
        if not gz and _rewrite_head(old, head, len(primer)):
            os.replace(old, target)
            return target
        old.unlink()
    partial = tmp / "primed.partial"
    with open(partial, "wb") as out, open(source, "rb") as src:
        if gz:
            out.write(gzip.compress(head + b"\n", compresslevel=1))
        else:
            out.write(head + b" " * max(len(head), PRIMER_ROOM) + b"\n")
        out.flush()
        _copy_rest(src, out)
    os.replace(partial, target)  # only a whole copy is ever reused
    return target


PRIMER_ROOM = 4096
"""Spaces after the primer lines of a plain copy, at least: room for a later primer."""


def _rewrite_head(path: Path, head: bytes, lines: int) -> bool:
    """Write ``head`` (``lines`` primer lines) over the first lines of ``path`` if it fits
    (padded with spaces)."""
    with open(path, "r+b") as fh:
        room = sum(len(fh.readline()) for _ in range(lines)) - 1  # our own lines, as the primer made them
        if len(head) > room:
            return False
        fh.seek(0)
        fh.write(head + b" " * (room - len(head)))
    return True


def _copy_rest(src, out) -> None:
    """Append all of ``src`` to ``out``: in the kernel (``copy_file_range``, a third of the
    CPU of copying through Python on a 600 MB export), else through Python."""
    size, done = os.fstat(src.fileno()).st_size, 0
    try:
        while done < size:
            n = os.copy_file_range(src.fileno(), out.fileno(), size - done, done)
            if n == 0:
                break
            done += n
    except (OSError, AttributeError):  # not Linux, or a file system that cannot: Python copies
        src.seek(done)
        shutil.copyfileobj(src, out, 1 << 20)


def _merge(into: dict, more: dict) -> None:
    """Deep-merge primer documents (objects merge key by key; the first value otherwise wins)."""
    for k, v in more.items():
        if isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        elif k not in into:
            into[k] = v


def _convert_field(expr: str, have: FieldInfo, target: MappedField, names: Names) -> str:
    """A stored field (dynamic type) converted to a mapped type, lists element-wise."""
    base = STORAGE[have.type]
    if not have.multi:
        return convert(expr, base, target)
    v, w = names(), names()
    converted = f"list_filter(list_transform({expr}, lambda {v}: {convert(v, base, target)}), lambda {w}: {w} IS NOT NULL)"
    if target.type in KEYWORDISH:
        converted = f"list_sort(list_distinct({converted}))"
    elif target.type != "text":
        converted = f"list_sort({converted})"
    return f"(CASE WHEN len({converted}) = 0 THEN NULL ELSE {converted} END)"


def _fix_structure(node):
    """JSON functions call non-negative integers UBIGINT; Elasticsearch calls them long."""
    if isinstance(node, dict):
        return {k: _fix_structure(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_fix_structure(v) for v in node]
    if node == "UBIGINT":
        return "BIGINT"
    return node


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


_LINE = re.compile(r"\bline (\d+)")


def _first_bad_line(con: duckdb.DuckDBPyConnection, source: Path) -> int | None:
    """Line number of the first malformed or non-object line.

    DuckDB's error names a line near the first malformed one (its count can be off by
    one, e.g. after invalid UTF-8); Python checks lines from a little before that hint
    (strict UTF-8, then ``json.loads``), and earlier lines only for not starting with ``{``
    (valid JSON that is no object)."""
    hint = None
    try:
        con.execute(f"SELECT count(*) FROM read_ndjson_objects({lit(str(source))})").fetchone()
    except duckdb.Error as exc:
        m = _LINE.search(str(exc))
        if m:
            hint = int(m.group(1))
    careful_from = 1 if hint is None else max(1, hint - 3)
    with _open_binary(source) as fh:
        for number, line in enumerate(fh, start=1):
            text = line.strip()
            if not text:
                continue
            if not text.startswith(b"{"):
                return number
            if number >= careful_from and not _is_object(text):
                return number
    return hint


MAX_LINE_BYTES = 16 << 20
"""Longest line loaded (DuckDB's reader refuses longer JSON values); longer ones are skipped."""
MAX_NAMED = 5
"""How many skipped oversized lines are named one by one."""


def _open_binary(source: Path):
    return gzip.open(source, "rb") if source.name.lower().endswith(".gz") else open(source, "rb")


def _is_object(text: bytes) -> bool:
    try:
        return isinstance(json.loads(text.decode("utf-8")), dict)
    except ValueError:  # UnicodeDecodeError is a ValueError
        return False


def _sort_lines(source: Path, kept: Path) -> tuple[int, int, int | None, list[int]]:
    """Python's pass over a file DuckDB cannot read whole: copies the JSON-object lines to
    ``kept`` and returns (malformed count, good count, first malformed line, oversized lines).
    Memory stays bounded: an oversized line is skipped in chunks, never held."""
    bad = good = 0
    first: int | None = None
    oversized: list[int] = []
    with _open_binary(source) as fh, open(kept, "wb") as out:
        number = 0
        while True:
            line = fh.readline(MAX_LINE_BYTES + 1)
            if not line:
                break
            number += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                oversized.append(number)
                while line and not line.endswith(b"\n"):
                    line = fh.readline(1 << 20)
                continue
            text = line.strip()
            if not text:
                continue
            if _is_object(text):
                good += 1
                out.write(text + b"\n")
            else:
                bad += 1
                first = first or number
    return bad, good, first, oversized
