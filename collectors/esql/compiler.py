"""Compile an ES|QL query (the AST of collectors.esql.ast) into one DuckDB SELECT.

Each processing command wraps the previous relation in a sub-select, so DuckDB's optimiser
sees one statement and pushes filters and projections down into the table scan (the heavy
work stays vectorised in DuckDB; Python only builds SQL text).

Rules followed (Elasticsearch ES|QL command reference):
- FROM: fields of all matched indices, alphabetically; METADATA columns after them.
- KEEP: complete names beat partial wildcards beat ``*``; equal precedence -> rightmost wins.
- EVAL/GROK/DISSECT: a new column of an existing name replaces it at the end.
- RENAME: a column already named like the target is replaced.
- STATS: aggregates in written order then BY keys; a multi-valued key puts the row in each
  value's group; a null key is its own group.
- SORT: nulls last ASC / first DESC; a multi-value sorts by its min (ASC) / max (DESC).
- LIMIT: no LIMIT anywhere -> default limit and the warning
  ``No limit defined, adding default limit of [1000]``; larger limits are capped.
Columns get generated identifiers (``c7``), never names from the query, and constants are
quoted literals (see types.literal_sql), so query text cannot escape into the SQL.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from collectors.esql import ast
from collectors.esql.expressions import Col, ExprCompiler, Scope, Typed
from collectors.esql.types import quote_ident, sql_string, sql_type
from collectors.result import QueryError


@dataclass
class Level:
    """EVAL columns computed in one SELECT over ``base`` (see :meth:`Compiler.eval_field`)."""

    base: "Plan"
    computed: dict[str, str] = field(default_factory=dict)  # identifier -> SQL over base
    depth: dict[str, int] = field(default_factory=dict)  # identifier -> columns of this level it nests
    excluded: list[str] = field(default_factory=list)  # base identifiers no longer visible


@dataclass
class Plan:
    """A relation under construction: its SQL, visible columns, and pending sort order."""

    sql: str
    cols: list[Col]
    order: list[tuple[str, bool, bool]] = field(default_factory=list)  # (ident, asc, nulls_first)
    level: Level | None = None  # set when the last command was an EVAL that later ones may extend

    def hidden(self) -> list[str]:
        """Sort-key columns to carry along that are not visible (keys may be visible ones)."""
        visible = {c.ident for c in self.cols}
        return [o[0] for o in self.order if o[0] not in visible]

    def scope(self) -> Scope:
        return Scope({c.name: c for c in self.cols}, self.sql)


@dataclass
class Check:
    """A warning to look for after the query ran: rows of ``relation`` where ``cond`` holds."""

    relation: str
    cond: str
    pos: tuple[int, int]
    text: str
    message: str
    sample: str | None = None
    reads: frozenset[str] | None = None  # the column identifiers cond and sample use


@dataclass
class TimeFilter:
    """A WHERE that compares a date with now(): if it leaves nothing, the user is told why."""

    before: str
    after: str
    text: str
    date_sql: str | None


@dataclass
class Stage:
    """The relation after one command, so a failure DuckDB reports can be traced back to the
    command that caused it."""

    pos: tuple[int, int]
    keyword: str
    sql: str


@dataclass
class Compiled:
    sql: str
    cols: list[Col]
    checks: list[Check]
    warnings: list[str]
    time_filters: list[TimeFilter]
    stages: list[Stage] = field(default_factory=list)
    temp_tables: list[tuple[str, str]] = field(default_factory=list)
    """(name, SQL) of the temporary tables to create, in order, before anything else runs."""


@dataclass
class Cuts:
    """Where a long pipeline is cut into temporary tables (see MATERIALIZE_EVERY)."""

    tables: list[tuple[str, str]] = field(default_factory=list)  # (name, SQL), in order
    floating: list[Check] = field(default_factory=list)  # checks that may move to a later relation
    nested: int = 0  # sub-selects since the last cut
    stuck: int = 0  # warning checks since the last cut left on a relation that is not a table


MAX_QUERY_DEPTH = 500
"""Piped processing commands Elasticsearch accepts in one query."""

COMPILE_RECURSION_LIMIT = 20_000
"""Python frames compiling the deepest expression the parser accepts may need (about 6 per
level of nesting)."""

FLATTEN_ABOVE = 32
MATERIALIZE_EVERY = 8
"""Pipelines of more than FLATTEN_ABOVE commands are cut into temporary tables every
MATERIALIZE_EVERY nested sub-selects, or sooner when that many warning checks were left on
nested relations: each command nests the previous relation in a sub-select, and DuckDB's
planning time (for the query and for every warning check) grows with that depth, which made
long pipelines quadratic. A table costs DuckDB time per column, so a wide relation is not cut
every few commands when its checks can wait for the next table. The cut is made while compiling (the later
commands read ``SELECT * FROM hb_stage_K``), so no SQL text grows with the pipeline's length.
Hunt-sized queries never reach it and run as one statement, so DuckDB still pushes their
filters and projections into the scan."""

INLINE_DEPTH = 8
INLINE_MAX_CHARS = 2000
"""In long pipelines (and EVALs of more than FLATTEN_ABOVE columns), consecutive EVAL columns
share one ``SELECT *, ... FROM base``: a column that reads one computed in the same SELECT
reads its expression instead, as long as that nests at most INLINE_DEPTH such expressions
and stays under INLINE_MAX_CHARS characters; past that a new SELECT starts. One SELECT per
column made DuckDB bind every column of the relation again for every new one (time
quadratic in the number of columns) and nested a sub-select per column (1,000 columns in
one EVAL passed DuckDB's depth limit); deeper inlining costs DuckDB more than it saves."""

ROW_PRESERVING = (ast.Eval, ast.Keep, ast.Drop, ast.Rename, ast.Sort, ast.Grok, ast.Dissect)
"""Commands whose output has exactly the rows of their input, in the same order."""

_IDENT = re.compile(r"\bc\d+\b")

TIEBREAK_COLUMNS = 8
"""Up to this many visible columns, ties are ordered by their values; beyond, by a hash."""


class Compiler:
    def __init__(self, query: ast.Query, catalog: Any, params: Any, now: datetime,
                 default_limit: int = 1000, max_limit: int = 10000):
        self.query = query
        self.catalog = catalog
        self.params = params
        self.now = now
        self.default_limit = default_limit
        self.max_limit = max_limit
        self.checks: list[Check] = []
        self.warnings: list[str] = []
        self.time_filters: list[TimeFilter] = []
        self.ec = ExprCompiler(self)
        self._n = 0
        self._rest: list[ast.Command] = []
        # Columns a ROW/EVAL set to a constant -> that constant as a field-free expression
        # (Elasticsearch's PropagateEvalFoldables), for folding LIKE/RLIKE patterns.
        self.consts: dict[str, ast.Expr] = {}
        self.merge_evals = False  # see INLINE_MAX_CHARS
        self._cuts: Cuts | None = None

    # ------------------------------------------------------------ services for expressions

    def compile_call(self, node: ast.FunctionCall, scope: Scope) -> Typed:
        """A function call, for :class:`ExprCompiler` (functions.py builds on expressions.py)."""
        from collectors.esql.functions import compile_call

        return compile_call(self.ec, node, scope)

    def convert(self, node: ast.Expr, scope: Scope, value: Typed, target: str) -> Typed:
        """A ``::type`` cast, for :class:`ExprCompiler`."""
        from collectors.esql.functions import convert

        return convert(self.ec, node, scope, value, target)

    def ip_key(self, sql: str) -> str:
        """An ip value as its eight 16-bit groups, which order and compare as Elasticsearch's
        16-byte addresses do (for :class:`ExprCompiler`)."""
        from collectors.esql.functions import ipv6_groups

        return ipv6_groups(sql)

    def ident(self) -> str:
        self._n += 1
        return f"c{self._n}"

    def param(self, node: ast.Param) -> Any:
        params = self.params
        key = node.key
        if isinstance(params, dict):
            if isinstance(key, int):
                values = list(params.values())
                if 1 <= key <= len(values):
                    return values[key - 1]
            elif key in params:
                return params[key]
            elif key.lstrip("?") in params:
                return params[key.lstrip("?")]
        elif params is not None and isinstance(key, int) and 1 <= key <= len(params):
            return params[key - 1]
        elif params is not None and isinstance(key, str):
            for item in params:
                if isinstance(item, dict) and key in item:
                    return item[key]
        raise QueryError(f"Unknown query parameter [{key}]" if isinstance(key, str)
                         else f"No parameter is defined for position [{key}]", *node.pos)

    def note_column(self, name: str, expr: ast.Expr | None) -> None:
        """Record what a ROW/EVAL column ``name`` now holds: a constant expression, or
        (None / not constant) nothing foldable."""
        folded = self.substitute_constants(expr) if expr is not None else None
        if folded is None:
            self.consts.pop(name, None)
        else:
            self.consts[name] = folded

    def substitute_constants(self, expr: ast.Expr) -> ast.Expr | None:
        """``expr`` with every column reference replaced by the constant an earlier ROW/EVAL
        gave it; None when some reference is not a constant or an aggregate is involved."""
        if isinstance(expr, ast.Field):
            return self.consts.get(expr.name)
        if isinstance(expr, ast.FunctionCall) and (expr.name.lower() in _aggregates() or expr.star):
            return None
        changes: dict[str, Any] = {}
        for f in dataclasses.fields(expr):
            value = getattr(expr, f.name)
            if isinstance(value, ast.Expr):
                new = self.substitute_constants(value)
                if new is None:
                    return None
                changes[f.name] = new
            elif isinstance(value, list) and any(isinstance(v, ast.Expr) for v in value):
                items = [self.substitute_constants(v) if isinstance(v, ast.Expr) else v for v in value]
                if any(i is None for i in items):
                    return None
                changes[f.name] = items
        return dataclasses.replace(expr, **changes) if changes else expr

    @staticmethod
    def evaluate_constant(t: Typed, node: ast.Expr) -> Any:
        """The value of a column-free compiled expression, computed by DuckDB itself (so the
        folded value is exactly what the row-by-row SQL would have produced)."""
        import duckdb

        if t.const and t.value is not None:
            return t.value
        con = duckdb.connect()
        try:
            row = con.execute(f"SELECT {t.sql}").fetchone()
            assert row is not None  # a scalar query answers one row
            return row[0]
        except duckdb.Error:  # DuckDB's text never reaches the user: a gap in the engine
            raise QueryError(f"[{node.text}] is not supported offline", *node.pos) from None
        finally:
            con.close()

    def add_check(self, scope: Scope, owner: ast.Expr, cond: str, message: str, sample: str | None = None) -> None:
        if scope.agg:  # over aggregate results: no per-row relation to look for it in
            return
        self.checks.append(Check(scope.relation, cond, owner.pos, owner.text, message, sample))

    # ------------------------------------------------------------ the pipeline

    def compile(self) -> Compiled:
        """The query as DuckDB SQL. The parser bounds an expression's depth (300, as
        Elasticsearch), but compiling one level takes several Python frames: the stack is
        made deep enough for that, and running out anyway is a query error, never a crash."""
        if sys.getrecursionlimit() < COMPILE_RECURSION_LIMIT:
            sys.setrecursionlimit(COMPILE_RECURSION_LIMIT)
        try:
            return self.compile_pipeline()
        except RecursionError:
            raise QueryError("ESQL statement is too large, causing stack overflow when compiling it", 1, 1) from None

    def compile_pipeline(self) -> Compiled:
        commands = self.query.commands
        if not commands or not isinstance(commands[0], (ast.From, ast.Row)):
            pos = commands[0].pos if commands else (1, 1)
            raise QueryError("a query must start with FROM or ROW", *pos)
        if len(commands) - 1 > MAX_QUERY_DEPTH:  # Elasticsearch's parser limit, same message
            text = " | ".join(keyword(c) for c in commands[:3])
            raise QueryError(f"ESQL statement exceeded the maximum query depth allowed ({MAX_QUERY_DEPTH}): "
                             f"[{text} | ...]", 1, 1)
        plan = self.source(commands[0])
        stages = [Stage(commands[0].pos, keyword(commands[0]), plan.sql)]
        has_limit = any(isinstance(c, ast.Limit) and not c.by for c in commands)
        steps = len(commands) + sum(len(c.fields) - 1 for c in commands if isinstance(c, ast.Eval))
        long = steps > FLATTEN_ABOVE
        self.merge_evals = long
        cuts = Cuts() if long else None
        self._cuts = cuts
        for k, cmd in enumerate(commands[1:], start=1):
            self._rest = commands[k + 1:]
            method = getattr(self, "cmd_" + type(cmd).__name__.lower(), None)
            if method is None:
                raise QueryError(f"unsupported command [{type(cmd).__name__.upper()}]", *cmd.pos)
            before = len(self.checks)
            level = plan.level
            plan = method(plan, cmd)
            stages.append(Stage(cmd.pos, keyword(cmd), plan.sql))
            if cuts is not None and not isinstance(cmd, ast.Eval):  # an EVAL steps per column
                plan = self.step(plan, cmd, level, before, last=k == len(commands) - 1)
        if cuts is not None and cuts.nested and any(c.relation == plan.sql for c in cuts.floating):
            # the checks of the last commands would each plan the nested, wide relation again
            plan = self.materialize(plan, cuts)
        temp_tables = cuts.tables if cuts is not None else []
        if not has_limit:
            self.warnings.append(f"No limit defined, adding default limit of [{self.default_limit}]")
            plan = self.apply_limit(plan, self.default_limit)
        select = ", ".join(c.ident for c in plan.cols) or "NULL AS _empty"
        sql = f"SELECT {select} FROM ({plan.sql}) AS t{self.order_by(plan)}"
        return Compiled(sql, plan.cols, self.checks, self.warnings, self.time_filters, stages, temp_tables)

    def step(self, plan: Plan, cmd: ast.Command, level: Level | None, before: int, last: bool) -> Plan:
        """After one command (or one EVAL column) of a long pipeline: move its warning checks
        up while they can, and cut the pipeline into a table when it nests deep enough (see
        MATERIALIZE_EVERY)."""
        cuts = self._cuts
        assert cuts is not None
        cuts.nested += 0 if level is not None and plan.level is level else 1
        pending = cuts.floating + self.checks[before:]
        cuts.floating = self.float_checks(pending, plan, cmd)
        cuts.stuck += len(pending) - len(cuts.floating)  # they plan their nested relation each
        if max(cuts.nested, cuts.stuck) >= MATERIALIZE_EVERY and not last:
            return self.materialize(plan, cuts)
        return plan

    @staticmethod
    def materialize(plan: Plan, cuts: "Cuts") -> Plan:
        """Cut the pipeline: ``plan`` becomes a temporary table; the checks waiting on it look
        there, and stay (a table is the cheapest relation to look in)."""
        name = f"hb_stage_{len(cuts.tables) + 1}"
        cuts.tables.append((name, plan.sql))
        for check in cuts.floating:
            if check.relation == plan.sql:
                check.relation = f"SELECT * FROM {name}"
        cuts.floating, cuts.nested, cuts.stuck = [], 0, 0
        return Plan(f"SELECT * FROM {name}", plan.cols, plan.order)

    @staticmethod
    def float_checks(checks: list[Check], plan: Plan, cmd: ast.Command) -> list[Check]:
        """Move each check up to ``plan`` when ``cmd`` kept the rows (and their order) and
        ``plan`` still has every column the check reads: the check then finds the same first
        failing row. In long pipelines most checks end on a temporary table, which DuckDB reads
        without re-planning the commands (and the columns) that built it. Returns the checks
        that may move further."""
        if not isinstance(cmd, ROW_PRESERVING):
            return []
        present = {c.ident for c in plan.cols} | set(plan.hidden())
        moved = []
        for check in checks:
            if check.reads is None:
                check.reads = frozenset(_IDENT.findall(f"{check.cond} {check.sample or ''}"))
            if check.reads <= present:
                check.relation = plan.sql
                moved.append(check)
        return moved

    @staticmethod
    def order_by(plan: Plan) -> str:
        if not plan.order:
            return ""
        keys = [f"{i} {'ASC' if asc else 'DESC'} NULLS {'FIRST' if nf else 'LAST'}" for i, asc, nf in plan.order]
        return " ORDER BY " + ", ".join(keys)

    def project(self, plan: Plan, items: list[tuple[Col, str | None]]) -> Plan:
        """New relation with ``items`` (a column and the SQL computing it, None = pass through)."""
        parts = [c.ident if sql is None else f"{sql} AS {c.ident}" for c, sql in items]
        shown = {c.ident for c, _ in items}
        parts += [i for i in dict.fromkeys(o[0] for o in plan.order) if i not in shown]  # sort keys stay
        select = ", ".join(parts) or "1 AS _empty"
        return Plan(f"SELECT {select} FROM ({plan.sql}) AS t", [c for c, _ in items], list(plan.order))

    # ------------------------------------------------------------ source commands

    def source(self, cmd: ast.Command) -> Plan:
        if isinstance(cmd, ast.Row):
            items: list[tuple[Col, str]] = []
            empty = Scope({}, "(SELECT 1)")
            for name, expr in cmd.fields:
                t = self.ec.compile(expr, empty)
                items = [(c, s) for c, s in items if c.name != name]
                items.append((Col(name, t.type, t.multi, self.ident()), t.sql))
                self.note_column(name, expr)
            select = ", ".join(f"{s} AS {c.ident}" for c, s in items)
            return Plan(f"SELECT {select}", [c for c, _ in items])
        assert isinstance(cmd, ast.From)
        return self.from_indices(cmd)

    def from_indices(self, cmd: ast.From) -> Plan:
        if self.catalog is None:
            raise QueryError(f"Unknown index [{', '.join(cmd.indices)}]", *cmd.pos)
        indices: list[str] = []
        for pattern in cmd.indices:
            found = self.catalog.resolve(pattern)
            if not found:
                raise QueryError(f"Unknown index [{pattern}]", *cmd.pos)
            indices += [i for i in found if i not in indices]
        merged: dict[str, tuple[str, bool]] = {}
        per_index = {}
        for idx in indices:
            fields = self.catalog.fields(idx)
            per_index[idx] = fields
            for name, info in fields.items():
                if name in merged:
                    t, multi = merged[name]
                    if t != info.type:
                        t = "unsupported"
                    merged[name] = (t, multi or info.multi)
                else:
                    merged[name] = (info.type, info.multi)
        cols = [Col(name, t, m, self.ident()) for name, (t, m) in sorted(merged.items())]
        meta = []
        for m in cmd.metadata:
            if m == "_index":
                meta.append(Col("_index", "keyword", False, self.ident()))
            elif m in ("_id", "_version", "_score", "_source", "_ignored", "_index_mode"):
                t = {"_version": "long", "_score": "double"}.get(m, "keyword")
                meta.append(Col(m, t, False, self.ident()))
            else:
                raise QueryError(f"unsupported metadata field [{m}]", *cmd.pos)
        selects = []
        for idx in indices:
            fields = per_index[idx]
            parts = []
            for c in cols:
                info = fields.get(c.name)
                st = sql_type(c.type) + ("[]" if c.multi else "")
                if info is None or c.type == "unsupported":
                    parts.append(f"CAST(NULL AS {st if c.type != 'unsupported' else 'VARCHAR'}) AS {c.ident}")
                    continue
                ref = quote_ident(c.name)
                if c.multi and not info.multi:
                    ref = f"(CASE WHEN {ref} IS NULL THEN NULL ELSE [{ref}] END)"
                parts.append(f"{ref} AS {c.ident}")
            for c in meta:
                value = sql_string(idx) if c.name == "_index" else f"CAST(NULL AS {sql_type(c.type)})"
                parts.append(f"{value} AS {c.ident}")
            selects.append(f"SELECT {', '.join(parts) or '1 AS _empty'} FROM {self.catalog.table(idx)}")
        for c in cols:
            if c.type == "unsupported":
                c.multi = False
        return Plan(" UNION ALL ".join(selects), cols + meta)

    # ------------------------------------------------------------ processing commands

    def cmd_where(self, plan: Plan, cmd: ast.Where) -> Plan:
        scope = plan.scope()
        t = self.ec.compile(cmd.condition, scope)
        if t.type not in ("boolean", "null"):
            raise QueryError(f"Condition expression needs to be boolean, found [{t.type.upper()}]", *cmd.condition.pos)
        (t,) = self.ec.single(cmd.condition, scope, cmd.condition, t)
        keep = [c.ident for c in plan.cols] + plan.hidden()
        new = Plan(f"SELECT {', '.join(keep) or '*'} FROM ({plan.sql}) AS t WHERE {t.sql}", list(plan.cols), list(plan.order))
        if uses_now(cmd.condition):
            date_sql = None
            for f in fields_in(cmd.condition):
                col = scope.cols.get(f)
                if col is not None and col.type == "date" and not col.multi:
                    date_sql = col.ident
                    break
            self.time_filters.append(TimeFilter(plan.sql, new.sql, cmd.condition.text, date_sql))
        return new

    def cmd_eval(self, plan: Plan, cmd: ast.Eval) -> Plan:
        for i, (name, expr) in enumerate(cmd.fields):
            if self.merge_evals:
                before, level = len(self.checks), plan.level
                plan = self.eval_field(plan, name, expr)
                plan = self.step(plan, cmd, level, before, last=i == len(cmd.fields) - 1 and not self._rest)
            else:
                t = self.eval_expr(expr, plan.scope())
                items: list[tuple[Col, str | None]] = [(c, None) for c in plan.cols if c.name != name]
                items.append((Col(name, t.type, t.multi, self.ident()), t.sql))
                plan = self.project(plan, items)
            self.note_column(name, expr)
        return plan

    def eval_expr(self, expr: ast.Expr, scope: Scope) -> Typed:
        t = self.ec.compile(expr, scope)
        if t.type in ("date_period", "time_duration"):
            raise QueryError(f"EVAL does not support type [{t.type}] as the return data type of expression [{expr.text}]", *expr.pos)
        return t

    def eval_field(self, plan: Plan, name: str, expr: ast.Expr) -> Plan:
        """One EVAL column added to the SELECT the previous EVAL column opened (see
        INLINE_DEPTH), or to a new one over ``plan``: the SQL added is the new column's
        expression and, when it hides a column of the base, that column's name.

        The expression is compiled twice: over ``plan`` as a relation, for its warning checks
        (which then read columns, not the expressions they inline), and over the open
        SELECT's base, reading the columns computed in it as their expressions."""
        checked = self.eval_expr(expr, plan.scope())
        level = plan.level
        t = None
        if level is not None:
            depth = 1 + max((level.depth.get(i, 0) for i in _IDENT.findall(checked.sql)), default=0)
            if depth <= INLINE_DEPTH:
                marks = len(self.checks), len(self.warnings)
                t = self.eval_expr(expr, Scope({c.name: c for c in plan.cols}, level.base.sql, inline=level.computed))
                del self.checks[marks[0]:], self.warnings[marks[1]:]
                if len(t.sql) > INLINE_MAX_CHARS:
                    t = None
        if t is None:
            level = Level(Plan(plan.sql, plan.cols, plan.order))
            t, depth = checked, 1
        assert level is not None
        col = Col(name, t.type, t.multi, self.ident())
        level.computed[col.ident] = t.sql
        level.depth[col.ident] = depth
        keys = {o[0] for o in plan.order}
        for hidden in (c for c in plan.cols if c.name == name):
            if hidden.ident not in level.computed and hidden.ident not in keys:
                level.excluded.append(hidden.ident)
        cols = [c for c in plan.cols if c.name != name] + [col]
        visible = {c.ident for c in cols} | keys
        items = [f"{sql} AS {ident}" for ident, sql in level.computed.items() if ident in visible]
        star = f"* EXCLUDE ({', '.join(level.excluded)})" if level.excluded else "*"
        return Plan(f"SELECT {', '.join([star] + items)} FROM ({level.base.sql}) AS t", cols, list(plan.order), level)

    def cmd_keep(self, plan: Plan, cmd: ast.Keep) -> Plan:
        best: dict[str, tuple[int, int]] = {}  # column -> (precedence, pattern index)
        for i, pattern in enumerate(cmd.patterns):
            pos = name_pos(cmd, i)
            if "*" not in pattern:
                if not any(c.name == pattern for c in plan.cols):
                    raise QueryError(f"Unknown column [{pattern}]", *pos)
                prec = 3
            else:
                prec = 1 if pattern.strip("*") == "" else 2
            rx = wildcard_regex(pattern)
            matched = False
            for c in plan.cols:
                if rx.fullmatch(c.name):
                    matched = True
                    if c.name not in best or best[c.name][0] <= prec:
                        best[c.name] = (prec, i)
            if not matched:
                raise QueryError(f"No matches found for pattern [{pattern}]", *pos)
        position = {c.name: k for k, c in enumerate(plan.cols)}
        kept = sorted((c for c in plan.cols if c.name in best), key=lambda c: (best[c.name][1], position[c.name]))
        return self.project(plan, [(c, None) for c in kept])

    def cmd_drop(self, plan: Plan, cmd: ast.Drop) -> Plan:
        drop: set[str] = set()
        for i, pattern in enumerate(cmd.patterns):
            rx = wildcard_regex(pattern)
            hits = {c.name for c in plan.cols if rx.fullmatch(c.name)}
            if not hits:
                if "*" in pattern:
                    raise QueryError(f"No matches found for pattern [{pattern}]", *name_pos(cmd, i))
                raise QueryError(f"Unknown column [{pattern}]", *name_pos(cmd, i))
            drop |= hits
        return self.project(plan, [(c, None) for c in plan.cols if c.name not in drop])

    def cmd_rename(self, plan: Plan, cmd: ast.Rename) -> Plan:
        cols = list(plan.cols)
        for i, (old, new) in enumerate(cmd.pairs):
            found = [c for c in cols if c.name == old]
            if not found:
                raise QueryError(f"Unknown column [{old}]", *name_pos(cmd, i))
            src = found[0]
            self.consts.pop(new, None)
            if old in self.consts:
                self.consts[new] = self.consts.pop(old)
            cols = [Col(new, c.type, c.multi, c.ident) if c is src else c
                    for c in cols if c is src or c.name != new]
        return Plan(plan.sql, cols, list(plan.order))

    def cmd_limit(self, plan: Plan, cmd: ast.Limit) -> Plan:
        if cmd.count < 0:
            raise QueryError(f"Invalid value for LIMIT [{cmd.count}], expecting a non negative integer", *cmd.pos)
        if cmd.by:
            return self.limit_by(plan, cmd)
        return self.apply_limit(plan, cmd.count)

    def limit_by(self, plan: Plan, cmd: ast.Limit) -> Plan:
        """``LIMIT n BY keys``: the first n rows (in the current order) of each distinct
        combination of key values; a null key is its own group, as in STATS."""
        scope = plan.scope()
        keys = [self.ec.compile(expr, scope).sql for expr in cmd.by]
        ordinal, rank = self.ident(), self.ident()
        numbered = Plan(f"SELECT *, row_number() OVER () AS {ordinal} FROM ({plan.sql}) AS t", plan.cols, plan.order)
        order = self.order_by(numbered)[len(" ORDER BY "):] or ordinal
        ranked = (f"SELECT *, row_number() OVER (PARTITION BY {', '.join(keys)} ORDER BY {order}, {ordinal}) "
                  f"AS {rank} FROM ({numbered.sql}) AS t")
        keep = [c.ident for c in plan.cols] + plan.hidden() + ([] if plan.order else [ordinal])
        sql = f"SELECT {', '.join(keep)} FROM ({ranked}) AS t WHERE {rank} <= {int(min(cmd.count, self.max_limit))}"
        return Plan(sql, list(plan.cols), list(plan.order) or [(ordinal, True, False)])

    def apply_limit(self, plan: Plan, n: int) -> Plan:
        n = min(n, self.max_limit)
        keep = [c.ident for c in plan.cols] + plan.hidden()
        return Plan(f"SELECT {', '.join(keep) or '*'} FROM ({plan.sql}) AS t{self.order_by(plan)} LIMIT {int(n)}",
                    list(plan.cols), list(plan.order))

    def cmd_sort(self, plan: Plan, cmd: ast.Sort) -> Plan:
        scope = plan.scope()
        keys = []
        visible = {c.ident for c in plan.cols}
        for k in cmd.keys:
            t = self.ec.compile(k.expr, scope)
            if t.type in ("date_period", "time_duration", "unsupported"):
                raise QueryError(f"cannot sort on {t.type}", *k.expr.pos)
            if t.type == "ip":  # as Elasticsearch: by the 16-byte address, not the text
                from collectors.esql.functions import ipv6_groups

                t = Typed(f"list_transform({t.sql}, lambda v: {ipv6_groups('v')})" if t.multi
                          else ipv6_groups(t.sql), t.type, t.multi)
            sql = (f"list_min({t.sql})" if k.ascending else f"list_max({t.sql})") if t.multi else t.sql
            nulls_first = (not k.ascending) if k.nulls_first is None else k.nulls_first
            # a plain column sorts by itself (no copy: DuckDB's top-N then reads the other
            # columns only for the rows it keeps); an expression gets a hidden column
            keys.append((sql if sql in visible else self.ident(), sql, k.ascending, nulls_first))
        keys += [k for k in self.tiebreak(plan) if k[0] not in {i for i, _, _, _ in keys}]
        parts = [c.ident for c in plan.cols] + [f"{s} AS {i}" for i, s, _, _ in keys if i not in visible]
        return Plan(f"SELECT {', '.join(parts)} FROM ({plan.sql}) AS t", list(plan.cols),
                    [(i, asc, nf) for i, _, asc, nf in keys])

    def tiebreak(self, plan: Plan) -> list[tuple[str, str, bool, bool]]:
        """Hidden sort keys after the user's, so tied rows come in one order every run.

        Elasticsearch leaves the order of rows with equal SORT keys unspecified; DuckDB's
        parallel sort is not stable, so without these the same offline hunt could show tied
        rows in a different order (and a LIMIT pick different ones) from one run to the next.
        Ordering ties by the rows' own values makes the answer a function of the data and the
        query only (not of load order, cache or thread timing); rows without ties are ordered
        and limited exactly as before. Narrow relations (STATS output, a KEEP) break ties by
        their columns in order; wide ones (raw events, dozens of string columns) by one
        64-bit hash of all columns — as deterministic, and about 3x cheaper for DuckDB's
        top-N than encoding every string column as a sort key (benchmarks/README.md).
        """
        cols = [c.ident for c in plan.cols if c.type not in ("unsupported", "struct") and c.name]
        if len(cols) <= TIEBREAK_COLUMNS:
            return [(i, i, True, False) for i in cols]
        return [(self.ident(), f"hash({', '.join(cols)})", True, False)] if cols else []

    def cmd_mvexpand(self, plan: Plan, cmd: ast.MvExpand) -> Plan:
        target = next((c for c in plan.cols if c.name == cmd.field), None)
        if target is None:
            raise QueryError(f"Unknown column [{cmd.field}]", *(cmd.field_pos or cmd.pos))
        self.consts.pop(cmd.field, None)
        if not target.multi:
            return plan
        items: list[tuple[Col, str | None]] = []
        for c in plan.cols:
            if c is target:
                null = f"CAST(NULL AS {sql_type(c.type)})"
                items.append((Col(c.name, c.type, False, self.ident()), f"unnest(coalesce({c.ident}, [{null}]))"))
            else:
                items.append((c, None))
        expanded = self.project(plan, items)
        if expanded.order:  # rows expanded from one row tie on every key: order them by value
            value, tb = next(c.ident for c, s in items if s is not None), self.ident()
            return Plan(f"SELECT *, {value} AS {tb} FROM ({expanded.sql}) AS t", expanded.cols,
                        expanded.order + [(tb, True, False)])
        return expanded

    def cmd_stats(self, plan: Plan, cmd: ast.Stats) -> Plan:
        # Outputs are aggregates (never constant) and keys; a key that is a bare column keeps
        # that column's identity in Elasticsearch, so a single constant stays foldable.
        kept = {name: self.consts[name] for name, expr in cmd.by
                if isinstance(expr, ast.Field) and expr.name == name and name in self.consts
                and not _is_list_literal(self.consts[name])}
        self.consts = kept
        # 1. BY keys as columns (multi-valued keys unnested: one row per value, null kept).
        keys: list[tuple[str, Col]] = []
        for name, expr in cmd.by:
            t = self.ec.compile(expr, plan.scope())
            if t.type in ("date_period", "time_duration"):
                raise QueryError(f"cannot group by [{expr.text}] of type [{t.type}]", *expr.pos)
            col = Col(name, t.type, False, self.ident())
            items: list[tuple[Col, str | None]] = [(c, None) for c in plan.cols]
            if t.multi:
                null = f"CAST(NULL AS {sql_type(t.type)})" if t.type != "null" else "NULL"
                items.append((col, f"unnest(coalesce({t.sql}, [{null}]))"))
            else:
                items.append((col, t.sql))
            plan = self.project(plan, items)
            keys.append((name, col))
        # Groups come out in order of first appearance, as Elasticsearch's hash grouping does
        # (not needed when a SORT decides the order before any LIMIT picks rows).
        ordinal = self.ident() if keys and not self.sorted_later() else None
        if ordinal:
            plan = Plan(f"SELECT *, row_number() OVER () AS {ordinal} FROM ({plan.sql}) AS t", plan.cols, plan.order)
        # 2. aggregates over that relation, grouped by the key columns.
        # Aggregates see the input columns: over a multi-valued BY field they see the row's
        # whole multi-value, not the one key value (the keys are reached through by_keys).
        key_idents = {col.ident for _, col in keys}
        visible = {c.name: c for c in plan.cols if c.ident not in key_idents}
        for name, col in keys:
            visible.setdefault(name, col)
        base = Scope(visible, plan.sql, agg=True,
                     by_keys={name: Typed(col.ident, col.type) for name, col in keys})
        outs: list[tuple[Col, str]] = []
        for agg in cmd.aggregates:
            scope = base
            if agg.filter is not None:
                f = self.ec.compile(agg.filter, Scope(base.cols, base.relation))
                if f.type not in ("boolean", "null"):
                    raise QueryError(f"Condition expression needs to be boolean, found [{f.type.upper()}]", *agg.filter.pos)
                (f,) = self.ec.single(agg.filter, base, agg.filter, f)
                scope = Scope(base.cols, base.relation, agg=True, by_keys=base.by_keys, filter=f.sql)
            if not contains_aggregate(agg.expr):
                raise QueryError(f"expected an aggregate function but found [{agg.expr.text}]", *agg.expr.pos)
            t = self.ec.compile(agg.expr, scope)
            outs = [(c, s) for c, s in outs if c.name != agg.name]
            outs.append((Col(agg.name, t.type, t.multi, self.ident()), t.sql))
        key_names = {name for name, _ in keys}
        outs = [(c, s) for c, s in outs if c.name not in key_names]
        select = [f"{s} AS {c.ident}" for c, s in outs] + [col.ident for _, col in keys]
        # Without BY, STATS is one row even when no output is an aggregate (SUM(null)).
        group = f" GROUP BY {', '.join(col.ident for _, col in keys)}" if keys else " GROUP BY ()"
        order: list[tuple[str, bool, bool]] = []
        if ordinal:
            first = self.ident()
            select.append(f"min({ordinal}) AS {first}")
            order = [(first, True, False)]
        sql = f"SELECT {', '.join(select) or '1 AS _empty'} FROM ({plan.sql}) AS t{group}"
        return Plan(sql, [c for c, _ in outs] + [col for _, col in keys], order)

    def sorted_later(self) -> bool:
        for cmd in self._rest:
            if isinstance(cmd, ast.Sort):
                return True
            if isinstance(cmd, (ast.Limit, ast.Stats, ast.MvExpand)):
                return False
        return False

    def cmd_dissect(self, plan: Plan, cmd: ast.Dissect) -> Plan:
        from collectors.esql.dissect import compile_dissect

        try:
            pattern = compile_dissect(cmd.pattern, cmd.append_separator)
        except QueryError:
            raise
        except ValueError as exc:
            raise QueryError(f"Invalid DISSECT pattern [{cmd.pattern}]: {exc}", *cmd.pos) from None
        return self.extract(plan, cmd, pattern, "dissect")

    def cmd_grok(self, plan: Plan, cmd: ast.Grok) -> Plan:
        from collectors.esql.grok import compile_grok

        try:
            pattern = compile_grok(cmd.pattern)
        except QueryError:
            raise
        except ValueError as exc:
            raise QueryError(f"Invalid GROK pattern [{cmd.pattern}]: {exc}", *cmd.pos) from None
        return self.extract(plan, cmd, pattern, "grok")

    def extract(self, plan: Plan, cmd: Any, pattern: Any, kind: str) -> Plan:
        """GROK/DISSECT as one ``regexp_extract`` into a struct per row (vectorised in
        DuckDB), then one column per field; no match -> every new field null. As in
        Elasticsearch, a multi-valued input is matched value by value (each field collects the
        captures of the values that matched), and a GROK name captured several times is a
        multi-value of its captures."""
        scope = plan.scope()
        src = self.ec.compile(cmd.source, scope)
        if src.type not in ("keyword", "text", "null"):
            raise QueryError(f"{kind.upper()} only supports KEYWORD or TEXT values, found expression "
                             f"[{cmd.source.text}] type [{src.type}]", *cmd.source.pos)
        groups = list(pattern.group_names)
        if kind == "grok":
            fields = [(name, ftype) for name, ftype in pattern.fields]
            assembly = {name: [g for g in groups if g == name] for name, _ in fields}
            sep = ""
        else:
            fields = [(name, "keyword") for name in pattern.fields]
            assembly = {name: list(parts) for name, parts in pattern.assembly.items()}
            sep = pattern.append_separator or ""
        rx = sql_string(pattern.regex)
        struct_names = ", ".join(sql_string(f"g{i}") for i in range(1, len(groups) + 1))
        match = self.ident()
        if not groups:
            m_sql = "NULL"
        elif src.multi:
            matched = f"list_filter({src.sql}, lambda v: regexp_matches(v, {rx}))"
            m_sql = f"list_transform({matched}, lambda v: regexp_extract(v, {rx}, [{struct_names}]))"
        else:
            m_sql = (f"(CASE WHEN regexp_matches({src.sql}, {rx}) THEN "
                     f"regexp_extract({src.sql}, {rx}, [{struct_names}]) END)")
        staged = self.project(plan, [(c, None) for c in plan.cols] + [(Col("", "struct", False, match), m_sql)])
        names = {n for n, _ in fields}
        for n in names:
            self.consts.pop(n, None)
        items: list[tuple[Col, str | None]] = [(c, None) for c in plan.cols if c.name not in names]
        for name, ftype in fields:
            out_type = ftype if ftype in ("integer", "long", "double", "boolean") else "keyword"
            if kind == "grok":  # every capture of the name, in pattern order
                gnames = [sql_string(f"g{i + 1}") for i, g in enumerate(groups) if g == name]
            else:
                gnames = [sql_string("g" + str(groups.index(g) + 1)) for g in assembly.get(name, [])]
            if not gnames:
                continue
            repeated = kind == "grok" and len(gnames) > 1

            def one(ref: str, gnames: list[str] = gnames, repeated: bool = repeated) -> str:
                """The field from one match struct: text, or a list of texts when repeated."""
                parts = [f"struct_extract({ref}, {g})" for g in gnames]
                if repeated:
                    return f"[{', '.join(parts)}]"
                return parts[0] if len(parts) == 1 else "(" + f" || {sql_string(sep)} || ".join(parts) + ")"

            def typed(v: str, out_type: str = out_type) -> str:
                if out_type in ("integer", "long", "double"):
                    return f"TRY_CAST(nullif({v}, '') AS {sql_type(out_type)})"
                if out_type == "boolean":
                    return f"(lower({v}) = 'true')"
                return v

            if src.multi or repeated:
                values = (f"flatten(list_transform({match}, lambda s: {one('s')}))" if src.multi and repeated
                          else f"list_transform({match}, lambda s: {one('s')})" if src.multi else one(match))
                # a GROK capture that did not take part (optional) is empty: not a value
                blank = "nullif(v, '')" if kind == "grok" else "v"
                kept = f"list_filter(list_transform({values}, lambda v: {typed(blank)}), lambda v: v IS NOT NULL)"
                if repeated:  # an optional capture that did not take part is not a value
                    kept = (f"list_filter(list_transform(list_filter({values}, lambda v: v <> ''), "
                            f"lambda v: {typed('v')}), lambda v: v IS NOT NULL)")
                value = f"(CASE WHEN len({kept}) > 0 THEN {kept} END)"
                items.append((Col(name, out_type, True, self.ident()), value))
            else:
                items.append((Col(name, out_type, False, self.ident()), typed(one(match))))
        return self.project(Plan(staged.sql, staged.cols[:-1] + [Col("", "struct", False, match)], staged.order), items)


def keyword(cmd: ast.Command) -> str:
    """The command's ES|QL keyword (``MV_EXPAND`` for :class:`ast.MvExpand`)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", type(cmd).__name__).upper()


def name_pos(cmd: Any, i: int) -> tuple[int, int]:
    """Where the i-th name of a KEEP/DROP/RENAME was written (Elasticsearch points errors
    at the name); the command's position for hand-built nodes without positions."""
    positions = getattr(cmd, "positions", None) or []
    return positions[i] if i < len(positions) else cmd.pos


def wildcard_regex(pattern: str) -> re.Pattern:
    """KEEP/DROP patterns: ``*`` is the only wildcard."""
    return re.compile("".join(".*" if ch == "*" else re.escape(ch) for ch in pattern), re.S)


def _aggregates() -> set[str]:
    from collectors.esql.functions import AGGREGATES

    return AGGREGATES


def _is_list_literal(node: ast.Expr) -> bool:
    return isinstance(node, ast.Literal) and isinstance(node.value, list)


def contains_aggregate(node: Any) -> bool:
    from collectors.esql.functions import AGGREGATES

    if isinstance(node, ast.FunctionCall) and node.name.lower() in AGGREGATES:
        return True
    return any(contains_aggregate(child) for child in children(node))


def children(node: Any) -> list[Any]:
    out = []
    for value in vars(node).values() if hasattr(node, "__dict__") else []:
        if isinstance(value, ast.Expr):
            out.append(value)
        elif isinstance(value, list):
            out += [v for v in value if isinstance(v, ast.Expr)]
    return out


def uses_now(node: Any) -> bool:
    if isinstance(node, ast.FunctionCall) and node.name.lower() == "now":
        return True
    return any(uses_now(c) for c in children(node))


def fields_in(node: Any) -> list[str]:
    if isinstance(node, ast.Field):
        return [node.name]
    out = []
    for c in children(node):
        out += fields_in(c)
    return out
