"""Conformance: Elasticsearch's own ES|QL spec tests (csv-spec) run on the offline engine.

Reads ../shared/conformance/esql/ (format in its README): loads ``employees`` from
employees.csv with mapping-default.json through ``Catalog.from_documents``, runs every case
whose commands, functions and data the engine supports, and compares the rows by type
(multi-values unordered, ``ignoreOrder``, expected warnings). Cases that are not supported
are listed with the reason in a printed summary (``pytest -s``) — never silently dropped.
A supported case that fails, fails.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

import pytest

from collectors.esql.functions import AGGREGATES, SCALARS
from tests.shared import shared_dir, split_outside_brackets

CONF = (shared_dir() / "conformance" / "esql") if shared_dir() else None
NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)

SUPPORTED_COMMANDS = {"from", "row", "keep", "drop", "rename", "eval", "where", "stats", "sort",
                      "limit", "mv_expand", "dissect", "grok"}
UNSUPPORTED_CAPABILITIES = {
    "inline_stats": "INLINE STATS is not implemented",
    "optional_fields_nullify_tech_preview": "SET unmapped_fields is not implemented",
}
DATASETS = {"employees", "hosts"}
UNLOADABLE = {"ul_logs": "the offline loader maps unsigned_long fields as unsupported"}
DEFAULT_LIMIT_WARNING = "No limit defined, adding default limit of [1000]"
# Supported cases whose answer still differs from Elasticsearch, each with the reason. They run
# as strict xfail: a listed case that starts passing fails the run until it is removed here.
KNOWN_FAILURES: dict[str, str] = {
    'ip.csv-spec:cidrMatchFunctionArg': 'CIDR_MATCH takes only constant block arguments offline',
    'ip.csv-spec:cidrMatchFieldArg': 'CIDR_MATCH takes only constant block arguments offline',
    'ip.csv-spec:cdirMatchOrsIPs': 'CIDR_MATCH over a multi-valued ip: Elasticsearch matches any value, offline warns and gives null',
    'ip.csv-spec:cdirMatchEqualsInsOrs': 'CIDR_MATCH over a multi-valued ip: Elasticsearch matches any value, offline warns and gives null',
    'ip.csv-spec:cidrMatchEqualsInsOrsIPs': 'CIDR_MATCH over a multi-valued ip: Elasticsearch matches any value, offline warns and gives null',
    'boolean.csv-spec:convertFromIntAndLong': 'keyword sub-field of a double keeps the source text (-3.90); the loader derives it from the number',
    'floats.csv-spec:convertFromString': 'this spec version words the parse failure as java.lang.NumberFormatException; offline uses the newer InvalidArgumentException text',
    'grok.csv-spec:multiPatterns': 'GROK with several patterns is not parsed',
    'grok.csv-spec:multiPatterns2': 'GROK with several patterns is not parsed',
    'ints.csv-spec:inLongAndInt': 'this spec version expects no warning for IN with a multi-valued field pushed to Lucene; offline warns as newer versions do (rows equal)',
    'ints.csv-spec:convertStringToLong': 'this spec version words the parse failure as java.lang.NumberFormatException; offline uses the newer InvalidArgumentException text',
    'ints.csv-spec:convertULToInt': 'unsigned_long conversions and arithmetic are not implemented',
    'ints.csv-spec:convertStringToInt': 'this spec version words the parse failure as java.lang.NumberFormatException; offline uses the newer InvalidArgumentException text',
    'ints.csv-spec:convertDoubleToInt': 'TO_INTEGER of a double past long: Elasticsearch names [long] range in the warning, offline [integer]',
    'ints.csv-spec:lessThanMultivalue': 'this spec version expects no warning for a multi-valued comparison pushed to Lucene; offline warns as newer versions and where-like.csv-spec do (rows equal)',
    'ints.csv-spec:greaterThanMultivalue': 'this spec version expects no warning for a multi-valued comparison pushed to Lucene; offline warns as newer versions and where-like.csv-spec do (rows equal)',
    'ints.csv-spec:equalToMultivalue': 'this spec version expects no warning for a multi-valued comparison pushed to Lucene; offline warns as newer versions and where-like.csv-spec do (rows equal)',
    'ints.csv-spec:equalToOrEqualToMultivalue': 'this spec version expects no warning for a multi-valued comparison pushed to Lucene; offline warns as newer versions and where-like.csv-spec do (rows equal)',
    'ints.csv-spec:inMultivalue': 'this spec version expects no warning for a multi-valued comparison pushed to Lucene; offline warns as newer versions and where-like.csv-spec do (rows equal)',
    'ints.csv-spec:notLessThanMultivalue': 'this spec version expects no warning for a multi-valued comparison pushed to Lucene; offline warns as newer versions and where-like.csv-spec do (rows equal)',
    'ints.csv-spec:notGreaterThanMultivalue': 'this spec version expects no warning for a multi-valued comparison pushed to Lucene; offline warns as newer versions and where-like.csv-spec do (rows equal)',
    'ints.csv-spec:notEqualToMultivalue': 'this spec version expects no warning for a multi-valued comparison pushed to Lucene; offline warns as newer versions and where-like.csv-spec do (rows equal)',
    'ip.csv-spec:convertFromStringLeadingZerosDecimal': 'TO_IP options map {"leading_zeros": ...} is not parsed',
    'ip.csv-spec:convertFromStringLeadingZerosOctal': 'TO_IP options map {"leading_zeros": ...} is not parsed',
    'ip.csv-spec:toIpInAggOctal': 'TO_IP options map {"leading_zeros": ...} is not parsed',
    'ip.csv-spec:toIpInSortOctal': 'TO_IP options map {"leading_zeros": ...} is not parsed',
    'math.csv-spec:absUnsignedLong': 'unsigned_long conversions and arithmetic are not implemented',
    'math.csv-spec:roundMaxULWithBigNegativeDecimals': 'ROUND of unsigned_long is not implemented (refused as not supported offline)',
    'math.csv-spec:roundBigULWithRoundULOverflow': 'ROUND of unsigned_long is not implemented (refused as not supported offline)',
    'math.csv-spec:mvSumUnsignedLongsOverflow': 'unsigned_long MV_SUM overflow is not implemented (refused as not supported offline)',
    'math.csv-spec:ulMvNonSumFunctions': 'MV_MIN/MV_MAX/MV_MEDIAN of unsigned_long types differ',
    'mv_expand.csv-spec:expandAfterSort1': 'MV_EXPAND then LIMIT: row order within the expanded rows differs',
}
TYPE_NAMES = {
    "i": "integer", "int": "integer", "integer": "integer", "l": "long", "long": "long",
    "d": "double", "double": "double", "s": "keyword", "string": "keyword", "k": "keyword",
    "keyword": "keyword", "txt": "text", "text": "text", "date": "date", "datetime": "date",
    "dt": "date", "ip": "ip", "b": "boolean", "bool": "boolean", "boolean": "boolean",
    "null": "null", "version": "version", "unsupported": "unsupported",
    # ES|QL widens short/byte to integer and float/half_float/scaled_float to double; the spec
    # headers keep the mapped name.
    "short": "integer", "byte": "integer", "float": "double", "half_float": "double",
    "scaled_float": "double", "ul": "unsigned_long", "unsigned_long": "unsigned_long",
}


@dataclass
class Case:
    file: str
    name: str
    query: str
    capabilities: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    warning_regexes: list[str] = field(default_factory=list)
    ignore_order: bool = False
    columns: list[tuple[str, str]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    skip: bool = False


def parse_spec(path: Path) -> list[Case]:
    """Split a csv-spec file into cases, per the README's description of the format."""
    lines = [ln.rstrip("\n") for ln in path.read_text(encoding="utf-8").splitlines()]
    lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith(("//", "#"))]
    cases = []
    i = 0
    while i < len(lines):
        name = lines[i].strip()
        i += 1
        case = Case(path.name, name.split("#")[0], "")
        case.skip = name.endswith("-Ignore") or "#[skip" in name
        while i < len(lines) and re.match(r"^\s*(required_capability|skip_flattened_rewrite)\s*:", lines[i]):
            key, _, value = lines[i].partition(":")
            if key.strip() == "required_capability":
                case.capabilities.append(value.strip())
            i += 1
        query = []
        while i < len(lines):
            ln = lines[i]
            i += 1
            stripped = ln.rstrip()
            if stripped.endswith(";") and not stripped.endswith("\\;"):
                query.append(stripped[:-1])
                break
            query.append(stripped[:-2] + ";" if stripped.endswith("\\;") else ln)
        case.query = "\n".join(query).strip()
        while i < len(lines) and re.match(r"^(warning|warningRegex|ignoreOrder)\s*:", lines[i]):
            key, _, value = lines[i].partition(":")
            if key == "warning":
                case.warnings.append(value)
            elif key == "warningRegex":
                case.warning_regexes.append(value)
            else:
                case.ignore_order = value.strip().lower() == "true"
            i += 1
        if i < len(lines) and not lines[i].startswith(";"):
            case.columns = [_header(cell) for cell in lines[i].split("|")]
            i += 1
        while i < len(lines) and not lines[i].startswith(";"):
            case.rows.append(_split_row(lines[i]))
            i += 1
        i += 1  # the closing ';'
        cases.append(case)
    return cases


