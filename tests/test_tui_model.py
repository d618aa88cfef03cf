"""The pane model and pivot rules, without a terminal: ordering, filtering, parameters."""

from __future__ import annotations

import pytest

from collectors.result import Column, QueryResult
from hunts import load_library
from tui.escape import as_text, visible
from tui.model import View
from tui.pivots import PivotUnavailable, choose_pivot, generic_pivot, quote_name


def view_of(columns, rows) -> View:
    return View(name="query:0", title="t", query="from x",
                result=QueryResult([Column(c, "keyword") for c in columns], [list(r) for r in rows]))


def test_rare_first_uses_the_count_column_ascending():
    view = view_of(["cc", "file.name"], [[5, "a"], [1, "b"], [3, "c"]])
    view.rare_first = True
    assert [view.row_dict(i)["file.name"] for i in view.visible_rows()] == ["b", "c", "a"]


def test_rare_first_without_a_count_orders_by_value_frequency():
    view = view_of(["agent.id", "x"], [["a", 1], ["b", 2], ["a", 3], ["c", 4], ["a", 5], ["c", 6]])
    view.rare_first, view.rare_column = True, "agent.id"
    assert [view.row_dict(i)["agent.id"] for i in view.visible_rows()] == ["b", "c", "c", "a", "a", "a"]


def test_sort_cycles_ascending_descending_original_with_nulls_last():
    view = view_of(["n"], [[2], [None], [10], [1]])
    view.toggle_sort("n")
    assert [view.row_dict(i)["n"] for i in view.visible_rows()] == [1, 2, 10, None]
    view.toggle_sort("n")
    assert [view.row_dict(i)["n"] for i in view.visible_rows()] == [10, 2, 1, None]
    view.toggle_sort("n")
    assert [view.row_dict(i)["n"] for i in view.visible_rows()] == [2, None, 10, 1]


def test_filter_matches_the_text_as_shown_case_insensitively():
    view = view_of(["cmd"], [["curl http://X"], ["ls"], ["a\x1b[31m"]])
    view.filter_text = "http://x"
    assert view.visible_rows() == [0]
    view.filter_text = "\\x1b"  # what the responder sees on screen for an ESC
    assert view.visible_rows() == [2]


def test_declared_pivot_binds_row_columns_as_parameters_never_as_text():
    hunt = load_library(include_user_dir=False).default
    hostile = 'x" or true | eval a = "'
    row = {"file.name": hostile, "process.executable": "/usr/bin/dpkg", "cc": 1, "agent_count": 1}
    request = choose_pivot(hunt, "query:0", row, "file.name", [])
    assert request.name == "pivot:agents_for_file"
    assert request.params == {"file_name": hostile, "process_executable": "/usr/bin/dpkg"}
    assert hostile not in request.query
    assert request.query == next(p for p in hunt.pivots if p.id == "agents_for_file").query


def test_second_step_pivot_from_the_agents_pane():
    hunt = load_library(include_user_dir=False).default
    request = choose_pivot(hunt, "pivot:agents_for_file", {"agent.id": "a1", "events": 2}, "events", [])
    assert (request.name, request.params) == ("pivot:agent_script_commands", {"agent_id": "a1"})


def test_generic_pivot_quotes_the_field_and_passes_the_value_as_a_parameter():
    request = generic_pivot("user.name", "root'; drop", ["logs-system.auth-*"])
    assert request.query.startswith("from logs-system.auth-*\n| where user.name == ?value")
    assert request.params == {"value": "root'; drop"}
    assert quote_name("weird`name|x") == "`weird``name|x`"
    assert "logs-*" in generic_pivot("agent.id", "a1", ["logs-x-*"]).query
    assert "is null" in generic_pivot("user.name", None, ["logs-*"]).query


def test_pivots_refuse_multi_values_and_missing_columns():
    with pytest.raises(PivotUnavailable):
        generic_pivot("tags", ["a", "b"], [])
    hunt = load_library(include_user_dir=False).default
    with pytest.raises(PivotUnavailable):
        choose_pivot(hunt, "query:0", {"file.name": "x"}, "file.name", [])


@pytest.mark.parametrize("hostile, shown", [
    ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),
    ("[link=https://evil.example]x[/link][/]", "[link=https://evil.example]x[/link][/]"),
    ("abc\u202edcba", "abc\\u202edcba"),
    ("a\u009bb\x7f", "a\\x9bb\\x7f"),
    ("soft\u00adhyphen", "soft\\u00adhyphen"),
    ("tag\U000e0041chars", "tag\\U000e0041chars"),  # invisible "ASCII smuggling" characters
    ("line\u2028sep", "line\\u2028sep"),
    ("plain é 日本 ok", "plain é 日本 ok"),
])
def test_escaping_shows_controls_and_markup_literally(hostile, shown):
    assert visible(hostile) == shown
    text = as_text(hostile)
    assert text.plain == shown and not text.spans


def test_long_values_are_cut_in_cells_with_an_ellipsis():
    assert as_text("A" * 10_000, width=48).plain == "A" * 47 + "…"


def test_every_bidi_and_invisible_character_is_shown_escaped():
    from tui.escape import _INVISIBLE

    for code in sorted(_INVISIBLE):
        shown = visible(f"a{chr(code)}b")
        assert chr(code) not in shown and shown == f"a\\u{code:04x}b"


def test_a_pivot_step_shows_agent_and_host_first_and_the_cursor_column_next():
    agents = View(name="pivot:agents_for_file", title="t", query="from x", result=QueryResult(
        [Column(c, "keyword") for c in ["events", "first_seen", "last_seen", "agent.id", "host.name"]], [[1, "a", "b", "c", "d"]]))
    assert agents.display_names == ["agent.id", "host.name", "events", "first_seen", "last_seen"]
    assert agents.display_names[agents.preferred_column()] == "agent.id"
    assert agents.row_dict(0)["events"] == 1  # display only: the row keeps the query's columns
    commands = View(name="pivot:agent_script_commands", title="t", query="from x", result=QueryResult(
        [Column(c, "keyword") for c in ["@timestamp", "host.name", "user.name", "process.command_line"]], [["t", "h", "u", "c"]]))
    assert commands.display_names == ["host.name", "process.command_line", "@timestamp", "user.name"]
    hunt_query = view_of(["cc", "agent_count", "file.name", "agent.id"], [[1, 1, "f", "a"]])
    assert hunt_query.display_names == ["cc", "agent_count", "file.name", "agent.id"]  # the hunt's own order
    assert hunt_query.preferred_column() == 2
