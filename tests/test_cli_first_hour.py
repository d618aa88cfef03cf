"""What a responder trips over in the first hour with the CLI, run through the real console
script: one format name for padded text, CSV a spreadsheet reads, hunts found by a piece of
their name, a mistyped tag, bad options and no terminal before any screen, and a hunt
library whose uuids are not unique."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hunts.library import bundled_hunt_files

HUNTBENCH = str(Path(sys.executable).with_name("huntbench"))
SEED = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"
FIXTURES = Path(__file__).parent / "fixtures" / "first_hour"
SHARED_UUID = "5e7c2a1b-9f3d-4c8e-a6b2-0d1e2f3a4b5c"
LAUNCH = "Persistence via Launch Agent or Daemon Creation"
LOGIN = "Persistence via Login Item Addition"


def hb(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([HUNTBENCH, *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=180)


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def hunts(tmp_path: Path) -> Path:
    """Two different hunts sharing a uuid and a file that is not TOML."""
    folder = tmp_path / "hunts"
    shutil.copytree(FIXTURES / "shared_uuid", folder)
    return folder


@pytest.fixture
def cache(tmp_path: Path) -> dict:
    """A cache folder of its own: which library warnings were shown is remembered there."""
    return {"HUNTBENCH_CACHE_DIR": str(tmp_path / "cache")}


# ---------------------------------------------------------------- --format table

@pytest.fixture
def events(tmp_path: Path) -> Path:
    path = tmp_path / "events.ndjson"
    rows = [{"@timestamp": "2026-11-16T08:00:00Z", "host": {"name": n}} for n in ("h1", "h2", "h1")]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_format_table_is_txt_for_every_query_command(tmp_path, events):
    query = "from events | stats c = count() by host.name | sort host.name"
    esql_txt = ok(hb("esql", query, "--data", str(events), "--format", "txt"))
    assert ok(hb("esql", query, "--data", str(events), "--format", "table")) == esql_txt
    assert esql_txt.splitlines()[0].split("|") == ["c", "host.name"]

    run_txt = ok(hb("hunt", "run", "--sample", "--format", "txt"))
    assert ok(hb("hunt", "run", "--sample", "--format", "table")) == run_txt

    (tmp_path / "root").mkdir()
    scan = ["scan", "--root", str(tmp_path / "root"), "--backend", "builtin"]
    assert ok(hb(*scan, "--format", "table")) == ok(hb(*scan, "--format", "txt"))
    sql = ["osquery", "select 1 as one", "--backend", "builtin"]
    assert ok(hb(*sql, "--format", "txt")) == ok(hb(*sql, "--format", "table"))

    case = str(tmp_path / "case.db")
    result = {"columns": [{"name": "file.name", "type": "keyword"}], "values": [["a.postinst"]]}
    ok(hb("case", "tag", "--case", case, "--tag", "suspicious", "--from-json", "-", stdin=json.dumps(result)))
    assert ok(hb("case", "list", "--case", case, "--format", "txt")) == ok(hb("case", "list", "--case", case))


# ---------------------------------------------------------------- several queries as CSV

def test_csv_of_a_hunts_queries_is_one_table_with_a_query_column():
    proc = hb("hunt", "run", "--sample", "--format", "csv")
    rows = list(csv.reader(io.StringIO(ok(proc))))
    assert not any(line.startswith("#") for line in proc.stdout.splitlines())
    header = rows[0]
    assert header[0] == "query" and {"file.name", "process.command_line", "cc"} <= set(header)
    assert {r[0] for r in rows[1:]} == {"0", "1"}
    assert all(len(r) == len(header) for r in rows)
    # a Q1 row has a file name and no command line; a Q2 row the other way round
    q0 = next(r for r in rows[1:] if r[0] == "0")
    assert q0[header.index("file.name")] and not q0[header.index("process.command_line")]
    assert "--out-dir" in proc.stderr


def test_out_dir_writes_one_csv_per_query(tmp_path):
    out = tmp_path / "out"
    proc = hb("hunt", "run", "--sample", "--format", "tsv", "--out-dir", str(out))
    assert ok(proc) == ""
    assert sorted(p.name for p in out.iterdir()) == ["query-0.tsv", "query-1.tsv"]
    first = (out / "query-0.tsv").read_text().splitlines()
    assert first[0].split("\t")[:2] == ["cc", "agent_count"] and "file.name" in first[0]
    second = (out / "query-1.tsv").read_text().splitlines()[0]
    assert "process.command_line" in second and "file.name" not in second


# ---------------------------------------------------------------- hunts by a piece of the name

def test_hunt_show_and_run_accept_a_name_substring_and_a_uuid_prefix(hunts, cache):
    assert ok(hb("hunt", "show", "rpm package")).startswith("Persistence via DPKG/RPM Package\n")
    assert ok(hb("hunt", "show", SEED[:8])).startswith("Persistence via DPKG/RPM Package\n")
    assert ok(hb("hunt", "show", "login item", "--hunts", str(hunts), env=cache)).startswith(LOGIN + "\n")
    run = hb("hunt", "run", "dpkg/rpm", "--sample", "--format", "json")
    assert [q["query"] for q in json.loads(ok(run))] == [0, 1]


def test_an_ambiguous_hunt_key_lists_the_candidates(hunts, cache):
    proc = hb("hunt", "show", "persistence via", "--hunts", str(hunts), env=cache)
    assert proc.returncode == 2
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("error: ") and "ambiguous" in error
    for name in (LAUNCH, LOGIN, "Persistence via DPKG/RPM Package"):
        assert name in error


# ---------------------------------------------------------------- untag a typo

def test_untag_of_a_tag_the_finding_lacks_exits_1_with_its_tags(tmp_path):
    case = str(tmp_path / "case.db")
    result = {"columns": [{"name": "file.name", "type": "keyword"}], "values": [["a.postinst"]]}
    ok(hb("case", "tag", "--case", case, "--tag", "suspicious", "--tag", "T1546.016", "--from-json", "-",
          stdin=json.dumps(result)))
    finding = json.loads(ok(hb("case", "list", "--case", case, "--format", "json")))[0]["id"]
    proc = hb("case", "untag", "--case", case, finding, "--tag", "suspicous")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert "suspicous" in proc.stderr and "suspicious, T1546.016" in proc.stderr
    assert json.loads(ok(hb("case", "list", "--case", case, "--format", "json")))[0]["tags"] == ["suspicious", "T1546.016"]
    ok(hb("case", "untag", "--case", case, finding, "--tag", "SUSPICIOUS"))
    assert json.loads(ok(hb("case", "list", "--case", case, "--format", "json")))[0]["tags"] == ["T1546.016"]


# ---------------------------------------------------------------- bad options, no terminal

def run_on_terminal(*args: str) -> tuple[int, str, str]:
    """Run the workbench with a pseudo-terminal as stdin and stdout (stderr apart): what it
    drew on the terminal, and what it said on stderr."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([HUNTBENCH, *args], stdin=slave, stdout=slave, stderr=subprocess.PIPE, text=True)
    os.close(slave)
    try:
        _out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"huntbench {' '.join(args)} opened the workbench instead of failing") from None
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    return proc.returncode, drawn.decode(errors="replace"), err


