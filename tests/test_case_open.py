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

from casefile import open_case
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


# -- writing only into a case that is yours ------------------------------------------------

SECRET_HOST = "responder-secret-host"


def _secret_rows(folder: Path) -> Path:
    """A result naming a host the responder would not hand to anyone, readable by both users."""
    rows = folder / "secret-rows.json"
    rows.write_text(json.dumps({"columns": ROWS["columns"], "values": [["dropper.sh", SECRET_HOST]]}),
                    encoding="utf-8")
    rows.chmod(0o644)
    return rows


def _leaked(folder: Path) -> list[str]:
    """The files in ``folder`` (side files included) that hold the responder's secret host."""
    return [p.name for p in folder.iterdir() if p.is_file() and SECRET_HOST.encode() in p.read_bytes()]


def _writable_for_everyone(case: Path) -> Path:
    """The owner's case and its side files made writable by all, to collect what others tag."""
    for path in case.parent.glob(f"{case.name}*"):
        path.chmod(0o666)
    return case


def _first_id(case: Path, capsys) -> str:
    code, out, err = run_cli(["case", "list", "--case", str(case), "--format", "json"], capsys)
    assert code == 0, err
    return json.loads(out)[0]["id"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def no_sudo(monkeypatch):
    """Root as itself, not acting for a sudo user (whose files it may write)."""
    monkeypatch.delenv("SUDO_UID", raising=False)


@needs_root
def test_a_link_to_another_users_writable_case_gets_none_of_your_findings(shared_folder, capsys, tmp_path):
    theirs = _writable_for_everyone(_owner_case(shared_folder, capsys, tmp_path))
    planted = shared_folder / "huntbench-case.db"
    planted.symlink_to(theirs)
    before = _digest(theirs)
    rows = _secret_rows(shared_folder)
    code, output = as_other_user(["case", "tag", "--tag", "malicious", "--from-json", str(rows),
                                  "--case", str(planted)])
    assert code == 2, output
    assert output.count("\n") == 1 and output.startswith("error:")
    assert str(planted) in output and "root" in output and "--case" in output
    assert _digest(theirs) == before
    assert _leaked(shared_folder) == [rows.name]


@needs_root
@pytest.mark.parametrize("command", ["tag", "note"])
def test_another_users_world_writable_case_is_not_written(shared_folder, capsys, tmp_path, command):
    theirs = _writable_for_everyone(_owner_case(shared_folder, capsys, tmp_path))
    before = _digest(theirs)
    rows = _secret_rows(shared_folder)
    if command == "tag":
        argv = ["case", "tag", "--tag", "malicious", "--from-json", str(rows)]
    else:
        argv = ["case", "note", _first_id(theirs, capsys), f"seen on {SECRET_HOST}"]
    code, output = as_other_user([*argv, "--case", str(theirs)])
    assert code == 2, output
    assert output.count("\n") == 1 and "belongs to root" in output and str(theirs) in output
    assert _digest(theirs) == before
    assert _leaked(shared_folder) == [rows.name]


@needs_root
def test_another_user_still_reads_a_colleagues_case_through_a_link(shared_folder, capsys, tmp_path):
    theirs = _owner_case(shared_folder, capsys, tmp_path)
    link = shared_folder / "colleague.db"
    link.symlink_to(theirs)
    before = _digest(theirs)
    fid = _first_id(theirs, capsys)
    for argv in (["case", "list"], ["case", "show", fid], ["case", "export", "--out", "-"]):
        code, output = as_other_user([*argv, "--case", str(link)])
        assert code == 0, output
        assert ".rpm-check" in output
    assert _digest(theirs) == before


@needs_root
def test_root_does_not_write_into_a_case_another_user_planted(tmp_path, capsys, no_sudo):
    theirs = tmp_path / "huntbench-case.db"
    assert tag(theirs, capsys, tmp_path)[0] == 0
    os.chown(theirs, OTHER_UID, OTHER_UID)
    theirs.chmod(0o666)
    before = _digest(theirs)
    rows = _secret_rows(tmp_path)
    code, out, err = run_cli(["case", "tag", "--tag", "malicious", "--from-json", str(rows),
                              "--case", str(theirs)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "belongs to nobody (uid 65534)" in err and "--case" in err
    assert _digest(theirs) == before
    assert _leaked(tmp_path) == [rows.name]


@needs_root
def test_an_empty_file_another_user_left_at_the_path_is_not_taken_as_a_new_case(tmp_path, capsys, no_sudo):
    planted = tmp_path / "huntbench-case.db"
    planted.touch(mode=0o666)
    os.chown(planted, OTHER_UID, OTHER_UID)
    code, out, err = run_cli(["case", "tag", "--tag", "malicious", "--from-json", str(_secret_rows(tmp_path)),
                              "--case", str(planted)], capsys)
    assert code == 2 and "belongs to nobody" in err
    assert planted.stat().st_size == 0


@needs_root
def test_a_link_someone_else_owns_is_not_followed_even_to_your_own_case(tmp_path, capsys, no_sudo):
    mine = tmp_path / "mine.db"
    assert tag(mine, capsys, tmp_path)[0] == 0
    before = _digest(mine)
    link = tmp_path / "huntbench-case.db"
    link.symlink_to(mine)
    os.lchown(link, OTHER_UID, OTHER_UID)
    code, out, err = run_cli(["case", "tag", "--tag", "malicious", "--from-json", str(_secret_rows(tmp_path)),
                              "--case", str(link)], capsys)
    assert code == 2
    assert "symbolic link owned by nobody" in err and str(link) in err
    assert _digest(mine) == before


@needs_root
def test_your_own_link_to_your_own_case_is_followed(tmp_path, capsys, no_sudo):
    mine = tmp_path / "cases" / "mine.db"
    mine.parent.mkdir()
    assert tag(mine, capsys, tmp_path)[0] == 0
    link = tmp_path / "huntbench-case.db"
    link.symlink_to(Path("cases") / "mine.db")
    code, out, err = run_cli(["case", "tag", "--tag", "malicious", "--from-json", str(_secret_rows(tmp_path)),
                              "--case", str(link)], capsys)
    assert code == 0, err
    assert "1 findings created" in out
    assert link.is_symlink() and sorted(p.name for p in mine.parent.iterdir()) == ["mine.db"]
    assert _leaked(mine.parent) == ["mine.db"]


@needs_root
def test_a_write_ahead_log_another_user_planted_beside_your_case_is_refused(tmp_path, capsys, no_sudo):
    mine = tmp_path / "case.db"
    assert tag(mine, capsys, tmp_path)[0] == 0
    planted = Path(f"{mine}-wal")
    planted.touch(mode=0o666)
    os.chown(planted, OTHER_UID, OTHER_UID)
    code, out, err = run_cli(["case", "tag", "--tag", "malicious", "--from-json", str(_secret_rows(tmp_path)),
                              "--case", str(mine)], capsys)
    assert code == 2
    assert f"{planted} beside case file {mine} belongs to nobody" in err
    assert planted.stat().st_size == 0 and _leaked(tmp_path) == ["secret-rows.json"]


@needs_root
def test_the_workbench_does_not_tag_into_another_users_case(tmp_path, capsys, no_sudo):
    from casefile import CaseError
    from tui.case_gateway import CaseGateway

    theirs = tmp_path / "huntbench-case.db"
    assert tag(theirs, capsys, tmp_path)[0] == 0
    os.chown(theirs, OTHER_UID, OTHER_UID)
    before = _digest(theirs)
    gateway = CaseGateway(theirs)
    try:
        with pytest.raises(CaseError, match="belongs to nobody"):
            gateway.call_sync(lambda case: case.tag_rows([{"host.name": SECRET_HOST}], ["malicious"],
                                                         source_kind="offline", source="x.ndjson"))
    finally:
        gateway.close()
    assert _digest(theirs) == before


@needs_root
def test_root_acting_for_a_sudo_user_writes_that_users_case(tmp_path, capsys, monkeypatch):
    case = tmp_path / "huntbench-case.db"
    assert tag(case, capsys, tmp_path)[0] == 0
    for path in (tmp_path, case):
        os.chown(path, OTHER_UID, OTHER_UID)
    monkeypatch.setenv("SUDO_UID", str(OTHER_UID))
    code, out, err = run_cli(["case", "tag", "--tag", "malicious", "--from-json", str(_secret_rows(tmp_path)),
                              "--case", str(case)], capsys)
    assert code == 0, err
    with open_case(case) as opened:  # while root has it open, the side files are the user's too
        opened.add_note(_first_id(case, capsys), "seen by root")
        side = {p.name: p.stat().st_uid for p in tmp_path.iterdir() if p.name.startswith(case.name)}
    assert side == {case.name: OTHER_UID, f"{case.name}-wal": OTHER_UID, f"{case.name}-shm": OTHER_UID}
    monkeypatch.delenv("SUDO_UID")
    code, out, err = run_cli(["case", "note", "--case", str(case), _first_id(case, capsys), "x"], capsys)
    assert code == 2 and "belongs to nobody" in err


def test_a_case_swapped_for_another_file_after_the_check_is_refused(tmp_path, capsys):
    from casefile import CaseError
    from casefile.ownership import claim, confirm

    case, other = tmp_path / "case.db", tmp_path / "other.db"
    for path in (case, other):
        assert tag(path, capsys, tmp_path)[0] == 0
    held = claim(case)
    other.replace(case)  # what a writer of the folder could do between the check and SQLite's open
    with pytest.raises(CaseError, match="was replaced by another file while being opened"):
        confirm(held)
