"""The offline ES|QL engine: every construct parses, runs on DuckDB, and answers as
Elasticsearch would (values, types, column order, warnings, errors)."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.esql.engine import compile_esql, run_esql
from collectors.result import Cancelled, QueryError
from collectors.sources import CancelToken

NOW = datetime(2024, 5, 10, 12, 0, 0, tzinfo=timezone.utc)

DOCS = {
    "logs-endpoint.events.file-default": [
        {"@timestamp": "2024-05-09T10:00:00.000Z", "host": {"os": {"type": "linux"}, "name": "h1"},
         "event": {"action": "creation"}, "file": {"path": "/var/lib/dpkg/info/evil.postinst", "name": "evil.postinst"},
         "agent": {"id": "a1"}, "process": {"executable": "/usr/bin/dpkg"}, "tags": ["b", "a"], "size": 10,
         "source": {"ip": "10.1.2.3"}},
        {"@timestamp": "2024-05-09T11:00:00.000Z", "host": {"os": {"type": "linux"}, "name": "h2"},
         "event": {"action": "rename"}, "file": {"path": "/var/lib/rpm/x.list", "name": "x.list"},
         "agent": {"id": "a2"}, "process": {"executable": "/usr/bin/rpm"}, "tags": ["c"], "size": 20,
         "source": {"ip": "192.168.0.7"}},
        {"@timestamp": "2024-05-01T09:00:00.000Z", "host": {"os": {"type": "linux"}, "name": "h1"},
         "event": {"action": "creation"}, "file": {"path": "/var/lib/dpkg/info/evil.postinst", "name": "evil.postinst"},
         "agent": {"id": "a3"}, "process": {"executable": "/usr/bin/dpkg"}, "size": None,
         "source": {"ip": "8.8.8.8"}},
        {"@timestamp": "2024-05-09T12:00:00.000Z", "host": {"os": {"type": "windows"}, "name": "w1"},
         "event": {"action": "creation"}, "file": {"path": "C:\\x", "name": "it's \"quoted\""},
         "agent": {"id": "a1"}, "process": {"executable": "c:\\cmd.exe"}, "tags": ["a", "c", "b"], "size": 30},
    ],
    "logs-endpoint.events.process-default": [
        {"@timestamp": "2024-05-09T10:00:00.000Z", "process": {"executable": "/bin/sh", "pid": 5}, "agent": {"id": "a1"}},
    ],
}


@pytest.fixture(scope="module")
def catalog():
    from collectors.offline.catalog import Catalog

    return Catalog.from_documents(DOCS)


def q(catalog, text, params=None, **kw):
    return run_esql(text, catalog, params, now=NOW, **kw)


def rows(catalog, text, params=None):
    return q(catalog, text, params).values


def col_names(result):
    return [c.name for c in result.columns]


FILES = "from logs-endpoint.events.file-*"


# ---------------------------------------------------------------- source commands


def test_from_lists_fields_alphabetically_and_dates_like_elasticsearch(catalog):
    r = q(catalog, FILES + " | sort @timestamp | limit 1")
    names = col_names(r)
    assert names == sorted(names) and names[0] == "@timestamp"
    assert r.values[0][0] == "2024-05-01T09:00:00.000Z"
    assert dict(zip(names, [c.type for c in r.columns]))["@timestamp"] == "date"


def test_from_comma_list_wildcards_and_metadata_index(catalog):
    r = q(catalog, "from logs-endpoint.events.file-default, logs-endpoint.events.process-* metadata _index "
                   "| stats n = count() by _index | sort _index")
    assert r.values == [[4, "logs-endpoint.events.file-default"], [1, "logs-endpoint.events.process-default"]]


def test_unknown_index_and_column_errors_carry_position(catalog):
    with pytest.raises(QueryError) as e:
        q(catalog, "from nope-*")
    assert str(e.value) == "line 1:1: Unknown index [nope-*]"
    with pytest.raises(QueryError) as e:
        q(catalog, FILES + "\n| where no.such.field == 1")
    assert str(e.value) == "line 2:9: Unknown column [no.such.field]"


def test_row_with_multi_values_and_null():
    r = run_esql('ROW a = 1, b = "x", c = [3, 1, 2], d = null', None, now=NOW)
    assert [(c.name, c.type) for c in r.columns] == [("a", "integer"), ("b", "keyword"), ("c", "integer"), ("d", "null")]
    assert r.values == [[1, "x", [3, 1, 2], None]]


# ---------------------------------------------------------------- column commands


def test_keep_wildcard_precedence():
    r = run_esql("ROW first_name = 1, last_name = 2, first_na = 3, other = 4 | KEEP first_name*, last_name, first_na*", None, now=NOW)
    # first_name matches two partial wildcards: the rightmost wins, so it comes after last_name.
    assert col_names(r) == ["last_name", "first_name", "first_na"]
    r = run_esql("ROW a = 1, b = 2, c = 3 | KEEP *, a", None, now=NOW)
    assert col_names(r) == ["b", "c", "a"]


def test_drop_wildcards_rename_both_syntaxes_and_eval_moves_to_end():
    r = run_esql("ROW a = 1, b = 2, c1 = 3, c2 = 4 | DROP c* | EVAL a = a + 10 | RENAME b AS z", None, now=NOW)
    assert col_names(r) == ["z", "a"] and r.values == [[2, 11]]
    r = run_esql("ROW a = 1, b = 2, c = 3 | RENAME c = a", None, now=NOW)
    assert col_names(r) == ["c", "b"] and r.values == [[1, 2]]
    with pytest.raises(QueryError, match="Unknown column \\[nope\\]"):
        run_esql("ROW a = 1 | KEEP nope", None, now=NOW)


# ---------------------------------------------------------------- WHERE, logic, patterns


def test_three_valued_logic_where_keeps_only_true(catalog):
    assert rows(catalog, FILES + " | where size > 15 or size < 0 | keep size | sort size") == [[20], [30]]
    assert rows(catalog, FILES + " | where not (size > 15) | keep size") == [[10]]
    assert rows(catalog, FILES + " | where size is null | keep agent.id") == [["a3"]]
    r = run_esql("ROW x = null, y = 1 | EVAL a = x == y, b = x IN (1), c = 1 IN (1, null), d = 5 IN (1, null), "
                 "e = null AND false, f = null OR true", None, now=NOW)
    assert r.values == [[None, 1, None, None, True, None, False, True]]


def test_like_rlike_lists_escapes_and_case(catalog):
    assert rows(catalog, FILES + ' | where file.path like "/var/lib/dpkg/info/*" | stats c = count()') == [[2]]
    assert rows(catalog, FILES + ' | where file.name like ("*.LIST", "x.lis?") | keep file.name') == [["x.list"]]
    assert rows(catalog, FILES + ' | where file.name rlike "evil\\\\.post.*" | stats c = count()') == [[2]]
    assert rows(catalog, FILES + ' | where file.name not rlike ".*[.]list" and host.os.type == "linux" | stats c = count()') == [[2]]
    r = run_esql(r'ROW a = "a*b", b = "axb" | EVAL x = a like "a\\*b", y = b like "a\\*b", z = a like "a?b"', None, now=NOW)
    assert r.values == [["a*b", "axb", True, False, True]]
    r = run_esql('ROW a = "100%_x" | EVAL l = a like "100%_*", r = a rlike "[0-9]+%_x", s = a rlike "\\"100%\\".*"', None, now=NOW)
    assert r.values[0][1:] == [True, True, True]


def test_like_on_multi_value_is_null_with_elasticsearch_warnings(catalog):
    r = q(catalog, FILES + ' | where tags like "a*" | keep agent.id')
    assert r.values == []
    assert "Line 1:42: evaluation of [tags like \"a*\"] failed, treating result as null. Only first 20 failures recorded." in r.warnings
    assert "Line 1:42: java.lang.IllegalArgumentException: single-value function encountered multi-value" in r.warnings


def test_in_and_comparison_type_errors(catalog):
    assert rows(catalog, FILES + ' | where event.action in ("rename", "deletion") | keep agent.id') == [["a2"]]
    assert rows(catalog, FILES + ' | where event.action not in ("rename") | stats c = count()') == [[3]]
    with pytest.raises(QueryError) as e:
        q(catalog, FILES + " | where agent.id > 5")
    assert e.value.line == 1 and "agent.id > 5" in e.value.reason and "[keyword]" in e.value.reason


# ---------------------------------------------------------------- arithmetic, casts, dates


def test_arithmetic_integer_semantics_and_warnings():
    r = run_esql("ROW a = 7, b = -7, c = 2, z = 0 | EVAL d = a / c, e = b / c, f = b % 3, g = a / 2.0, h = a / z, i = -a, "
                 "j = 2147483647 + 1", None, now=NOW)
    assert r.values[0][4:] == [3, -3, -1, 3.5, None, -7, None]
    assert any("evaluation of [a / z] failed" in w for w in r.warnings)
    assert "Line 1:90: java.lang.ArithmeticException: / by zero" in r.warnings
    assert any("integer overflow" in w for w in r.warnings)


def test_casts_and_conversion_functions():
    r = run_esql('ROW s = "42", d = 2.5, t = "2024-01-02T03:04:05Z" | EVAL a = s::long, b = to_integer(d), c = to_double(s), '
                 'e = to_string(true), f = to_boolean("TRUE"), g = to_datetime(t), h = t::datetime, i = to_long(g), '
                 'j = to_ip("10.0.0.1"), k = to_long("x")', None, now=NOW)
    names = col_names(r)
    row = dict(zip(names, r.values[0]))
    assert row["a"] == 42 and row["b"] == 3 and row["c"] == 42.0 and row["e"] == "true" and row["f"] is True
    assert row["g"] == row["h"] == "2024-01-02T03:04:05.000Z" and row["i"] == 1704164645000
    assert row["j"] == "10.0.0.1" and row["k"] is None
    assert dict(zip(names, [c.type for c in r.columns]))["a"] == "long"
    assert any("Cannot parse number [x]" in w for w in r.warnings)


@pytest.mark.parametrize("span, expected", [
    ("1 year", "2023-05-10T12:00:00.000Z"), ("2 y", "2022-05-10T12:00:00.000Z"), ("1 yr", "2023-05-10T12:00:00.000Z"),
    ("1 quarter", "2024-02-10T12:00:00.000Z"), ("1 q", "2024-02-10T12:00:00.000Z"), ("1 month", "2024-04-10T12:00:00.000Z"),
    ("2 mo", "2024-03-10T12:00:00.000Z"), ("1 week", "2024-05-03T12:00:00.000Z"), ("2 w", "2024-04-26T12:00:00.000Z"),
    ("7 days", "2024-05-03T12:00:00.000Z"), ("1 d", "2024-05-09T12:00:00.000Z"), ("3 hours", "2024-05-10T09:00:00.000Z"),
    ("1 h", "2024-05-10T11:00:00.000Z"), ("5 minutes", "2024-05-10T11:55:00.000Z"), ("1 min", "2024-05-10T11:59:00.000Z"),
    ("1 m", "2024-05-10T11:59:00.000Z"), ("30 seconds", "2024-05-10T11:59:30.000Z"), ("1 sec", "2024-05-10T11:59:59.000Z"),
    ("1 s", "2024-05-10T11:59:59.000Z"), ("250 milliseconds", "2024-05-10T11:59:59.750Z"), ("1 ms", "2024-05-10T11:59:59.999Z"),
])
def test_date_math_every_unit(span, expected):
    assert run_esql(f"ROW t = now() - {span}", None, now=NOW).values == [[expected]]


def test_now_constant_date_functions(catalog):
    r = run_esql('ROW n = now() | EVAL t = date_trunc(1 day, n), w = date_trunc(1 week, n), h = date_trunc(6 hours, n), '
                 'y = date_extract("year", n), dow = date_extract("day_of_week", n), f = date_format("yyyy-MM-dd HH:mm", n), '
                 'd = date_format(n), p = n + 1 hour', None, now=NOW)
    assert r.values == [["2024-05-10T12:00:00.000Z", "2024-05-10T00:00:00.000Z", "2024-05-06T00:00:00.000Z",
                         "2024-05-10T12:00:00.000Z", 2024, 5, "2024-05-10 12:00", "2024-05-10T12:00:00.000Z",
                         "2024-05-10T13:00:00.000Z"]]
    assert rows(catalog, FILES + ' | where @timestamp > now() - 7 days | stats c = count()') == [[3]]
    assert rows(catalog, FILES + ' | where @timestamp >= "2024-05-09T11:00:00Z" | stats c = count()') == [[2]]


def test_time_filter_that_excludes_everything_warns(catalog):
    r = run_esql(FILES + " | where @timestamp > now() - 1 day | keep agent.id", catalog,
                 now=datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert r.values == []
    assert any(w.startswith("time filter [@timestamp > now() - 1 day] excluded all 4 rows") and "2024-05-01" in w
               for w in r.warnings)


# ---------------------------------------------------------------- STATS


def test_stats_names_order_null_group_and_multi_value_keys(catalog):
    r = q(catalog, FILES + " | stats count(), AVG(size), n = count(size) by tags | sort tags")
    assert col_names(r) == ["count()", "AVG(size)", "n", "tags"]
    assert r.values == [[2, 20.0, 2, "a"], [2, 20.0, 2, "b"], [2, 25.0, 2, "c"], [1, None, 0, None]]


def test_stats_aggregates(catalog):
    r = q(catalog, FILES + " | stats c = count(*), cd = count_distinct(agent.id), cd2 = count_distinct(agent.id, 3000), "
                           "mn = min(size), mx = max(@timestamp), s = sum(size), a = avg(size), m = median(size), "
                           "v = values(host.name), ct = count(tags), e = count_distinct(tags)")
    assert r.values == [[4, 3, 3, 10, "2024-05-09T12:00:00.000Z", 60, 20.0, 20.0, ["h1", "h2", "w1"], 6, 3]]
    assert [c.type for c in r.columns][:8] == ["long", "long", "long", "long", "date", "long", "double", "double"]


def test_stats_over_no_rows_and_expressions_as_keys(catalog):
    r = q(catalog, FILES + ' | where agent.id == "none" | stats c = count(), d = count_distinct(agent.id), s = sum(size), m = max(size)')
    assert r.values == [[0, 0, None, None]]
    r = q(catalog, FILES + " | stats c = count() by big = size > 15 | sort big")
    assert r.values == [[1, False], [2, True], [1, None]]
    r = q(catalog, FILES + ' | stats c = count() where host.os.type == "linux", all = count() by agent.id | sort agent.id')
    assert r.values == [[1, 2, "a1"], [1, 1, "a2"], [1, 1, "a3"]]


# ---------------------------------------------------------------- SORT / LIMIT / MV_EXPAND


def test_sort_nulls_and_multi_value_min_max(catalog):
    assert rows(catalog, FILES + " | sort size | keep size") == [[10], [20], [30], [None]]
    assert rows(catalog, FILES + " | sort size desc | keep size") == [[None], [30], [20], [10]]
    assert rows(catalog, FILES + " | sort size asc nulls first | keep size") == [[None], [10], [20], [30]]
    assert rows(catalog, FILES + " | sort tags asc, agent.id desc | keep agent.id") == [["a1"], ["a1"], ["a2"], ["a3"]]
    # DESC on a multi-value sorts by its max: [a,b] < [c] == [a,b,c] (then agent.id)
    assert rows(catalog, FILES + " | sort tags desc, size | keep size") == [[None], [20], [30], [10]]


def test_limit_default_warning_and_cap(catalog):
    r = q(catalog, FILES + " | keep agent.id")
    assert "No limit defined, adding default limit of [1000]" in r.warnings
    r = run_esql(FILES + " | keep agent.id", catalog, now=NOW, default_limit=2)
    assert len(r.values) == 2 and "No limit defined, adding default limit of [2]" in r.warnings
    r = run_esql(FILES + " | sort size | limit 100", catalog, now=NOW, max_limit=3)
    assert len(r.values) == 3 and not r.warnings


def test_mv_expand_dissect_grok():
    r = run_esql('ROW a = ["x", "y"], b = 1 | MV_EXPAND a', None, now=NOW)
    assert r.values == [["x", 1], ["y", 1]]
    r = run_esql('ROW m = "Jan 01 10:00:00 host sshd[42]: Accepted" | GROK m "%{SYSLOGTIMESTAMP:ts} %{SYSLOGHOST:h} %{DATA:prog}\\\\[%{POSINT:pid:int}\\\\]: %{GREEDYDATA:msg}"', None, now=NOW)
    row = r.rows_as_dicts()[0]
    assert row["h"] == "host" and row["prog"] == "sshd" and row["pid"] == 42 and row["msg"] == "Accepted"
    r = run_esql('ROW m = "1.2.3.4 - bob [x]" | DISSECT m "%{ip} - %{user} [%{?skip}]" | KEEP ip, user', None, now=NOW)
    assert r.values == [["1.2.3.4", "bob"]]


# ---------------------------------------------------------------- functions


def test_string_functions():
    r = run_esql('ROW s = "  Hello World  ", t = "a,b,c" | EVAL lo = to_lower(s), up = to_upper(s), n = length(s), '
                 'tr = trim(s), c = concat(tr, "!", "?"), sub = substring(tr, 1, 5), neg = substring(tr, -5), '
                 'sw = starts_with(tr, "Hell"), ew = ends_with(tr, "ld"), rep = replace(tr, "o(.)", "0$1"), '
                 'sp = split(t, ","), loc = locate(tr, "World"), cn = concat(s, null)', None, now=NOW)
    row = r.rows_as_dicts()[0]
    assert row["lo"] == "  hello world  " and row["up"] == "  HELLO WORLD  " and row["n"] == 15
    assert row["tr"] == "Hello World" and row["c"] == "Hello World!?" and row["sub"] == "Hello" and row["neg"] == "World"
    assert row["sw"] is True and row["ew"] is True and row["rep"] == "Hell0 W0rld" and row["sp"] == ["a", "b", "c"]
    assert row["loc"] == 7 and row["cn"] is None


def test_conditional_functions():
    r = run_esql('ROW a = 5, b = null | EVAL c = case(a > 3, "big", a > 1, "mid", "small"), d = case(a > 9, "x"), '
                 'e = coalesce(b, a, 1), g = greatest(1, a, 3), l = least(4, a, 2), gn = greatest(a, b)', None, now=NOW)
    assert r.values[0][2:] == ["big", None, 5, 5, 2, None]


def test_ip_and_multi_value_functions(catalog):
    assert rows(catalog, FILES + ' | where cidr_match(to_ip(source.ip), "10.0.0.0/8", "192.168.0.0/16") | keep agent.id | sort agent.id') == [["a1"], ["a2"]]
    r = run_esql('ROW a = [3, 1, 3, 2], s = ["b", "a"] | EVAL c = mv_count(a), f = mv_first(a), l = mv_last(a), '
                 'd = mv_dedupe(s), j = mv_concat(s, "+"), one = mv_count(5)', None, now=NOW)
    assert r.values[0][2:] == [4, 3, 2, ["a", "b"], "b+a", 1]


def test_numeric_functions():
    r = run_esql("ROW a = -2.5, b = -3, c = 1234.5678 | EVAL x = abs(a), y = abs(b), r1 = round(c), r2 = round(c, 2), "
                 "r3 = round(c, -2), r4 = round(a)", None, now=NOW)
    assert r.values[0][3:] == [2.5, 3, 1235.0, 1234.57, 1200.0, -3.0]


# ---------------------------------------------------------------- parameters and hostile input


def test_params_positional_numbered_and_named(catalog):
    assert rows(catalog, FILES + " | where agent.id == ? and size > ? | keep size", ["a1", 5]) == [[10], [30]]
    assert rows(catalog, FILES + " | where agent.id == ?2 and size < ?1 | keep size", [15, "a1"]) == [[10]]
    assert rows(catalog, FILES + " | where agent.id == ?who | keep size", {"who": "a2"}) == [[20]]
    with pytest.raises(QueryError, match="Unknown query parameter \\[nobody\\]"):
        q(catalog, FILES + " | where agent.id == ?nobody", {"who": "x"})


@pytest.mark.parametrize("value", ["it's \"quoted\"", "'; DROP TABLE x; --", "back`tick", "nul\x00byte", "\\'", "%_*?"])
def test_hostile_values_stay_data(catalog, value):
    r = q(catalog, FILES + " | where file.name == ?v | keep agent.id", {"v": value})
    assert r.values == ([["a1"]] if value == "it's \"quoted\"" else [])
    r = run_esql("ROW x = ?v | EVAL y = concat(x, ?v), l = length(x)", None, {"v": value}, now=NOW)
    assert r.values == [[value, value + value, len(value)]]
    assert "DROP TABLE" not in compile_esql("ROW x = ?v", None, {"v": "a"}, now=NOW).sql


def test_hostile_identifiers_are_quoted(catalog):
    r = run_esql('ROW `a"b` = 1, `x; DROP TABLE t` = 2, `we``ird` = 3 | EVAL `c"` = `a"b` + 1 | KEEP `c"`, `we``ird`', None, now=NOW)
    assert col_names(r) == ['c"', "we`ird"] and r.values == [[2, 3]]
    from collectors.offline.catalog import Catalog

    cat = Catalog.from_documents({"weird": [{'a"b': "v", "c'; DROP TABLE x": 1}]})
    r = run_esql("from weird | keep `a\"b`, `c'; DROP TABLE x`", cat, now=NOW)
    assert r.values == [["v", 1]]


class _BigCatalog:
    """A catalog over a DuckDB view of 10^10 generated rows: slow enough to need Esc."""

    def __init__(self):
        import duckdb

        from collectors.offline.catalog import FieldInfo

        self.con = duckdb.connect()
        self.con.execute("CREATE VIEW big AS SELECT range AS x FROM range(10000000000)")
        self._fields = {"x": FieldInfo("x", "long", False)}
        self.problems = []

    def resolve(self, pattern):
        return ["big"] if pattern == "big" else []

    def fields(self, index):
        return self._fields

    def table(self, index):
        return "big"


def test_cancel_interrupts_duckdb():
    token = CancelToken()
    timer = threading.Timer(0.5, token.cancel)
    timer.start()
    started = datetime.now()
    with pytest.raises(Cancelled):
        run_esql("from big | stats c = count_distinct(x % 1000000007)", _BigCatalog(), now=NOW, cancel=token)
    timer.cancel()
    assert (datetime.now() - started).total_seconds() < 10


def test_cancel_before_start_raises(catalog):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        q(catalog, FILES, cancel=token)


def test_literals_comments_and_case_insensitive_keywords():
    text = '''// a leading comment
    row s = "tab\\there \\"q\\"", raw = """C:\\path "x" """, d = 1.5, e = 2e3, t = true, f = FALSE, n = NULL /* block
    comment */ | EVAL big = 3000000000, neg = -d, NOTNULL = s IS NOT NULL
    | Where t AnD NOT f'''
    r = run_esql(text, None, now=NOW)
    row = r.rows_as_dicts()[0]
    assert row["s"] == 'tab\there "q"' and row["raw"] == 'C:\\path "x" '
    assert row["d"] == 1.5 and row["e"] == 2000.0 and row["t"] is True and row["f"] is False and row["n"] is None
    assert row["big"] == 3000000000 and row["neg"] == -1.5 and row["NOTNULL"] is True
    assert dict((c.name, c.type) for c in r.columns)["big"] == "long"


def test_unknown_function_and_non_boolean_where_are_query_errors():
    with pytest.raises(QueryError) as e:
        run_esql("ROW a = 1 | EVAL b = frobnicate(a)", None, now=NOW)
    assert str(e.value) == "line 1:22: Unknown function [frobnicate]"
    with pytest.raises(QueryError, match="line 1:19: Condition expression needs to be boolean"):
        run_esql("ROW a = 1 | WHERE a + 1", None, now=NOW)
    with pytest.raises(QueryError, match="not allowed outside STATS"):
        run_esql("ROW a = 1 | EVAL c = count(a)", None, now=NOW)


# ---------------------------------------------------------------- property: only the engine's own errors

_LITS = ["1", "-2", "2.5", "null", '"a"', '"10.1.2.3"', "true", "[1, 2]", '["b", "a"]', '"2024-01-01T00:00:00Z"',
         "now()", "3000000000"]
_FUNCS = ["to_lower({})", "length({})", "mv_count({})", "to_string({})", "to_long({})", "coalesce({}, 1)",
          "mv_first({})", 'concat({}, "x")', "date_trunc(1 hour, {})", "to_ip({})", "greatest({}, 1)", "round({}, 1)",
          "abs({})", "substring({}, 2, 1)", 'split({}, ",")', "case({}, 1, 2)", 'date_extract("year", {})',
          'replace({}, "a", "b")', "to_datetime({})", "to_double({})", 'cidr_match({}, "10.0.0.0/8")', "mv_avg({})"]
_OPS = ["{} == {}", "{} > {}", "{} + {}", "{} / {}", '{} like "a*"', '{} rlike "a.*"', "{} in ({}, 1)", "not {}",
        "{} and {}", "{}::long", "{}::datetime", "{} - 1 day"]


def _expr():
    leaf = st.sampled_from(_LITS + ["a", "b"])
    return st.recursive(leaf, lambda inner: st.one_of(
        st.builds(lambda f, x: f.format(x), st.sampled_from(_FUNCS), inner),
        st.builds(lambda o, x, y: o.format(x, y) if o.count("{}") == 2 else o.format(x), st.sampled_from(_OPS), inner, inner),
    ), max_leaves=4)


_COMMAND = st.one_of(
    st.builds("where {}".format, _expr()),
    st.builds(lambda n, e: f"eval {n} = {e}", st.sampled_from("ab"), _expr()),
    st.builds(lambda n, e, k: f"stats {n} = {e} by {k}", st.sampled_from("ab"),
              st.builds(lambda a, x: a.format(x), st.sampled_from(["count({})", "max({})", "sum({})", "values({})", "count_distinct({})", "avg({})"]), _expr()),
              st.sampled_from("ab")),
    st.builds("sort {} desc".format, st.sampled_from("ab")),
    st.builds("mv_expand {}".format, st.sampled_from("ab")),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_LITS), st.sampled_from(_LITS), st.lists(_COMMAND, min_size=1, max_size=4))
def test_random_pipelines_raise_only_query_errors(a, b, commands):
    text = " | ".join([f"row a = {a}, b = {b}"] + commands)
    try:
        run_esql(text, None, now=NOW)
    except QueryError:
        pass


@pytest.mark.parametrize("pattern, expected", [
    ("a**", True), ("(a|b)+*", True), ("a{2}", True), ("a{3,}", False), ('"a"+', True), ("[^b]+", True),
    ("a.", True), (".", False), ("@", True), ("a#", False), ("^aa$", False), ("a\\\\+", False),
])
def test_rlike_lucene_syntax(pattern, expected):
    r = run_esql("ROW x = ?x | EVAL m = x rlike " + '"' + pattern.replace('"', '\\"') + '"', None, {"x": "aa"}, now=NOW)
    assert r.values[0][1] is expected


@pytest.mark.parametrize("pattern", ["a{2,1}", "[z-a]", "*a", "a~b", "(a"])
def test_bad_rlike_patterns_are_query_errors(pattern):
    with pytest.raises(QueryError) as e:
        run_esql(f'ROW x = "a" | WHERE x rlike "{pattern}"', None, now=NOW)
    assert e.value.line == 1 and pattern in e.value.reason


def test_like_patterns_fold_constant_expressions_through_row_eval_and_rename(catalog):
    assert rows(catalog, 'FROM logs-endpoint.events.file-default | EVAL s = "*" | EVAL p = concat("evil", s) '
                         '| RENAME p AS pat | WHERE file.name LIKE pat | KEEP agent.id | SORT agent.id') == [["a1"], ["a3"]]
    assert rows(catalog, 'ROW x = "EVIL" | WHERE x RLIKE concat(to_upper("ev"), ".*")') == [["EVIL"]]
    assert rows(catalog, 'ROW x = "a" | WHERE x NOT LIKE to_lower("B*")') == [["a"]]
    # a BY key that is a bare column keeps its constant (Elasticsearch keeps the attribute)
    assert rows(catalog, 'FROM logs-endpoint.events.file-default | EVAL p = "a*" | STATS c = count(*) BY p '
                         '| WHERE p LIKE p') == [[4, "a*"]]


@pytest.mark.parametrize("query, message", [
    ('FROM logs-endpoint.events.file-default | WHERE file.name LIKE agent.id',
     "line 1:63: [LIKE] pattern must be a constant, received [agent.id]"),
    ('FROM logs-endpoint.events.file-default | WHERE file.name RLIKE concat(agent.id, ".*")',
     'line 1:64: [RLIKE] pattern must be a constant, received [concat(agent.id, ".*")]'),
    ('FROM logs-endpoint.events.file-default | EVAL p = concat(agent.id, "*") | WHERE file.name LIKE p',
     "line 1:96: [LIKE] pattern must be a constant, received [p]"),
    ('FROM logs-endpoint.events.file-default | STATS p = min(agent.id) | WHERE p LIKE p',
     "line 1:81: [LIKE] pattern must be a constant, received [p]"),
    ('ROW x = "a" | WHERE x LIKE length("ab")', "line 1:28: [LIKE] pattern must be a string, found [integer]"),
    ('ROW x = "a", n = null | WHERE x LIKE n', "line 1:38: [LIKE] pattern must not be null"),
    ('ROW x = "a" | WHERE x LIKE concat("\\\\", "q")', "line 1:21: Invalid pattern for LIKE [\\q]"),
])
def test_non_constant_like_patterns_give_elasticsearch_errors(catalog, query, message):
    with pytest.raises(QueryError) as e:
        q(catalog, query)
    assert str(e.value).startswith(message)


@pytest.mark.parametrize("query, message", [
    ("ROW a = 1, b = 2\n| KEEP a, nope", "line 2:11: Unknown column [nope]"),
    ("ROW a = 1, b = 2 | KEEP a,\n  x*", "line 2:3: No matches found for pattern [x*]"),
    ("ROW a = 1 | DROP a, `no pe`", "line 1:21: Unknown column [no pe]"),
    ("ROW a = 1 | RENAME a AS b, c AS d", "line 1:28: Unknown column [c]"),
    ("ROW a = 1 | RENAME b = a, d = zz", "line 1:31: Unknown column [zz]"),
    ("ROW a = 1 | MV_EXPAND  zz", "line 1:24: Unknown column [zz]"),
])
def test_errors_on_keep_drop_rename_names_point_at_the_name(query, message):
    with pytest.raises(QueryError) as e:
        run_esql(query, None, now=NOW)
    assert str(e.value) == message


def test_cidr_match_ipv6_blocks_and_ipv4_mapped_addresses():
    """As Elasticsearch compares CIDRs on 16-byte addresses (IPv4 = ::ffff:a.b.c.d)."""
    r = run_esql('ROW a = ["2001:db8::1", "2001:DB8:0:0:0:0:0:ff", "2001:db8:8000::1", "2001:db9::1", "::1",'
                 ' "10.1.2.3", "::ffff:10.1.2.3"] | MV_EXPAND a | EVAL ip = to_ip(a)'
                 ' | EVAL w = cidr_match(ip, "2001:db8::/32"), h = cidr_match(ip, "2001:db8::/33"),'
                 ' lo = cidr_match(ip, "::1/128", "fe80::/10"), m = cidr_match(ip, "::ffff:10.0.0.0/104"),'
                 ' v4 = cidr_match(ip, "10.0.0.0/8") | KEEP a, w, h, lo, m, v4', None, now=NOW)
    assert r.values == [
        ["2001:db8::1", True, True, False, False, False],
        ["2001:DB8:0:0:0:0:0:ff", True, True, False, False, False],
        ["2001:db8:8000::1", True, False, False, False, False],
        ["2001:db9::1", False, False, False, False, False],
        ["::1", False, False, True, False, False],
        ["10.1.2.3", False, False, False, True, True],
        ["::ffff:10.1.2.3", False, False, False, True, True],
    ]


def test_sort_ip_by_address_not_text():
    r = run_esql('ROW a = ["10.0.0.10", "9.0.0.1", "::1", "10.0.0.9", "2001:db8::1"] | MV_EXPAND a'
                 ' | EVAL ip = to_ip(a) | SORT ip DESC | KEEP ip', None, now=NOW)
    assert [v[0] for v in r.values] == ["2001:db8::1", "10.0.0.10", "10.0.0.9", "9.0.0.1", "::1"]
