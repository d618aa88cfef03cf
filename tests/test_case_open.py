"""Opening and creating the case file safely: no writing through planted links, private
permissions, readers that never lock the owner out, and foreign SQLite files left alone."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import tempfile
from pathlib import Path

import pytest

from casefile.schema import APPLICATION_ID
from tests.es_standin import run_cli

ROWS = {"columns": [{"name": "file.name", "type": "keyword"}, {"name": "host.name", "type": "keyword"}],
        "values": [[".rpm-check", "k8s-node-03"]]}
OTHER_UID = 65534  # nobody


def tag(case: Path | None, capsys, tmp_path, monkeypatch=None) -> tuple[int, str, str]:
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps(ROWS), encoding="utf-8")
    args = ["case", "tag", "--tag", "malicious", "--from-json", str(rows)]
    return run_cli(args + (["--case", str(case)] if case else []), capsys)


def test_a_dangling_link_at_the_default_path_is_refused(tmp_path, capsys, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "huntbench-case.db").symlink_to(elsewhere / "planted.db")
    monkeypatch.chdir(work)
    code, out, err = tag(None, capsys, tmp_path)
    assert code == 2
    assert err.count("\n") == 1 and "symbolic link" in err and "error:" in err
    assert list(elsewhere.iterdir()) == []


def test_a_new_case_file_is_private(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        code, out, err = tag(tmp_path / "case.db", capsys, tmp_path)
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "case.db").stat().st_mode) == 0o600


def _sqlite_file(path: Path, *, application_id: int = 0, user_version: int = 0) -> str:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {application_id}")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.commit()
    conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("command", [["case", "list"], ["case", "info"], ["case", "tag"]])
def test_an_empty_database_of_another_application_is_refused(tmp_path, capsys, command):
    foreign = tmp_path / "other.db"
    digest = _sqlite_file(foreign, application_id=0x4D504B47)
    if command[-1] == "tag":
        code, out, err = tag(foreign, capsys, tmp_path)
    else:
        code, out, err = run_cli([*command, "--case", str(foreign)], capsys)
    assert code == 2
    assert "not a huntbench case file (application_id 0x4d504b47" in err
    assert hashlib.sha256(foreign.read_bytes()).hexdigest() == digest


def test_another_applications_user_version_is_not_called_a_newer_schema(tmp_path, capsys):
    foreign = tmp_path / "other.db"
    digest = _sqlite_file(foreign, user_version=7)
    code, out, err = tag(foreign, capsys, tmp_path)
    assert code == 2
    assert "not a huntbench case file" in err and "newer" not in err
    assert hashlib.sha256(foreign.read_bytes()).hexdigest() == digest


def test_a_newer_huntbench_case_is_still_called_newer(tmp_path, capsys):
    newer = tmp_path / "newer.db"
    _sqlite_file(newer, application_id=APPLICATION_ID, user_version=99)
    code, out, err = run_cli(["case", "list", "--case", str(newer)], capsys)
    assert code == 2 and "schema version 99, newer" in err


# -- a second user reading the case -----------------------------------------------------

needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                                reason="switching to a second user id needs root")


def as_other_user(argv: list[str]) -> tuple[int, str]:
    """Run ``huntbench ARGV`` in a forked child that has switched to uid/gid ``nobody``
    (the interpreter's own files may not be readable by that user, so the child reuses the
    already-imported modules instead of starting a new interpreter). (exit code, output)."""
    from cli.main import main

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            import sys

            # pytest's capture replaced sys.stdout/err; the child writes to the pipe
            sys.stdout = sys.stderr = open(write_end, "w", encoding="utf-8", closefd=False)
            os.setgroups([])
            os.setgid(OTHER_UID)
            os.setuid(OTHER_UID)
            try:
                main(argv)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout.flush()
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


@pytest.fixture
def shared_folder():
    """A folder both users reach, like /tmp: world-writable with the sticky bit."""
    folder = Path(tempfile.mkdtemp(prefix="huntbench-shared-"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _owner_case(folder: Path, capsys, tmp_path) -> Path:
    """A case the owner (root here) tagged into, closed, and made readable by others."""
    case = folder / "case.db"
    code, out, err = tag(case, capsys, tmp_path)
    assert code == 0, err
    case.chmod(0o644)
    assert not Path(f"{case}-wal").exists()  # closed cleanly: no side files left
    run_cli(["case", "list", "--case", str(case)], capsys)  # warm every import before forking
    return case


@needs_root
def test_another_user_reading_the_case_does_not_lock_the_owner_out(shared_folder, capsys, tmp_path):
    case = _owner_case(shared_folder, capsys, tmp_path)
    code, output = as_other_user(["case", "list", "--case", str(case)])
    assert code == 0, output
    assert "1 findings" in output
    strangers = [p.name for p in shared_folder.iterdir() if p.stat().st_uid == OTHER_UID]
    assert strangers == []
    code, out, err = tag(case, capsys, tmp_path)  # the owner can still write
    assert code == 0, err


@needs_root
def test_another_user_can_read_a_case_in_a_folder_they_cannot_write(shared_folder, capsys, tmp_path):
    folder = shared_folder / "owner-only"
    folder.mkdir(mode=0o755)
    case = _owner_case(folder, capsys, tmp_path)
    for argv in (["case", "list"], ["case", "info"], ["case", "export", "--out", "-"]):
        code, output = as_other_user([*argv, "--case", str(case)])
        assert code == 0, output
        assert ".rpm-check" in output or "findings: 1" in output
