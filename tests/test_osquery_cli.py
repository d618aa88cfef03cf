"""``huntbench scan`` and ``huntbench osquery`` as a responder runs them (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def huntbench(*args: str, tmp_path: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin"), "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    (tmp_path / "empty-bin").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", *args],
        cwd=REPO, env=env, capture_output=True, text=True, input=stdin, timeout=120,
    )


def test_scan_default_hunt_on_root_prints_recent_files_as_json(image, tmp_path):
    root, facts = image
    proc = huntbench("scan", "--root", str(root), "--format", "json", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert [c["name"] for c in body["columns"]][:2] == ["filename", "path"]
    paths = {row[1] for row in body["values"]}
    assert paths == set(facts["recent"])
    owners = {row[1]: row[2] for row in body["values"]}
    assert owners["/var/lib/dpkg/info/evil.postinst"] == "evidence-owner"
    assert "note: answered by builtin on --root" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_scan_on_this_machine_without_osquery(tmp_path):
    proc = huntbench("scan", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    header = proc.stdout.splitlines()[0]
    assert header.split("|")[0].strip() == "filename" and "size_bytes" in header
    assert "using the built-in tables" in proc.stderr


def test_select_star_from_file_fails_with_osquery_message(tmp_path):
    proc = huntbench("osquery", "SELECT * FROM file", tmp_path=tmp_path)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: constraint failed (Table file was queried without a required column in "
                      "the WHERE clause; Please see the table documentation: https://osquery.io/schema/#file)"]
    assert "Traceback" not in proc.stderr


def test_osquery_sql_from_file_as_csv(image, tmp_path):
    root, _ = image
    sql = tmp_path / "q.sql"
    sql.write_text("SELECT filename, mode FROM file WHERE path = '/etc/hostname'")
    proc = huntbench("osquery", f"@{sql}", "--root", str(root), "--format", "csv", tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["filename,mode", "hostname,0644"]


def test_osquery_from_stdin_and_table_output_escapes_names(image, tmp_path):
    root, _ = image
    evil = root / "var/lib/dpkg/info" / "x\x1b[31mred.postinst"
    evil.write_text("#!/bin/sh\n")
    proc = huntbench("osquery", "-", "--root", str(root), tmp_path=tmp_path,
                     stdin="SELECT filename FROM file WHERE path LIKE '/var/lib/dpkg/info/x%'")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "x\\x1b[31mred.postinst" in proc.stdout


def test_root_with_osqueryi_backend_is_usage_error(image, tmp_path):
    root, _ = image
    proc = huntbench("osquery", "SELECT 1", "--root", str(root), "--backend", "osqueryi", tmp_path=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --root works only with the builtin backend, not osqueryi"


def test_hunt_without_osquery_sql(tmp_path):
    hunts = tmp_path / "hunts"
    hunts.mkdir()
    (hunts / "h.toml").write_text(
        '[hunt]\nuuid = "u-1"\nname = "Only ESQL"\nquery = ["from logs-* | limit 1"]\n')
    proc = huntbench("scan", "Only ESQL", "--hunts", str(hunts), tmp_path=tmp_path)
    assert proc.returncode == 2
    assert "has no osquery SQL query" in proc.stderr
