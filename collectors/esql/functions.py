"""ES|QL functions as DuckDB SQL: aggregates, scalar, multi-value and conversion functions.

Each function follows Elasticsearch's ES|QL function reference (docs pages
``functions-operators/*``): argument types, result type, null and multi-value behaviour.
Where DuckDB differs it is bridged here, e.g. ``concat`` is null if any argument is null
(DuckDB's ``concat`` skips nulls, so ``||`` is used), ``trim`` strips all whitespace,
``replace`` takes a Java regex with ``$1`` group references, ``round`` rounds half away
from zero, ``to_integer`` of a double rounds (Elasticsearch's ``safeDoubleToLong``).
"""

from __future__ import annotations

import ipaddress
import math
import re
from typing import Callable

from collectors.esql import ast
from collectors.esql.expressions import ExprCompiler, Scope, Typed, parse_date_text, span_sql
from collectors.esql.types import (
    INT_RANGE,
    NUMERIC,
    STRING,
    common_numeric,
    java_double_sql,
    literal_sql,
    sql_string,
    sql_type,
)
from collectors.result import QueryError

AGGREGATES = {"count", "count_distinct", "min", "max", "sum", "avg", "values", "median"}

DATE_FMT_SQL = "'%Y-%m-%dT%H:%M:%S.%gZ'"


def compile_call(ec: ExprCompiler, node: ast.FunctionCall, scope: Scope) -> Typed:
    name = node.name.lower()
    if name in AGGREGATES:
        if not scope.agg:
            raise QueryError(f"aggregate function [{node.text}] not allowed outside STATS command", *node.pos)
        return aggregate(ec, node, scope, name)
    fn = SCALARS.get(name)
    if fn is None:
        raise QueryError(f"Unknown function [{node.name}]", *node.pos)
    result = fn(ec, node, scope)
    if name not in NULL_TOLERANT and result.type not in ("null",) and not result.multi:
        # A null-typed argument makes the result null (and DuckDB cannot bind an untyped NULL
        # for most functions), so answer a typed null outright.
        if any(ec.compile(a, scope).type == "null" for a in node.args):
            return Typed(f"CAST(NULL AS {sql_type(result.type)})", result.type, const=True)
    return result


NULL_TOLERANT = {"case", "coalesce", "now"}


# ---------------------------------------------------------------- aggregates


def aggregate(ec: ExprCompiler, node: ast.FunctionCall, scope: Scope, name: str) -> Typed:
    inner = Scope(scope.cols, scope.relation)
    flt = f" FILTER (WHERE {scope.filter})" if getattr(scope, "filter", "") else ""
    if name == "count" and (node.star or not node.args):
        return Typed(f"count(*){flt}", "long")
    if not node.args:
        raise QueryError(f"error building [{name}]: expects at least one argument", *node.pos)
    x = ec.compile(node.args[0], inner)
    if x.type in ("date_period", "time_duration", "unsupported"):
        raise QueryError(f"argument of [{node.text}] must not be [{x.type}]", *node.pos)
    nn = f" FILTER (WHERE {x.sql} IS NOT NULL{' AND ' + scope.filter if flt else ''})"
    if name == "count":
        if x.type == "null":
            return Typed("CAST(0 AS BIGINT)", "long")
        if x.multi:
            return Typed(f"coalesce(sum(len({x.sql})){flt}, 0)", "long")
        return Typed(f"count({x.sql}){flt}", "long")
    if name == "count_distinct":
        if x.type == "null":
            return Typed("CAST(0 AS BIGINT)", "long")
        if x.multi:
            return Typed(f"CAST(coalesce(len(list_distinct(flatten(list({x.sql}){nn}))), 0) AS BIGINT)", "long")
        return Typed(f"count(DISTINCT {x.sql}){flt}", "long")
    if x.type == "null":
        return Typed("NULL", "double" if name in ("avg", "median") else "null")
    if name in ("min", "max"):
        v = f"list_{name}({x.sql})" if x.multi else x.sql
        return Typed(f"{name}({v}){flt}", x.type)
    if name == "values":
        if x.multi:
            return Typed(f"list_sort(list_distinct(flatten(list({x.sql}){nn})))", x.type, multi=True)
        return Typed(f"list_sort(list(DISTINCT {x.sql}){nn})", x.type, multi=True)
    if x.type not in NUMERIC:
        raise QueryError(f"argument of [{node.text}] must be [numeric except unsigned_long or counter types], "
                         f"found value [{node.args[0].text}] type [{x.type}]", *node.pos)
    if name == "sum":
        v = f"list_sum({x.sql})" if x.multi else x.sql
        if x.type == "double":
            return Typed(f"sum({v}){flt}", "double")
        return Typed(f"TRY_CAST(sum({v}){flt} AS BIGINT)", "long")  # overflow -> null
    if name == "avg":
        if x.multi:
            return Typed(f"(sum(list_sum({x.sql})){flt} / sum(len({x.sql})){flt})", "double")
        return Typed(f"CAST(avg({x.sql}){flt} AS DOUBLE)", "double")
    # median
    if x.multi:
        return Typed(f"list_aggregate(flatten(list({x.sql}){nn}), 'median')::DOUBLE", "double")
    return Typed(f"CAST(quantile_cont({x.sql}, 0.5){flt} AS DOUBLE)", "double")


