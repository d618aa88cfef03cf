"""What a responder trips over in the first hour with the workbench, driven through Textual's
pilot on the real sample at 80x24, 160x48 and 200x50: the width used, where the cursor lands,
the breadcrumb and header, keys doing what help says, the hunt picker's filter, and the
count rare-first sorted by."""

from __future__ import annotations

from collections import Counter

import pytest

from collectors.sources import sample_source
from hunts import load_library
from tests.tui_support import screen_text, wait_for, wait_idle
from tui.app import HuntbenchApp
from tui.escape import visible

CRON = "sh -c echo '*/15 * * * * root /var/lib/rpm/.rpm-check >/dev/null 2>&1' > /etc/cron.d/rpm-check"
HUNT = "Persistence via DPKG/RPM Package"


@pytest.fixture(scope="module")
def sample():
    return sample_source()


@pytest.fixture
def make_app(tmp_path, monkeypatch, sample):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "root").mkdir()

    def make() -> HuntbenchApp:
        library = load_library(include_user_dir=False)
        app = HuntbenchApp(source=sample, library=library, hunt=library.default, case_path="case.db",
                           scan_root=tmp_path / "root")
        app.show_timings = False
        return app

    return make


def table_lines(app) -> list[str]:
    """The screen's lines between the breadcrumb and the detail pane (roughly: the table)."""
    return screen_text(app).splitlines()[3:]


def cell(pane, index: int, column: str) -> str:
    """What the table draws for result row ``index`` in ``column``."""
    position = pane.column_position(column)
    return pane.table.get_row(str(index))[position].plain


async def show_q2(pilot, app) -> None:
    await wait_idle(pilot, app)
    await pilot.press("2")
    await pilot.pause(0.2)


async def pivot(pilot, app) -> None:
    pane = app.workbench.pane
    depth = len(pane.stack)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(pane.stack) == depth + 1 and not pane.view.loading
                   and pane.view.result is not None, what="the pivot")
    await pilot.pause(0.2)


async def on_q2_cron_command(pilot, app) -> None:
    """Q2, with the cursor on the cron command line's cell."""
    await show_q2(pilot, app)
    pane = app.workbench.pane
    index = next(i for i, r in enumerate(pane.view.result.values) if CRON in r)
    pane.table.move_cursor(row=pane.display_rows().index(index), column=pane.column_position("process.command_line"))
    await pilot.pause()


async def q2_cron_to_its_agents_commands(pilot, app) -> None:
    """Q2 -> the cron command line -> the agent that ran it -> that agent's script commands."""
    await on_q2_cron_command(pilot, app)
    await pivot(pilot, app)
    await pivot(pilot, app)


# ---------------------------------------------------------------- 1. width

async def test_a_wide_terminal_shows_long_command_lines_in_full(make_app):
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await show_q2(pilot, app)
        pane = app.workbench.pane
        index = next(i for i, r in enumerate(pane.view.result.values) if CRON in r)
        assert len(CRON) > 48
        assert cell(pane, index, "process.command_line") == CRON
        assert any(CRON in line for line in table_lines(app))


