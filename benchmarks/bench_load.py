"""Benchmark: loading an Elastic Defend export offline, against DuckDB's own JSON reader.

Usage::

    nice python benchmarks/bench_load.py [--events 1000000] [--workdir DIR] [--plain] [--repeat 3]

(``--workdir`` keeps the generated events and reuses them on the next run.)

Generates the events with the bundled sample generator (``python -m sample_data.generate``),
then times, each in a fresh process so peak memory (ru_maxrss) is per step:

- ``duckdb read_json``: ``CREATE TABLE AS SELECT * FROM read_json(FILE,
  format='newline_delimited')`` with DuckDB's defaults — the target's yardstick;
- ``duckdb read_json (whole-file detection)``: the same with ``sample_size=-1``, the
  plain way to miss no field (the loader does this for small files only; big files are
  checked while they load);
- ``huntbench first load``: ``Catalog.load`` with an empty cache (builds the cache file);
- ``huntbench reopen``: ``Catalog.load`` again (cache hit) plus one ``count(*)`` per index.

Prints wall and CPU seconds (CPU time is steadier on a shared machine), peak RSS and the
ratios against the yardstick; the first load also says when its cache file was written
(in the background, after the data was usable). Targets (issue 3): first load
within 1.5x of ``read_json``; peak memory under 2 GB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

STEP = textwrap.dedent(
    """
    import json, os, resource, sys, time
    step, files, cache = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    os.environ["HUNTBENCH_CACHE_DIR"] = cache
    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    start, cpu0, cached = time.perf_counter(), cpu(), None
    if step.startswith("duckdb"):
        import duckdb
        con = duckdb.connect()
        opts = ", sample_size=-1" if step == "duckdb-full" else ""
        src = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_json({src}, format='newline_delimited'{opts})")
        rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    else:
        from pathlib import Path
        from collectors.offline.catalog import Catalog
        from collectors.sources import DataSpec
        cat = Catalog.load([DataSpec(Path(f)) for f in files], {})
        rows = sum(cat.con.execute(f"SELECT count(*) FROM {cat.table(i)}").fetchone()[0] for i in cat.indices())
    seconds, cpu_seconds = time.perf_counter() - start, cpu() - cpu0
    if step.startswith("huntbench"):
        cat.wait_cached()  # the cache is written in the background
        cached = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "cached": cached, "rows": rows, "peak": peak}))
    """
)


def run_step(step: str, files: list[Path], cache: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", STEP, step, json.dumps([str(f) for f in files]), str(cache)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


STEPS = ("duckdb", "duckdb-full", "huntbench-first", "huntbench-reopen")


def _median(runs: list[dict]) -> dict:
    """Per key, the median over runs (wall, CPU, peak and cache time taken separately)."""
    out = dict(runs[0])
    for key in ("seconds", "cpu", "peak", "cached"):
        values = sorted(r[key] for r in runs if r.get(key) is not None)
        if values:
            out[key] = values[len(values) // 2]
    return out


def generate(events: int, folder: Path, plain: bool) -> list[Path]:
    cmd = [sys.executable, "-m", "sample_data.generate", "--events", str(events), "--out", str(folder)]
    if plain:
        cmd.append("--plain")
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    files = sorted(folder.glob("*.ndjson.gz")) + sorted(folder.glob("*.ndjson"))
    if not files:
        raise SystemExit(f"the generator wrote no .ndjson(.gz) file into {folder}")
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, help="keep the generated data here (reused if present)")
    parser.add_argument("--plain", action="store_true", help="uncompressed .ndjson instead of .ndjson.gz")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of every step; medians are printed")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="huntbench-bench-load-"))
    try:
        data = args.workdir or tmp / "data"
        data.mkdir(parents=True, exist_ok=True)
        files = sorted(data.glob("*.ndjson.gz")) + sorted(data.glob("*.ndjson"))
        if not files:
            print(f"generating {args.events:,} events into {data} ...", flush=True)
            files = generate(args.events, data, args.plain)
        size = sum(f.stat().st_size for f in files)
        print(f"data: {', '.join(f.name for f in files)} ({size / 1e6:.0f} MB on disk)")
        runs: dict[str, list[dict]] = {}
        for round_ in range(args.repeat):  # interleaved, so a busy spell hits every step
            cache = tmp / f"cache{round_}"
            for step in STEPS:
                runs.setdefault(step, []).append(run_step(step, files, cache))
        results = {step: _median(rs) for step, rs in runs.items()}
        if args.repeat > 1:
            print(f"medians of {args.repeat} interleaved runs")
        for step in STEPS:
            r = results[step]
            extra = f"  (cache written at {r['cached']:.2f} s)" if r.get("cached") and step.endswith("first") else ""
            print(f"{step:18s} {r['seconds']:7.2f} s wall {r['cpu']:7.2f} s cpu  {r['rows']:>9,} rows  "
                  f"peak {r['peak'] / 2**20:6.0f} MiB{extra}", flush=True)
        base = results["duckdb"]
        first = results["huntbench-first"]
        print()
        print(f"first load / duckdb read_json            = {first['seconds'] / base['seconds']:.2f} wall, "
              f"{first['cpu'] / base['cpu']:.2f} cpu  (target <= 1.5)")
        print(f"first load incl. cache write / read_json = {first['cached'] / base['seconds']:.2f} wall")
        print(f"first load / read_json whole-file detect = {first['seconds'] / results['duckdb-full']['seconds']:.2f} wall, "
              f"{first['cpu'] / results['duckdb-full']['cpu']:.2f} cpu")
        print(f"reopen (cached) / duckdb read_json       = {results['huntbench-reopen']['seconds'] / base['seconds']:.2f} wall")
        print(f"peak memory, first load                  = {first['peak'] / 2**30:.2f} GiB  (target < 2)")
        if first["rows"] != results["duckdb"]["rows"]:
            print(f"WARNING: loaded {first['rows']} rows, read_json read {results['duckdb']['rows']}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