def _header(cell: str) -> tuple[str, str]:
    name, _, typ = cell.strip().rpartition(":")
    return name.strip(), TYPE_NAMES.get(typ.strip().lower(), typ.strip().lower())


def _split_row(line: str) -> list[str]:
    return [cell.strip() for cell in split_outside_brackets(line, "|")]


def unsupported_reason(case: Case) -> str | None:
    """Why the engine cannot run this case (decided from the query text, never the result)."""
    if case.skip:
        return "marked -Ignore/skip upstream"
    for cap in case.capabilities:
        if cap in UNSUPPORTED_CAPABILITIES:
            return UNSUPPORTED_CAPABILITIES[cap]
    text = re.sub(r'"""[\s\S]*?"""|"(?:\\.|[^"\\])*"', '""', case.query)
    if re.match(r"^\s*SET\b", text, re.I):
        return "SET statements are not implemented"
    for seg in text.split("|"):
        word = seg.strip().split(None, 1)[0].lower() if seg.strip() else ""
        if word and word not in SUPPORTED_COMMANDS:
            return f"command {word.upper()} is not implemented"
    m = re.match(r"^\s*from\s+([^|]+)", text, re.I)
    if m:
        for idx in re.split(r"\s*,\s*", m.group(1).split(" metadata")[0].split(" METADATA")[0].strip()):
            if idx.strip() in UNLOADABLE:
                return f"dataset [{idx.strip()}]: {UNLOADABLE[idx.strip()]}"
            if idx.strip() not in DATASETS:
                return f"dataset [{idx.strip()}] is not in the conformance material"
    for fn in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(", text):
        if fn.lower() in {"in", "like", "rlike", "and", "or", "not", "by", "is"} | SUPPORTED_COMMANDS:
            continue
        if fn.lower() not in AGGREGATES and fn.lower() not in SCALARS:
            return f"function {fn.upper()} is not implemented"
    return None


def all_cases() -> list[Case]:
    if CONF is None or not CONF.is_dir():
        return []
    out = []
    for path in sorted(CONF.glob("*.csv-spec")):
        out += parse_spec(path)
    return out


CASES = all_cases()
SUPPORTED = [c for c in CASES if unsupported_reason(c) is None]


DATASET_FILES = {  # index -> (data, mapping) in the conformance folder
    "employees": ("employees.csv", "mapping-default.json"),
    "hosts": ("hosts.csv", "mapping-hosts.json"),
    "ul_logs": ("ul_logs.csv", "mapping-ul_logs.json"),
}


def load_dataset(name: str) -> tuple[list[dict], dict]:
    """One index's documents and mapping. Columns the stored mapping lacks (hosts.csv's
    text columns, per the README) are mapped with the type from the CSV header."""
    data, mapping_file = DATASET_FILES[name]
    header, *body = (CONF / data).read_text(encoding="utf-8").splitlines()
    cols = [_header(h) for h in _split_row(header.replace(",", "|"))]
    docs = []
    for line in body:
        if not line.strip():
            continue
        cells = _split_csv(line)
        doc = {}
        for (col, typ), raw in zip(cols, cells):
            if "." in col:  # multi-field sub-fields come from the mapping
                continue
            value = _csv_value(raw.strip(), typ)
            if value is not None:
                doc[col] = value
        docs.append(doc)
    mapping = json.loads((CONF / mapping_file).read_text(encoding="utf-8"))
    props = mapping.setdefault("properties", {})
    for col, typ in cols:
        if "." not in col and col not in props:
            props[col] = {"type": typ}
    return docs, mapping


def load_employees() -> tuple[dict, dict]:
    docs, mappings = {}, {}
    for name in DATASETS:
        docs[name], mappings[name] = load_dataset(name)
    return docs, mappings


def _split_csv(line: str) -> list[str]:
    return split_outside_brackets(line, ",")


def _csv_value(raw: str, typ: str):
    if raw == "" or raw == "[]":
        return None
    if raw.startswith("["):
        items = [_csv_value(x.strip(), typ) for x in raw[1:-1].split(",")]
        return items
    if typ in ("integer", "long", "short", "byte", "unsigned_long"):
        return int(raw)
    if typ in ("double", "float", "half_float", "scaled_float"):
        return float(raw)
    if typ == "boolean":
        return raw.lower() == "true"
    return raw


@pytest.fixture(scope="module")
def catalog():
    from collectors.offline.catalog import Catalog

    docs, mappings = load_employees()
    return Catalog.from_documents(docs, mappings)


def expected_value(cell: str, typ: str):
    if cell == "null":
        return None
    if cell.startswith("[") and cell.endswith("]"):
        return sorted([expected_value(x.strip(), typ) for x in _split_list(cell[1:-1])], key=repr)
    if typ in ("integer", "long", "unsigned_long"):
        return int(cell)
    if typ == "double":
        return float(cell)
    if typ == "boolean":
        return cell.lower() == "true"
    if typ == "date":  # a bare day (2024-11-03) is midnight UTC
        day = datetime.fromisoformat(cell.replace("Z", "+00:00"))
        return day if day.tzinfo else day.replace(tzinfo=timezone.utc)
    if len(cell) >= 2 and cell[0] == cell[-1] == '"':  # a quoted string cell or list item
        return cell[1:-1]
    return cell


def _split_list(body: str) -> list[str]:
    return [x for x in body.split(",")] if body.strip() else []


def actual_value(value, typ: str):
    if value is None:
        return None
    if isinstance(value, list):
        return sorted([actual_value(v, typ) for v in value], key=repr)
    if typ == "date":
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def header_text(warning: str) -> str:
    """A warning as Elasticsearch sends it in its ``Warning`` header, which is what the spec
    files record: backslash and double quote escaped, ``%`` and non-ASCII percent-encoded."""
    escaped = warning.replace("\\", "\\\\").replace('"', '\\"')
    return "".join(ch if " " <= ch <= "~" and ch != "%" else quote(ch, safe="") for ch in escaped)


def warning_matches(expected: str, actual: str, regex: bool) -> bool:
    actual = header_text(actual)
    if not regex and expected == actual:
        return True
    try:  # a few plain ``warning:`` lines are written as a regex (null.csv-spec)
        return (re.search if regex else re.fullmatch)(expected, actual) is not None
    except re.error:
        return False


@pytest.mark.parametrize("case", SUPPORTED, ids=[f"{c.file}:{c.name}" for c in SUPPORTED])
def test_case(case: Case, catalog, request: pytest.FixtureRequest) -> None:
    from collectors.esql.engine import run_esql

    known = KNOWN_FAILURES.get(f"{case.file}:{case.name}")
    if known:
        request.applymarker(pytest.mark.xfail(reason=known, strict=True))

    result = run_esql(case.query, catalog, now=NOW)
    got_cols = [(c.name, c.type) for c in result.columns]
    assert got_cols == case.columns
    types = [t for _, t in case.columns]
    expected = [[expected_value(cell, t) for cell, t in zip(row, types)] for row in case.rows]
    actual = [[actual_value(v, t) for v, t in zip(row, types)] for row in result.values]
    if case.ignore_order:
        expected.sort(key=repr)
        actual.sort(key=repr)
    assert len(actual) == len(expected), f"{len(actual)} rows, expected {len(expected)}: {actual}"
    for a, e in zip(actual, expected):
        assert all(same(x, y) for x, y in zip(a, e)), f"row {a} != expected {e}"
    warnings = [w for w in result.warnings if w != DEFAULT_LIMIT_WARNING]
    wanted = [(w, False) for w in case.warnings] + [(w, True) for w in case.warning_regexes]
    assert len(warnings) == len(wanted), f"warnings {warnings} != expected {wanted}"
    for text, regex in wanted:
        assert any(warning_matches(text, w, regex) for w in warnings), f"no warning matches {text!r}: {warnings}"


def test_conformance_summary(capsys) -> None:
    """Prints total/supported and every unsupported case with its reason."""
    if not CASES:
        pytest.skip("conformance material not found")
    unsupported = [(c, unsupported_reason(c)) for c in CASES if unsupported_reason(c)]
    with capsys.disabled():
        print(f"\nES|QL conformance: {len(SUPPORTED)} supported of {len(CASES)} cases "
              "(pass/fail per case in the test_case[...] results)")
        for case, reason in unsupported:
            print(f"  unsupported {case.file}:{case.name}: {reason}")
        for case_id, reason in KNOWN_FAILURES.items():
            print(f"  known difference {case_id}: {reason}")
    assert len(SUPPORTED) + len(unsupported) == len(CASES)
    ids = {f"{c.file}:{c.name}" for c in SUPPORTED}
    assert set(KNOWN_FAILURES) <= ids, f"stale known failures: {set(KNOWN_FAILURES) - ids}"
    assert len(CASES) > 100, "the csv-spec files were not parsed"


def summary_lines(stats: dict) -> list[str]:
    """For the pytest terminal summary: how many cases passed, how many are known differences,
    and the share refused (unsupported or known different), from this run's reports."""
    if not CASES:
        return []
    ran = [r for key in ("passed", "failed", "xfailed") for r in stats.get(key, [])
           if "test_esql_conformance.py::test_case[" in getattr(r, "nodeid", "")]
    if not ran:
        return []
    passed = sum(1 for r in stats.get("passed", []) if "test_esql_conformance.py::test_case[" in r.nodeid)
    unsupported = len(CASES) - len(SUPPORTED)
    refused = unsupported + len(KNOWN_FAILURES)
    return [f"ES|QL conformance: {passed}/{len(CASES)} Elasticsearch spec cases pass; refused "
            f"{refused} ({100 * refused / len(CASES):.1f}%): {unsupported} unsupported, "
            f"{len(KNOWN_FAILURES)} known differences (reasons: pytest -s -k conformance_summary)"]
