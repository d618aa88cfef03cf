"""ES|QL types: their DuckDB storage, SQL literals, and JSON output as Elasticsearch prints it.

Why one module: the compiler, the function table and the result conversion must agree on
how a ``date`` or a ``long`` is held in DuckDB (see the Catalog contract: keyword/text/ip ->
VARCHAR, long -> BIGINT, integer -> INTEGER, double -> DOUBLE, boolean -> BOOLEAN,
date -> naive UTC TIMESTAMP with millisecond precision).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

SQL_TYPE = {
    "keyword": "VARCHAR",
    "text": "VARCHAR",
    "ip": "VARCHAR",
    "version": "VARCHAR",
    "long": "BIGINT",
    "integer": "INTEGER",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "TIMESTAMP",
    "unsigned_long": "UBIGINT",
    "unsupported": "VARCHAR",
}
"""ES|QL type -> DuckDB column type: the one definition the loader and the compiler share."""

NUMERIC = ("integer", "long", "double", "unsigned_long")
STRING = ("keyword", "text")

CAST_NAMES = {
    "long": "long",
    "integer": "integer",
    "int": "integer",
    "double": "double",
    "float": "double",
    "keyword": "keyword",
    "string": "keyword",
    "text": "keyword",
    "boolean": "boolean",
    "bool": "boolean",
    "datetime": "date",
    "date": "date",
    "ip": "ip",
}


def sql_type(es_type: str) -> str:
    return SQL_TYPE.get(es_type, "VARCHAR")


def sql_string(text: str) -> str:
    """A SQL string literal for any text: quotes doubled, NUL and other control characters
    spliced in with ``chr()`` so nothing from a query ever ends the literal early."""
    pieces: list[str] = []
    buf: list[str] = []
    for ch in text:
        if ord(ch) < 32 and ch not in "\t\n\r":
            if buf:
                pieces.append("'" + "".join(buf).replace("'", "''") + "'")
                buf = []
            pieces.append(f"chr({ord(ch)})")
        else:
            buf.append(ch)
    if buf or not pieces:
        pieces.append("'" + "".join(buf).replace("'", "''") + "'")
    return pieces[0] if len(pieces) == 1 else "(" + " || ".join(pieces) + ")"


def quote_ident(name: str) -> str:
    """A DuckDB identifier, double quotes doubled; NUL is refused (no identifier holds it)."""
    if "\x00" in name:
        raise ValueError("identifier contains NUL")
    return '"' + name.replace('"', '""') + '"'


def format_date(value: Any) -> str | None:
    """``YYYY-MM-DDTHH:MM:SS.sssZ`` as Elasticsearch prints dates."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00.000Z")
    return str(value)


def json_value(value: Any, es_type: str) -> Any:
    """One DuckDB value as Elasticsearch's JSON gives it (lists for multi-values)."""
    if value is None:
        return None
    if isinstance(value, list):
        items = [json_value(v, es_type) for v in value if v is not None]
        if not items:
            return None
        return items[0] if len(items) == 1 else items
    if es_type == "date":
        return format_date(value)
    if es_type == "double":
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            return None
        return value
    if es_type in ("long", "integer", "unsigned_long"):
        return int(value)
    if es_type == "boolean":
        return bool(value)
    if isinstance(value, (datetime, date)):
        return format_date(value)
    return value


def literal_sql(value: Any, es_type: str) -> str:
    """A typed SQL literal for a constant from the query (literal or parameter)."""
    if value is None:
        return "NULL" if es_type == "null" else f"CAST(NULL AS {sql_type(es_type)})"
    if isinstance(value, list):
        inner = ", ".join(literal_sql(v, es_type) for v in value)
        return f"CAST([{inner}] AS {sql_type(es_type)}[])"
    if es_type == "boolean":
        return "TRUE" if value else "FALSE"
    if es_type in ("integer", "long", "unsigned_long"):
        return f"CAST({int(value)} AS {sql_type(es_type)})"
    if es_type == "double":
        v = float(value)
        if math.isnan(v) or math.isinf(v):
            return "CAST(NULL AS DOUBLE)"
        return f"CAST({v!r} AS DOUBLE)"
    if es_type == "date":
        text = format_date(value)
        assert text is not None  # value is not None here
        return f"CAST({sql_string(text[:-1])} AS TIMESTAMP)"
    return sql_string(str(value))


