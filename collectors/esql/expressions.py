"""Compile ES|QL expressions to DuckDB SQL, with ES|QL's types and null/multi-value rules.

Semantics followed (Elasticsearch ES|QL reference, "Operators" and "Multivalued fields"):
- comparisons, arithmetic and LIKE with a null side are null (SQL's three-valued logic is
  the same), WHERE keeps only true;
- an operator or single-value function given a multi-value yields null and the two
  warnings ``evaluation of [expr] failed, treating result as null. Only first 20 failures
  recorded.`` / ``java.lang.IllegalArgumentException: single-value function encountered
  multi-value`` (texts from the spec tests in null.csv-spec and where-like.csv-spec);
- integer arithmetic stays integer (overflow -> null + warning), ``/`` on integers
  truncates, division by zero -> null + warning.

Every constant reaches DuckDB as a quoted literal built by :func:`types.literal_sql`;
every column as a generated identifier (``c12``) — no query text is pasted into SQL.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from collectors.esql import ast
from collectors.esql.patterns import like_literal, like_to_sql, lucene_to_re2
from collectors.esql.types import (
    CAST_NAMES,
    INT_RANGE,
    NUMERIC,
    STRING,
    common_numeric,
    java_double,
    literal_sql,
    param_type,
    sql_string,
    sql_type,
)
from collectors.result import QueryError

if TYPE_CHECKING:
    from collectors.esql.compiler import Compiler


@dataclass
class Typed:
    """A compiled expression: SQL text over the input relation, ES type, multi-valuedness.

    ``const`` marks values known at compile time (literals, parameters, now()); ``value``
    then holds the Python value (used for LIKE patterns, date formats, time spans).
    """

    sql: str
    type: str
    multi: bool = False
    const: bool = False
    value: Any = None


@dataclass
class Col:
    """A column of the current relation: ES name and type, DuckDB identifier."""

    name: str
    type: str
    multi: bool
    ident: str


@dataclass
class Scope:
    """What an expression can see: the input relation's columns, and in STATS the keys."""

    cols: dict[str, Col]
    relation: str
    agg: bool = False
    by_keys: dict[str, Typed] = field(default_factory=dict)
    filter: str = ""  # an aggregate's ``WHERE`` inside STATS, as SQL
    inline: dict[str, str] = field(default_factory=dict)
    """Columns not in ``relation`` but computed over it (identifier -> SQL): an EVAL that
    extends the previous one's SELECT reads them as their expressions."""
    compiled: dict[int, tuple[ast.Expr, Typed]] = field(default_factory=dict, repr=False, compare=False)
    """Expressions already compiled in this scope (keyed by node; the node is kept so its id
    is not reused): a function looks at its arguments' types after compiling them, and
    compiling them again at every nesting level took time exponential in the depth (and
    added each warning check twice)."""


MAX_SQL_CHARS = 1_000_000
"""Some functions repeat their argument in the SQL they become (a CIDR_MATCH tests the
address several ways), so nesting them multiplies the text: past this size an expression
is refused as a query error instead of exhausting memory."""

SPAN_UNITS = {
    "year": ("YEAR", 1), "quarter": ("MONTH", 3), "month": ("MONTH", 1), "week": ("DAY", 7),
    "day": ("DAY", 1), "hour": ("HOUR", 1), "minute": ("MINUTE", 1), "second": ("SECOND", 1),
    "millisecond": ("MILLISECOND", 1),
}


def span_sql(amount: int, unit: str) -> str:
    sql_unit, factor = SPAN_UNITS[unit]
    return f"INTERVAL {int(amount) * factor} {sql_unit}"


