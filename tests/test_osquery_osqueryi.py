"""The osqueryi backend against recorded osqueryi shell output (a fake osqueryi on PATH)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from collectors.osquery import run_osquery
from collectors.osquery.osqueryi import parse_csv, parse_error
from collectors.result import QueryError, SourceError
from hunts import load_library

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "osquery"


@pytest.fixture
def fake_osqueryi(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "osqueryi"
    wrapper.write_text(f"#!{sys.executable}\nimport runpy, sys\n"
                       f"sys.argv[0] = {str(FIXTURES / 'fake_osqueryi.py')!r}\n"
                       f"runpy.run_path(sys.argv[0], run_name='__main__')\n")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return wrapper


def test_seed_query_keeps_select_order_types_and_nulls(fake_osqueryi):
    sql = load_library([]).default.osquery_queries[0].text
    result = run_osquery(sql)                          # auto finds osqueryi first
    assert result.backend == "osqueryi"
    assert result.column_names == [
        "filename", "path", "file_owner", "group_owner", "file_last_access_time",
        "file_last_modified_time", "file_last_status_change_time", "file_created_time", "size_bytes",
    ]
    assert [c.type for c in result.columns] == ["keyword"] * 8 + ["long"]
    assert result.values[0] == [
        "evil.postinst", "/var/lib/dpkg/info/evil.postinst", "root", "root", "2026-11-26 09:14:02",
        "2026-11-26 09:14:02", "2026-11-26 09:14:02", "1970-01-01 00:00:00", 183,
    ]
    assert result.values[1][2:4] == [None, None]      # LEFT JOIN with no user: NULL, not ''
    assert result.values[2][0] == "fichier été.list"


def test_empty_string_null_quotes_and_newlines(fake_osqueryi):
    result = run_osquery("SELECT '' AS empty, NULL AS nothing, 'a,b \"q\"' AS tricky, 42 AS n, "
                         "1.5 AS f, 'line1\nline2' AS ml;", backend="osqueryi")
    assert result.values == [["", None, 'a,b "q"', 42, 1.5, "line1\nline2"]]
    assert [c.type for c in result.columns] == ["keyword", "keyword", "keyword", "long", "double", "keyword"]


def test_missing_constraint_error_matches_builtin(fake_osqueryi, tmp_path):
    with pytest.raises(QueryError) as from_osqueryi:
        run_osquery("SELECT * FROM file", backend="osqueryi")
    with pytest.raises(QueryError) as from_builtin:
        run_osquery("SELECT * FROM file", backend="builtin", root=tmp_path)
    assert str(from_osqueryi.value) == str(from_builtin.value)
    assert "\n" not in str(from_osqueryi.value)


def test_sqlite_error_is_one_line(fake_osqueryi):
    with pytest.raises(QueryError) as err:
        run_osquery("SELECT * FROM nope", backend="osqueryi")
    assert str(err.value) == "no such table: nope"


def test_zero_rows_still_give_columns(fake_osqueryi):
    result = run_osquery("SELECT path, size FROM file WHERE path = '/nonexistent'", backend="osqueryi")
    assert result.values == []
    assert [(c.name, c.type) for c in result.columns] == [("path", "keyword"), ("size", "long")]


def test_timeout_becomes_source_error(fake_osqueryi):
    with pytest.raises(SourceError, match="did not answer within 0.5 s"):
        run_osquery("SELECT 1 AS slow", backend="osqueryi", timeout=0.5)


def test_missing_osqueryi(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SourceError, match="osqueryi not found on PATH"):
        run_osquery("SELECT 1", backend="osqueryi")


def test_root_needs_builtin(tmp_path):
    from collectors.result import HuntbenchError

    with pytest.raises(HuntbenchError, match="--root works only with the builtin backend"):
        run_osquery("SELECT 1", backend="osqueryi", root=tmp_path)


def test_csv_parser_and_error_parser():
    assert parse_csv('a,b,c\n"",,"x\ny"\n') == [["a", "b", "c"], ["", None, "x\ny"]]
    assert parse_csv("a,\n") == [["a", None]]
    assert parse_error("I1127 10:00:00.000001 12 init.cpp:1] hello\nError: near line 6: boom\n") == "boom"
    assert parse_error("all fine\n") is None