def param_type(value: Any) -> str:
    """The ES|QL type of a parameter value as Elasticsearch infers it from JSON."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        # As Elasticsearch reads JSON numbers: past long, up to 2^64-1 is unsigned_long,
        # anything wider a double.
        if -(2**31) <= value < 2**31:
            return "integer"
        if -(2**63) <= value < 2**63:
            return "long"
        return "unsigned_long" if 0 <= value < 2**64 else "double"
    if isinstance(value, float):
        return "double"
    if isinstance(value, list):
        kinds = {param_type(v) for v in value if v is not None}
        if kinds <= {"integer"}:
            return "integer"
        if kinds <= {"integer", "long"}:
            return "long"
        if kinds <= {"integer", "long", "unsigned_long", "double"}:
            return "double"
        return "keyword"
    return "keyword"


def java_double_sql(v: str) -> str:
    """SQL printing DOUBLE ``v`` as Java's ``Double.toString`` (TO_STRING of a double in
    Elasticsearch): the shortest digits that round-trip (DuckDB's cast finds them), plain for
    1e-3 <= |v| < 1e7, otherwise ``d.dddE±n``."""
    a = "CAST(abs(d) AS VARCHAR)"
    ip, fp = f"split_part({a}, '.', 1)", f"split_part({a}, '.', 2)"
    plain_digits = (f"(CASE WHEN {ip} <> '0' THEN rtrim({ip} || {fp}, '0') "
                    f"ELSE rtrim(ltrim({fp}, '0'), '0') END)")
    plain_exp = (f"(CASE WHEN {ip} <> '0' THEN length({ip}) - 1 "
                 f"ELSE -(length({fp}) - length(ltrim({fp}, '0')) + 1) END)")
    mantissa = f"split_part({a}, 'e', 1)"
    sci = (f"(CASE WHEN contains({a}, 'e') THEN "
           f"(CASE WHEN contains({mantissa}, '.') THEN {mantissa} ELSE {mantissa} || '.0' END) "
           f"|| 'E' || CAST(CAST(split_part({a}, 'e', 2) AS INTEGER) AS VARCHAR) "
           f"ELSE left({plain_digits}, 1) || '.' || coalesce(nullif(substr({plain_digits}, 2), ''), '0') "
           f"|| 'E' || CAST({plain_exp} AS VARCHAR) END)")
    body = (f"CASE WHEN isnan(d) THEN 'NaN' WHEN isinf(d) THEN (CASE WHEN d > 0 THEN 'Infinity' "
            f"ELSE '-Infinity' END) WHEN d = 0 OR (abs(d) >= 0.001 AND abs(d) < 10000000) "
            f"THEN CAST(d AS VARCHAR) ELSE (CASE WHEN d < 0 THEN '-' ELSE '' END) || {sci} END")
    return f"(CASE WHEN ({v}) IS NULL THEN NULL ELSE list_transform([CAST({v} AS DOUBLE)], lambda d: {body})[1] END)"


INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
"""The range of each fixed-width integer type (outside it Elasticsearch answers null + warning)."""


def java_double(value: float) -> str:
    """A double as Java's ``Double.toString`` prints it (how Elasticsearch's messages show
    numbers): ``123.4``, ``100.0``, ``1.0E19``, ``1.0E-5``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(float(value)) if "e" not in repr(float(value)) else f"{value:.20f}".rstrip("0")
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    power = int(exponent) + len(text) - 1
    return f"{'-' if sign else ''}{text[0]}.{text[1:] or '0'}E{power}"


def common_numeric(a: str, b: str) -> str:
    """The wider of two numeric types (integer < long < double)."""
    order = ["integer", "long", "unsigned_long", "double"]
    return order[max(order.index(a), order.index(b))]
