"""Two real huntbench processes tagging one case at the same time lose nothing."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from casefile import open_case

HUNTBENCH = str(Path(sys.executable).with_name("huntbench"))

ONE_ROW_AT_A_TIME = textwrap.dedent("""
    import os, sys, time
    from casefile import open_case
    path, who, go = sys.argv[1], sys.argv[2], sys.argv[3]
    case = open_case(path, busy_timeout=30)
    while not os.path.exists(go):
        time.sleep(0.005)
    for i in range(1000):
        row = {"agent.id": f"{who}-{i}", "process.command_line": f"/tmp/{who}/{i}.sh"}
        case.tag_rows([row], ["suspicious"], source_kind="offline", source=who, query=1)
    case.close()
""")


def _counts(path: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(path)
    try:
        return (
            conn.execute("SELECT count(*) FROM findings").fetchone()[0],
            conn.execute("SELECT count(*) FROM tags WHERE tag = 'suspicious'").fetchone()[0],
            conn.execute("SELECT count(*) FROM audit").fetchone()[0],
        )
    finally:
        conn.close()


def test_two_processes_tagging_1000_rows_each_one_transaction_per_row(tmp_path):
    path = tmp_path / "c.db"
    open_case(path).close()
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", ONE_ROW_AT_A_TIME, str(path), who, str(go)],
                              stderr=subprocess.PIPE, text=True) for who in ("alpha", "beta")]
    time.sleep(0.5)
    go.touch()
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert _counts(path) == (2000, 2000, 2000)


def test_two_cli_processes_tagging_1000_rows_each_at_once(tmp_path):
    path = tmp_path / "c.db"
    procs = []
    for who in ("alpha", "beta"):
        result = {"columns": [{"name": "agent.id", "type": "keyword"}, {"name": "file.name", "type": "keyword"}],
                  "values": [[f"{who}-{i}", f"{i}.postinst"] for i in range(1000)]}
        source = tmp_path / f"{who}.json"
        source.write_text(json.dumps(result))
        procs.append((source, who))
    running = [subprocess.Popen([HUNTBENCH, "case", "tag", "--case", str(path), "--tag", "suspicious",
                                 "--source", who, "--from-json", str(source)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for source, who in procs]
    outputs = [p.communicate(timeout=300) for p in running]
    assert [p.returncode for p in running] == [0, 0], outputs
    assert sorted(out for out, _ in outputs) == [f"case {path}: 1000 findings created, 0 updated\n"] * 2
    assert _counts(path) == (2000, 2000, 2000)


def test_one_case_shared_by_worker_threads(tmp_path):
    """The workbench tags from worker threads through one open Case."""
    import threading

    errors: list[BaseException] = []
    with open_case(tmp_path / "c.db") as case:
        def work(who: str) -> None:
            try:
                for i in range(200):
                    case.tag_rows([{"agent.id": f"{who}-{i}"}], ["benign"], source_kind="offline", source=who)
                    case.tags_by_finding([])
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert case.info()["counts"] == {"findings": 800, "tags": 800, "notes": 0, "audit": 800}


def test_a_new_case_created_by_another_huntbench_mid_check_is_opened(tmp_path, monkeypatch):
    """Two huntbenches creating the same case: what one reads to decide "is this ours?"
    must be one moment. An id read before the other's commit and tables read after it
    made a half-seen case look like somebody else's database (seen once in CI)."""
    import threading

    import casefile.store as store

    path = tmp_path / "c.db"
    other: dict[str, object] = {}
    real_connect = sqlite3.connect

    def create_meanwhile(sql: str) -> None:
        if "sqlite_master" in sql and "thread" not in other:
            def create() -> None:
                try:
                    open_case(path).close()
                    other["result"] = "opened"
                except BaseException as exc:  # noqa: BLE001 - asserted below
                    other["result"] = exc
            other["thread"] = thread = threading.Thread(target=create)
            thread.start()
            thread.join(timeout=1.0)  # long enough for it to commit, unless our read holds it off

    def connect_watched(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        if "thread" not in other:
            conn.set_trace_callback(create_meanwhile)
        return conn

    monkeypatch.setattr(store.sqlite3, "connect", connect_watched)
    with open_case(path) as case:
        assert case.info()["counts"]["findings"] == 0
    other["thread"].join()  # type: ignore[attr-defined]
    assert other["result"] == "opened"


def test_opening_waits_for_a_writer_before_switching_the_case_to_wal(tmp_path):
    """SQLite's switch to WAL fails at once, without waiting, while another huntbench holds
    the write lock (as when several create one new case together); opening waits instead."""
    import threading

    path = tmp_path / "c.db"
    open_case(path).close()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode = DELETE")  # as a new case is, until its creator switches it
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.5, other.execute, ("COMMIT",)).start()
    try:
        with open_case(path, busy_timeout=10) as case:
            assert case.info()["counts"]["findings"] == 0
    finally:
        time.sleep(0.6)
        other.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
