"""Benchmark: the first answer on a fresh export (cold) and on a cached one (warm), as whole
processes, against the same query hand-written in DuckDB SQL over the NDJSON, and jq.

Usage::

    nice python benchmarks/bench_cold.py [--events 200000] [--workdir DIR] [--runs 5] [--no-jq]

Generates the events once with the bundled generator (``python -m sample_data.generate
--plain``) and splits them into one NDJSON file per index (``file.ndjson``,
``process.ndjson``), as an export of two indices would come. Then, alternating so that load
from other processes hits every candidate alike, each run times as a fresh process:

- ``cold``: ``huntbench esql --data SPLIT_FOLDER`` with the seed hunt's first query
  (FROM ``logs-endpoint.events.file-*``) and an empty export cache folder (the ES|QL
  grammar's tables, built once per user by the first command ever run, are kept);
- ``warm``: the same again once the cache is complete;
- ``duckdb``: the same query hand-written in DuckDB SQL straight over ``file.ndjson``
  (``python -c`` importing duckdb: the same process start-up costs as huntbench);
- ``jq`` (once, unless ``--no-jq``): the query as a ``jq -n 'reduce inputs ...'`` pipeline.

Prints the median of each, the ratios cold/duckdb and warm/duckdb (targets: <= 2 and
<= 1.5), checks that all three give the same groups, and the cold run's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_esql import HAND_SQL, JQ, SEED  # noqa: E402

FILE_INDEX = "logs-endpoint.events.file-default"

HAND = """
import duckdb, json, sys
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
rows = con.execute(sys.argv[1]).fetchall()
print(json.dumps([[r[0], r[1], r[2], r[3]] for r in rows]))
"""


def prepare(events: int, workdir: Path) -> tuple[Path, datetime]:
    data = workdir / f"events-{events}"
    if not (data / "manifest.json").exists():
        print(f"generating {events} events into {data} ...", flush=True)
        subprocess.run([sys.executable, "-m", "sample_data.generate", "--events", str(events),
                        "--out", str(data), "--plain"], check=True, cwd=REPO)
    split = workdir / f"split-{events}"
    if not (split / "file.ndjson").exists():
        split.mkdir(parents=True, exist_ok=True)
        outs = {k: open(split / f"{k}.ndjson.partial", "wb") for k in ("file", "process")}
        with open(data / "endpoint-events.ndjson", "rb") as src:
            for line in src:
                kind = b"file" if b'"data_stream":{"dataset":"endpoint.events.file"' in line else b"process"
                outs[kind.decode()].write(line)
        for k, fh in outs.items():
            fh.close()
            os.replace(split / f"{k}.ndjson.partial", split / f"{k}.ndjson")
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    now = datetime.fromisoformat(manifest["capture_time"].replace("Z", "+00:00"))
    return split, now


def hand_query(split: Path, now: datetime) -> str:
    """The seed's query 0 hand-written in DuckDB SQL straight over ``file.ndjson`` (the yardstick)."""
    since = (now.replace(tzinfo=None) - timedelta(days=7)).isoformat(sep=" ")
    file_json = str(split / "file.ndjson").replace("'", "''")
    return HAND_SQL[0].format(file=f"(SELECT \"@timestamp\", host.os.type AS \"host.os.type\", "
                                   f"event.action AS \"event.action\", file.path AS \"file.path\", "
                                   f"file.name AS \"file.name\", agent.id AS \"agent.id\", "
                                   f"process.executable AS \"process.executable\" "
                                   f"FROM read_json('{file_json}'))", since=since)


def timed(argv: list[str], env: dict | None = None) -> tuple[float, str, int]:
    """Wall seconds, stdout and peak RSS (bytes) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    seconds = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed:\n{out.stderr}")
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) * 1024
    return seconds, out.stdout, peak


def groups_of(rows: list) -> list:
    return sorted([int(r[0]), int(r[1]), str(r[2]), str(r[3])] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "huntbench-bench-cold")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-jq", action="store_true", help="skip the (slow) jq pipeline")
    args = ap.parse_args()

    split, now = prepare(args.events, args.workdir)
    from hunts import load_library

    query = load_library().find(SEED).esql_queries[0].text
    hand = hand_query(split, now)
    cli = [sys.executable, "-m", "cli.main", "esql", "--data", str(split), "--now", now.isoformat(),
           "--format", "json", query]
    cache = args.workdir / "cache"
    env = {**os.environ, "HUNTBENCH_CACHE_DIR": str(cache)}
    size = sum(f.stat().st_size for f in split.glob("*.ndjson"))
    print(f"{args.events} events in 2 indices ({size / 1e6:.0f} MB NDJSON); seed query 0 (FROM file index)")

    # A fresh *export*, not a fresh install: the ES|QL grammar's tables, built by the first
    # huntbench command ever run as this user, are in the user's cache (outside the export
    # cache emptied below), as on any responder's machine after its first use.
    subprocess.run([sys.executable, "-c", "from collectors.esql.parser import parse; parse('ROW a = 1')"],
                   check=True, cwd=REPO)
    times: dict[str, list[float]] = {"cold": [], "warm": [], "duckdb": []}
    answers: dict[str, list] = {}
    peaks: list[int] = []
    for run in range(args.runs):
        shutil.rmtree(cache, ignore_errors=True)
        s, out, peak = timed(cli, env)
        times["cold"].append(s)
        peaks.append(peak)
        answers["cold"] = groups_of(json.loads(out)["values"])
        _wait_for_cache(cache)
        s, out, _ = timed(cli, env)
        times["warm"].append(s)
        answers["warm"] = groups_of(json.loads(out)["values"])
        s, out, _ = timed([sys.executable, "-c", HAND, hand])
        times["duckdb"].append(s)
        answers["duckdb"] = groups_of(json.loads(out.strip().splitlines()[-1]))
        print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)

    med = {k: statistics.median(v) for k, v in times.items()}
    same = answers["cold"] == answers["warm"] == answers["duckdb"]
    print(f"\nmedians of {args.runs} alternating runs: " + ", ".join(f"{k} {v:.2f} s" for k, v in med.items()))
    print(f"cold / duckdb = {med['cold'] / med['duckdb']:.2f} (target <= 2)")
    print(f"warm / duckdb = {med['warm'] / med['duckdb']:.2f} (target <= 1.5)")
    print(f"same groups in all three: {same} ({len(answers['cold'])} groups)")
    print(f"cold process peak RSS: {max(peaks) / 2**20:.0f} MiB")
    if not args.no_jq and shutil.which("jq"):
        t = time.perf_counter()
        jq = subprocess.run(["jq", "-n", "-r", "--argjson", "since", str(int((now - timedelta(days=7)).timestamp())),
                             JQ[0], str(split / "file.ndjson")], capture_output=True, text=True, check=True)
        jq_s = time.perf_counter() - t
        print(f"jq: {jq_s:.1f} s, jq / cold = {jq_s / med['cold']:.1f}x ({len(jq.stdout.splitlines())} rows)")


def _wait_for_cache(cache: Path, timeout: float = 600) -> None:
    """The complete cache is written in the background after the cold answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = list(cache.glob("*.duckdb"))
        if done and not list(cache.glob("*.tmp")) and not list(cache.glob("*.building")):
            return
        time.sleep(0.2)
    raise SystemExit("the cache was not written in time")


if __name__ == "__main__":
    main()