# ---------------------------------------------------------------- helpers


def args_of(ec: ExprCompiler, node: ast.FunctionCall, scope: Scope, lo: int, hi: int) -> list[Typed]:
    n = len(node.args)
    if not lo <= n <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}" if hi < 99 else f"at least {lo}"
        raise QueryError(f"function [{node.name}] expects {want} arguments, got {n}", *node.pos)
    return [ec.compile(a, scope) for a in node.args]


def check_type(node: ast.FunctionCall, i: int, x: Typed, types: tuple, label: str) -> None:
    if x.type not in types + ("null",):
        ordinal = ["first", "second", "third", "fourth"][i] if i < 4 else f"{i + 1}th"
        raise QueryError(f"{ordinal} argument of [{node.text}] must be [{label}], "
                         f"found value [{node.args[i].text}] type [{x.type}]", *node.pos)


def literal_arg(ec: ExprCompiler, node: ast.FunctionCall, i: int, x: Typed, target: str) -> Typed:
    """ES|QL's implicit casting of a string literal argument where the function wants a date
    or a number (``DATE_TRUNC(1 month, "2024-11-22")``, ``ABS("10.0")``); other values as
    they are."""
    if not (x.const and not x.multi and x.type in STRING and isinstance(x.value, str)):
        return x
    if target == "numeric":
        text = x.value.strip()
        kind = "integer" if re.fullmatch(r"[+-]?\d+", text) else "double"
        if kind == "integer" and not -(2**31) <= int(text) < 2**31:
            kind = "long" if -(2**63) <= int(text) < 2**63 else "double"
        target = kind
    return ec.convert_const(node.args[i], x, target)


def const_str(node: ast.FunctionCall, i: int, x: Typed, what: str) -> str:
    if not x.const or not isinstance(x.value, str):
        raise QueryError(f"{what} of [{node.text}] must be a constant string", *node.pos)
    return x.value


# ---------------------------------------------------------------- string functions


def _strings(node: ast.FunctionCall, xs: list[Typed]) -> None:
    for i, x in enumerate(xs):
        check_type(node, i, x, STRING, "string")


def _concat(ec, node, scope):
    xs = args_of(ec, node, scope, 1, 999)
    for i, x in enumerate(xs):
        check_type(node, i, x, STRING, "string")
    xs = ec.single(node, scope, node, *xs)
    return Typed("(" + " || ".join(x.sql for x in xs) + ")", "keyword")


def _substring(ec, node, scope):
    xs = args_of(ec, node, scope, 2, 3)
    check_type(node, 0, xs[0], STRING, "string")
    for i, x in enumerate(xs[1:], start=1):
        check_type(node, i, x, ("integer",), "integer")
    xs = ec.single(node, scope, node, *xs)
    s, start = xs[0].sql, xs[1].sql
    # ES: 1-based; a negative start counts from the end; start 0 behaves as 1.
    begin = f"(CASE WHEN {start} < 0 THEN greatest(length({s}) + {start} + 1, 1) WHEN {start} = 0 THEN 1 ELSE {start} END)"
    if len(xs) == 3:
        return Typed(f"substring({s}, {begin}, greatest({xs[2].sql}, 0))", "keyword")
    return Typed(f"substring({s}, {begin})", "keyword")


def _locate(ec, node, scope):
    xs = args_of(ec, node, scope, 2, 3)
    _strings(node, xs[:2])
    if len(xs) == 3:
        check_type(node, 2, xs[2], ("integer",), "integer")
    xs = ec.single(node, scope, node, *xs)
    s, sub = xs[0].sql, xs[1].sql
    if len(xs) == 2:
        return Typed(f"CAST(strpos({s}, {sub}) AS INTEGER)", "integer")
    st = f"greatest({xs[2].sql}, 1)"
    return Typed(f"CAST(CASE WHEN strpos(substring({s}, {st}), {sub}) = 0 THEN 0 "
                 f"ELSE strpos(substring({s}, {st}), {sub}) + {st} - 1 END AS INTEGER)", "integer")


def _replace(ec, node, scope):
    xs = args_of(ec, node, scope, 3, 3)
    _strings(node, xs)
    xs = ec.single(node, scope, node, *xs)
    rep = xs[2]
    if rep.const and isinstance(rep.value, str):
        import re as _re
        text = rep.value.replace("\\", "\\\\")
        text = _re.sub(r"\$(\d)", r"\\\1", text)
        rep_sql = sql_string(text)
    else:
        rep_sql = f"replace({rep.sql}, '\\', '\\\\')"
    return Typed(f"regexp_replace({xs[0].sql}, {xs[1].sql}, {rep_sql}, 'g')", "keyword")


def _split(ec, node, scope):
    xs = args_of(ec, node, scope, 2, 2)
    _strings(node, xs)
    xs = ec.single(node, scope, node, *xs)
    return Typed(f"string_split({xs[0].sql}, {xs[1].sql})", "keyword", multi=True)


def _starts(ec, node, scope, fn):
    xs = args_of(ec, node, scope, 2, 2)
    _strings(node, xs)
    xs = ec.single(node, scope, node, *xs)
    return Typed(f"{fn}({xs[0].sql}, {xs[1].sql})", "boolean")


