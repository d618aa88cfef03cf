"""Opening the workbench on data that takes a while to load: from the first frame, each hunt
pane says what it is reading, how big it is, and shows a bar that moves, until the answer
replaces it."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import sample_data
from collectors.sources import DataSpec, OfflineSource
from hunts import load_library
from tests.tui_support import screen_text, wait_for, wait_idle
from tui.app import HuntbenchApp


class HeldSource(OfflineSource):
    """The real offline source over the sample's export, whose loading waits until the test
    lets it start: a load exactly as slow as the test needs, nothing else changed."""

    release: threading.Event
    asked: list[str]
    """The queries that reached the source, in order."""

    def warm(self) -> None:
        self.release.wait(30)
        super().warm()

    def catalog_for(self, query, cancel=None, progress=None):
        self.asked.append(query)
        self.release.wait(30)
        return super().catalog_for(query, cancel, progress)


def status_line(app) -> str:
    """The status line of the pane in sight: the last line above the detail pane's rule."""
    lines = screen_text(app).splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("─"))
    return lines[rule - 1].strip()


def bar_of(line: str) -> str:
    found = re.search(r"[█░]{6,}", line)
    assert found, f"no progress bar in {line!r}"
    return found.group(0)


async def test_the_first_frame_says_what_is_read_with_a_moving_bar_until_the_answer(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    export = sample_data.data_files()[0]
    source = HeldSource([DataSpec(export)], now=sample_data.capture_time())
    source.release, source.asked = threading.Event(), []
    library = load_library(include_user_dir=False)
    root = tmp_path / "root"
    root.mkdir()
    app = HuntbenchApp(source=source, library=library, hunt=library.default, case_path=tmp_path / "case.db",
                       scan_root=root)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            # The file and its size, the bar and how to stop it, all inside 80 columns.
            what = f"reading {export.name} ({export.stat().st_size / 1e6:.1f} MB)"
            first = status_line(app)
            assert first.startswith(what), first
            assert first.endswith("(esc cancels)"), first
            first_bar = bar_of(first)
            await wait_for(pilot, lambda: bar_of(status_line(app)) != first_bar, timeout=10, what="the bar to move")
            assert app.workbench.pane.view.loading
            # The pane in sight reads first; the other hunt query waits for it, not the reverse.
            in_sight, other = (pane.view.query for pane in app.workbench.panes[:2])
            await wait_for(pilot, lambda: source.asked, timeout=10, what="the first query to reach the source")
            assert source.asked == [in_sight]

            await pilot.press("2")  # the hunt's other query reads the same export
            assert status_line(app).startswith(what)
            await pilot.press("1")

            source.release.set()
            await wait_idle(pilot, app)
            line = status_line(app)
            assert "reading" not in line and not re.search(r"[█░]", line), line
            assert re.match(r"\d+ rows? ·", line), line
            assert source.asked == [in_sight, other]
            assert app.workbench.pane.table.row_count == len(app.workbench.pane.view.result.values) > 0
    finally:
        source.release.set()


def test_a_loads_time_left_stays_in_sight_at_80_columns():
    from collectors.offline.meter import LoadMeter
    from tui.model import View

    # A 1.5 GB export half a minute into its load, as the loader words it.
    line = LoadMeter(1_484_100_000).status()
    view = View(name="query:0", title="Q1", query="from logs-*", loading=True, progress=line, elapsed_running=30.0)
    shown = view.status()[:78]  # the pane's status line: 80 columns less its padding
    assert shown.startswith(line)  # bytes read of the total, the rate and the time left
