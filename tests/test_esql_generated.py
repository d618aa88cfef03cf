"""Generated ES|QL over the ``employees`` conformance dataset: every well-typed query gets a
result or a clean refusal (``QueryError``, exit 1, Elasticsearch-style text) — never an
internal error and never DuckDB's own text.

Queries are built from typed expression grammars (integer, long, double, keyword, boolean,
date), including the values that break naive engines: integer extremes, multi-valued fields,
nulls, division by zero, overflow, out-of-domain math and conversions.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.esql.engine import run_esql
from collectors.interface import QueryError, QueryResult
from tests.test_esql_conformance import CONF, load_dataset

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)

COLUMNS = {
    "integer": ["emp_no", "languages", "salary", "salary_change.int"],
    "long": ["avg_worked_seconds", "languages.long", "salary_change.long"],
    "double": ["height", "salary_change", "height.float"],
    "keyword": ["first_name", "gender", "job_positions", "last_name"],
    "boolean": ["still_hired", "is_rehired"],
    "date": ["hire_date", "birth_date"],
}
DUCKDB_WORDS = ("Binder Error", "Conversion Error", "Out of Range", "Catalog Error", "Parser Error",
                "INT128", "VARCHAR", "BIGINT", "duckdb", "DuckDB", "Invalid Input Error")


@pytest.fixture(scope="module")
def catalog():
    if CONF is None or not (CONF / "employees.csv").exists():
        pytest.skip("../shared/conformance/esql (employees) is not beside this checkout")
    from collectors.offline.catalog import Catalog

    docs, mapping = load_dataset("employees")
    return Catalog.from_documents({"employees": docs}, {"employees": mapping})


def literal(kind: str) -> st.SearchStrategy[str]:
    return {
        "integer": st.sampled_from(["0", "1", "-1", "7", "2147483647", "-2147483648", "null"]),
        "long": st.sampled_from(["9223372036854775807", "-9223372036854775808", "10000000000"]),
        "double": st.sampled_from(["0.0", "-0.0", "1.5", "1e308", "-2.5e-7", "null"]),
        "keyword": st.sampled_from(['"a"', '""', '"Georgi"', '"010"', '"1e3"', '"x y"', '"2024-01-01"']),
        "boolean": st.sampled_from(["true", "false", "null"]),
        "date": st.sampled_from(['TO_DATETIME("1990-01-01T00:00:00Z")', "NOW()"]),
    }[kind]


def expr(kind: str, depth: int = 2) -> st.SearchStrategy[str]:
    leaves = st.one_of(st.sampled_from(COLUMNS[kind]).map(lambda c: f"`{c}`"), literal(kind))
    if depth == 0:
        return leaves
    sub = lambda k: expr(k, depth - 1)  # noqa: E731
    num = st.sampled_from(["integer", "long", "double"])
    options: list[st.SearchStrategy[str]] = [leaves]
    if kind in ("integer", "long", "double"):
        options += [
            st.tuples(sub(kind), st.sampled_from(["+", "-", "*", "/", "%"]), sub(kind)).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            sub(kind).map(lambda e: f"-({e})"),
            st.tuples(st.sampled_from(["ABS", "MV_SUM", "MV_MIN", "MV_MAX", "MV_MEDIAN", "CEIL", "FLOOR", "ROUND"]),
                      sub(kind)).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(sub(kind), sub(kind)).map(lambda t: f"COALESCE({t[0]}, {t[1]})"),
            st.tuples(sub("boolean"), sub(kind), sub(kind)).map(lambda t: f"CASE({t[0]}, {t[1]}, {t[2]})"),
        ]
    if kind == "integer":
        options += [sub("keyword").map(lambda e: f"LENGTH({e})"),
                    st.tuples(st.sampled_from(["TO_INTEGER"]), st.one_of(sub("keyword"), sub("double"), sub("long")))
                    .map(lambda t: f"{t[0]}({t[1]})"),
                    sub("keyword").map(lambda e: f"MV_COUNT({e})")]
    if kind == "long":
        options += [st.one_of(sub("keyword"), sub("double"), sub("integer"), sub("date")).map(lambda e: f"TO_LONG({e})"),
                    st.tuples(st.sampled_from(["year", "month_of_year", "day_of_week"]), sub("date"))
                    .map(lambda t: f'DATE_EXTRACT("{t[0]}", {t[1]})')]
    if kind == "double":
        options += [
            st.tuples(st.sampled_from(["SQRT", "LOG10", "SIN", "ACOS", "CBRT", "EXP", "TO_DOUBLE", "MV_AVG"]),
                      num.flatmap(sub)).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(num.flatmap(sub), num.flatmap(sub)).map(lambda t: f"POW({t[0]}, {t[1]})"),
            sub("keyword").map(lambda e: f"TO_DOUBLE({e})"),
        ]
    if kind == "keyword":
        options += [
            st.tuples(sub("keyword"), sub("keyword")).map(lambda t: f"CONCAT({t[0]}, {t[1]})"),
            st.sampled_from(["TO_LOWER", "TO_UPPER", "TRIM", "MV_FIRST", "MV_LAST"]).flatmap(
                lambda f: sub("keyword").map(lambda e: f"{f}({e})")),
            st.one_of(*(sub(k) for k in ("integer", "long", "double", "boolean", "date"))).map(lambda e: f"TO_STRING({e})"),
            st.tuples(sub("keyword"), sub("integer")).map(lambda t: f"SUBSTRING({t[0]}, {t[1]}, 3)"),
            sub("date").map(lambda e: f'DATE_FORMAT("yyyy-MM-dd", {e})'),
            sub("keyword").map(lambda e: f'MV_CONCAT({e}, ",")'),
        ]
    if kind == "boolean":
        cmp = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
        options += [
            st.tuples(num.flatmap(sub), cmp, num.flatmap(sub)).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(sub("keyword"), cmp, sub("keyword")).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(sub("boolean"), st.sampled_from(["AND", "OR"]), sub("boolean")).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            sub("boolean").map(lambda e: f"NOT ({e})"),
            st.sampled_from(sum(COLUMNS.values(), [])).map(lambda c: f"`{c}` IS NULL"),
            sub("keyword").map(lambda e: f'{e} LIKE "G*"'),
            st.tuples(sub("integer"), sub("integer")).map(lambda t: f"{t[0]} IN (1, 2, {t[1]})"),
            sub("keyword").map(lambda e: f'STARTS_WITH({e}, "G")'),
            sub("keyword").map(lambda e: f"TO_BOOLEAN({e})"),
        ]
    if kind == "date":
        span = st.sampled_from(["1 millisecond", "2 hours", "1 day", "3 months", "1 year", "1 quarter"])
        options += [
            st.tuples(sub("date"), st.sampled_from(["+", "-"]), span).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(span, sub("date")).map(lambda t: f"DATE_TRUNC({t[0]}, {t[1]})"),
            st.one_of(sub("long"), sub("keyword")).map(lambda e: f"TO_DATETIME({e})"),
        ]
    return st.one_of(*options)


KINDS = list(COLUMNS)


@st.composite
def queries(draw) -> str:
    parts = ["FROM employees"]
    for _ in range(draw(st.integers(1, 4))):
        step = draw(st.sampled_from(["where", "eval", "stats", "sort", "limit", "mv_expand", "keep"]))
        if step == "where":
            parts.append(f"WHERE {draw(expr('boolean'))}")
        elif step == "eval":
            kind = draw(st.sampled_from(KINDS))
            # shadowing an existing column of the same type keeps later steps well-typed
            name = draw(st.sampled_from(["x", COLUMNS[kind][0]]))
            parts.append(f"EVAL {name} = {draw(expr(kind))}")
            if name == "x":
                parts.append("DROP x")
        elif step == "stats":
            kind = draw(st.sampled_from(["integer", "long", "double"]))
            agg = draw(st.sampled_from(["SUM", "AVG", "MIN", "MAX", "COUNT", "MEDIAN", "COUNT_DISTINCT"]))
            key = draw(st.sampled_from(COLUMNS["keyword"] + COLUMNS["integer"] + COLUMNS["boolean"]))
            parts.append(f"STATS v = {agg}({draw(expr(kind, 1))}) BY `{key}`")
            return " | ".join(parts + ["LIMIT 50"])
        elif step == "sort":
            col = draw(st.sampled_from(sum(COLUMNS.values(), [])))
            parts.append(f"SORT `{col}` {draw(st.sampled_from(['ASC', 'DESC']))}")
        elif step == "limit":
            parts.append(f"LIMIT {draw(st.integers(0, 30))}")
        elif step == "mv_expand":
            parts.append(f"MV_EXPAND `{draw(st.sampled_from(['job_positions', 'salary_change', 'is_rehired']))}`")
        else:
            parts.append("KEEP " + ", ".join(f"`{c}`" for c in sum(COLUMNS.values(), [])))
    return " | ".join(parts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(query=queries())
def test_generated_query_answers_or_refuses_cleanly(catalog, query):
    try:
        result = run_esql(query, catalog, now=NOW)
    except QueryError as err:
        assert err.exit_code == 1
        assert not any(word in str(err) for word in DUCKDB_WORDS), f"{query}\n-> {err}"
        return
    assert isinstance(result, QueryResult)
    for warning in result.warnings:
        assert not any(word in warning for word in DUCKDB_WORDS), f"{query}\n-> {warning}"
