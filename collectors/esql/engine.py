"""Run ES|QL offline: parse, compile to DuckDB SQL, execute, shape the answer like ``_query``.

``run_esql`` is the engine contract: values come
back JSON-ready as Elasticsearch sends them (dates ``YYYY-MM-DDTHH:MM:SS.sssZ``, multi-values
as lists, null as None). Warnings Elasticsearch would send in its ``Warning`` headers
(default limit, multi-values in single-value functions, failed conversions) are found by
small follow-up queries that run only for the expressions that can produce them.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Callable

import duckdb

from collectors.esql import ast
from collectors.esql.compiler import Check, Compiled, Compiler, Stage
from collectors.esql.types import format_date, java_double, json_value
from collectors.result import Cancelled, Column, QueryError, QueryResult, SourceError

MAX_FAILURES = 20


def run_esql(
    query: str | ast.Query,
    catalog: Any,
    params: Any = None,
    *,
    now: datetime,
    cancel: Any = None,
    default_limit: int = 1000,
    max_limit: int = 10000,
) -> QueryResult:
    """Run one ES|QL query over ``catalog`` (a collectors.offline.catalog.Catalog, or None
    for ROW-only queries). Raises QueryError, SourceError or Cancelled."""
    started = time.monotonic()
    tree = query if isinstance(query, ast.Query) else _parse(query)
    now_utc = now.astimezone(timezone.utc).replace(tzinfo=None) if now.tzinfo else now
    now_utc = now_utc.replace(microsecond=now_utc.microsecond // 1000 * 1000)
    compiled = _compile(lambda: Compiler(tree, catalog, params, now_utc, default_limit, max_limit).compile(), catalog)
    con = catalog.con.cursor() if catalog is not None else duckdb.connect()
    try:
        with _Interrupter(con, cancel):
            try:
                _create_temp_tables(con, compiled)
                rows = _fetch(con, compiled.sql)
                warnings = list(compiled.warnings)
                warnings += _check_warnings(con, compiled.checks)
                if not rows:
                    warnings += _time_filter_warnings(con, compiled, now_utc)
            except _EngineGap:
                raise _unsupported(con, compiled.stages, query if isinstance(query, str) else None) from None
    finally:
        con.close()
    values = [[json_value(v, c.type) for v, c in zip(row, compiled.cols)] for row in rows]
    columns = [Column(c.name, c.type) for c in compiled.cols]
    return QueryResult(columns, values, warnings, took=int((time.monotonic() - started) * 1000))


@lru_cache(maxsize=256)
def _parse(text: str) -> ast.Query:
    """Parsed once per distinct text: hunts and pivots re-run the same queries (with new
    parameters), and the compiler never mutates the tree."""
    from collectors.esql.parser import parse

    return parse(text)


def compile_esql(query: str, catalog: Any, params: Any = None, *, now: datetime) -> Compiled:
    """The DuckDB SQL a query becomes (for ``--explain`` style debugging and tests); a long
    pipeline reads the ``temp_tables`` it lists, which must be created first."""
    return _compile(lambda: Compiler(_parse(query), catalog, params, now.replace(tzinfo=None)).compile(), catalog)


_UNKNOWN = re.compile(r"Unknown column \[(.+)\]")


def _compile(compile: Callable[[], Compiled], catalog: Any) -> Compiled:
    """Compile; an unknown column that a wide file's load folded away is explained (the
    catalog knows which fields it folded) instead of reported as unknown."""
    try:
        return compile()
    except QueryError as exc:
        m = _UNKNOWN.fullmatch(exc.reason)
        why = getattr(catalog, "why_missing", None)
        explained = why(m.group(1)) if m and why is not None else None
        if explained is None:
            raise
        raise QueryError(explained, exc.line, exc.column) from None


class _EngineGap(Exception):
    """DuckDB refused SQL the compiler produced: a gap in the engine, never the user's data.
    Turned into a clean refusal naming the command (DuckDB's own text never reaches the user)."""


def _fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    try:
        return con.execute(sql).fetchall()
    except duckdb.InterruptException:
        raise Cancelled("query cancelled") from None
    except (duckdb.IOException, duckdb.OutOfMemoryException) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(f"query failed while reading the data: {message}") from None
    except duckdb.Error:
        raise _EngineGap() from None


def _unsupported(con: duckdb.DuckDBPyConnection, stages: list[Stage], text: str | None) -> QueryError:
    """``line L:C: [command] is not supported offline`` for the first command whose relation
    DuckDB cannot evaluate (every column computed, so run-time failures show up too)."""
    blamed = stages[-1] if stages else Stage((1, 1), "query", "")
    for stage in stages:
        try:
            con.execute(f"SELECT count(hash(COLUMNS(*))) FROM ({stage.sql}) AS t").fetchall()
        except duckdb.InterruptException:
            raise Cancelled("query cancelled") from None
        except duckdb.Error:
            blamed = stage
            break
    return QueryError(f"[{_command_text(text, stages, blamed)}] is not supported offline", *blamed.pos)


def _command_text(text: str | None, stages: list[Stage], stage: Stage) -> str:
    """The command as written (from its position up to the next command's pipe)."""
    if text is None:
        return stage.keyword
    lines = text.splitlines()
    line, col = stage.pos
    start = sum(len(ln) + 1 for ln in lines[:line - 1]) + col - 1
    later = [s.pos for s in stages if s.pos > stage.pos]
    if later:
        nline, ncol = min(later)
        end = text.rfind("|", 0, sum(len(ln) + 1 for ln in lines[:nline - 1]) + ncol - 1)
    else:
        end = len(text)
    snippet = " ".join(text[start:end if end > start else len(text)].split())
    return snippet if len(snippet) <= 80 else snippet[:77] + "..."


def _create_temp_tables(con: duckdb.DuckDBPyConnection, compiled: Compiled) -> None:
    """The stages a long pipeline was cut into (see compiler.FLATTEN_ABOVE), in order."""
    for name, sql in compiled.temp_tables:
        _fetch(con, f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")


_TABLE = re.compile(r"SELECT \* FROM (hb_stage_\d+)")


def _from(relation: str) -> str:
    """``relation`` for a FROM clause: a temporary table directly (DuckDB plans a sub-select
    of it, even ``SELECT *``, by binding every column)."""
    table = _TABLE.fullmatch(relation)
    return f"{table.group(1)} AS t" if table else f"({relation}) AS t"


def _check_warnings(con: duckdb.DuckDBPyConnection, checks: list[Check]) -> list[str]:
    """Elasticsearch's evaluation warnings: one header per failing expression, then its
    distinct failure messages (at most 20)."""
    by_node: dict[tuple, list[str]] = {}
    for check in checks:
        sql = f"SELECT {check.sample or 'NULL'} FROM {_from(check.relation)} WHERE {check.cond} LIMIT 1"
        hit = _fetch(con, sql)
        if not hit:
            continue
        sample = java_double(hit[0][0]) if isinstance(hit[0][0], float) else str(hit[0][0])
        message = check.message.replace("{}", sample) if "{}" in check.message else check.message
        key = (check.pos, check.text)
        messages = by_node.setdefault(key, [])
        if message not in messages and len(messages) < MAX_FAILURES:
            messages.append(message)
    out = []
    for (pos, text), messages in by_node.items():
        line, col = pos
        out.append(f"Line {line}:{col}: evaluation of [{text}] failed, treating result as null. "
                   f"Only first {MAX_FAILURES} failures recorded.")
        out += [f"Line {line}:{col}: {m}" for m in messages]
    return out


def _time_filter_warnings(con: duckdb.DuckDBPyConnection, compiled: Compiled, now: datetime) -> list[str]:
    """When a ``WHERE @timestamp > now() - ...`` removed every row, say so (offline data is
    usually older than the wall clock)."""
    for tf in compiled.time_filters:
        before = _fetch(con, f"SELECT count(*) FROM ({tf.before}) AS t")[0][0]
        if not before:
            continue
        after = _fetch(con, f"SELECT count(*) FROM ({tf.after}) AS t")[0][0]
        if after:
            continue
        span = ""
        if tf.date_sql:
            lo, hi = _fetch(con, f"SELECT min({tf.date_sql}), max({tf.date_sql}) FROM ({tf.before}) AS t")[0]
            if lo is not None:
                span = f"; the data spans {format_date(lo)} to {format_date(hi)}"
        return [f"time filter [{tf.text}] excluded all {before} rows (now() is {format_date(now)}"
                f"{span}); set the clock with --now"]
    return []


class _Interrupter:
    """Watch a CancelToken while DuckDB runs; interrupt the connection when it is set."""

    def __init__(self, con: duckdb.DuckDBPyConnection, cancel: Any):
        self.con = con
        self.cancel = cancel
        self.done = threading.Event()
        self.thread: threading.Thread | None = None

    def __enter__(self) -> "_Interrupter":
        if self.cancel is not None:
            if self.cancel.cancelled:
                raise Cancelled("query cancelled")
            self.thread = threading.Thread(target=self._watch, daemon=True)
            self.thread.start()
        return self

    def _watch(self) -> None:
        while not self.done.is_set():
            if self.cancel.wait(0.05):
                self.con.interrupt()
                return

    def __exit__(self, *exc: Any) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join()
        if self.cancel is not None and self.cancel.cancelled and exc[0] is not None and not issubclass(exc[0], QueryError):
            raise Cancelled("query cancelled") from None
