"""Elasticsearch field types for offline data: mappings, dynamic mapping, DuckDB storage.

Why a module of its own: the loader decides each column's ES|QL type once, either from an
Elasticsearch mapping JSON or the way Elasticsearch's dynamic mapping would, and the SQL
that converts raw JSON values into that type lives next to that decision.

Sources followed:
- ES|QL supported types (``esql-supported-types``): float/half_float/scaled_float are read
  as ``double``, short/byte as ``integer``, match_only_text as ``text``, wildcard and
  constant_keyword as ``keyword``; anything else is ``unsupported``.
- Dynamic field mapping (``dynamic-field-mapping``): JSON integers -> long, decimals ->
  float (ES|QL shows ``double``), booleans -> boolean, strings matching
  ``strict_date_optional_time`` -> date, other strings -> keyword (numeric detection off).
- Coercion (``coerce``): numeric strings are accepted by numeric fields and floating point
  values are truncated for integer types; keyword fields index numbers as their text.
- Multi-fields (``multi-fields``): each sub-field indexes the parent's values with its own
  type; float / half_float / scaled_float doc values carry those types' precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from collectors.esql.types import SQL_TYPE
from collectors.result import SourceError

ESQL_TYPES = {
    "keyword": "keyword",
    "constant_keyword": "keyword",
    "wildcard": "keyword",
    "text": "text",
    "match_only_text": "text",
    "long": "long",
    "integer": "integer",
    "short": "integer",
    "byte": "integer",
    "double": "double",
    "float": "double",
    "half_float": "double",
    "scaled_float": "double",
    "boolean": "boolean",
    "date": "date",
    "date_nanos": "date",
    "ip": "ip",
}
"""Mapping type -> the type ES|QL reports for it."""

STORAGE = SQL_TYPE
"""ES|QL type -> DuckDB column type (dates are naive UTC, millisecond precision)."""


def esql_type(mapping_type: str) -> str:
    return ESQL_TYPES.get(mapping_type, "unsupported")


@dataclass(frozen=True)
class MappedField:
    """One field of an Elasticsearch mapping, flattened to its dotted name."""

    name: str
    mapping_type: str  # as written in the mapping: "float", "keyword", ...
    source: str  # the field whose JSON values it indexes (the parent for a multi-field)
    scaling_factor: float | None = None

    @property
    def type(self) -> str:
        return esql_type(self.mapping_type)


def parse_mapping(mapping: Any, label: str = "mapping") -> dict[str, MappedField]:
    """Flatten an Elasticsearch mapping (``{"properties": ...}``, optionally wrapped in
    ``{"mappings": ...}`` or ``{INDEX: {"mappings": ...}}`` as ``GET INDEX/_mapping`` returns
    it) into dotted field names, multi-fields included as their own fields."""
    if not isinstance(mapping, dict):
        raise SourceError(f"{label}: not an Elasticsearch mapping (expected a JSON object)")
    root = mapping
    if "properties" not in root and "mappings" in root:
        root = root["mappings"]
    if "properties" not in root and len(root) == 1:
        only = next(iter(root.values()))
        if isinstance(only, dict) and "mappings" in only:
            root = only["mappings"]
    if not isinstance(root, dict) or not isinstance(root.get("properties"), dict):
        raise SourceError(f"{label}: not an Elasticsearch mapping (no \"properties\" object)")
    return dict(_walk(root["properties"], ""))


def _walk(properties: dict, prefix: str) -> Iterator[tuple[str, MappedField]]:
    for key, spec in properties.items():
        if not isinstance(spec, dict):
            continue
        name = f"{prefix}{key}"
        kind = spec.get("type", "object" if "properties" in spec else None)
        if kind in ("object", "nested") or (kind is None and "properties" in spec):
            if spec.get("enabled", True) is not False:
                yield from _walk(spec.get("properties", {}), name + ".")
            continue
        if kind is None or kind == "alias":
            continue
        yield name, MappedField(name, kind, name, _factor(spec))
        for sub, sub_spec in (spec.get("fields") or {}).items():
            if isinstance(sub_spec, dict) and "type" in sub_spec:
                sub_name = f"{name}.{sub}"
                yield sub_name, MappedField(sub_name, sub_spec["type"], name, _factor(sub_spec))


def _factor(spec: dict) -> float | None:
    value = spec.get("scaling_factor")
    return float(value) if isinstance(value, (int, float)) else None


def dynamic_type(duck_type: str) -> str:
    """The ES|QL type Elasticsearch's dynamic mapping gives values DuckDB read as this type."""
    t = duck_type.upper()
    if t == "VARCHAR":
        return "keyword"
    if t in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UINTEGER", "USMALLINT", "UTINYINT"):
        return "long"
    if t in ("UBIGINT", "HUGEINT", "UHUGEINT", "DOUBLE", "FLOAT") or t.startswith("DECIMAL"):
        # integers beyond a long cannot be a long field; keep the value as a double.
        return "double"
    if t == "BOOLEAN":
        return "boolean"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return "date"
    return "keyword"