def parse_date_text(text: str) -> datetime | None:
    """An ISO-8601 string as Elasticsearch's default date parser reads it (naive UTC)."""
    t = text.strip()
    if not t:
        return None
    try:
        value = datetime.fromisoformat(t.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


class ExprCompiler:
    """Turns one expression tree into a :class:`Typed`; owned by a :class:`Compiler`."""

    def __init__(self, compiler: "Compiler"):
        self.c = compiler

    # ------------------------------------------------------------ entry points

    def compile(self, node: ast.Expr, scope: Scope) -> Typed:
        done = scope.compiled.get(id(node))
        if done is not None:
            return dataclasses.replace(done[1])
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise QueryError(f"unsupported expression [{node.text or type(node).__name__}]", *node.pos)
        result = method(node, scope)
        if len(result.sql) > MAX_SQL_CHARS:
            text = " ".join(node.text.split())
            raise QueryError(f"[{text if len(text) <= 80 else text[:77] + '...'}] is too complex to run offline "
                             f"(its SQL would exceed {MAX_SQL_CHARS:,} characters)", *node.pos)
        scope.compiled[id(node)] = (node, result)
        return dataclasses.replace(result)

    def single(self, node: ast.Expr, scope: Scope, owner: ast.Expr, *args: Typed) -> list[Typed]:
        """The args as single values: multi-valued ones become null (with ES's warnings)."""
        out = []
        conds = []
        for a in args:
            if a.multi:
                conds.append(f"len({a.sql}) > 1")
                out.append(Typed(f"(CASE WHEN len({a.sql}) = 1 THEN ({a.sql})[1] END)", a.type))
            else:
                out.append(a)
        if conds:
            self.c.add_check(scope, owner, " OR ".join(conds),
                             "java.lang.IllegalArgumentException: single-value function encountered multi-value")
        return out

    def sv(self, node: ast.Expr, scope: Scope, owner: ast.Expr | None = None) -> Typed:
        """Compile ``node`` and force it to a single value (warning names ``owner``)."""
        return self.single(node, scope, owner or node, self.compile(node, scope))[0]

    # ------------------------------------------------------------ leaves

    def _Literal(self, node: ast.Literal, scope: Scope) -> Typed:
        t = node.type
        if t in ("string", "text"):
            t = "keyword"
        if isinstance(node.value, list):
            values = [v for v in node.value if v is not None]
            if t == "null" and values:
                t = param_type(values)
            if len(values) == 1:
                return Typed(literal_sql(values[0], t), t, const=True, value=values[0])
            if not values:
                return Typed("NULL", t, const=True, value=None)
            return Typed(literal_sql(values, t), t, multi=True, const=True, value=values)
        if node.value is None:
            return Typed("NULL", "null", const=True, value=None)
        return Typed(literal_sql(node.value, t), t, const=True, value=node.value)

    def _Param(self, node: ast.Param, scope: Scope) -> Typed:
        value = self.c.param(node)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, float) and not math.isfinite(item):
                raise QueryError(f"query parameter [{node.text}] is [{java_double(item)}]: only finite numbers are accepted",
                                 *node.pos)
        t = param_type(value)
        if t == "double":  # integers too wide for long (in a list or alone) become doubles
            value = [float(v) if isinstance(v, int) else v for v in value] if isinstance(value, list) else float(value)
        if isinstance(value, list):
            return self._Literal(ast.Literal(value, t, pos=node.pos, text=node.text), scope)
        if value is None:
            return Typed("NULL", "null", const=True)
        if t == "integer" and isinstance(value, int) and not -(2**31) <= value < 2**31:
            t = "long"
        return Typed(literal_sql(value, t), t, const=True, value=value)

    def _TimeSpan(self, node: ast.TimeSpan, scope: Scope) -> Typed:
        if node.unit not in SPAN_UNITS:
            raise QueryError(f"Unexpected time interval qualifier: '{node.unit}'", *node.pos)
        kind = "date_period" if node.unit in ("year", "quarter", "month", "week", "day") else "time_duration"
        return Typed(span_sql(node.amount, node.unit), kind, const=True, value=(node.amount, node.unit))

    def _Field(self, node: ast.Field, scope: Scope) -> Typed:
        if scope.agg:
            key = scope.by_keys.get(node.name)
            if key is not None:
                return key
            if node.name in scope.cols:
                raise QueryError(
                    f"column [{node.name}] must appear in the STATS BY clause or be used in an aggregate function",
                    *node.pos)
        col = scope.cols.get(node.name)
        if col is None:
            raise QueryError(f"Unknown column [{node.name}]", *node.pos)
        if col.type == "unsupported":
            return Typed("NULL", "unsupported")
        inline = scope.inline.get(col.ident)
        return Typed(col.ident if inline is None else f"({inline})", col.type, multi=col.multi)

    # ------------------------------------------------------------ operators

    def _UnaryOp(self, node: ast.UnaryOp, scope: Scope) -> Typed:
        x = self.sv(node.operand, scope, node)
        if node.op == "not":
            self.need(node, x, ("boolean", "null"), "boolean")
            return Typed(f"(NOT {x.sql})", "boolean", const=x.const)
        if x.type == "null":
            return Typed("NULL", "null", const=True)
        if x.type in INT_RANGE:  # -MIN_VALUE overflows: null + Elasticsearch's warning
            lo = literal_sql(INT_RANGE[x.type][0], x.type)
            self.c.add_check(scope, node, f"({x.sql}) = {lo}", f"java.lang.ArithmeticException: {x.type} overflow")
            # 0 - x: DuckDB's overflow error (null through try) names x once; a CASE on x would
            # repeat it, which doubles the SQL of every nested negation
            return Typed(f"try(CAST(0 AS {sql_type(x.type)}) - {x.sql})", x.type, const=x.const)
        if x.type in NUMERIC:
            return Typed(f"(- {x.sql})", x.type, const=x.const)
        if x.type in ("time_duration", "date_period"):
            amount, unit = x.value
            return Typed(span_sql(-amount, unit), x.type, const=True, value=(-amount, unit))
        raise QueryError(f"argument of [{node.text}] must be [numeric, date_period or time_duration], found value [{node.operand.text}] type [{x.type}]", *node.pos)

    def need(self, node: ast.Expr, x: Typed, types: tuple, label: str) -> None:
        if x.type not in types:
            raise QueryError(f"argument of [{node.text}] must be [{label}], found value [{node.text}] type [{x.type}]", *node.pos)

    def _BinaryOp(self, node: ast.BinaryOp, scope: Scope) -> Typed:
        op = node.op.lower()
        if op in ("and", "or"):
            a, b = self.single(node, scope, node, self.compile(node.left, scope), self.compile(node.right, scope))
            for side, x in (("first", a), ("second", b)):
                if x.type not in ("boolean", "null"):
                    raise QueryError(f"{side} argument of [{node.text}] must be [boolean], found value "
                                     f"[{(node.left if side == 'first' else node.right).text}] type [{x.type}]", *node.pos)
            return Typed(f"({a.sql} {op.upper()} {b.sql})", "boolean", const=a.const and b.const)
        left = self.compile(node.left, scope)
        right = self.compile(node.right, scope)
        if op in ("==", "!=", "<", "<=", ">", ">="):
            return self.compare(node, scope, op, left, right)
        return self.arithmetic(node, scope, op, left, right)

    def coerce_pair(self, node: ast.Expr, a: Typed, b: Typed) -> tuple[Typed, Typed]:
        """Implicit casts ES|QL applies: string constants next to dates/ips/numbers/booleans."""
        def conv(const: Typed, target: str) -> Typed:
            if not (const.const and const.type in STRING and isinstance(const.value, str)):
                return const
            return self.convert_const(node, const, target)
        if a.type in ("date", "ip", "boolean") + NUMERIC and b.type in STRING:
            b = conv(b, a.type)
        elif b.type in ("date", "ip", "boolean") + NUMERIC and a.type in STRING:
            a = conv(a, b.type)
        return a, b

    def convert_const(self, node: ast.Expr, const: Typed, target: str) -> Typed:
        text = const.value
        if target == "date":
            value = parse_date_text(text)
            if value is None:
                raise QueryError(f"Cannot convert string [{text}] to [DATETIME], error [failed to parse date field [{text}] with format [strict_date_optional_time]]", *node.pos)
            return Typed(literal_sql(value, "date"), "date", const=True, value=value)
        if target == "ip":
            return Typed(literal_sql(text, "ip"), "ip", const=True, value=text)
        if target in NUMERIC:
            try:
                number = float(text) if target == "double" else int(text)
            except ValueError:
                raise QueryError(f"Cannot convert string [{text}] to [{target.upper()}]", *node.pos) from None
            return Typed(literal_sql(number, target), target, const=True, value=number)
        if target == "boolean":
            return Typed(literal_sql(text.lower() == "true", "boolean"), "boolean", const=True, value=text.lower() == "true")
        return const

    def compare(self, node: ast.Expr, scope: Scope, op: str, left: Typed, right: Typed) -> Typed:
        left, right = self.coerce_pair(node, left, right)
        a, b = self.single(node, scope, node, left, right)
        if not self.comparable(a.type, b.type):
            kind = "numeric" if a.type in NUMERIC else a.type
            bkind = b.type
            raise QueryError(f"first argument of [{node.text}] is [{kind}] so second argument must also be [{kind}] but was [{bkind}]", *node.pos)
        if op in ("<", "<=", ">", ">=") and a.type == "boolean":
            raise QueryError(f"first argument of [{node.text}] must be [date, double, integer, ip, keyword, long, text, unsigned_long or version], found value [{getattr(node, 'left', node).text}] type [boolean]", *node.pos)
        if "null" in (a.type, b.type):
            return Typed("CAST(NULL AS BOOLEAN)", "boolean", const=True)
        sql_op = {"==": "=", "!=": "<>"}.get(op, op)
        if a.type == "ip" and b.type == "ip":
            # As Elasticsearch: by the 16-byte address (``::1`` == ``0:0:0:0:0:0:0:1``,
            # ``9.0.0.1`` < ``10.0.0.1``), not by the text.
            return Typed(f"({self.c.ip_key(a.sql)} {sql_op} {self.c.ip_key(b.sql)})", "boolean",
                         const=a.const and b.const)
        return Typed(f"({a.sql} {sql_op} {b.sql})", "boolean", const=a.const and b.const)

    @staticmethod
    def comparable(a: str, b: str) -> bool:
        if "null" in (a, b) or "unsupported" in (a, b):
            return True
        if a in NUMERIC and b in NUMERIC:
            return True
        if a in STRING and b in STRING:
            return True
        return a == b

    def arithmetic(self, node: ast.Expr, scope: Scope, op: str, left: Typed, right: Typed) -> Typed:
        # A string literal next to a time span is a date (``"2024-01-01" + 1 day``).
        spans = ("date_period", "time_duration")
        if left.type in spans and right.const and right.type in STRING and isinstance(right.value, str):
            right = self.convert_const(node, right, "date")
        if right.type in spans and left.const and left.type in STRING and isinstance(left.value, str):
            left = self.convert_const(node, left, "date")
        if left.type in ("date_period", "time_duration") and right.type == "date" and op == "+":
            left, right = right, left
        a, b = self.single(node, scope, node, left, right)
        if a.type == "date" and b.type in ("date_period", "time_duration") and op in ("+", "-"):
            return Typed(f"({a.sql} {op} {b.sql})", "date", const=a.const)
        if a.type in ("date_period", "time_duration") and b.type == a.type and op in ("+", "-"):
            amount = a.value[0] + (b.value[0] if op == "+" else -b.value[0]) if a.value[1] == b.value[1] else None
            if amount is not None:
                return Typed(span_sql(amount, a.value[1]), a.type, const=True, value=(amount, a.value[1]))
        if a.type == "null" or b.type == "null":
            other = b if a.type == "null" else a
            if other.type == "null":
                return Typed("NULL", "null", const=True)
            if other.type not in NUMERIC:
                raise QueryError(f"[{op}] has arguments with incompatible types [{a.type}] and [{b.type}]", *node.pos)
            return Typed(f"CAST(NULL AS {_sqlt(other.type)})", other.type, const=True)
        if a.type not in NUMERIC or b.type not in NUMERIC:
            raise QueryError(f"[{op}] has arguments with incompatible types [{a.type}] and [{b.type}]", *node.pos)
        t = common_numeric(a.type, b.type)
        if op in ("/", "%"):
            self.c.add_check(scope, node, f"({b.sql}) = 0", "java.lang.ArithmeticException: / by zero")
            if t == "double":
                expr = f"(CASE WHEN {b.sql} = 0 THEN NULL ELSE CAST({a.sql} AS DOUBLE) {op} {b.sql} END)"
            else:
                sql_op = "//" if op == "/" else "%"
                expr = f"(CASE WHEN {b.sql} = 0 THEN NULL ELSE {_cast(a, t)} {sql_op} {_cast(b, t)} END)"
            return Typed(expr, t, const=a.const and b.const)
        if t == "double":
            return Typed(f"(CAST({a.sql} AS DOUBLE) {op} {b.sql})", t, const=a.const and b.const)
        if scope.agg:  # DuckDB refuses aggregates inside try(): compute wide, null when out of range
            return Typed(f"TRY_CAST(CAST({a.sql} AS HUGEINT) {op} CAST({b.sql} AS HUGEINT) AS {_sqlt(t)})", t)
        expr = f"try({_cast(a, t)} {op} {_cast(b, t)})"
        self.c.add_check(scope, node, f"{expr} IS NULL AND ({a.sql}) IS NOT NULL AND ({b.sql}) IS NOT NULL",
                         f"java.lang.ArithmeticException: {t} overflow")
        return Typed(expr, t, const=a.const and b.const)

    # ------------------------------------------------------------ predicates

    def _IsNull(self, node: ast.IsNull, scope: Scope) -> Typed:
        x = self.compile(node.operand, scope)
        return Typed(f"({x.sql} IS {'NOT ' if node.negated else ''}NULL)", "boolean", const=x.const)

    def _In(self, node: ast.In, scope: Scope) -> Typed:
        x = self.compile(node.operand, scope)
        items = []
        for item in node.items:
            it = self.compile(item, scope)
            _, it = self.coerce_pair(node, x, it)
            if not self.comparable(x.type, it.type):
                raise QueryError(f"2nd argument of [{node.text}] must be [{x.type}], found value [{item.text}] type [{it.type}]", *node.pos)
            items.append(it)
        parts = self.single(node, scope, node, x, *items)
        x, items = parts[0], parts[1:]
        if x.type == "null":
            return Typed("CAST(NULL AS BOOLEAN)", "boolean", const=True)
        neg = "NOT " if node.negated else ""
        return Typed(f"({x.sql} {neg}IN ({', '.join(i.sql for i in items)}))", "boolean")

    def _Like(self, node: ast.Like, scope: Scope) -> Typed:
        x = self.compile(node.operand, scope)
        if x.type not in STRING + ("null",):
            raise QueryError(f"argument of [{node.text}] must be [string], found value [{node.operand.text}] type [{x.type}]", *node.pos)
        (x,) = self.single(node, scope, node, x)
        patterns = [self.fold_pattern(node, p, scope) for p in node.patterns]
        if x.type == "null":
            return Typed("CAST(NULL AS BOOLEAN)", "boolean", const=True)
        tests = [self.pattern_test(node, x.sql, value, node.pos) for value in patterns]
        cond = tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"
        if node.negated:
            cond = f"(NOT {cond})"
        return Typed(cond, "boolean")

    def fold_pattern(self, node: ast.Like, pattern: ast.Expr, scope: Scope) -> str:
        """A LIKE/RLIKE pattern folded to its string, as Elasticsearch 9 does
        (DeferredRegexExpression + PropagateEvalFoldables + ConstantFolding): literals,
        parameters, functions of constants and columns an earlier ROW/EVAL set to a constant
        all fold; anything else is the verifier's error, with the same texts and position
        (the pattern): ``[LIKE] pattern must be a string, found [integer]``,
        ``[LIKE] pattern must be a constant, received [last_name]``,
        ``[LIKE] pattern must not be null``."""
        op = node.kind.upper()
        n_checks = len(self.c.checks)
        pt = self.compile(pattern, scope)  # resolves names and the type against the real columns
        del self.c.checks[n_checks:]
        if pt.type == "null":
            raise QueryError(f"[{op}] pattern must not be null", *pattern.pos)
        if pt.type not in STRING:
            raise QueryError(f"[{op}] pattern must be a string, found [{pt.type}]", *pattern.pos)
        if pt.const and isinstance(pt.value, str):
            return pt.value
        folded = self.c.substitute_constants(pattern)
        if folded is None:
            raise QueryError(f"[{op}] pattern must be a constant, received [{pattern.text}]", *pattern.pos)
        value = self.c.evaluate_constant(self.compile(folded, Scope({}, "(SELECT 1)")), pattern)
        del self.c.checks[n_checks:]
        if value is None:
            raise QueryError(f"[{op}] pattern must not be null", *pattern.pos)
        if not isinstance(value, str):
            raise QueryError(f"[{op}] pattern must be a string, found [{pt.type}]", *pattern.pos)
        return value

    def pattern_test(self, node: ast.Like, operand: str, pattern: str, pos) -> str:
        matches_all = pattern == "*" if node.kind.lower() == "like" else pattern in (".*", "@")
        if matches_all:  # Elasticsearch's ReplaceRegexMatch: a match-everything pattern is IS NOT NULL
            return f"({operand} IS NOT NULL)"
        try:
            if node.kind.lower() == "like":
                lit = like_literal(pattern)
                if lit is not None:
                    return f"({operand} = {sql_string(lit)})"
                sql_pat, esc = like_to_sql(pattern)
                return f"({operand} LIKE {sql_string(sql_pat)}{' ESCAPE ' + sql_string(chr(92)) if esc else ''})"
            return f"regexp_full_match({operand}, {sql_string(lucene_to_re2(pattern))})"
        except ValueError as exc:
            raise QueryError(str(exc), *pos) from None

    def _Cast(self, node: ast.Cast, scope: Scope) -> Typed:
        target = CAST_NAMES.get(node.type.lower())
        if target is None:
            raise QueryError(f"Unsupported conversion to type [{node.type.upper()}]", *node.pos)
        return self.c.convert(node, scope, self.compile(node.operand, scope), target)

    def _FunctionCall(self, node: ast.FunctionCall, scope: Scope) -> Typed:
        # Functions live in functions.py, which builds on this module; the compiler knows
        # both, so calls go through it rather than this module importing functions.py.
        return self.c.compile_call(node, scope)


def _sqlt(t: str) -> str:
    from collectors.esql.types import sql_type

    return sql_type(t)


def _cast(x: Typed, t: str) -> str:
    if x.type == t:
        return x.sql
    return f"CAST({x.sql} AS {_sqlt(t)})"
