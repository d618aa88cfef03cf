"""Hostile input for the ES|QL parser: whatever the text, the only failure is QueryError.

Random token sequences, mutated hunt queries and arbitrary unicode go through ``parse``;
it must return a Query or raise QueryError with a line and column — never another exception
(which the CLI would show as a traceback). Values built to break out of generated SQL reach
the AST unchanged, as data.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collectors.esql import ast
from collectors.esql.parser import parse
from collectors.result import QueryError

HUNT = Path(__file__).resolve().parent.parent / "hunts" / "builtin" / "persistence_via_rpm_dpkg_installer_packages.toml"
SEED_QUERIES = [
    q for q in tomllib.loads(HUNT.read_text(encoding="utf-8"))["hunt"]["query"]
    if q.lstrip().lower().startswith("from")
]

TOKENS = [
    "FROM", "ROW", "WHERE", "EVAL", "STATS", "BY", "KEEP", "DROP", "RENAME", "AS", "SORT", "LIMIT",
    "MV_EXPAND", "DISSECT", "GROK", "METADATA", "APPEND_SEPARATOR", "ASC", "DESC", "NULLS", "FIRST",
    "LAST", "AND", "OR", "NOT", "LIKE", "RLIKE", "IN", "IS", "NULL", "TRUE", "FALSE",
    "|", ",", ".", "(", ")", "[", "]", "{", "}", "=", "==", "!=", "<", "<=", ">", ">=", "+", "-",
    "*", "/", "%", "::", ":", "?", "?1", "?x", "?0", "=~", "!", "@", "#", ";", "\\", "\n",
    "a", "host.name", "@timestamp", "`x``y`", "`", "logs-*", "*name", "count(*)", "now()",
    "7 days", "1 fortnight", "42", "9999999999999999999999", "1.5e3", ".5", "1.", "1e",
    '"s"', '"a\\*"', '"bad\\q"', '"unterminated', '"""triple"""', '""""', '"%{WORD:w}"',
    '"%{a} %{b}"', '"%{*r}"', '"%{NOPE:x}"', "/*", "*/", "//", "/* c */", "\x00", "é", "\u202e",
]


def check(text: str) -> None:
    try:
        result = parse(text)
    except QueryError as exc:
        assert exc.line is not None and exc.column is not None, str(exc)
        assert exc.line >= 1 and exc.column >= 1
        assert "\n" not in str(exc), "error messages are one line"
        return
    assert isinstance(result, ast.Query)
    assert result.commands and isinstance(result.commands[0], (ast.From, ast.Row))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), min_size=0, max_size=25), st.sampled_from([" ", "", "\n"]))
def test_random_token_sequences(tokens: list[str], sep: str) -> None:
    check(sep.join(tokens))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12))
def test_random_tokens_after_a_valid_source(tokens: list[str]) -> None:
    check("FROM logs-* | " + " ".join(tokens))
    check("ROW a = 1 | EVAL " + " ".join(tokens))


@st.composite
def mutated_hunt(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEED_QUERIES))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "token", "cut"]))
        if action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 8)):]
        elif action == "insert":
            text = text[:pos] + draw(st.text(max_size=4)) + text[pos:]
        elif action == "replace":
            text = text[:pos] + draw(st.characters()) + text[pos + 1:]
        elif action == "token":
            text = text[:pos] + " " + draw(st.sampled_from(TOKENS)) + " " + text[pos:]
        else:
            text = text[:pos]
    return text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_hunt())
def test_mutated_hunt_queries(text: str) -> None:
    check(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text(text: str) -> None:
    check(text)
    check("FROM a | WHERE " + text)


BREAKOUTS = [
    "'; DROP TABLE x; --",
    '"; DROP TABLE x; --',
    "a`b",
    "a\"b'c",
    "x\x00y",
    "\\",
    "$$ dollar $$",
    "Robert'); DROP TABLE students;--",
]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(BREAKOUTS) | st.text(max_size=30))
def test_sql_breakout_values_stay_data(value: str) -> None:
    """A string value written with ES|QL escapes (or as a backquoted name) arrives unchanged."""
    if "\n" in value or "\r" in value:
        return  # ES|QL strings are single-line
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    q = parse(f'ROW v = "{escaped}" | WHERE v == "{escaped}"')
    assert q.commands[0].fields[0][1] == ast.Literal(value, "keyword")
    assert q.commands[1].condition.right == ast.Literal(value, "keyword")
    if value:
        name = "`" + value.replace("`", "``") + "`"
        q = parse(f"ROW {name} = 1 | KEEP {name} | EVAL y = {name}")
        assert q.commands[0].fields[0][0] == value
        assert q.commands[2].fields[0][1] == ast.Field(value)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("%{}:?*&+/->ab.[]()\\\\ _1WORDIP")), max_size=30))
def test_random_grok_and_dissect_patterns(pattern: str) -> None:
    escaped = pattern.replace("\\", "\\\\").replace('"', '\\"')
    check(f'ROW m = "x" | GROK m "{escaped}"')
    check(f'ROW m = "x" | DISSECT m "{escaped}" APPEND_SEPARATOR = ","')