def convert(value: str, duck_type: str, target: MappedField | str) -> str:
    """SQL converting one scalar ``value`` of DuckDB type ``duck_type`` to the storage of
    ``target`` (an ES|QL type name, or a mapped field for precision-carrying types).

    Values a real field would reject (``"abc"`` for a long) become NULL, as Elasticsearch
    with ``ignore_malformed`` would show them; see the module docstring for coercion rules.
    """
    mapped = target if isinstance(target, MappedField) else None
    es = mapped.type if mapped else str(target)
    src = duck_type.upper()
    numeric = src in (
        "BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT",
        "UTINYINT", "HUGEINT", "UHUGEINT", "DOUBLE", "FLOAT",
    ) or src.startswith("DECIMAL")
    is_time = src.startswith("TIMESTAMP") or src == "DATE"
    if es in ("keyword", "text", "ip", "unsupported"):
        if src == "VARCHAR":
            return value
        if src == "TIMESTAMP WITH TIME ZONE":
            return f"strftime(timezone('UTC', {value}), '%Y-%m-%dT%H:%M:%S.%gZ')"
        return f"CAST({value} AS VARCHAR)"
    if es == "boolean":
        if src == "BOOLEAN":
            return value
        if src == "VARCHAR":
            return f"(CASE {value} WHEN 'true' THEN true WHEN 'false' THEN false END)"
        return "CAST(NULL AS BOOLEAN)"
    if es == "date":
        if src == "TIMESTAMP WITH TIME ZONE":
            ts = f"timezone('UTC', {value})"
        elif is_time:
            ts = f"CAST({value} AS TIMESTAMP)"
        elif src == "VARCHAR":
            ts = (
                f"coalesce(timezone('UTC', TRY_CAST({value} AS TIMESTAMPTZ)), CASE WHEN "
                f"regexp_full_match({value}, '-?[0-9]{{1,18}}') THEN epoch_ms(CAST({value} AS BIGINT)) END)"
            )
        elif numeric:  # epoch_millis, part of the default date format
            ts = f"epoch_ms(TRY_CAST({value} AS BIGINT))"
        else:
            return "CAST(NULL AS TIMESTAMP)"
        return f"date_trunc('millisecond', {ts})"
    if es in ("long", "integer"):
        storage = STORAGE[es]
        if src in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UINTEGER", "USMALLINT", "UTINYINT"):
            return value if storage == "BIGINT" and src == "BIGINT" else f"TRY_CAST({value} AS {storage})"
        if numeric:
            return f"TRY_CAST(trunc({value}) AS {storage})"
        if src == "VARCHAR":
            return f"TRY_CAST(trunc(TRY_CAST({value} AS DOUBLE)) AS {storage})"
        if is_time:
            return f"TRY_CAST(epoch_ms({value}) AS {storage})"
        return f"CAST(NULL AS {storage})"
    if es == "double":
        if numeric:
            d = value if src == "DOUBLE" else f"CAST({value} AS DOUBLE)"
        elif src == "VARCHAR":
            d = f"TRY_CAST({value} AS DOUBLE)"
        else:
            return "CAST(NULL AS DOUBLE)"
        kind = mapped.mapping_type if mapped else "double"
        if kind == "float":
            return f"CAST(CAST({d} AS FLOAT) AS DOUBLE)"
        if kind == "half_float":
            return _half_float(d)
        if kind == "scaled_float" and mapped and mapped.scaling_factor:
            f = repr(mapped.scaling_factor)
            return f"(round({d} * {f}) / {f})"
        return d
    return "CAST(NULL AS VARCHAR)"


def _half_float(d: str) -> str:
    """Round a double to IEEE half precision (11 significant bits), as half_float doc
    values hold it; values below the normal range keep the subnormal step 2^-24."""
    exp = f"greatest(floor(log2(abs({d}))), -14)"
    step = f"pow(2, {exp} - 10)"
    return f"(CASE WHEN {d} = 0 OR {d} IS NULL OR isnan({d}) OR isinf({d}) THEN {d} ELSE round_even({d} / {step}, 0) * {step} END)"
