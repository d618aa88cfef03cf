"""How fast the workbench answers: launch to first results, pivot latency, peak memory.

Drives the real app headless (Textual's ``run_test``) over the real offline engine:

* launch to first results: from building the app (``huntbench --sample``) until the first
  pane's table holds the hunt's rows (this includes loading the NDJSON into DuckDB);
* pivot latency: from the Enter key event until the first frame that shows the pivot's rows,
  over the rows of the rare files pane (first pivot) and one agent each (second pivot),
  median and p95;
* the same on a 1,000,000-event offline dataset made by the sample generator;
* peak memory (max RSS of this process).

    python benchmarks/bench_tui.py                 # sample + 1M events
    python benchmarks/bench_tui.py --events 200000 # a smaller "big" dataset
    python benchmarks/bench_tui.py --sample-only

Targets (issue 7): first results < 1.5 s on the sample; pivot p95 < 150 ms on the sample
and < 600 ms on 1M events. Printed as ratios (measured / target; below 1.0 meets it).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from textual import events

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

TARGET_FIRST = 1.5
TARGET_PIVOT_SAMPLE = 0.150
TARGET_PIVOT_BIG = 0.600


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


async def measure(options: dict, max_pivots: int, label: str) -> dict:
    from tui.launch import build_app

    started = time.perf_counter()
    app = build_app(**options)
    first: float | None = None
    pivots: list[float] = []
    second: list[float] = []
    engine: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        bench = app.workbench
        # Every frame the app hands to its driver (headless: computed, then discarded).
        frames: list[float] = []
        display = app._display

        def record(screen, renderable):
            frames.append(time.perf_counter())
            return display(screen, renderable)

        app._display = record

        async def until(predicate, timeout=600.0):
            deadline = time.perf_counter() + timeout
            while time.perf_counter() < deadline:
                if predicate():
                    return
                await asyncio.sleep(0.002)
            raise RuntimeError(f"{label}: timed out")

        await until(lambda: bench.panes and bench.panes[0].view.result is not None and not bench.panes[0].view.loading)
        filled = time.perf_counter()
        await until(lambda: frames and frames[-1] > filled)
        first = next(f for f in frames if f > filled) - started
        if bench.panes[0].view.error:
            raise RuntimeError(f"{label}: {bench.panes[0].view.error}")
        pane = bench.panes[0]
        await until(lambda: not any(p.view.loading for p in bench.panes))
        rows = min(len(pane.display_rows()), max_pivots)

        async def pivot_once() -> float:
            """Enter as the terminal sends it, until the first frame showing the new rows."""
            depth = len(pane.stack)
            t0 = time.perf_counter()
            app._driver.send_message(events.Key("enter", "\r"))
            await until(lambda: len(pane.stack) == depth + 1 and not pane.view.loading
                        and pane.table.row_count == len(pane.display_rows()))
            filled = time.perf_counter()
            await until(lambda: frames and frames[-1] > filled)
            shown = next(f for f in frames if f > filled)
            engine.append(pane.view.elapsed or 0.0)
            await pilot.pause()
            return shown - t0

        for row in range(rows):
            pane.table.move_cursor(row=row, animate=False)
            await pilot.pause()
            pivots.append(await pivot_once())
            if len(second) < max_pivots and pane.view.result and pane.view.result.values:
                second.append(await pivot_once())
                await pilot.press("escape")
            await pilot.press("escape")
            await until(lambda: len(pane.stack) == 1)
        await pilot.press("q")
    return {"label": label, "first": first, "pivots": pivots, "second": second, "engine": engine}


def report(result: dict, pivot_target: float, first_target: float | None) -> None:
    piv = result["pivots"] + result["second"]
    print(f"\n{result['label']}")
    if first_target is not None:
        print(f"  launch to first results  {result['first']:.3f} s   target {first_target} s   ratio {result['first'] / first_target:.2f}")
    else:
        print(f"  launch to first results  {result['first']:.3f} s   (includes loading the NDJSON)")
    if piv:
        med, high = statistics.median(piv), p95(piv)
        print(f"  pivots measured          {len(piv)} ({len(result['pivots'])} first-step, {len(result['second'])} second-step)")
        print(f"  pivot median             {med * 1000:.1f} ms")
        print(f"  pivot p95                {high * 1000:.1f} ms   target {pivot_target * 1000:.0f} ms   ratio {high / pivot_target:.2f}")
        eng = result["engine"]
        print(f"  of which the query       median {statistics.median(eng) * 1000:.1f} ms, p95 {p95(eng) * 1000:.1f} ms"
              " (worker thread; the rest is the UI: dispatch, table, frame)")


def big_dataset(events: int, folder: Path) -> Path:
    """The sample generator at ``events`` events, written once and reused."""
    out = folder / f"events-{events}"
    if (out / "manifest.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "sample_data.generate", "--events", str(events), "--out", str(out)],
                   check=True, cwd=REPO)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sample-only", action="store_true")
    parser.add_argument("--pivots", type=int, default=20, help="rows pivoted on per dataset")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "huntbench-bench"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        case = str(Path(tmp) / "case.db")
        sample = asyncio.run(measure({"sample": True, "case_path": case}, args.pivots, "sample data (bundled)"))
        report(sample, TARGET_PIVOT_SAMPLE, TARGET_FIRST)
        if not args.sample_only:
            import json

            data = big_dataset(args.events, Path(args.cache))
            now = json.loads((data / "manifest.json").read_text(encoding="utf-8"))["capture_time"]
            big = asyncio.run(measure({"data": [str(data)], "now": now, "case_path": case}, args.pivots,
                                      f"{args.events:,} events (offline, generated)"))
            report(big, TARGET_PIVOT_BIG, None)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory (max RSS)      {peak:.0f} MiB")


if __name__ == "__main__":
    main()