# ---------------------------------------------------------------- conditionals


def _common_type(values: list[Typed], mismatch) -> str:
    """The one type several value arguments share (CASE's values, COALESCE, GREATEST/LEAST):
    nulls take any type, numerics widen, keyword and text mix; any other pair calls
    ``mismatch(index, value, type_so_far)``, which raises the function's own error."""
    rtype = "null"
    for i, x in enumerate(values):
        if x.type == "null":
            continue
        if rtype == "null":
            rtype = x.type
        elif rtype in NUMERIC and x.type in NUMERIC:
            rtype = common_numeric(rtype, x.type)
        elif not (rtype in STRING and x.type in STRING) and rtype != x.type:
            mismatch(i, x, rtype)
    return rtype


def _as_multi(sql: str) -> str:
    """A single value as a one-element list (null stays null), to mix with multi-values."""
    return f"(CASE WHEN {sql} IS NULL THEN NULL ELSE [{sql}] END)"


def _case(ec, node, scope):
    xs = args_of(ec, node, scope, 1, 999)
    pairs = []
    i = 0
    parts = []
    while i + 1 < len(xs):
        cond, val = xs[i], xs[i + 1]
        if cond.type not in ("boolean", "null"):
            raise QueryError(f"condition [{node.args[i].text}] of [{node.text}] must be [boolean], found [{cond.type}]", *node.pos)
        (cond,) = ec.single(node, scope, node, cond)
        parts.append((cond, val))
        i += 2
    default = xs[i] if i < len(xs) else None
    values = [v for _, v in parts] + ([default] if default else [])

    def mismatch(i: int, v: Typed, rtype: str) -> None:
        raise QueryError(f"all values of [{node.text}] must have the same type, found [{rtype}] and [{v.type}]", *node.pos)

    rtype = _common_type(values, mismatch)
    multi = any(v.multi for v in values)

    def val_sql(v: Typed) -> str:
        s = v.sql if v.type == rtype or v.type == "null" else f"CAST({v.sql} AS {sql_type(rtype)})"
        return _as_multi(s) if multi and not v.multi else s
    for cond, val in parts:
        pairs.append(f"WHEN {cond.sql} THEN {val_sql(val)}")
    els = f" ELSE {val_sql(default)}" if default else ""
    return Typed(f"(CASE {' '.join(pairs)}{els} END)", rtype, multi=multi)


def _coalesce(ec, node, scope):
    xs = args_of(ec, node, scope, 1, 999)

    def mismatch(i: int, x: Typed, rtype: str) -> None:
        raise QueryError(f"second argument of [{node.text}] must be [{rtype}], found value [{x.sql if x.const else ''}] type [{x.type}]", *node.pos)

    rtype = _common_type(xs, mismatch)
    multi = any(x.multi for x in xs)
    parts = []
    for x in xs:
        s = x.sql if x.type in (rtype, "null") or rtype in STRING else f"CAST({x.sql} AS {sql_type(rtype)})"
        parts.append(_as_multi(s) if multi and not x.multi else s)
    return Typed(f"coalesce({', '.join(parts)})", rtype, multi=multi, const=all(x.const for x in xs))


def _greatest(ec, node, scope, fn):
    """GREATEST/LEAST: max/min of each multi-value first; null if any argument is null
    (ES|QL's generated evaluators propagate nulls)."""
    xs = args_of(ec, node, scope, 1, 999)
    rtype = _common_type(xs, lambda i, x, rtype: check_type(node, i, x, (rtype,), rtype))
    if rtype in ("date_period", "time_duration", "unsupported"):
        raise QueryError(f"first argument of [{node.text}] must be [boolean, date, double, integer, ip, keyword, long, text or version], found type [{rtype}]", *node.pos)
    vals = [f"list_{'max' if fn == 'greatest' else 'min'}({x.sql})" if x.multi else x.sql for x in xs]
    nulls = " OR ".join(f"({v}) IS NULL" for v in vals)
    return Typed(f"(CASE WHEN {nulls} THEN NULL ELSE {fn}({', '.join(vals)}) END)", rtype)


# ---------------------------------------------------------------- dates


EXTRACT = {
    "year": "year", "month_of_year": "month", "day_of_month": "day", "hour_of_day": "hour",
    "minute_of_hour": "minute", "second_of_minute": "second", "day_of_week": "isodow",
    "day_of_year": "doy", "aligned_week_of_year": None, "milli_of_second": "millisecond",
    "quarter_of_year": "quarter", "epoch_day": None,
}


def _date_extract(ec, node, scope):
    xs = args_of(ec, node, scope, 2, 2)
    part = const_str(node, 0, xs[0], "first argument").lower()
    xs[1] = literal_arg(ec, node, 1, xs[1], "date")
    check_type(node, 1, xs[1], ("date",), "datetime")
    (d,) = ec.single(node, scope, node, xs[1])
    if part == "aligned_week_of_year":
        return Typed(f"CAST((dayofyear({d.sql}) - 1) // 7 + 1 AS BIGINT)", "long")
    if part == "epoch_day":
        return Typed(f"CAST(epoch_ms({d.sql}) // 86400000 AS BIGINT)", "long")
    if part == "milli_of_second":
        return Typed(f"CAST(millisecond({d.sql}) % 1000 AS BIGINT)", "long")
    sql_part = EXTRACT.get(part)
    if sql_part is None:
        raise QueryError(f"invalid date field for [{node.text}]: [{part}]", *node.pos)
    return Typed(f"CAST(date_part('{sql_part}', {d.sql}) AS BIGINT)", "long")


