"""A hunt's rows reach the case file and come back out, with the real engine:
``huntbench esql|hunt run --sample --format json | huntbench case tag --from-json -``, then
``case export``."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

HUNTBENCH = str(Path(sys.executable).with_name("huntbench"))
HUNT = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def pipe(left: list[str], right: list[str]) -> subprocess.CompletedProcess:
    """``left | right`` through a real OS pipe; fails if either side fails."""
    producer = subprocess.Popen(left, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    consumer = subprocess.run(right, stdin=producer.stdout, capture_output=True, timeout=300)
    producer.stdout.close()
    assert producer.wait(timeout=300) == 0, producer.stderr.read().decode()
    assert consumer.returncode == 0, consumer.stderr.decode()
    return consumer


def export_rows(case: Path, out: Path) -> list[dict[str, str]]:
    done = subprocess.run([HUNTBENCH, "case", "export", "--case", str(case), "--out", str(out)], capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    return list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))


def test_hunt_run_piped_into_case_tag_then_exported(tmp_path):
    produced = subprocess.run([HUNTBENCH, "hunt", "run", "--sample", "--format", "json"], capture_output=True, check=True)
    results = json.loads(produced.stdout)
    total = sum(len(r["values"]) for r in results)
    assert total > 0
    case = tmp_path / "c.db"
    tagged = pipe([HUNTBENCH, "hunt", "run", "--sample", "--format", "json"],
                  [HUNTBENCH, "case", "tag", "--case", str(case), "--tag", "suspicious", "--hunt", HUNT,
                   "--source", "sample data", "--from-json", "-"])
    assert tagged.stdout.decode() == f"case {case}: {total} findings created, 0 updated\n"
    rows = export_rows(case, tmp_path / "f.csv")
    assert len(rows) == total
    assert {r["query"] for r in rows} == {str(r["query"]) for r in results}
    assert {r["hunt"] for r in rows} == {"Persistence via DPKG/RPM Package"}
    exported = {(r["file.name"], r["process.executable"]) for r in rows if r["query"] == "0"}
    expected = {(row[2], row[3]) for row in results[0]["values"]}
    assert {(n.lstrip("'") if n[1:2] in FORMULA else n, e) for n, e in exported} == expected
    for row in rows:
        assert not any(cell.startswith(FORMULA) for cell in row.values())
        datetime.fromisoformat(row["datetime"].replace("Z", "+00:00"))
        assert row["message"].startswith("suspicious ") and row["timestamp_desc"]
        assert row["message"].endswith(f"(hunt Persistence via DPKG/RPM Package, Q{int(row['query']) + 1})")


def test_esql_events_piped_into_case_tag_keep_their_event_time(tmp_path):
    query = ("from logs-endpoint.events.process-* | where event.action == \"exec\" "
             "| keep @timestamp, host.name, agent.id, process.parent.executable, process.command_line "
             "| sort @timestamp asc | limit 25")
    produced = subprocess.run([HUNTBENCH, "esql", query, "--sample", "--format", "json"], capture_output=True, check=True)
    result = json.loads(produced.stdout)
    assert result["values"]
    case = tmp_path / "c.db"
    pipe([HUNTBENCH, "esql", query, "--sample", "--format", "json"],
         [HUNTBENCH, "case", "tag", "--case", str(case), "--tag", "needs-review", "--from-json", "-"])
    rows = export_rows(case, tmp_path / "f.csv")
    distinct = {tuple(v) for v in result["values"]}  # every column is identifying here
    assert len(rows) == len(distinct)
    assert sorted(r["datetime"] for r in rows) == sorted(v[0] for v in distinct)
    assert all(r["timestamp_desc"] == "Event time" and r["first_seen"] == r["datetime"] for r in rows)
    # piping the same query again updates the same findings
    again = pipe([HUNTBENCH, "esql", query, "--sample", "--format", "json"],
                 [HUNTBENCH, "case", "tag", "--case", str(case), "--tag", "malicious", "--from-json", "-"])
    assert again.stdout.decode().endswith(f" 0 findings created, {len(rows)} updated\n")
