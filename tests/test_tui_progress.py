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

    def warm(self) -> None:
        self.release.wait(30)
        super().warm()

    def catalog_for(self, query, cancel=None, progress=None):
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
    source.release = threading.Event()
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

            await pilot.press("2")  # the hunt's other query reads the same export
            assert status_line(app).startswith(what)
            await pilot.press("1")

            source.release.set()
            await wait_idle(pilot, app)
            line = status_line(app)
            assert "reading" not in line and not re.search(r"[█░]", line), line
            assert re.match(r"\d+ rows? ·", line), line
            assert app.workbench.pane.table.row_count == len(app.workbench.pane.view.result.values) > 0
    finally:
        source.release.set()