JAVA_FMT = [
    ("yyyy", "%Y"), ("uuuu", "%Y"), ("yy", "%y"), ("MMMM", "%B"), ("MMM", "%b"), ("MM", "%m"), ("M", "%-m"),
    ("dd", "%d"), ("d", "%-d"), ("HH", "%H"), ("H", "%-H"), ("hh", "%I"), ("h", "%-I"), ("mm", "%M"),
    ("m", "%-M"), ("ss", "%S"), ("s", "%-S"), ("SSS", "%g"), ("EEEE", "%A"), ("EEE", "%a"), ("a", "%p"),
    ("DDD", "%j"), ("XXX", "Z"), ("xxx", "+00:00"), ("Z", "+0000"), ("X", "Z"),
]


def java_to_strftime(fmt: str) -> str:
    """A Java DateTimeFormatter pattern (what DATE_FORMAT takes) as a strftime format (UTC)."""
    out = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "'":
            end = fmt.find("'", i + 1)
            end = len(fmt) if end < 0 else end
            out.append(fmt[i + 1:end].replace("%", "%%") or "'")
            i = end + 1
            continue
        for java, strf in JAVA_FMT:
            if fmt.startswith(java, i):
                out.append(strf)
                i += len(java)
                break
        else:
            out.append("%%" if fmt[i] == "%" else fmt[i])
            i += 1
    return "".join(out)


def _date_format(ec, node, scope):
    xs = args_of(ec, node, scope, 1, 2)
    xs[-1] = literal_arg(ec, node, len(xs) - 1, xs[-1], "date")
    check_type(node, len(xs) - 1, xs[-1], ("date",), "datetime")
    if len(xs) == 1:
        (d,) = ec.single(node, scope, node, xs[0])
        return Typed(f"strftime({d.sql}, {DATE_FMT_SQL})", "keyword")
    fmt = const_str(node, 0, xs[0], "format")
    (d,) = ec.single(node, scope, node, xs[1])
    return Typed(f"strftime({d.sql}, {sql_string(java_to_strftime(fmt))})", "keyword")


def _date_trunc(ec, node, scope):
    xs = args_of(ec, node, scope, 2, 2)
    span, d = xs
    if span.type not in ("date_period", "time_duration") or not span.const:
        raise QueryError(f"first argument of [{node.text}] must be [dateperiod or timeduration], found value [{node.args[0].text}] type [{span.type}]", *node.pos)
    d = literal_arg(ec, node, 1, d, "date")
    check_type(node, 1, d, ("date",), "datetime")
    (d,) = ec.single(node, scope, node, d)
    amount, unit = span.value
    if amount == 1 and unit in ("year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond"):
        return Typed(f"date_trunc('{unit}', {d.sql})", "date")
    return Typed(f"time_bucket({span_sql(amount, unit)}, {d.sql}, TIMESTAMP '1970-01-01')", "date")


def _now(ec, node, scope):
    args_of(ec, node, scope, 0, 0)
    return Typed(literal_sql(ec.c.now, "date"), "date", const=True, value=ec.c.now)


# ---------------------------------------------------------------- ip


def _cidr_match(ec, node, scope):
    xs = args_of(ec, node, scope, 2, 999)
    (ip,) = ec.single(node, scope, node, xs[0])
    if ip.type not in ("ip", "keyword", "text", "null"):
        raise QueryError(f"first argument of [{node.text}] must be [ip], found value [{node.args[0].text}] type [{ip.type}]", *node.pos)
    tests = []
    for blk in xs[1:]:
        blocks = blk.value if isinstance(blk.value, list) else [blk.value]
        if not blk.const or not all(isinstance(b, str) for b in blocks):
            raise QueryError(f"CIDR block arguments of [{node.text}] must be constant strings", *node.pos)
        for b in blocks:
            try:
                net = ipaddress.ip_network(b.strip(), strict=False)
            except ValueError:
                raise QueryError(f"[{b}] is not a valid CIDR block in [{node.text}]", *node.pos) from None
            tests.append(ip_in_network(ip.sql, net))
    return Typed("(" + " OR ".join(tests) + ")", "boolean")


IPV4_RE = r"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$"


def ipv4_int(col: str) -> str:
    """An IPv4 string as a BIGINT (NULL if the string is not a dotted quad)."""
    parts = [f"CAST(split_part({col}, '.', {k}) AS BIGINT)" for k in (1, 2, 3, 4)]
    return (f"(CASE WHEN regexp_matches({col}, {sql_string(IPV4_RE)}) THEN "
            f"({parts[0]} * 16777216 + {parts[1]} * 65536 + {parts[2]} * 256 + {parts[3]}) END)")


