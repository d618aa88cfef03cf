"""A fresh export in the workbench, in a real terminal: launch to a moving bar, to first rows.

What a responder sees on first contact with their own data (issue 14's terminal criterion:
a moving progress bar within 1 s, the first results within the cold target, <= 2x the
hand-written DuckDB query). Each run:

* ``huntbench --data SPLIT --now T`` (this checkout, as ``python -m cli.main``) in a private
  tmux server at 80x24, on an empty cache; the screen is read every 50 ms. "bar" is the first
  screen showing the reading bar, "rows" the first showing the lead pane's row count;
* then the same query hand-written in DuckDB SQL over ``file.ndjson`` (bench_cold.py's
  yardstick), so the two alternate and see the same machine.

Prints each run, the medians and rows / duckdb (as bench_cold.py: the ratio of the medians;
the run-by-run range too, as the machine's speed drifts within minutes).

    nice python benchmarks/bench_cold_workbench.py --events 1000000 --runs 5

The checkout's modules are byte-compiled first, as pip does at install: a machine that sets
PYTHONDONTWRITEBYTECODE would otherwise compile them at every launch (~0.1 s), which no
installed huntbench does. The background cache build that follows a first answer is
switched off (``HUNTBENCH_NO_PREWARM``): it starts after the rows are on screen, and would
only slow the next run.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_cold import HAND, hand_query, prepare  # noqa: E402

PACKAGES = ("cli", "collectors", "tui", "casefile", "hunts")
ROWS = re.compile(r"\b\d+ rows? ·")
"""The lead pane's status line once its answer is in ("19 rows · 2.39 s")."""
BAR = ("░", "█")
"""Cells of the reading bar (tui/load_bar.py)."""


class Terminal:
    """One private tmux server (never the user's), 80x24, running one command at a time."""

    def __init__(self) -> None:
        self.name = f"huntbench-bench-{os.getpid()}"
        self._tmux("new-session", "-d", "-x", "80", "-y", "24", "-s", "w", "sleep 86400")
        self._socket = Path(self._tmux("display-message", "-p", "#{socket_path}").strip())

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True,
                              check=True).stdout

    def start(self, command: str) -> None:
        self._tmux("respawn-pane", "-k", "-t", "w", command)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "w")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True)
        self._socket.unlink(missing_ok=True)  # tmux may leave it behind


def one_run(term: Terminal, split: Path, now: str, cache: Path, timeout: float = 120) -> tuple[float, float]:
    """(seconds to the bar, seconds to the rows) of one launch on an empty cache."""
    shutil.rmtree(cache, ignore_errors=True)
    q = shlex.quote
    env = f"HUNTBENCH_CACHE_DIR={q(str(cache))} HUNTBENCH_NO_PREWARM=1 PYTHONPATH={q(str(REPO))}"
    command = (f"cd {q(str(REPO))} && env {env} {q(sys.executable)} -m cli.main --data {q(str(split))} "
               f"--now {q(now)} --case {q(str(cache.parent / 'bench-case.db'))}")
    start = time.perf_counter()
    term.start(command)
    bar = None
    while time.perf_counter() - start < timeout:
        time.sleep(0.05)
        text = term.screen()
        seen = time.perf_counter() - start
        if bar is None and any(cell in text for cell in BAR):
            bar = seen
        if ROWS.search(text):
            term.start("sleep 86400")  # ends the workbench (respawn kills the pane's process)
            return (bar if bar is not None else seen), seen
    raise SystemExit(f"no rows on screen after {timeout:.0f} s:\n{term.screen()}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "huntbench-bench-cold")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not shutil.which("tmux"):
        raise SystemExit("tmux is needed (the workbench is timed in a real terminal)")

    split, now = prepare(args.events, args.workdir)
    hand = hand_query(split, now)
    for package in PACKAGES:
        compileall.compile_dir(REPO / package, quiet=1)
    size = sum(f.stat().st_size for f in split.glob("*.ndjson"))
    print(f"{args.events} events in 2 indices ({size / 1e6:.0f} MB NDJSON); the workbench at 80x24, "
          f"its lead pane the seed's query 0 (FROM file index)")

    cache = args.workdir / "cache-workbench"
    bars, rows, duck = [], [], []
    term = Terminal()
    try:
        for run in range(args.runs):
            bar, first = one_run(term, split, now.isoformat(), cache)
            time.sleep(1)  # the workbench's exit
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", HAND, hand], capture_output=True, check=True, cwd=REPO)
            duck.append(time.perf_counter() - t)
            bars.append(bar)
            rows.append(first)
            print(f"run {run + 1}: bar {bar:.2f} s, rows {first:.2f} s, duckdb {duck[-1]:.2f} s, "
                  f"rows / duckdb {first / duck[-1]:.2f}", flush=True)
    finally:
        term.close()
        shutil.rmtree(cache, ignore_errors=True)
        for leftover in args.workdir.glob("bench-case.db*"):
            leftover.unlink()
    ratios = [r / d for r, d in zip(rows, duck)]
    print(f"\nmedians of {args.runs} alternating runs: bar {statistics.median(bars):.2f} s "
          f"(slowest {max(bars):.2f}; target < 1), rows {statistics.median(rows):.2f} s, "
          f"duckdb {statistics.median(duck):.2f} s")
    print(f"rows / duckdb = {statistics.median(rows) / statistics.median(duck):.2f} (target <= 2; "
          f"run by run {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
