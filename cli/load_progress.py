"""A progress bar on stderr while an offline source loads data, only on a terminal.

Loading a fresh multi-GB export takes a while; without a sign of life a responder cannot
tell a slow load from a hang. The bar (rich, which Textual already brings) shows bytes
read of the export, the rate and the time left. It appears only when stderr is a
terminal and the load lasts past :data:`SHOW_AFTER` seconds (a cached reopen shows
nothing), and it is removed when the load ends, so the answer starts on a clean line.
Piped or redirected stderr gets nothing.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Any, Iterator

SHOW_AFTER = float(os.environ.get("HUNTBENCH_PROGRESS_AFTER", "0.5"))


@contextmanager
def load_progress(source: Any) -> Iterator[None]:
    """Show the bar for loads ``source`` makes inside the ``with`` block (offline sources
    report them through ``on_load``; other sources have nothing to show)."""
    if not hasattr(source, "on_load") or not sys.stderr.isatty():
        yield
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar: Progress | None = None
    task: Any = None
    shown_pass = [1]

    def update(meter: Any) -> None:
        nonlocal bar, task
        read, total, elapsed = meter.snapshot()
        if bar is None:
            if elapsed < SHOW_AFTER:
                return
            bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                           TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            bar.start()
            task = bar.add_task("loading data", total=total)
        passes = getattr(meter, "pass_number", 1)
        if passes != shown_pass[0]:  # the export is read again: a fresh bar, rate and time left
            shown_pass[0] = passes
            bar.reset(task, total=total, description=f"loading data (pass {passes})")
        bar.update(task, completed=read or 0)

    source.on_load = update
    try:
        yield
    finally:
        source.on_load = None
        if bar is not None:
            bar.stop()