def ip_in_network(col: str, net: ipaddress._BaseNetwork) -> str:
    """SQL: does the ip string ``col`` fall in ``net``, by arithmetic in DuckDB (its inet
    extension is not available offline). As Elasticsearch's CIDR matching (both sides as
    16-byte addresses), an IPv4 address is the IPv4-mapped ``::ffff:a.b.c.d``: IPv4 blocks
    match mapped IPv6 text, and ``::ffff:0:0/96``-style IPv6 blocks match IPv4 text."""
    if net.version == 4:
        lo, hi = int(net.network_address), int(net.broadcast_address)
        mapped = f"(CASE WHEN lower({col}) LIKE '::ffff:%.%' THEN substring({col}, 8) ELSE {col} END)"
        return _known(col, f"({ipv4_int(mapped)} BETWEEN {lo} AND {hi})")
    groups = ipv6_groups(col)
    want = [int(net.network_address) >> (16 * (7 - k)) & 0xFFFF for k in range(8)]
    tests = []
    for k in range(8):
        bits = min(16, max(0, net.prefixlen - 16 * k))
        if bits:
            shift = 16 - bits
            tests.append(f"(({groups})[{k + 1}] >> {shift}) = {want[k] >> shift}")
    return _known(col, "(" + (" AND ".join(tests) if tests else f"({groups}) IS NOT NULL") + ")")


def _known(col: str, test: str) -> str:
    """An address that is not in the block (or of the other family, or unparsable) is false,
    not null; only a null address gives null."""
    return f"(CASE WHEN {col} IS NULL THEN NULL ELSE coalesce({test}, false) END)"


def ipv6_groups(col: str) -> str:
    """An ip string as its eight 16-bit groups (LIST of INTEGER), NULL when it is not an
    address: ``::`` expanded, hex groups of 1-4 digits, IPv4 text as ``::ffff:a.b.c.d``."""
    a = f"lower({col})"
    left, right = f"split_part({a}, '::', 1)", f"split_part({a}, '::', 2)"
    lparts = f"(CASE WHEN {left} = '' THEN [] ELSE string_split({left}, ':') END)"
    rparts = f"(CASE WHEN {right} = '' THEN [] ELSE string_split({right}, ':') END)"
    expanded = (f"(CASE WHEN strpos({a}, '::') > 0 THEN list_concat({lparts}, "
                f"list_transform(range(8 - len({lparts}) - len({rparts})), lambda x: '0'), {rparts}) "
                f"ELSE string_split({a}, ':') END)")
    valid = (f"len(string_split({a}, '::')) <= 2 AND len({expanded}) = 8 AND "
             f"list_aggregate(list_transform({expanded}, lambda g: regexp_matches(g, '^[0-9a-f]{{1,4}}$')), 'bool_and')")
    n = ipv4_int(f"(CASE WHEN {a} LIKE '::ffff:%.%' THEN substring({a}, 8) ELSE {a} END)")
    return (f"(CASE WHEN {n} IS NOT NULL THEN [0, 0, 0, 0, 0, 65535, CAST({n} // 65536 AS INTEGER), "
            f"CAST({n} % 65536 AS INTEGER)] "
            f"WHEN regexp_matches({a}, '^[0-9a-f:]+$') AND {valid} THEN "
            f"list_transform({expanded}, lambda g: CAST('0x' || g AS INTEGER)) END)")


def _to_ip(ec, node, scope):
    xs = args_of(ec, node, scope, 1, 1)
    return convert(ec, node, scope, xs[0], "ip")


# ---------------------------------------------------------------- multi-value functions


def _as_list(x: Typed) -> str:
    return x.sql if x.multi else f"(CASE WHEN {x.sql} IS NULL THEN NULL ELSE [{x.sql}] END)"


def _mv_count(ec, node, scope):
    (x,) = args_of(ec, node, scope, 1, 1)
    if not x.multi:
        return Typed(f"(CASE WHEN {x.sql} IS NULL THEN NULL ELSE 1 END)::INTEGER", "integer")
    return Typed(f"CAST(len({x.sql}) AS INTEGER)", "integer")


def _mv_pick(ec, node, scope, idx):
    (x,) = args_of(ec, node, scope, 1, 1)
    if not x.multi:
        return Typed(x.sql, x.type, const=x.const, value=x.value)
    return Typed(f"({x.sql})[{idx}]", x.type)


def _mv_dedupe(ec, node, scope):
    (x,) = args_of(ec, node, scope, 1, 1)
    if not x.multi:
        return x
    return Typed(f"list_sort(list_distinct({x.sql}))", x.type, multi=True)


def _mv_concat(ec, node, scope):
    x, delim = args_of(ec, node, scope, 2, 2)
    _strings(node, [x, delim])
    (delim,) = ec.single(node, scope, node, delim)
    return Typed(f"array_to_string({_as_list(x)}, {delim.sql})", "keyword")