@pytest.mark.parametrize("args, named", [
    (["--data", "/nonexistent"], "--data /nonexistent"),
    (["--data", "logs-x=/nonexistent/dir"], "--data logs-x=/nonexistent/dir"),
    (["--sample", "--mapping", "logs-x=/nonexistent.json"], "--mapping logs-x=/nonexistent.json"),
    (["--sample", "--ca-certs", "/nonexistent.pem"], "--ca-certs /nonexistent.pem"),
    (["--sample", "--hunts", "/nonexistent"], "--hunts /nonexistent"),
    (["--sample", "--case", "/nonexistent/dir/case.db"], "--case /nonexistent/dir/case.db"),
    (["--sample", "--hunt", "no such hunt"], "no such hunt"),
])
def test_a_bad_option_is_one_error_line_before_the_screen_opens(args, named):
    code, drawn, err = run_on_terminal(*args)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1 and named in err, err
    assert "\x1b[?1049h" not in drawn  # the alternate screen was never entered


def test_the_workbench_without_a_terminal_says_so_and_exits_2():
    proc = subprocess.run([HUNTBENCH, "--sample"], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert "terminal" in proc.stderr and "hunt run" in proc.stderr
    assert proc.stdout == ""


# ---------------------------------------------------------------- the hunt library

def test_two_different_hunts_sharing_a_uuid_are_both_reachable_with_one_warning(hunts, cache):
    listed = json.loads(ok(proc := hb("hunt", "list", "--hunts", str(hunts), "--format", "json", env=cache)))
    sharing = sorted(h["name"] for h in listed if h["uuid"] == SHARED_UUID)
    assert sharing == [LAUNCH, LOGIN]
    uuid_lines = [line for line in proc.stderr.splitlines() if SHARED_UUID in line]
    assert len(uuid_lines) == 1 and LAUNCH in uuid_lines[0] and LOGIN in uuid_lines[0]
    assert ok(hb("hunt", "show", "macos_login_items", "--hunts", str(hunts), env=cache)).startswith(LOGIN + "\n")
    assert ok(hb("hunt", "show", LAUNCH, "--hunts", str(hunts), env=cache)).startswith(LAUNCH + "\n")
    by_uuid = hb("hunt", "show", SHARED_UUID, "--hunts", str(hunts), env=cache)
    assert by_uuid.returncode == 2 and LAUNCH in by_uuid.stderr and LOGIN in by_uuid.stderr


def test_a_true_duplicate_is_folded_and_the_users_copy_wins(tmp_path, cache):
    mine = tmp_path / "mine"
    mine.mkdir()
    copy = mine / "dpkg.toml"
    copy.write_bytes(bundled_hunt_files()[0].read_bytes())
    proc = hb("hunt", "list", "--hunts", str(mine), "--format", "json", env=cache)
    seeds = [h for h in json.loads(ok(proc)) if h["uuid"] == SEED]
    assert [(h["path"], h["bundled"]) for h in seeds] == [(str(copy), False)]
    assert proc.stderr == ""
    assert f"path: {copy}" in ok(hb("hunt", "show", SEED, "--hunts", str(mine), env=cache))


def test_library_warnings_are_shown_once_and_check_lists_them_all(hunts, cache):
    first = hb("hunt", "run", "dpkg", "--sample", "--hunts", str(hunts), "--format", "csv", env=cache)
    assert "broken.toml" in first.stderr and SHARED_UUID in first.stderr
    again = hb("hunt", "run", "dpkg", "--sample", "--hunts", str(hunts), "--format", "csv", env=cache)
    assert again.stdout == first.stdout
    assert "broken.toml" not in again.stderr and SHARED_UUID not in again.stderr
    assert "warning" not in hb("hunt", "list", "--hunts", str(hunts), env=cache).stderr
    check = hb("hunt", "list", "--check", "--hunts", str(hunts), env=cache)
    assert check.returncode == 1
    warnings = [line for line in check.stdout.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2 and any("broken.toml" in w for w in warnings)
    assert any(SHARED_UUID in w for w in warnings)


def test_findings_of_two_hunts_sharing_a_uuid_are_two_findings(tmp_path, hunts, cache):
    case = str(tmp_path / "case.db")
    result = json.dumps({"columns": [{"name": "file.name", "type": "keyword"}], "values": [["x.plist"]]})
    for name in (LAUNCH, LOGIN):
        ok(hb("case", "tag", "--case", case, "--tag", "suspicious", "--hunt", name, "--hunts", str(hunts),
              "--from-json", "-", stdin=result, env=cache))
    found = json.loads(ok(hb("case", "list", "--case", case, "--format", "json")))
    assert sorted(f["hunt"] for f in found) == [LAUNCH, LOGIN]
    assert len({f["id"] for f in found}) == 2