async def test_at_80_columns_timestamps_keep_the_time_of_day(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(pilot, app)
        await pivot(pilot, app)  # Q1 -> the agents that wrote the file: first_seen, last_seen
        pane = app.workbench.pane
        pane.table.move_cursor(column=pane.column_position("first_seen"))  # scrolled into sight
        await pilot.pause(0.2)
        index = pane.selected_index()
        stamp = pane.view.row_dict(index)["first_seen"]
        shown = f"{stamp[:10]} {stamp[11:19]}"  # 2026-11-12T03:14:55.000Z as 2026-11-12 03:14:55
        assert cell(pane, index, "first_seen") == shown
        assert any(shown in line for line in table_lines(app)[:4]), "\n".join(table_lines(app)[:4])


# ---------------------------------------------------------------- 2. where the cursor lands

async def test_q2_opens_at_80_columns_with_its_counts_in_sight(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await show_q2(pilot, app)
        pane = app.workbench.pane
        assert pane.selected_column() == "process.command_line"
        header = table_lines(app)[0]
        assert "cc" in header.split() and "agent_count" in header.split(), header


async def test_after_a_pivot_the_cursor_lands_on_the_row_pivoted_from(make_app):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await q2_cron_to_its_agents_commands(pilot, app)
        pane = app.workbench.pane
        assert pane.view.title.startswith("Command lines spawned")
        rows = pane.display_rows()
        first = pane.view.row_dict(rows[0])["process.command_line"]
        assert first != CRON  # else landing on row 1 would pass unnoticed
        assert pane.selected_row()["process.command_line"] == CRON


# ---------------------------------------------------------------- 3. breadcrumb, 4. header

async def test_breadcrumb_names_both_fields_and_the_host_and_header_keeps_the_hunt_at_80(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await on_q2_cron_command(pilot, app)
        pane = app.workbench.pane
        await pivot(pilot, app)
        host = pane.view.row_dict(pane.display_rows()[0])["host.name"]
        crumbs = app.workbench.pane.view.crumb
        assert "process.executable=/usr/bin/bash" in crumbs and "process.command_line=sh -c echo" in crumbs
        await pivot(pilot, app)
        lines = screen_text(app).splitlines()
        assert HUNT in lines[0]
        crumb_line = lines[2].strip()
        assert crumb_line.startswith("Q2 process-*"), crumb_line
        assert f"({visible(host)})" in crumb_line and "…" in crumb_line
        assert "⏱ 7 days to" in crumb_line


# ---------------------------------------------------------------- 5. keys

async def test_home_end_g_G_move_rows_and_caret_dollar_move_columns(make_app):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_idle(pilot, app)
        table = app.workbench.pane.table
        column = table.cursor_coordinate.column
        last = table.row_count - 1
        assert last > 0
        for key, row in (("end", last), ("home", 0), ("G", last), ("g", 0)):
            await pilot.press(key)
            assert table.cursor_coordinate.row == row and table.cursor_coordinate.column == column, key
        await pilot.press("dollar_sign")
        assert table.cursor_coordinate.column == len(table.columns) - 1
        await pilot.press("circumflex_accent")
        assert app.workbench.pane.selected_column() == app.workbench.pane.view.display_names[0]


async def test_space_marks_and_moves_down_as_help_and_footer_say(make_app):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_idle(pilot, app)
        pane = app.workbench.pane
        first = pane.selected_index()
        await pilot.press("space")
        assert pane.view.marked == {first} and pane.table.cursor_coordinate.row == 1
        footer = screen_text(app).splitlines()[-1]
        assert "space Mark ↓" in footer, footer
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert "Mark or unmark the selected row and move down" in " ".join(screen_text(app).split())


async def test_1_to_4_in_the_tag_dialog_tag_at_once(make_app):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_idle(pilot, app)
        await pilot.press("t")
        await wait_for(pilot, lambda: "1-4: tag at once" in screen_text(app), what="the tag dialog")
        await pilot.press("2")
        await wait_for(pilot, lambda: any("tagged 1 row suspicious" in n for n in app.notifications_shown),
                       what="tagging without enter")
        assert app.screen is app.workbench


# ---------------------------------------------------------------- 6. hunt picker

async def test_typing_in_the_hunt_picker_filters_from_the_first_key(tmp_path, make_app, monkeypatch):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_idle(pilot, app)
        await pilot.press("h")
        await wait_for(pilot, lambda: app.screen.query("#hunt-filter"), what="the picker")
        await pilot.press("r", "p", "m")
        await pilot.pause(0.2)
        assert app.screen.query_one("#hunt-filter").value == "rpm"
        assert [h.name for h in app.screen.shown] == [HUNT]
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.workbench, what="the picker to close")
        assert app.hunt.name == HUNT


# ---------------------------------------------------------------- 7. rare first

async def test_rare_first_by_a_column_shows_the_count_it_sorted_by(make_app):
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await q2_cron_to_its_agents_commands(pilot, app)
        pane = app.workbench.pane
        assert "cc" not in pane.view.column_names
        pane.table.move_cursor(column=pane.column_position("process.executable"))
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause(0.2)
        view = pane.view
        col = view.column_names.index("process.executable")
        expected = Counter(r[col] for r in view.result.values)
        shown = [int(pane.table.get_row(str(i))[1].plain) for i in pane.display_rows()]
        assert shown == [expected[view.result.values[i][col]] for i in pane.display_rows()]
        assert shown == sorted(shown) and len(set(shown)) > 1
        assert "n process." in table_lines(app)[0]
        assert pane.selected_column() == "process.executable"
