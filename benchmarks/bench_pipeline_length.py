"""Benchmark: how the offline ES|QL engine's time (parse + compile + run) grows with the
number of piped commands.

Usage::

    nice python benchmarks/bench_pipeline_length.py [--lengths 100,200,400,500] [--runs 1]

Two shapes, each with N ``EVAL`` commands after a ``ROW``:

- ``new column``: ``ROW a = 1 | EVAL c1 = a + 1 | EVAL c2 = c1 + 1 | ...`` (the relation
  gains a column per command, so it ends N + 1 columns wide);
- ``same column``: ``ROW a = 1 | EVAL a = a + 1 | ...`` (one column throughout).

Prints the seconds per query and per command at each length, and the ratio of the time at
the longest length to the time at the shortest: linear growth gives about the ratio of the
lengths (500/100 -> 5), quadratic growth its square (25).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from collectors.esql.engine import _parse, run_esql  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def new_column(n: int) -> str:
    return "ROW a = 1 | EVAL c1 = a + 1" + "".join(f" | EVAL c{i} = c{i - 1} + 1" for i in range(2, n + 1))


def same_column(n: int) -> str:
    return "ROW a = 1" + " | EVAL a = a + 1" * n


def timed(query: str, runs: int) -> float:
    """Best of ``runs`` wall-clock seconds (parse, compile, run), the parse cache cleared
    before each run."""
    best = float("inf")
    for _ in range(runs):
        _parse.cache_clear()
        started = time.perf_counter()
        run_esql(query, None, now=NOW)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="100,200,400,500", help="comma-separated command counts")
    ap.add_argument("--runs", type=int, default=1, help="best of this many runs per point")
    args = ap.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    run_esql("ROW a = 1", None, now=NOW)  # builds the grammar once, outside the timings
    for shape, build in (("new column", new_column), ("same column", same_column)):
        times = {}
        for n in lengths:
            times[n] = timed(build(n), args.runs)
            print(f"{shape:12s} {n:4d} commands: {times[n]:7.3f} s  ({times[n] / n * 1000:6.2f} ms/command)", flush=True)
        lo, hi = lengths[0], lengths[-1]
        print(f"{shape:12s} ratio {hi}/{lo}: {times[hi] / times[lo]:.1f} (linear: {hi / lo:.1f})", flush=True)


if __name__ == "__main__":
    main()