def _mv_agg(ec, node, scope, fn, rtype=None):
    (x,) = args_of(ec, node, scope, 1, 1)
    if fn in ("sum", "avg", "median"):
        check_type(node, 0, x, NUMERIC, "numeric")
    elif x.type in ("date_period", "time_duration", "unsupported"):
        check_type(node, 0, x, ("keyword",), "any type except counter types")
    t = rtype or x.type
    if not x.multi:
        return Typed(x.sql if not rtype else f"CAST({x.sql} AS {sql_type(t)})", t)
    if fn == "median" and t in INT_RANGE:  # Elasticsearch keeps the type, rounding down
        return Typed(f"CAST(floor(list_median(CAST({x.sql} AS DOUBLE[]))) AS {sql_type(t)})", t)
    if fn == "sum" and t in INT_RANGE:  # overflow -> null + Elasticsearch's warning
        out = f"TRY_CAST(list_sum(CAST({x.sql} AS HUGEINT[])) AS {sql_type(t)})"
        ec.c.add_check(scope, node, f"{out} IS NULL AND ({x.sql}) IS NOT NULL",
                       f"java.lang.ArithmeticException: {t} overflow")
        return Typed(out, t)
    return Typed(f"CAST(list_{fn}({x.sql}) AS {sql_type(t)})", t)


# ---------------------------------------------------------------- numbers


def _abs(ec, node, scope):
    (x,) = args_of(ec, node, scope, 1, 1)
    x = literal_arg(ec, node, 0, x, "numeric")
    check_type(node, 0, x, NUMERIC, "numeric")
    (x,) = ec.single(node, scope, node, x)
    return Typed(f"abs({x.sql})", x.type)


def _round(ec, node, scope):
    xs = args_of(ec, node, scope, 1, 2)
    xs[0] = literal_arg(ec, node, 0, xs[0], "numeric")
    check_type(node, 0, xs[0], NUMERIC, "numeric")
    xs = ec.single(node, scope, node, *xs)
    x = xs[0]
    digits = xs[1].sql if len(xs) == 2 else "0"
    if x.type == "double":
        return Typed(f"round({x.sql}, {digits})", "double")
    if len(xs) == 1:
        return x
    return Typed(f"CAST(round({x.sql}, {digits}) AS {sql_type(x.type)})", x.type)


def _math(sql_fn: str, domain: str | None = None, error: str = "", arity: int = 1):
    """A double-valued math function (SIN, SQRT, LOG10, POW ...). Integer arguments widen to
    double. Outside ``domain`` (SQL over ``x``/``y``) the result is null with Elasticsearch's
    ``java.lang.ArithmeticException`` warning; POW's non-finite results likewise."""
    def fn(ec, node, scope):
        xs = [literal_arg(ec, node, i, x, "numeric") for i, x in enumerate(args_of(ec, node, scope, arity, arity))]
        for i, x in enumerate(xs):
            check_type(node, i, x, NUMERIC, "numeric")
        xs = ec.single(node, scope, node, *xs)
        names = dict(zip("xy", (f"CAST({x.sql} AS DOUBLE)" for x in xs)))
        body = f"CAST({sql_fn.format(**names)} AS DOUBLE)"
        const = all(x.const for x in xs)
        if domain:
            test = domain.format(**names)
            ec.c.add_check(scope, node, f"NOT ({test})", f"java.lang.ArithmeticException: {error}")
            return Typed(f"(CASE WHEN {test} THEN {body} END)", "double", const=const)
        if sql_fn.startswith("pow"):  # Elasticsearch's NumericUtils.asFiniteNumber
            ec.c.add_check(scope, node, f"NOT isfinite({body})",
                           "java.lang.ArithmeticException: not a finite double number: {}", sample=body)
            return Typed(f"(CASE WHEN isfinite({body}) THEN {body} END)", "double", const=const)
        return Typed(body, "double", const=const)
    return fn


def _log(ec, node, scope):
    """LOG(value) is the natural log, LOG(base, value) any base; non-positive arguments and
    base 1 are null with Elasticsearch's warnings."""
    xs = [literal_arg(ec, node, i, x, "numeric") for i, x in enumerate(args_of(ec, node, scope, 1, 2))]
    for i, x in enumerate(xs):
        check_type(node, i, x, NUMERIC, "numeric")
    xs = ec.single(node, scope, node, *xs)
    vals = [f"CAST({x.sql} AS DOUBLE)" for x in xs]
    positive = " AND ".join(f"{v} > 0" for v in vals)
    ec.c.add_check(scope, node, f"NOT ({positive})", "java.lang.ArithmeticException: Log of non-positive number")
    if len(vals) == 1:
        return Typed(f"(CASE WHEN {positive} THEN ln({vals[0]}) END)", "double")
    base, value = vals
    ec.c.add_check(scope, node, f"{positive} AND {base} = 1", "java.lang.ArithmeticException: Log of base 1")
    return Typed(f"(CASE WHEN {positive} AND {base} <> 1 THEN ln({value}) / ln({base}) END)", "double")


def _rounding(sql_fn: str):
    """CEIL/FLOOR: integers are returned as they are, doubles rounded."""
    def fn(ec, node, scope):
        (x,) = args_of(ec, node, scope, 1, 1)
        check_type(node, 0, x, NUMERIC, "numeric")
        (x,) = ec.single(node, scope, node, x)
        if x.type != "double":
            return x
        return Typed(f"{sql_fn}({x.sql})", "double", const=x.const)
    return fn


