"""The offline catalog: which indices an export holds, their fields, and where they live.

The ES|QL engine asks it to resolve ``FROM`` patterns and reads each index from one
DuckDB view named after the index (one column per dotted field). Several files feeding one
index (a folder of daily exports) are unioned in that view, with types reconciled the way
:mod:`collectors.offline.build` does for one file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

import duckdb

from collectors.offline import cache, inputs, lazy, spill
from collectors.offline.build import Builder, Built, Part
from collectors.offline.fields import FieldInfo
from collectors.offline.lazy import Need, matches
from collectors.offline.sql import ident, lit
from collectors.offline.types import STORAGE, MappedField, convert, parse_mapping
from collectors.result import SourceError

__all__ = ["Catalog", "FieldInfo"]


class Catalog:
    """Indices loaded into DuckDB; see ENGINE_CONTRACT (Catalog contract)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, parts: list[Part], problems: list[str]):
        self.con = con
        self.problems = problems
        self.need: Need | None = None  # set on a narrow load: what it can answer exactly
        self._writers: list = []
        self._fields: dict[str, dict[str, FieldInfo]] = {}
        self._foldings = [p.folding for p in parts if p.folding is not None]
        self._assemble(parts)

    # -- the contract ---------------------------------------------------------------------
    def indices(self) -> list[str]:
        return sorted(self._fields)

    def resolve(self, pattern: str) -> list[str]:
        """Index names matching a ``FROM`` pattern: exact, or ``*`` as any characters
        (a wildcard pattern matches hidden ``.``-names only when it starts with ``.``)."""
        return [n for n in self.indices() if matches(pattern, n)]

    def fields(self, index: str) -> dict[str, FieldInfo]:
        return dict(self._fields[index])

    def why_missing(self, name: str) -> str | None:
        """Why no index has field ``name``, when a file's rare fields were folded and it is
        one of them (see :mod:`collectors.offline.wide`); None otherwise."""
        return next((why for f in self._foldings if (why := f.explain(name))), None)

    def table(self, index: str) -> str:
        if index not in self._fields:
            raise KeyError(index)
        return f"main.{ident(index)}"

    def wait_cached(self) -> None:
        """Block until the cache of this load is written (it is written in the background)."""
        for writer in self._writers:
            writer.wait()

    def close(self) -> None:
        self.wait_cached()
        self.con.close()

    # -- building ---------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        """Every index and field of the export is loaded (not a query's narrow load)."""
        return self.need is None

    @classmethod
    def load(cls, specs: list, mappings: dict[str, Path] | None = None, need: Need | None = None,
             connected: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> "Catalog":
        """Load ``--data`` specs (files or folders), typed by ``--mapping INDEX=PATH``.

        With ``need`` (see :mod:`collectors.offline.lazy`), an export without a cache loads
        only the files that can hold those indices, and only those fields: a narrow
        catalog that answers that query exactly and writes no cache. ``connected`` is
        handed the connection before loading starts (to interrupt it on cancel)."""
        parsed = {index: _read_mapping(index, Path(path)) for index, path in (mappings or {}).items()}
        con = _connect()
        if connected is not None:
            connected(con)
        try:
            return cls._load_into(con, specs, parsed, None if parsed else need, connected)
        except BaseException:
            con.close()  # nothing half-loaded stays around
            raise

    @staticmethod
    def cached(specs: list) -> bool:
        """Is the complete load of these specs (without mappings) in the cache already?"""
        try:
            for spec in specs:
                files = inputs.expand(Path(spec.path))
                size = sum(f.stat().st_size for f in files)
                if not cache.wanted(files, size):
                    return False
                key = cache.cache_key(files, getattr(spec, "index", None) or None, {})
                if not (cache.cache_dir() / f"{key}.duckdb").exists():
                    return False
        except (OSError, SourceError):
            return False
        return True

    @classmethod
    def _load_into(cls, con: duckdb.DuckDBPyConnection, specs: list, parsed: dict, need: Need | None,
                   connected: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> "Catalog":
        raw_maps = {index: _mapping_key(m) for index, m in parsed.items()}
        database = ident(_current_db(con))
        in_memory = Builder(con, f"{database}.{ident('_hb')}", parsed)
        narrow: Builder | None = None
        if need is not None:
            con.execute("CREATE SCHEMA _hbn")
            narrow = Builder(con, f"{database}.{ident('_hbn')}", parsed,
                             None if need.fields is None else set(need.fields))
        built = Built()
        writers: list[tuple[str, Builder]] = []
        narrowed = False
        wanted: list[tuple[Path, str | None, str]] = []  # files for the narrow load
        for n, spec in enumerate(specs):
            path = Path(spec.path)
            skipped: list[str] = []
            files = inputs.expand(path, skipped)
            built.problems.extend(skipped)
            forced = getattr(spec, "index", None) or None
            size = sum(f.stat().st_size for f in files)
            key = cache.cache_key(files, forced, raw_maps) if cache.wanted(files, size) else None
            cached = cache.lookup(con, f"hb_cache{n}", key) if key else None
            if cached is not None:
                built.parts.extend(cached.parts)
                built.problems.extend(cached.problems)
                continue
            if narrow is not None:
                narrowed = True
                wanted.extend((f, forced, _label(path, f)) for f in files)
                continue
            if key and cache.replaced(key):
                built.problems.append(f"{path}: cache rebuilt (the files changed since it was written)")
            builder = in_memory
            if key:  # its own schema, copied to the cache once loaded
                schema = f"{database}.{ident(f'_hb{n}')}"
                con.execute(f"CREATE SCHEMA {schema}")
                builder = Builder(con, schema, parsed)
            for f in files:
                builder.add_file(f, forced, _label(path, f))
            if key:
                built.parts.extend(builder.out.parts)
                built.problems.extend(builder.out.problems)
                writers.append((key, builder))
        built.parts.extend(in_memory.out.parts)
        built.problems.extend(in_memory.out.problems)
        if narrow is not None and need is not None:
            _load_narrow(con, narrow, wanted, need.patterns, connected)
            built.parts.extend(narrow.out.parts)
            built.problems.extend(narrow.out.problems)
        catalog = cls(con, built.parts, built.problems)
        catalog.need = need if narrowed else None
        catalog._writers = [cache.Writer(con, key, b.schema, b.out) for key, b in writers]
        return catalog

    @classmethod
    def from_documents(cls, docs: dict[str, list[dict]], mappings: dict[str, dict] | None = None) -> "Catalog":
        """Indices from in-memory documents (nested or dotted keys), e.g. a test dataset."""
        parsed = {index: parse_mapping(m, f"mapping for {index}") for index, m in (mappings or {}).items()}
        con = _connect()
        builder = Builder(con, f"{ident(_current_db(con))}.{ident('_hb')}", parsed)
        with tempfile.TemporaryDirectory(prefix="huntbench-docs-") as tmp:
            for n, (index, documents) in enumerate(docs.items()):
                path = Path(tmp) / f"{n}.ndjson"
                with open(path, "w", encoding="utf-8") as fh:
                    for doc in documents:
                        fh.write(json.dumps(doc, default=_json_default, ensure_ascii=False) + "\n")
                before = len(builder.out.parts)
                builder.add_file(path, index, label=index)
                if len(builder.out.parts) == before and builder.mapping_for(index):
                    builder.empty_index(index)
        return cls(con, builder.out.parts, builder.out.problems)

    def _assemble(self, parts: list[Part]) -> None:
        """One view per index over its parts, types reconciled across files."""
        by_index: dict[str, list[Part]] = defaultdict(list)
        for part in parts:
            by_index[part.index].append(part)
        for index, group in sorted(by_index.items()):
            merged = _merge_fields(index, group, self.problems)
            if len(group) == 1 and list(group[0].fields.values()) == list(merged.values()):
                selects = [group[0].select()]
            else:
                selects = []
                for part in group:
                    cols = [_part_column(part, f) for f in merged.values()]
                    where = f" WHERE {part.where}" if part.where else ""
                    selects.append(f"SELECT {', '.join(cols) or 'NULL AS __hb_empty'} FROM {part.table}{where}")
            self.con.execute(f"CREATE OR REPLACE VIEW main.{ident(index)} AS {' UNION ALL '.join(selects)}")
            self._fields[index] = merged


def _load_narrow(con: duckdb.DuckDBPyConnection, builder: Builder, files: list[tuple[Path, str | None, str]],
                 patterns: tuple[str, ...], connected: Callable[[duckdb.DuckDBPyConnection], None] | None) -> None:
    """Load the files that can hold the query's indices. Those whose name or first document
    says so load at once; the others are proven meanwhile in a second thread
    (:class:`lazy.Proofs`) and load afterwards if they may hold one. The parts keep the
    files' order, as the complete load has them."""
    quick = [lazy.named_by(f, forced, patterns) for f, forced, _ in files]
    unsure = [n for n, q in enumerate(quick) if q is None]
    placed: list[tuple[int, list[Part]]] = []

    def add(n: int) -> None:
        f, forced, label = files[n]
        before = len(builder.out.parts)
        builder.add_file(f, forced, label)
        placed.append((n, builder.out.parts[before:]))

    with lazy.Proofs(con, [(files[n][0], files[n][1]) for n in unsure], patterns, connected) as proofs:
        for n, q in enumerate(quick):
            if q:
                add(n)
        for k, n in enumerate(unsure):
            if proofs.holds(k):
                add(n)
    builder.out.parts[:] = [part for _, parts in sorted(placed, key=lambda p: p[0]) for part in parts]


def _merge_fields(index: str, parts: list[Part], problems: list[str]) -> dict[str, FieldInfo]:
    names = sorted({n for p in parts for n in p.fields})
    merged: dict[str, FieldInfo] = {}
    for name in names:
        infos = [p.fields[name] for p in parts if name in p.fields]
        types = {i.type for i in infos}
        if len(types) == 1:
            es = types.pop()
        elif types <= {"long", "integer", "double"}:
            es = "double" if "double" in types else "long"
        else:
            es = "keyword"
            problems.append(f"index [{index}]: field [{name}] is {', '.join(sorted(types))} in different files; loaded as keyword")
        merged[name] = FieldInfo(name, es, any(i.multi for i in infos))
    return merged


def _part_column(part: Part, want: FieldInfo) -> str:
    col = ident(want.name)
    have = part.fields.get(want.name)
    if have is None:
        return f"CAST(NULL AS {want.storage}) AS {col}"
    expr = part.columns[want.name]
    if have.type != want.type:
        base = STORAGE[have.type]
        if have.multi:
            expr = f"list_transform({expr}, lambda __hb_v: {convert('__hb_v', base, want.type)})"
        else:
            expr = convert(expr, base, want.type)
    if want.multi and not have.multi:
        expr = f"(CASE WHEN {expr} IS NULL THEN NULL ELSE list_value({expr}) END)"
    return f"{expr} AS {col}"


MEMORY_LIMIT = os.environ.get("HUNTBENCH_MEMORY_LIMIT", "1GB")
"""DuckDB's buffer limit for the offline catalog; beyond it tables spill to a temp folder,
which keeps a 1M-event load under 2 GB of RAM."""


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = {lit(MEMORY_LIMIT)}")
    con.execute(f"SET temp_directory = {lit(str(spill.spill_dir()))}")
    con.execute("CREATE SCHEMA IF NOT EXISTS _hb")
    return con


def _current_db(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT current_database()").fetchone()
    assert row is not None  # a scalar query answers one row
    return row[0]


def _label(root: Path, file: Path) -> str:
    if file == root:
        return str(root)
    return str(root / file.relative_to(root))


def _read_mapping(index: str, path: Path) -> dict[str, MappedField]:
    label = f"--mapping {index}={path}"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SourceError(f"{label}: cannot read ({exc.strerror or exc})") from None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise SourceError(f"{label}: not valid JSON ({exc})") from None
    return parse_mapping(value, label)


def _mapping_key(mapping: dict[str, MappedField]) -> list:
    return sorted([f.name, f.mapping_type, f.source, f.scaling_factor] for f in mapping.values())


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)
