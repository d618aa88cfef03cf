"""The ES|QL parser: every construct the offline engine supports parses to the right AST,
and bad queries fail with Elasticsearch-worded, positioned errors (never a traceback)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from collectors.esql import ast
from collectors.esql.parser import parse
from collectors.result import QueryError

HUNT = Path(__file__).resolve().parent.parent / "hunts" / "builtin" / "persistence_via_rpm_dpkg_installer_packages.toml"


def where(query: str) -> ast.Expr:
    cmd = parse(f"FROM x | WHERE {query}").commands[1]
    assert isinstance(cmd, ast.Where)
    return cmd.condition


def eval_fields(query: str) -> list[tuple[str, ast.Expr]]:
    cmd = parse(f"ROW a = 1 | EVAL {query}").commands[1]
    assert isinstance(cmd, ast.Eval)
    return cmd.fields


def expr(text: str) -> ast.Expr:
    return eval_fields(text)[0][1]


def error(query: str) -> QueryError:
    with pytest.raises(QueryError) as info:
        parse(query)
    return info.value


# ---------------------------------------------------------------- the seed hunt, verbatim


def hunt_queries() -> list[str]:
    data = tomllib.loads(HUNT.read_text(encoding="utf-8"))
    queries = [q for q in data["hunt"]["query"] if q.lstrip().lower().startswith("from")]
    queries += [p["query"] for p in data["huntbench"]["pivots"].values()]
    return queries


def test_seed_hunt_file_query_parses_to_the_expected_plan() -> None:
    q = parse(hunt_queries()[0])
    kinds = [type(c).__name__ for c in q.commands]
    assert kinds == ["From", "Keep", "Where", "Where", "Stats", "Where", "Sort", "Limit"]
    frm, keep, since, cond, stats, having, sort, limit = q.commands
    assert frm.indices == ["logs-endpoint.events.file-*"]
    assert keep.patterns[0] == "@timestamp" and keep.patterns[-1] == "process.executable"
    assert since.condition == ast.BinaryOp(
        ">", ast.Field("@timestamp"),
        ast.BinaryOp("-", ast.FunctionCall("now", []), ast.TimeSpan(7, "day")),
    )
    # `... and not ( a or b or c or d )` with comments inside the parentheses
    assert cond.condition.op == "and"
    negated = cond.condition.right
    assert isinstance(negated, ast.UnaryOp) and negated.op == "not"
    likes = []
    node = negated.operand
    while isinstance(node, ast.BinaryOp) and node.op == "or":
        likes.append(node.right)
        node = node.left
    likes.append(node)
    assert sorted(lk.patterns[0].value for lk in likes) == ["*-new", "*.list", "*.md5sums*", "__db*.*"]
    assert [a.name for a in stats.aggregates] == ["cc", "agent_count"]
    assert stats.aggregates[1].expr == ast.FunctionCall("count_distinct", [ast.Field("agent.id")])
    assert [name for name, _ in stats.by] == ["file.name", "process.executable"]
    assert having.condition == ast.BinaryOp("<=", ast.Field("agent_count"), ast.Literal(3, "integer"))
    assert sort.keys == [ast.SortKey(ast.Field("cc"), ascending=True)]
    assert limit.count == 100


def test_seed_hunt_process_query_and_pivots_parse() -> None:
    queries = hunt_queries()
    assert len(queries) == 6
    q = parse(queries[1])
    assert q.commands[0].indices == ["logs-endpoint.events.process-*"]
    like = q.commands[3].condition.right.left
    assert like == ast.Like(ast.Field("process.parent.command_line"), [ast.Literal("*/var/tmp/rpm-tmp.*", "keyword")], "like")
    for pivot in queries[2:]:
        params = []
        for cmd in parse(pivot).commands:
            if isinstance(cmd, ast.Where):
                stack = [cmd.condition]
                while stack:
                    n = stack.pop()
                    if isinstance(n, ast.Param):
                        params.append(n.key)
                    stack.extend(v for v in vars(n).values() if isinstance(v, ast.Expr))
        assert params and all(isinstance(p, str) for p in params)


ELASTIC_STYLE_LINUX_HUNT = '''
from logs-endpoint.events.network-*, logs-system.auth-* metadata _index
| where @timestamp > now() - 30 days
| where host.os.type == "linux" and event.type == "start"
| where process.name RLIKE "(python|perl|ruby)[0-9.]*" and not cidr_match(destination.ip, "10.0.0.0/8", "192.168.0.0/16")
| eval risk = case(
    user.name == "root", "high",
    process.parent.name in ("bash", "sh") and process.args_count >= 3, "medium",
    "low"
  ), dst = to_string(destination.ip)
| stats hits = count(*), hosts = count_distinct(host.id), first_seen = min(@timestamp), `last` = max(@timestamp) by risk, process.executable
| where hosts <= 3
| sort hits desc, risk asc nulls last
| limit 50
'''


def test_elastic_style_linux_hunt() -> None:
    q = parse(ELASTIC_STYLE_LINUX_HUNT)
    frm = q.commands[0]
    assert frm.indices == ["logs-endpoint.events.network-*", "logs-system.auth-*"]
    assert frm.metadata == ["_index"]
    rlike = q.commands[3].condition.left
    assert rlike.kind == "rlike" and rlike.patterns[0].value == "(python|perl|ruby)[0-9.]*"
    cidr = q.commands[3].condition.right.operand
    assert cidr.name == "cidr_match" and len(cidr.args) == 3
    evals = q.commands[4].fields
    assert [n for n, _ in evals] == ["risk", "dst"]
    case = evals[0][1]
    assert case.name == "case" and len(case.args) == 5
    assert isinstance(case.args[2], ast.BinaryOp) and case.args[2].op == "and"
    stats = q.commands[5]
    assert stats.aggregates[0].expr == ast.FunctionCall("count", [], star=True)
    sort = q.commands[7]
    assert sort.keys[0].ascending is False and sort.keys[1].nulls_first is False


# ---------------------------------------------------------------- source commands


def test_from_patterns_quoted_names_and_metadata() -> None:
    q = parse('FROM logs-*, "weird name,x", .ds-logs-2024.01.01-000001, <logs-{now/d}> METADATA _index, _id')
    assert q.commands[0] == ast.From(
        ["logs-*", "weird name,x", ".ds-logs-2024.01.01-000001", "<logs-{now/d}>"], ["_index", "_id"]
    )


def test_from_metadata_checks() -> None:
    assert "unsupported metadata field [_nope]" in str(error("FROM a METADATA _nope"))
    assert "already declared" in str(error("FROM a METADATA _index, _index"))


def test_row_literals() -> None:
    row = parse('ROW a = 1, b = 2147483648, c = 1.5, d = .5e1, e = true, f = FALSE, g = null, '
                'h = "x", i = [1, 2.5], j = ["a", "b"], k = [true, false], l = -2147483648').commands[0]
    values = {name: (e.value, e.type) for name, e in row.fields}
    assert values == {
        "a": (1, "integer"), "b": (2147483648, "long"), "c": (1.5, "double"), "d": (5.0, "double"),
        "e": (True, "boolean"), "f": (False, "boolean"), "g": (None, "null"), "h": ("x", "keyword"),
        "i": ([1.0, 2.5], "double"), "j": (["a", "b"], "keyword"), "k": ([True, False], "boolean"),
        "l": (-2147483648, "integer"),
    }


def test_huge_integers_follow_elasticsearch_types() -> None:
    assert expr("9223372036854775807") == ast.Literal(2**63 - 1, "long")
    assert expr("9223372036854775808") == ast.Literal(2**63, "unsigned_long")
    assert expr("-9223372036854775808") == ast.Literal(-(2**63), "long")
    assert expr("99999999999999999999999").type == "double"


# ---------------------------------------------------------------- strings and identifiers


@pytest.mark.parametrize(
    "source, value",
    [
        (r'"a\tb"', "a\tb"),
        (r'"line\nnext\r"', "line\nnext\r"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"C:\\Windows"', "C:\\Windows"),
        ('"""no \\escapes "here" """', 'no \\escapes "here" '),
        ('""""quoted""""', '"quoted"'),
        ('""', ""),
    ],
)
def test_string_literals(source: str, value: str) -> None:
    assert expr(source) == ast.Literal(value, "keyword")


def test_bad_escape_and_unterminated_string_are_token_errors() -> None:
    e = error('ROW a = "bad \\q escape"')
    assert (e.line, e.column) == (1, 9)
    assert e.reason == "token recognition error at: '\"bad \\q'"
    e = error('ROW a = "no end\n| LIMIT 1')
    assert e.reason.startswith("token recognition error at: '\"no end")


def test_identifiers_dots_at_and_backquotes() -> None:
    assert expr("@timestamp") == ast.Field("@timestamp")
    assert expr("host.os.type") == ast.Field("host.os.type")
    assert expr("`host.os.type`") == ast.Field("host.os.type")
    assert expr("`a``b`.c") == ast.Field("a`b.c")
    assert expr("_id") == ast.Field("_id")
    assert expr("`weird name!`") == ast.Field("weird name!")
    assert eval_fields("`my col` = 1")[0][0] == "my col"


def test_unnamed_columns_take_their_text_as_written() -> None:
    names = [n for n, _ in eval_fields("x + 1,  TO_LOWER( name ), `quoted`, (a)")]
    assert names == ["x + 1", "TO_LOWER( name )", "quoted", "(a)"]
    stats = parse("FROM x | STATS count(), AVG(salary), COUNT(*) BY languages, b = x + 1, x % 2").commands[1]
    assert [a.name for a in stats.aggregates] == ["count()", "AVG(salary)", "COUNT(*)"]
    assert [n for n, _ in stats.by] == ["languages", "b", "x % 2"]


# ---------------------------------------------------------------- operators


def test_precedence_not_and_or() -> None:
    e = where("NOT a OR b AND c")
    assert e == ast.BinaryOp("or", ast.UnaryOp("not", ast.Field("a")),
                             ast.BinaryOp("and", ast.Field("b"), ast.Field("c")))


def test_not_binds_over_a_whole_comparison_or_like() -> None:
    assert where("not a == 1") == ast.UnaryOp("not", ast.BinaryOp("==", ast.Field("a"), ast.Literal(1, "integer")))
    assert where('not a like "x*"') == ast.UnaryOp("not", ast.Like(ast.Field("a"), [ast.Literal("x*", "keyword")], "like"))


def test_arithmetic_precedence_and_unary_minus() -> None:
    one, two, three = (ast.Literal(i, "integer") for i in (1, 2, 3))
    assert expr("1 + 2 * 3") == ast.BinaryOp("+", one, ast.BinaryOp("*", two, three))
    assert expr("(1 + 2) % 3") == ast.BinaryOp("%", ast.BinaryOp("+", one, two), three)
    assert expr("1 - 2 - 3") == ast.BinaryOp("-", ast.BinaryOp("-", one, two), three)
    assert expr("-x * 2") == ast.BinaryOp("*", ast.UnaryOp("-", ast.Field("x")), two)
    assert expr("- 2") == ast.Literal(-2, "integer")
    assert expr("a - -1") == ast.BinaryOp("-", ast.Field("a"), ast.Literal(-1, "integer"))
    assert expr("+x") == ast.Field("x")


def test_comparisons_bind_tighter_than_like_and_arithmetic_tighter_than_comparison() -> None:
    e = where("a + 1 >= b * 2")
    assert e.op == ">=" and e.left.op == "+" and e.right.op == "*"
    for op in ("==", "!=", "<", "<=", ">", ">="):
        assert where(f"a {op} 1").op == op


def test_cast_binds_tightest() -> None:
    assert expr("-x::long") == ast.UnaryOp("-", ast.Cast(ast.Field("x"), "long"))
    assert expr("a + b::DOUBLE") == ast.BinaryOp("+", ast.Field("a"), ast.Cast(ast.Field("b"), "double"))
    assert expr("x::keyword::ip") == ast.Cast(ast.Cast(ast.Field("x"), "keyword"), "ip")
    assert expr("null::int") == ast.Cast(ast.Literal(None, "null"), "int")


def test_like_rlike_lists_and_negation() -> None:
    e = where('name NOT LIKE ("a*", "b?")')
    assert e == ast.Like(ast.Field("name"), [ast.Literal("a*", "keyword"), ast.Literal("b?", "keyword")], "like", negated=True)
    e = where('TO_UPPER(name) RLIKE ("GEOR.*")')
    assert e.kind == "rlike" and e.operand.name == "to_upper"


def test_like_escapes_only_wildcards_and_backslash() -> None:
    assert where(r'p LIKE "C:\\\\*"').patterns[0].value == "C:\\\\*"
    assert where(r'p LIKE "a\\*b\\?"').patterns[0].value == "a\\*b\\?"
    e = error(r'FROM a | where foo like "(?i)(^|[^a-zA-Z0-9_-])nmap($|\\.)"')
    assert str(e) == (
        "line 1:16: Invalid pattern for LIKE [(?i)(^|[^a-zA-Z0-9_-])nmap($|\\.)]: "
        "[Invalid sequence - escape character is not followed by special wildcard char]"
    )
    assert "Invalid pattern for LIKE" in str(error(r'FROM a | WHERE x LIKE ("ok*", "bad\\")'))
    # RLIKE takes Lucene regex escapes
    assert where(r'p RLIKE "a\\.b"').patterns[0].value == "a\\.b"


def test_in_not_in_and_is_null() -> None:
    assert where("x IN (1, y, null)") == ast.In(
        ast.Field("x"), [ast.Literal(1, "integer"), ast.Field("y"), ast.Literal(None, "null")]
    )
    assert where("x not in (1)").negated is True
    assert where("x IS NULL") == ast.IsNull(ast.Field("x"))
    assert where("x is not null") == ast.IsNull(ast.Field("x"), negated=True)


@pytest.mark.parametrize(
    "spellings, unit",
    [
        (("year", "years", "y", "yr", "YEARS"), "year"),
        (("quarter", "quarters", "q"), "quarter"),
        (("month", "months", "mo"), "month"),
        (("week", "weeks", "w"), "week"),
        (("day", "days", "d", "Days"), "day"),
        (("hour", "hours", "h"), "hour"),
        (("minute", "minutes", "min", "m"), "minute"),
        (("second", "seconds", "s", "sec"), "second"),
        (("millisecond", "milliseconds", "ms"), "millisecond"),
    ],
)
def test_time_span_units(spellings: tuple[str, ...], unit: str) -> None:
    for spelling in spellings:
        assert expr(f"now() - 3 {spelling}") == ast.BinaryOp("-", ast.FunctionCall("now", []), ast.TimeSpan(3, unit))


def test_time_span_negative_and_unknown_unit() -> None:
    assert expr("-2 hours") == ast.TimeSpan(-2, "hour")
    e = error("ROW a = now() - 3 fortnights")
    assert (e.line, e.column, e.reason) == (1, 19, "Unexpected temporal unit: 'fortnights'")


def test_parameters() -> None:
    e = where("a == ? and b == ?")
    assert (e.left.right, e.right.right) == (ast.Param(1), ast.Param(2))
    assert where("a == ?2").right == ast.Param(2)
    assert where("a == ?agent_id").right == ast.Param("agent_id")
    assert "Inconsistent parameter declaration" in str(error("FROM a | WHERE a == ?x AND b == ?"))


def test_functions_lowercased_count_star_and_nesting() -> None:
    assert expr("COUNT(*)") == ast.FunctionCall("count", [], star=True)
    assert expr("Date_Trunc(1 hour, @timestamp)") == ast.FunctionCall(
        "date_trunc", [ast.TimeSpan(1, "hour"), ast.Field("@timestamp")]
    )
    e = expr('coalesce(mv_first(split(a, ",")), "x")')
    assert e.name == "coalesce" and e.args[0].args[0].name == "split"


# ---------------------------------------------------------------- processing commands


def test_keep_drop_wildcards() -> None:
    q = parse("FROM a | KEEP *name, host.*, @timestamp, `odd name`, a*b | DROP *.keyword, _id")
    assert q.commands[1] == ast.Keep(["*name", "host.*", "@timestamp", "odd name", "a*b"])
    assert q.commands[2] == ast.Drop(["*.keyword", "_id"])
    assert str(error("FROM a | DROP *")) == "line 1:15: Removing all fields is not allowed [*]"


def test_rename_both_syntaxes() -> None:
    q = parse("FROM a | RENAME a AS b, `c d` as e.f, new = old")
    assert q.commands[1] == ast.Rename([("a", "b"), ("c d", "e.f"), ("old", "new")])


def test_stats_where_filters_and_by_expressions() -> None:
    stats = parse(
        "FROM a | STATS total = COUNT(*), errs = count() WHERE level == \"error\", max(x) "
        "BY host.name, hour = DATE_TRUNC(1 hour, @timestamp)"
    ).commands[1]
    assert stats.aggregates[0].filter is None
    assert stats.aggregates[1].filter == ast.BinaryOp("==", ast.Field("level"), ast.Literal("error", "keyword"))
    assert stats.aggregates[2].name == "max(x)"
    assert [n for n, _ in stats.by] == ["host.name", "hour"]
    only_by = parse("FROM a | STATS BY host").commands[1]
    assert only_by.aggregates == [] and only_by.by == [("host", ast.Field("host"))]
    assert "At least one aggregation or grouping" in str(error("FROM a | STATS"))
    assert "Cannot specify grouping expression [h]" in str(error("FROM a | STATS h BY h"))


def test_sort_keys() -> None:
    sort = parse("FROM a | SORT a, b DESC, c ASC NULLS FIRST, d desc nulls last, e + 1").commands[1]
    assert [(k.ascending, k.nulls_first) for k in sort.keys] == [
        (True, None), (False, None), (True, True), (False, False), (True, None),
    ]


def test_limit_mv_expand_dissect_grok() -> None:
    q = parse(
        'FROM a | LIMIT 5 | MV_EXPAND tags.name | DISSECT message "%{a} %{+a}" APPEND_SEPARATOR = "-" '
        '| GROK message """%{IP:client.ip} \\[%{WORD:verb}\\]"""'
    )
    assert q.commands[1] == ast.Limit(5)
    assert q.commands[2] == ast.MvExpand("tags.name")
    assert q.commands[3] == ast.Dissect(ast.Field("message"), "%{a} %{+a}", "-")
    assert q.commands[4] == ast.Grok(ast.Field("message"), "%{IP:client.ip} \\[%{WORD:verb}\\]")


def test_dissect_and_grok_pattern_errors() -> None:
    assert str(error('FROM a | DISSECT m "%{*k} %{&k}"')) == (
        "line 1:10: Reference keys not supported in dissect patterns: [%{*k}]"
    )
    assert "Invalid pattern for dissect" in str(error('FROM a | DISSECT m "no keys"'))
    assert "Invalid option for dissect: [sep]" in str(error('FROM a | DISSECT m "%{a}" sep = ","'))
    assert "expected a string" in str(error('FROM a | DISSECT m "%{a}" append_separator = 1'))
    e = error('FROM a | GROK m "%{NOPE:x}"')
    assert str(e).startswith("line 1:10: Invalid pattern [%{NOPE:x}] for grok:")


# ---------------------------------------------------------------- lexical details


def test_keywords_and_functions_are_case_insensitive() -> None:
    lower = parse('from a | where x like "a*" and y is not null | stats count(*) by z | sort z desc nulls first')
    upper = parse('FROM a | WHERE x LIKE "a*" AND y IS NOT NULL | STATS COUNT(*) BY z | SORT z DESC NULLS FIRST')
    mixed = parse('From a | wHeRe x Like "a*" aNd y Is NoT nUlL | sTaTs CoUnT(*) bY z | SoRt z DeSc NuLlS fIrSt')
    for i in (0, 1, 3):
        assert lower.commands[i] == upper.commands[i] == mixed.commands[i]
    assert lower.commands[2].aggregates[0].expr == mixed.commands[2].aggregates[0].expr
    assert [a.name for a in mixed.commands[2].aggregates] == ["CoUnT(*)"]


def test_comments_everywhere() -> None:
    q = parse(
        "// leading comment\n"
        "FROM logs-* /* between */ , other // after\n"
        "| /* block /* nested */ still comment */ WHERE a > 1 // trailing\n"
        "| KEEP a, /* x */ b\n"
    )
    assert q.commands[0].indices == ["logs-*", "other"]
    assert q.commands[2].patterns == ["a", "b"]


def test_positions_are_one_based_line_and_column() -> None:
    q = parse("FROM a\n| WHERE  x == 1")
    w = q.commands[1]
    assert w.pos == (2, 3)
    assert w.condition.pos == (2, 10) and w.condition.right.pos == (2, 15)


# ---------------------------------------------------------------- syntax errors


def test_mismatched_input_names_what_was_expected() -> None:
    e = error("FROM a | WHER x > 1")
    assert (e.line, e.column) == (1, 10)
    assert e.reason.startswith("mismatched input 'WHER' expecting {'dissect', 'drop', 'eval', 'grok', 'keep'")
    e = error("FROM a\n| WHERE x > ")
    assert (e.line, e.column) == (2, 13)  # EOF sits after the trailing space
    assert e.reason.startswith("mismatched input '<EOF>' expecting {QUOTED_STRING, INTEGER_LITERAL")


def test_extraneous_input() -> None:
    e = error("FROM a | LIMIT 10 10")
    # LIMIT n may be followed by BY (LIMIT ... BY), so 'by' is expected too.
    assert str(e) == "line 1:19: mismatched input '10' expecting {'|', 'by', <EOF>}"
    e = error("FROM a | KEEP a b")
    assert e.reason.startswith("mismatched input 'b' expecting")
    e = error("FROM a | EVAL x = ) 1")
    assert e.reason.startswith("extraneous input ')' expecting")


def test_token_recognition_error() -> None:
    e = error("FROM a | WHERE x == 1 # comment")
    assert str(e) == "line 1:23: token recognition error at: '#'"
    e = error("FROM a | WHERE x == `unclosed")
    assert e.reason.startswith("token recognition error at: '`unclosed")


def test_stray_sql_line_is_an_error_for_the_parser() -> None:
    # the hunt loader strips Elastic's stray "sql" first line; the parser reports it plainly
    e = error("sql\nFROM a")
    assert str(e) == "line 1:1: mismatched input 'sql' expecting {'from', 'row'}"


@pytest.mark.parametrize("query", ["", "   ", "// only a comment", "|", "FROM", "FROM a |", "ROW"])
def test_empty_or_truncated_queries(query: str) -> None:
    assert error(query).line is not None


def test_deep_nesting_is_a_query_error() -> None:
    e = error("ROW a = " + "(" * 5000 + "1" + ")" * 5000)
    assert "exceeded the maximum expression depth allowed (300)" in str(e)
    e = error("ROW a = " + "-" * 20000 + "1")
    assert "too large" in str(e) or "maximum expression depth" in str(e)
    assert isinstance(parse("ROW a = " + "(" * 50 + "1" + ")" * 50).commands[0].fields[0][1], ast.Literal)


def test_like_pattern_may_be_a_constant_expression() -> None:
    # Elasticsearch's like_rlike_constant_expression: the compiler folds (or rejects) it
    e = where('first_name like concat("Eber", "*")')
    assert e.patterns == [ast.FunctionCall("concat", [ast.Literal("Eber", "keyword"), ast.Literal("*", "keyword")])]
    assert where("x not rlike p").patterns == [ast.Field("p")] and where("x not rlike p").negated


def test_first_and_last_are_reserved_but_also_function_names() -> None:
    stats = parse("FROM e | STATS f = FIRST(salary, emp_no), l = last(a, b)").commands[1]
    assert [a.expr.name for a in stats.aggregates] == ["first", "last"]
    assert str(error("ROW first = 1")) == "line 1:11: mismatched input '=' expecting '('"
    assert parse("ROW `first` = 1").commands[0].fields[0][0] == "first"


def test_expression_depth_is_bounded_like_elasticsearch() -> None:
    ok = "FROM a | WHERE " + " OR ".join(f"x == {i}" for i in range(250))
    assert isinstance(parse(ok).commands[1].condition, ast.BinaryOp)
    too_deep = "FROM a | WHERE " + " OR ".join(f"x == {i}" for i in range(400))
    e = error(too_deep)
    assert e.reason.startswith("ESQL statement exceeded the maximum expression depth allowed (300): [x==0ORx==1OR")
    assert "\n" not in str(e)


def test_error_messages_stay_on_one_line() -> None:
    e = error('ROW a = 1 | WHERE a LIKE "\\\\q\\n"')
    assert "Invalid pattern for LIKE [\\q\\n]" in str(e) and "\n" not in str(e)