def _elementwise(sql_fn: str):
    """TO_RADIANS/TO_DEGREES are conversions: a multi-value converts value by value."""
    def fn(ec, node, scope):
        (x,) = args_of(ec, node, scope, 1, 1)
        check_type(node, 0, x, NUMERIC, "numeric")
        if x.multi:
            return Typed(f"list_transform({x.sql}, lambda v: {sql_fn}(CAST(v AS DOUBLE)))", "double", multi=True)
        return Typed(f"{sql_fn}(CAST({x.sql} AS DOUBLE))", "double", const=x.const)
    return fn


def _constant(value: float):
    def fn(ec, node, scope):
        args_of(ec, node, scope, 0, 0)
        return Typed(literal_sql(value, "double"), "double", const=True, value=value)
    return fn


# ---------------------------------------------------------------- conversions


DECIMAL_RE = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"


def _decimal_text(v: str) -> str:
    """The trimmed string when it is a decimal number as Java parses it, else NULL: DuckDB's
    own casts also take ``0x10``, ``1_000`` and ``inf``, which Elasticsearch refuses."""
    return f"(CASE WHEN regexp_matches(trim({v}), {sql_string(DECIMAL_RE)}) THEN trim({v}) END)"


def conversion_sql(src: str, target: str, v: str) -> str | None:
    """SQL converting value ``v`` of ES type ``src`` to ``target`` (NULL when it cannot)."""
    if target in ("keyword", "text"):
        if src == "date":
            return f"strftime({v}, {DATE_FMT_SQL})"
        if src == "boolean":
            return f"(CASE WHEN {v} THEN 'true' WHEN NOT {v} THEN 'false' END)"
        if src == "double":
            return java_double_sql(v)
        return f"CAST({v} AS VARCHAR)"
    if target in ("long", "integer"):
        st = sql_type(target)
        if src in STRING:
            num = _decimal_text(v)
            return f"coalesce(TRY_CAST({num} AS {st}), TRY_CAST(round(TRY_CAST({num} AS DOUBLE)) AS {st}))"
        if src == "double":
            return f"TRY_CAST(floor({v} + 0.5) AS {st})"
        if src == "date":
            return f"TRY_CAST(epoch_ms({v}) AS {st})"
        if src == "boolean":
            return f"CAST({v} AS {st})"
        return f"TRY_CAST({v} AS {st})"
    if target == "double":
        if src in STRING:
            return f"TRY_CAST({_decimal_text(v)} AS DOUBLE)"
        if src == "date":
            return f"CAST(epoch_ms({v}) AS DOUBLE)"
        return f"CAST({v} AS DOUBLE)"
    if target == "boolean":
        if src in STRING:
            return f"(lower({v}) = 'true')"
        if src in NUMERIC:
            return f"({v} <> 0)"
        if src == "boolean":
            return v
        return None
    if target == "date":
        if src in STRING:
            return f"TRY_CAST(TRY_CAST(replace(trim({v}), 'Z', '+00:00') AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP)"
        if src in ("long", "integer"):
            return f"epoch_ms(CAST({v} AS BIGINT))"
        if src == "double":
            return f"epoch_ms(CAST(floor({v}) AS BIGINT))"
        if src == "date":
            return v
        return None
    if target == "ip":
        if src in STRING + ("ip",):
            return (f"(CASE WHEN regexp_matches({v}, {sql_string(IPV4_RE)}) OR "
                    f"regexp_matches({v}, '^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$') THEN {v} END)")
        return None
    return None


CONVERT_ERROR = {
    "long": "org.elasticsearch.xpack.esql.core.InvalidArgumentException: Cannot parse number [{}]",
    "integer": "org.elasticsearch.xpack.esql.core.InvalidArgumentException: Cannot parse number [{}]",
    "double": "org.elasticsearch.xpack.esql.core.InvalidArgumentException: Cannot parse number [{}]",
    "date": "java.lang.IllegalArgumentException: failed to parse date field [{}] with format [strict_date_optional_time]",
    "ip": "java.lang.IllegalArgumentException: '{}' is not an IP string literal.",
}


def convert(ec: ExprCompiler, node: ast.Expr, scope: Scope, x: Typed, target: str) -> Typed:
    """TO_xxx and ``::type``: multi-values convert element-wise; failures give null + warning."""
    if x.type == "null":
        return Typed(f"CAST(NULL AS {sql_type(target)})", target, const=True)
    if x.type == target or (target == "keyword" and x.type in STRING + ("ip",)):
        return Typed(x.sql, target, multi=x.multi, const=x.const, value=x.value)
    if x.const and not x.multi and isinstance(x.value, str) and target == "date":
        value = parse_date_text(x.value)
        if value is not None:
            return Typed(literal_sql(value, "date"), "date", const=True, value=value)
    body = conversion_sql(x.type, target, "v" if x.multi else x.sql)
    if body is None:
        raise QueryError(f"argument of [{node.text}] must be convertible to [{target}], found type [{x.type}]", *node.pos)
    message = CONVERT_ERROR.get(target) if x.type in STRING else None
    if target in INT_RANGE and x.type in NUMERIC and x.type != target:
        message = f"org.elasticsearch.xpack.ql.QlIllegalArgumentException: [{{}}] out of [{target}] range"
    if x.multi:
        out = f"list_filter(list_transform({x.sql}, lambda v: {body}), lambda e: e IS NOT NULL)"
        if message:
            failed = f"list_filter({x.sql}, lambda v: v IS NOT NULL AND ({body}) IS NULL)"
            ec.c.add_check(scope, node, f"len({failed}) > 0", message, sample=f"({failed})[1]")
        return Typed(f"(CASE WHEN len({out}) = 0 THEN NULL ELSE {out} END)", target, multi=True)
    if message:
        ec.c.add_check(scope, node, f"({x.sql}) IS NOT NULL AND ({body}) IS NULL", message, sample=x.sql)
    return Typed(body, target, const=x.const)


