"""The bar a pane shows while its source starts reading an export.

A fresh multi-GB export takes a while to load, and the loader reports bytes read only once
its reading has begun (after the ES|QL engine and DuckDB are imported and the query is
analysed). Until then the pane says what is being read and how big it is, with a sweeping
bar that moves on every tick, so a responder sees from the first frame that the workbench
is working and on what; the loader's own bar (bytes read of the total, rate, time left)
takes its place as soon as it reports.
"""

from __future__ import annotations

from tui.escape import clip

SWEEP_WIDTH = 12
"""Cells of the sweeping bar: the loader's bar is 20, and the name must fit beside it at 80
columns with the elapsed time and ``(esc cancels)``."""

SWEEP_BLOCK = 3
SWEEP_STEP = 0.2
"""Seconds per cell the block moves (the pane redraws its status line this often)."""

NAME_WIDTH = 40
"""Most characters of the file name and size shown; longer names end in an ellipsis."""


def sweep(elapsed: float, width: int = SWEEP_WIDTH, block: int = SWEEP_BLOCK) -> str:
    """An indeterminate bar: a block bouncing along the track, placed by ``elapsed``."""
    span = width - block
    step = int(elapsed / SWEEP_STEP) % (2 * span) if span > 0 else 0
    at = step if step <= span else 2 * span - step
    return "░" * at + "█" * block + "░" * (width - block - at)


def reading_line(what: str, elapsed: float, timings: bool = True) -> str:
    """``reading endpoint-events.ndjson (1.5 GB) ░░███░░░░░░░ 0.4 s`` (plain text; the
    caller escapes). Without timings (snapshot tests) the bar stands still at its start."""
    line = f"reading {clip(what, NAME_WIDTH)} {sweep(elapsed if timings else 0.0)}"
    return f"{line} {elapsed:.1f} s" if timings else line
