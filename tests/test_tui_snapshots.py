"""Snapshots of the main screens at 80x24 and 160x48 (pytest-textual-snapshot).

Regenerate after an intended change with ``pytest tests/test_tui_snapshots.py
--snapshot-update`` and look at the SVGs under ``tests/__snapshots__/``. The app runs on the
real sample with timings hidden (``show_timings=False``) so the pictures do not change
from run to run; the local scan is pointed at an empty folder for the same reason.
"""

from __future__ import annotations

import pytest

from collectors.sources import sample_source
from hunts import load_library
from tests.tui_support import hostile_rows, planted_chain, wait_for, wait_idle
from tui.app import HuntbenchApp
from tui.escape import visible

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


@pytest.fixture(scope="module")
def sample():
    return sample_source()


@pytest.fixture
def app(tmp_path, monkeypatch, sample):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "root").mkdir()
    library = load_library(include_user_dir=False)
    bench = HuntbenchApp(source=sample, library=library, hunt=library.default, case_path="case.db",
                         scan_root=tmp_path / "root", scan_label="image: root (snapshot)")
    bench.show_timings = False
    return bench


async def settle(pilot) -> None:
    await wait_idle(pilot, pilot.app)
    await pilot.pause(0.2)


async def filter_to(pilot, text: str) -> None:
    await pilot.press("slash")
    pilot.app.workbench.query_one("#filter").value = text
    await pilot.pause()
    await pilot.press("enter")


async def pivot(pilot) -> None:
    pane = pilot.app.workbench.pane
    depth = len(pane.stack)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(pane.stack) == depth + 1 and not pane.view.loading, what="pivot")


async def to_command_lines(pilot) -> None:
    chain = planted_chain()
    await settle(pilot)
    await filter_to(pilot, chain["file.name"])
    await pivot(pilot)
    await filter_to(pilot, chain["agent.id"])
    await pivot(pilot)
    await filter_to(pilot, chain["process.command_line"])
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_rare_files_pane(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES)
def test_agents_pivot(snap_compare, app, size):
    async def run(pilot):
        await settle(pilot)
        await filter_to(pilot, planted_chain()["file.name"])
        await pivot(pilot)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_command_line_tagged(snap_compare, app, size):
    async def run(pilot):
        await to_command_lines(pilot)
        await pilot.press("t", "1")
        await wait_for(pilot, lambda: pilot.app.workbench.pane.view.tags, what="tag marker")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_hostile_names_shown_escaped(snap_compare, app, size):
    async def run(pilot):
        await settle(pilot)
        await filter_to(pilot, visible(hostile_rows(0)[0]["file.name"])[:4])  # the "\x1b" rows
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_tag_dialog(snap_compare, app, size):
    async def run(pilot):
        await to_command_lines(pilot)
        await pilot.press("t")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, app, size):
    async def run(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_query_editor_with_error(snap_compare, app, size):
    async def run(pilot):
        await settle(pilot)
        await pilot.press("v")
        await pilot.pause(0.2)
        area = pilot.app.screen.query_one("#query-text")
        area.cursor_blink = False  # a blinking cursor would make the picture differ run to run
        area.text = "from logs-endpoint.events.file-*\n| where file.name == \n| limit 5"
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: "line " in str(pilot.app.screen.query_one("#query-error").render()), what="error")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run)


@pytest.mark.parametrize("size", SIZES)
def test_case_pane(snap_compare, app, size):
    async def run(pilot):
        await to_command_lines(pilot)
        await pilot.press("t", "down", "enter")  # suspicious, then a note
        await pilot.press(*"beacons out")
        await pilot.press("enter")
        await wait_for(pilot, lambda: pilot.app.workbench.pane.view.tags, what="tag marker")
        await pilot.press("c")
        await settle(pilot)
        await pilot.pause(6.5)  # let the "tagged" notification time out

    assert snap_compare(app, terminal_size=size, run_before=run)