def _to(target):
    def fn(ec, node, scope):
        (x,) = args_of(ec, node, scope, 1, 1)
        return convert(ec, node, scope, x, target)
    return fn


def _length(ec, node, scope):
    (x,) = args_of(ec, node, scope, 1, 1)
    check_type(node, 0, x, STRING, "keyword or text")
    (x,) = ec.single(node, scope, node, x)
    return Typed(f"CAST(length({x.sql}) AS INTEGER)", "integer")


def _simple_str(sql_fn):
    def fn(ec, node, scope):
        (x,) = args_of(ec, node, scope, 1, 1)
        check_type(node, 0, x, STRING, "keyword or text")
        (x,) = ec.single(node, scope, node, x)
        return Typed(sql_fn(x.sql), "keyword", const=x.const)
    return fn


SCALARS: dict[str, Callable[[ExprCompiler, ast.FunctionCall, Scope], Typed]] = {
    "now": _now,
    "date_trunc": _date_trunc,
    "date_extract": _date_extract,
    "date_format": _date_format,
    "case": _case,
    "coalesce": _coalesce,
    "greatest": lambda ec, n, s: _greatest(ec, n, s, "greatest"),
    "least": lambda ec, n, s: _greatest(ec, n, s, "least"),
    "to_lower": _simple_str(lambda v: f"lower({v})"),
    "to_upper": _simple_str(lambda v: f"upper({v})"),
    "trim": _simple_str(lambda v: f"regexp_replace({v}, '^\\s+|\\s+$', '', 'g')"),
    "ltrim": _simple_str(lambda v: f"regexp_replace({v}, '^\\s+', '')"),
    "rtrim": _simple_str(lambda v: f"regexp_replace({v}, '\\s+$', '')"),
    "length": _length,
    "concat": _concat,
    "substring": _substring,
    "starts_with": lambda ec, n, s: _starts(ec, n, s, "starts_with"),
    "ends_with": lambda ec, n, s: _starts(ec, n, s, "suffix"),
    "replace": _replace,
    "split": _split,
    "locate": _locate,
    "cidr_match": _cidr_match,
    "to_ip": _to_ip,
    "mv_count": _mv_count,
    "mv_first": lambda ec, n, s: _mv_pick(ec, n, s, 1),
    "mv_last": lambda ec, n, s: _mv_pick(ec, n, s, -1),
    "mv_dedupe": _mv_dedupe,
    "mv_concat": _mv_concat,
    "mv_min": lambda ec, n, s: _mv_agg(ec, n, s, "min"),
    "mv_max": lambda ec, n, s: _mv_agg(ec, n, s, "max"),
    "mv_sum": lambda ec, n, s: _mv_agg(ec, n, s, "sum"),
    "mv_avg": lambda ec, n, s: _mv_agg(ec, n, s, "avg", "double"),
    "mv_median": lambda ec, n, s: _mv_agg(ec, n, s, "median"),
    "to_string": _to("keyword"),
    "to_str": _to("keyword"),
    "to_long": _to("long"),
    "to_integer": _to("integer"),
    "to_int": _to("integer"),
    "to_double": _to("double"),
    "to_dbl": _to("double"),
    "to_boolean": _to("boolean"),
    "to_bool": _to("boolean"),
    "to_datetime": _to("date"),
    "to_dt": _to("date"),
    "abs": _abs,
    "round": _round,
    "ceil": _rounding("ceil"),
    "floor": _rounding("floor"),
    "sqrt": _math("sqrt({x})", "{x} >= 0 OR {x} = 0", "Square root of negative"),
    "cbrt": _math("cbrt({x})"),
    "exp": _math("exp({x})"),
    "log10": _math("log10({x})", "{x} > 0", "Log of non-positive number"),
    "log": _log,
    "pow": _math("pow({x}, {y})", arity=2),
    "hypot": _math("sqrt({x} * {x} + {y} * {y})", arity=2),
    "atan2": _math("atan2({x}, {y})", arity=2),
    "sin": _math("sin({x})"),
    "cos": _math("cos({x})"),
    "tan": _math("tan({x})"),
    "asin": _math("asin({x})", "{x} BETWEEN -1 AND 1", "Asin input out of range"),
    "acos": _math("acos({x})", "{x} BETWEEN -1 AND 1", "Acos input out of range"),
    "atan": _math("atan({x})"),
    "sinh": _math("sinh({x})"),
    "cosh": _math("cosh({x})"),
    "tanh": _math("tanh({x})"),
    "signum": _math("sign({x})"),
    "to_radians": _elementwise("radians"),
    "to_degrees": _elementwise("degrees"),
    "e": _constant(math.e),
    "pi": _constant(math.pi),
    "tau": _constant(math.tau),
}
