"""ES|QL answers that must match Elasticsearch beyond its spec files: multi-values in STATS,
name shadowing, overflow, constants and null in aggregates, number conversion, date math,
and that an engine gap is a clean refusal, never DuckDB's message.

Expected values and warning texts are Elasticsearch's (ES|QL reference, "Multivalued fields",
"STATS", "Operators"; warnings as its csv-spec tests record them).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from collectors.esql.engine import run_esql
from collectors.interface import QueryError

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)

# Three documents: ``k`` multi-valued in the first, null in the third.
DOCS = [
    {"k": [1, 2], "x": [1, 2], "s": "a", "n": 10},
    {"k": 1, "x": 5, "s": "b", "n": 20},
    {"x": 3, "s": "c", "n": 30},
]
MAPPING = {"properties": {"k": {"type": "integer"}, "x": {"type": "integer"},
                          "s": {"type": "keyword"}, "n": {"type": "long"}}}


@pytest.fixture(scope="module")
def catalog():
    from collectors.offline.catalog import Catalog

    return Catalog.from_documents({"t": DOCS}, {"t": MAPPING})


def run(catalog, text):
    result = run_esql(text, catalog, now=NOW)
    warnings = [w for w in result.warnings if "default limit" not in w]
    return [c.name for c in result.columns], result.values, warnings


def overflow_warnings(line_col: str, expr: str, kind: str) -> list[str]:
    return [f"Line {line_col}: evaluation of [{expr}] failed, treating result as null. "
            "Only first 20 failures recorded.",
            f"Line {line_col}: java.lang.ArithmeticException: {kind} overflow"]


# ---------------------------------------------------------------- multi-values in STATS


def test_stats_by_multi_valued_field_aggregates_see_the_whole_multi_value(catalog):
    names, values, _ = run(catalog, "FROM t | STATS c = COUNT(k), s = SUM(k), a = AVG(k), m = MAX(k) BY k | SORT k")
    assert names == ["c", "s", "a", "m", "k"]
    # group 1: the first row ([1, 2]) and the second (1); group 2: the first row only.
    assert values == [[3, 4, pytest.approx(4 / 3), 2, 1], [2, 3, 1.5, 2, 2], [0, None, None, None, None]]


def test_stats_aggregate_combined_with_its_multi_valued_key(catalog):
    _, values, _ = run(catalog, "FROM t | STATS v = SUM(k) + k BY k | SORT k")
    assert values == [[5, 1], [5, 2], [None, None]]


def test_stats_by_multi_value_after_where_and_eval(catalog):
    _, values, _ = run(catalog, 'FROM t | WHERE s != "b" | EVAL y = n * 2 | STATS c = COUNT(*), t = SUM(y) BY k | SORT k')
    assert values == [[1, 20, 1], [1, 20, 2], [1, 60, None]]


def test_count_of_a_multi_valued_field_counts_values(catalog):
    _, values, _ = run(catalog, "FROM t | STATS c = COUNT(x), r = COUNT(*)")
    assert values == [[4, 3]]


# ---------------------------------------------------------------- name shadowing


def test_eval_later_column_of_same_name_replaces_earlier_at_later_position(catalog):
    names, values, _ = run(catalog, "ROW a = 1 | EVAL b = 2, a = 3, c = a + 1")
    assert names == ["b", "a", "c"]
    assert values == [[2, 3, 4]]


def test_stats_duplicate_names_keep_one_column(catalog):
    names, values, _ = run(catalog, "FROM t | STATS m = COUNT(*), m = MAX(n)")
    assert names == ["m"]
    assert values == [[30]]


def test_rename_onto_existing_name_leaves_one_column(catalog):
    names, values, _ = run(catalog, "FROM t | KEEP s, n | RENAME s AS n | LIMIT 1")
    assert names == ["n"]
    assert values == [["a"]]


def test_grok_output_replaces_input_column_of_same_name(catalog):
    names, values, _ = run(catalog, 'ROW a = "x y" | GROK a "%{WORD:a} %{WORD:b}"')
    assert names == ["a", "b"]
    assert values == [["x", "y"]]


# ---------------------------------------------------------------- overflow


@pytest.mark.parametrize("query, value, warnings", [
    ("ROW a = 2147483647 | EVAL b = a + 1", None, overflow_warnings("1:31", "a + 1", "integer")),
    ("ROW a = -2147483648 | EVAL b = -a", None, overflow_warnings("1:32", "-a", "integer")),
    ("ROW a = -9223372036854775808 | EVAL b = -a", None, overflow_warnings("1:41", "-a", "long")),
    ("ROW a = [9223372036854775807, 1] | EVAL b = MV_SUM(a)", None, overflow_warnings("1:45", "MV_SUM(a)", "long")),
    ("ROW a = [2147483647, 1] | EVAL b = MV_SUM(a)", None, overflow_warnings("1:36", "MV_SUM(a)", "integer")),
])
def test_overflow_is_null_with_elasticsearch_warning(query, value, warnings):
    result = run_esql(query, None, now=NOW)
    assert result.values[0][-1] == value
    assert [w for w in result.warnings if "default limit" not in w] == warnings


def test_sum_overflow_in_stats_is_null_not_an_error(catalog):
    _, values, _ = run(catalog, "FROM t | EVAL big = n * 400000000000000000 | STATS s = SUM(big)")
    assert values == [[None]]


def test_out_of_range_conversion_is_null_with_warning():
    result = run_esql("ROW d = 1e19, l = 5000000000 | EVAL a = TO_LONG(d), b = TO_INTEGER(l)", None, now=NOW)
    assert result.values == [[1e19, 5000000000, None, None]]
    assert [w for w in result.warnings if "QlIllegal" in w] == [
        "Line 1:41: org.elasticsearch.xpack.ql.QlIllegalArgumentException: [1.0E19] out of [long] range",
        "Line 1:57: org.elasticsearch.xpack.ql.QlIllegalArgumentException: [5000000000] out of [integer] range",
    ]


# ---------------------------------------------------------------- constants and null in aggregates


def test_sum_of_null_without_by_is_one_row(catalog):
    names, values, _ = run(catalog, "FROM t | STATS s = SUM(null)")
    assert names == ["s"]
    assert values == [[None]]


def test_aggregates_of_constants_with_and_without_by(catalog):
    _, values, _ = run(catalog, "FROM t | STATS c = COUNT(1), s = SUM(2), m = MAX(1 + 1)")
    assert values == [[3, 6, 2]]
    _, values, _ = run(catalog, "FROM t | STATS c = COUNT(1), two = SUM(2) BY s | SORT s")
    assert values == [[1, 2, "a"], [1, 2, "b"], [1, 2, "c"]]


# ---------------------------------------------------------------- math functions


@pytest.mark.parametrize("expr, message", [
    ("SQRT(-1.0)", "Square root of negative"),
    ("LOG10(0)", "Log of non-positive number"),
    ("ASIN(2)", "Asin input out of range"),
    ("POW(2, 100000)", "not a finite double number: Infinity"),
])
def test_math_domain_errors_are_null_with_warning(expr, message):
    result = run_esql(f"ROW x = {expr}", None, now=NOW)
    assert result.values == [[None]]
    assert f"Line 1:9: java.lang.ArithmeticException: {message}" in result.warnings


def test_math_functions_values():
    result = run_esql("ROW a = POW(2, 10), b = SQRT(16), c = CEIL(1.2), d = FLOOR(-1.2), e = CEIL(3), "
                      "f = ROUND(PI(), 4), g = HYPOT(3, 4), h = LOG(2, 8)", None, now=NOW)
    assert [c.type for c in result.columns] == ["double"] * 4 + ["integer"] + ["double"] * 3
    assert result.values == [[1024.0, 4.0, 2.0, -2.0, 3, 3.1416, 5.0, pytest.approx(3.0)]]


# ---------------------------------------------------------------- no DuckDB text ever


def test_engine_gap_is_a_clean_refusal_naming_the_command(monkeypatch):
    from collectors.esql import functions

    # A compiled expression DuckDB cannot bind stands in for any gap in the compiler.
    monkeypatch.setitem(functions.SCALARS, "cbrt", functions._math("no_such_duckdb_function({x})"))
    with pytest.raises(QueryError) as err:
        run_esql("ROW a = 8\n| EVAL b = CBRT(a)\n| KEEP b", None, now=NOW)
    assert str(err.value) == "line 2:3: [EVAL b = CBRT(a)] is not supported offline"
    assert err.value.exit_code == 1


# ---------------------------------------------------------------- number formatting and conversion


@pytest.mark.parametrize("value, text", [
    ("1e20", "1.0E20"), ("0.0001", "1.0E-4"), ("100.0", "100.0"), ("12345678.9", "1.23456789E7"),
    ("9999999.0", "9999999.0"), ("0.001", "0.001"), ("-1.5e-7", "-1.5E-7"), ("1.1", "1.1"),
])
def test_to_string_of_double_prints_like_java(value, text):
    result = run_esql(f"ROW d = {value} | EVAL s = TO_STRING(d)", None, now=NOW)
    assert result.values[0][1] == text


def test_to_string_per_mapped_float_type():
    from collectors.offline.catalog import Catalog

    mapping = {"properties": {"f": {"type": "float"}, "h": {"type": "half_float"},
                              "sf": {"type": "scaled_float", "scaling_factor": 100}}}
    cat = Catalog.from_documents({"m": [{"f": 1.1, "h": 1.1, "sf": 1.111}]}, {"m": mapping})
    result = run_esql("FROM m | EVAL fs = TO_STRING(f), hs = TO_STRING(h), ss = TO_STRING(sf) | KEEP fs, hs, ss",
                      cat, now=NOW)
    # Elasticsearch widens each stored value to double and prints that double.
    assert result.values == [["1.100000023841858", "1.099609375", "1.11"]]


def test_string_to_number_takes_decimal_text_only():
    result = run_esql('ROW a = "010", b = "0x10", c = "1_000", d = " 12 ", e = "1e3" '
                      "| EVAL i = TO_INTEGER(a), j = TO_LONG(b), k = TO_LONG(c), l = TO_INTEGER(d), m = TO_LONG(e) "
                      "| KEEP i, j, k, l, m", None, now=NOW)
    assert result.values == [[10, None, None, 12, 1000]]
    assert "Line 1:93: org.elasticsearch.xpack.esql.core.InvalidArgumentException: Cannot parse number [0x10]" in result.warnings


def test_string_to_ip_refuses_leading_zeros_with_warning():
    result = run_esql('ROW s = "1.1.010.1" | EVAL ip = TO_IP(s)', None, now=NOW)
    assert result.values == [["1.1.010.1", None]]
    assert "Line 1:33: java.lang.IllegalArgumentException: '1.1.010.1' is not an IP string literal." in result.warnings


# ---------------------------------------------------------------- date math


@pytest.mark.parametrize("expr, expected", [
    ('"2024-01-01" + 1 day', "2024-01-02T00:00:00.000Z"),
    ('1 hour + "2024-01-01T00:00:00Z"', "2024-01-01T01:00:00.000Z"),
    ('"2024-01-01" - 1 millisecond', "2023-12-31T23:59:59.999Z"),
    ('"2024-01-31" + 1 month', "2024-02-29T00:00:00.000Z"),
    ('"2024-01-01" - 1 quarter', "2023-10-01T00:00:00.000Z"),
    ('"2024-01-01" + 2 weeks', "2024-01-15T00:00:00.000Z"),
    ('DATE_TRUNC(1 month, "2024-11-22") + 2 days', "2024-11-03T00:00:00.000Z"),
])
def test_date_math_with_string_literals(expr, expected):
    result = run_esql(f"ROW d = {expr}", None, now=NOW)
    assert [c.type for c in result.columns] == ["date"]
    assert result.values == [[expected]]


def test_function_arguments_cast_string_literals():
    result = run_esql('ROW a = ABS("-10.0"), b = ROUND("2.5"), c = SQRT("16")', None, now=NOW)
    assert [c.type for c in result.columns] == ["double"] * 3
    assert result.values == [[10.0, 3.0, 4.0]]


# ---------------------------------------------------------------- LIMIT ... BY


def test_limit_by_keeps_first_rows_of_each_group_in_current_order(catalog):
    names, values, _ = run(catalog, "FROM t | EVAL big = n > 15 | SORT n DESC | LIMIT 1 BY big | KEEP n, big")
    assert names == ["n", "big"]
    assert values == [[30, True], [10, False]]


def test_limit_by_without_sort_keeps_load_order_and_null_is_a_group(catalog):
    _, values, _ = run(catalog, "FROM t | LIMIT 1 BY k | KEEP n, k")
    assert values == [[10, [1, 2]], [20, 1], [30, None]]
    _, values, _ = run(catalog, "FROM t | LIMIT 2 BY s LIKE \"*\" | KEEP n")
    assert values == [[10], [20]]


def test_limit_by_is_not_a_row_limit_so_default_limit_still_applies(catalog):
    result = run_esql("FROM t | LIMIT 5 BY s", catalog, now=NOW)
    assert "No limit defined, adding default limit of [1000]" in result.warnings


# ---------------------------------------------------------------- engine limits as query errors


@pytest.mark.parametrize("value, typ, expected", [
    (99999999999999999999999999, "double", 1e26),
    (2**63, "unsigned_long", 2**63),
    (2**64 - 1, "unsigned_long", 2**64 - 1),
    (-(2**63) - 1, "double", float(-(2**63) - 1)),
])
def test_wide_integer_parameters_take_elasticsearch_types(value, typ, expected):
    result = run_esql("ROW a = ?p", None, {"p": value}, now=NOW)
    assert [c.type for c in result.columns] == [typ]
    assert result.values == [[expected]]


@pytest.mark.parametrize("value, shown", [(float("nan"), "NaN"), (float("inf"), "Infinity"), ([1.0, float("-inf")], "-Infinity")])
def test_non_finite_parameters_are_refused(value, shown):
    with pytest.raises(QueryError) as err:
        run_esql("ROW a = 1 | EVAL b = ?p", None, {"p": value}, now=NOW)
    assert str(err.value) == f"line 1:22: query parameter [?p] is [{shown}]: only finite numbers are accepted"


def test_more_than_500_piped_commands_is_elasticsearch_depth_error():
    query = "ROW a = 1" + " | EVAL a = a + 1" * 501
    with pytest.raises(QueryError) as err:
        run_esql(query, None, now=NOW)
    assert str(err.value) == ("line 1:1: ESQL statement exceeded the maximum query depth allowed (500): "
                              "[ROW | EVAL | EVAL | ...]")


def _new_column_pipeline(n: int, start: str = "1") -> str:
    return f"ROW a = {start} | EVAL c1 = a + 1" + "".join(f" | EVAL c{i} = c{i - 1} + 1" for i in range(2, n + 1))


def test_500_commands_each_adding_a_column_answer_every_column():
    result = run_esql(_new_column_pipeline(500), None, now=NOW)
    assert [c.name for c in result.columns] == ["a"] + [f"c{i}" for i in range(1, 501)]
    assert result.values == [list(range(1, 502))]


def test_overflow_deep_in_a_long_pipeline_still_warns_once_at_its_command():
    query = _new_column_pipeline(300, start=str(2**63 - 1 - 250))
    result = run_esql(query, None, now=NOW)
    assert result.values[0][249:251] == [2**63 - 2, 2**63 - 1]
    assert result.values[0][251:] == [None] * 50  # c251 = c250 + 1 overflows; every later column is null
    col = query.index("c250 + 1") + 1
    assert result.warnings == [
        "No limit defined, adding default limit of [1000]",
        f"Line 1:{col}: evaluation of [c250 + 1] failed, treating result as null. Only first 20 failures recorded.",
        f"Line 1:{col}: java.lang.ArithmeticException: long overflow",
    ]


def test_501_commands_each_adding_a_column_is_the_depth_error():
    with pytest.raises(QueryError) as err:
        run_esql(_new_column_pipeline(501), None, now=NOW)
    assert str(err.value).startswith("line 1:1: ESQL statement exceeded the maximum query depth allowed (500)")


def test_statements_of_a_long_pipeline_grow_with_its_width_not_its_length():
    """What DuckDB plans for each command (the cut tables, every warning check, the final
    query) must not nest the whole pipeline: 5x the commands (and 5x the columns) may make
    the longest statement about 5x longer, not 25x."""
    from collectors.esql.engine import compile_esql

    def longest(n: int) -> int:
        compiled = compile_esql(_new_column_pipeline(n), None, now=NOW)
        statements = [compiled.sql] + [sql for _, sql in compiled.temp_tables] + [c.relation for c in compiled.checks]
        return max(len(s) for s in statements)

    assert longest(500) < 7 * longest(100)


def test_long_pipeline_cut_into_stages_answers_as_one_statement(catalog, monkeypatch):
    from collectors.esql import compiler, engine

    steps = []
    for i in range(20):
        steps += [f"EVAL n = n + {i}", "WHERE n > 0", f"EVAL m{i % 3} = MV_SUM(x) * {i}"]
    query = "FROM t | " + " | ".join(steps) + " | EVAL big = n * 1000000000000000000 | SORT n DESC | KEEP n, m0, m1, m2, big"
    cut = run_esql(query, catalog, now=NOW)
    monkeypatch.setattr(compiler, "FLATTEN_ABOVE", 10_000)
    whole = run_esql(query, catalog, now=NOW)
    assert len(engine.Compiler(engine._parse(query), catalog, None, NOW.replace(tzinfo=None)).compile().stages) > 32
    assert cut.values == whole.values
    assert cut.warnings == whole.warnings
    assert [w for w in cut.warnings if "long overflow" in w]  # the overflow checks ran on the cut stages


@pytest.mark.parametrize("depth", [40, 299])
def test_deeply_nested_functions_compile_once_per_level(depth):
    """Every level is compiled once: a function compiled its arguments twice (to look at their
    types), so 40 nested calls took 2^40 steps, and 299 (the parser's bound) overflowed
    Python's stack with a traceback."""
    query = "ROW a = -3 | EVAL b = " + "ABS(" * depth + "a" + ")" * depth + ", s = " + "TO_UPPER(" * depth + '"x"' + ")" * depth
    result = run_esql(query, None, now=NOW)
    assert result.values == [[-3, 3, "X"]]


def test_nested_negations_keep_their_sql_linear():
    """``-x`` named its operand twice in SQL, so 40 nested negations were 4^40 characters."""
    query = "ROW a = 5 | EVAL b = " + "-(" * 40 + "a" + ")" * 40 + ", c = " + "-(" * 41 + "a" + ")" * 41
    result = run_esql(query, None, now=NOW)
    assert result.values == [[5, 5, -5]]


def test_expression_whose_sql_would_explode_is_a_query_error():
    """Functions that repeat their argument (CIDR_MATCH, TO_IP) multiply the SQL when nested:
    past a bound it is refused with a one-line error instead of exhausting memory."""
    inner = '"10.1.2.3"'
    for _ in range(8):
        inner = f'CASE(CIDR_MATCH(TO_IP({inner}), "10.0.0.0/8"), "10.1.2.3", "x")'
    with pytest.raises(QueryError) as err:
        run_esql(f"ROW a = 1 | EVAL b = {inner}", None, now=NOW)
    assert err.value.line == 1
    assert "is too complex to run offline (its SQL would exceed 1,000,000 characters)" in str(err.value)


def test_one_eval_of_1000_columns_answers():
    """1,000 assignments in one EVAL (Elasticsearch accepts them: the depth limit counts
    commands) each nested a sub-select, past DuckDB's depth limit."""
    chained = "ROW a = 1 | EVAL c1 = a + 1, " + ", ".join(f"c{i} = c{i - 1} + 1" for i in range(2, 1001))
    result = run_esql(chained, None, now=NOW)
    assert [c.name for c in result.columns] == ["a"] + [f"c{i}" for i in range(1, 1001)]
    assert result.values == [list(range(1, 1002))]
    same = run_esql("ROW a = 1, b = 0 | EVAL " + ", ".join(["a = a + 1"] * 1000), None, now=NOW)
    assert ([c.name for c in same.columns], same.values) == (["b", "a"], [[0, 1001]])


def _eval_heavy_pipeline() -> str:
    steps = []
    for i in range(18):
        steps += [f"EVAL n = n + {i}, m{i % 3} = n * 2, s = CONCAT(TO_STRING(n), \"-\", TO_STRING(m{i % 3}))",
                  f"EVAL big = n * {10 ** 18}, x = MV_SUM(x) + {i}, k{i} = -n"]
        if i == 5:
            steps += ["SORT s DESC", "EVAL s = CONCAT(s, \"!\"), n = n + 0"]
        if i == 8:
            steps += ["WHERE n > 0", "DROP k1, k2", "RENAME k3 AS kk"]
    return "FROM t | " + " | ".join(steps) + " | LIMIT 3"


def test_long_pipeline_of_evals_answers_as_the_short_form(catalog, monkeypatch):
    """In a long pipeline consecutive EVAL columns share one SELECT (a column read in the
    same SELECT is read as its expression): every column, value, row order and warning is
    what one sub-select per column gives."""
    from collectors.esql import compiler

    query = _eval_heavy_pipeline()
    assert query.count("|") > compiler.FLATTEN_ABOVE
    merged = run_esql(query, catalog, now=NOW)
    monkeypatch.setattr(compiler, "FLATTEN_ABOVE", 10_000)
    whole = run_esql(query, catalog, now=NOW)
    assert [(c.name, c.type) for c in merged.columns] == [(c.name, c.type) for c in whole.columns]
    assert merged.values == whole.values
    assert merged.warnings == whole.warnings
    assert [w for w in merged.warnings if "long overflow" in w]
    assert len(merged.values) == 3 and merged.columns[-1].name == "k17"


def test_ip_comparisons_compare_addresses_not_text():
    result = run_esql('ROW a = TO_IP("9.0.0.1"), b = TO_IP("10.0.0.1"), c = TO_IP("::1") '
                      '| EVAL lt = a < b, eq = c == TO_IP("0:0:0:0:0:0:0:1"), cast = a < "10.0.0.1", v6 = c > a '
                      "| KEEP lt, eq, cast, v6", None, now=NOW)
    # IPv4 compares as ::ffff:a.b.c.d, so every IPv4 address is above ::1
    assert result.values == [[True, True, True, False]]


def test_grok_name_captured_twice_is_a_multi_value():
    result = run_esql('ROW a = "x y z" | GROK a "%{WORD:b} %{WORD:b} %{WORD:c}"', None, now=NOW)
    assert [c.name for c in result.columns] == ["a", "b", "c"]
    assert result.values == [["x y z", ["x", "y"], "z"]]


def test_grok_and_dissect_match_each_value_of_a_multi_value():
    grok = run_esql('ROW a = ["1 2", "3 4", "zz"] | GROK a "%{INT:b:int} %{WORD:c}" | KEEP b, c', None, now=NOW)
    assert grok.values == [[[1, 3], ["2", "4"]]]
    dissect = run_esql('ROW a = ["1 2", "zz", "3 4"] | DISSECT a "%{b} %{c}" | KEEP b, c', None, now=NOW)
    assert dissect.values == [[["1", "3"], ["2", "4"]]]
