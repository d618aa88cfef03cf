"""Big files: DuckDB's sampled type detection is checked against the whole file.

DuckDB detects types on the first 20,480 lines by default; these files put the surprise
after that, where a sample-only loader would silently lose or round data.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from collectors.offline import build
from collectors.offline.catalog import Catalog, FieldInfo
from collectors.offline.sql import ident
from collectors.sources import DataSpec

LINES = 25_000


@pytest.fixture(autouse=True)
def _sampled_path(monkeypatch, tmp_path):
    monkeypatch.setattr(build, "SAMPLED_MIN_BYTES", 0)  # every file takes the sampled route
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))


def export(path: Path, last: dict | str, base=lambda i: {"n": i, "msg": "[not json] x"}) -> Path:
    with open(path, "w") as fh:
        for i in range(LINES):
            fh.write(json.dumps(base(i)) + "\n")
        fh.write((last if isinstance(last, str) else json.dumps(last)) + "\n")
    return path


def last_value(cat: Catalog, index: str, field: str):
    return cat.con.execute(
        f"SELECT {ident(field)} FROM {cat.table(index)} ORDER BY n DESC LIMIT 1"
    ).fetchone()[0]


def test_field_first_seen_after_the_sample_is_loaded(tmp_path):
    cat = Catalog.load([DataSpec(export(tmp_path / "a.ndjson", {"n": LINES, "late": {"field": "here"}}))], {})
    assert cat.fields("a")["late.field"] == FieldInfo("late.field", "keyword", False)
    assert last_value(cat, "a", "late.field") == "here"


def test_integer_field_with_a_late_fraction_stays_exact(tmp_path):
    cat = Catalog.load([DataSpec(export(tmp_path / "b.ndjson", {"n": LINES + 0.5}))], {})
    assert cat.fields("b")["n"].type == "double"
    assert cat.con.execute(f"SELECT max(n) FROM {cat.table('b')}").fetchone()[0] == LINES + 0.5


def test_integers_stay_long_when_the_whole_file_agrees(tmp_path):
    cat = Catalog.load([DataSpec(export(tmp_path / "c.ndjson", {"n": 2**53 - 1}))], {})
    assert cat.fields("c")["n"] == FieldInfo("n", "long", False)
    assert cat.con.execute(f"SELECT max(n) FROM {cat.table('c')}").fetchone()[0] == 2**53 - 1


def test_huge_late_integer_keeps_its_digits(tmp_path):
    cat = Catalog.load([DataSpec(export(tmp_path / "h.ndjson", {"n": 2**60 + 1}))], {})
    assert cat.fields("h")["n"].type == "long"
    assert cat.con.execute(f"SELECT max(n) FROM {cat.table('h')}").fetchone()[0] == 2**60 + 1


def test_text_field_that_later_holds_an_array_is_multi_valued(tmp_path):
    cat = Catalog.load([DataSpec(export(tmp_path / "d.ndjson", {"n": LINES, "msg": ["a", "b"]}))], {})
    assert cat.fields("d")["msg"] == FieldInfo("msg", "keyword", True)
    assert last_value(cat, "d", "msg") == ["a", "b"]


def test_text_that_only_looks_like_json_stays_text(tmp_path):
    cat = Catalog.load([DataSpec(export(tmp_path / "e.ndjson", {"n": LINES, "msg": "[1, 2]"}))], {})
    assert cat.fields("e")["msg"] == FieldInfo("msg", "keyword", False)
    assert last_value(cat, "e", "msg") == "[1, 2]"


def test_date_field_with_a_late_non_date_becomes_keyword(tmp_path):
    base = lambda i: {"n": i, "ts": "2026-11-20T12:00:00Z"}  # noqa: E731
    cat = Catalog.load([DataSpec(export(tmp_path / "f.ndjson", {"n": LINES, "ts": "yesterday"}, base))], {})
    assert cat.fields("f")["ts"].type == "keyword"
    assert last_value(cat, "f", "ts") == "yesterday"


def test_malformed_line_after_the_sample_is_counted(tmp_path):
    f = export(tmp_path / "g.ndjson", '{"n": oops')
    cat = Catalog.load([DataSpec(f)], {})
    assert cat.problems == [f"{f}: skipped 1 malformed line (first at line {LINES + 1})"]
    assert cat.con.execute(f"SELECT count(*) FROM {cat.table('g')}").fetchone()[0] == LINES


def test_sampled_and_whole_file_detection_agree(tmp_path, monkeypatch):
    f = export(tmp_path / "s.ndjson", {"n": LINES, "tags": ["x", "y"], "ok": True})
    fast = Catalog.load([DataSpec(f)], {})
    monkeypatch.setattr(build, "SAMPLED_MIN_BYTES", 1 << 40)
    exact = Catalog.load([DataSpec(f)], {})
    assert fast.fields("s") == exact.fields("s")
    query = "SELECT * FROM {} ORDER BY n"
    assert fast.con.execute(query.format(fast.table("s"))).fetchall() == exact.con.execute(
        query.format(exact.table("s"))).fetchall()


def test_gzip_export_with_a_late_field_and_fraction(tmp_path):
    plain = export(tmp_path / "z.ndjson", {"n": LINES + 0.5, "late": {"field": "here"}})
    gz = tmp_path / "z.ndjson.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    cat = Catalog.load([DataSpec(gz)], {})
    assert cat.fields("z")["late.field"] == FieldInfo("late.field", "keyword", False)
    assert cat.fields("z")["n"].type == "double"
    assert cat.con.execute(f"SELECT max(n), count(*) FROM {cat.table('z')}").fetchone() == (LINES + 0.5, LINES + 1)


def test_field_only_null_in_the_sample_keeps_its_late_value(tmp_path):
    base = lambda i: {"n": i, "exit_code": None}  # noqa: E731
    cat = Catalog.load([DataSpec(export(tmp_path / "k.ndjson", {"n": LINES, "exit_code": 3}, base))], {})
    assert cat.fields("k")["exit_code"] == FieldInfo("exit_code", "long", False)
    assert last_value(cat, "k", "exit_code") == 3


def test_uuid_looking_keywords_keep_their_spelling(tmp_path):
    upper = "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"
    base = lambda i: {"n": i, "agent": {"id": upper}, "md5": "d41d8cd98f00b204e9800998ecf8427e"}  # noqa: E731
    cat = Catalog.load([DataSpec(export(tmp_path / "u.ndjson", {"n": LINES, "agent": {"id": "not-a-uuid"}}, base))], {})
    assert cat.fields("u")["agent.id"].type == "keyword"
    rows = cat.con.execute(f'SELECT DISTINCT "agent.id", md5 FROM {cat.table("u")} ORDER BY 1').fetchall()
    assert rows == [(upper, "d41d8cd98f00b204e9800998ecf8427e"), ("not-a-uuid", None)]


def test_new_key_inside_an_array_of_objects_after_the_sample(tmp_path):
    base = lambda i: {"n": i, "dll": [{"name": "a.so"}]}  # noqa: E731
    last = {"n": LINES, "dll": [{"name": "b.so", "hash": {"sha1": "x"}}]}
    cat = Catalog.load([DataSpec(export(tmp_path / "l.ndjson", last, base))], {})
    assert cat.fields("l")["dll.hash.sha1"] == FieldInfo("dll.hash.sha1", "keyword", False)
    assert last_value(cat, "l", "dll.hash.sha1") == "x"


def test_hit_dump_with_late_metadata_and_late_field(tmp_path):
    base = lambda i: {"_index": "idx", "_id": str(i), "_source": {"n": i}}  # noqa: E731
    last = {"_index": "idx", "_id": "z", "_routing": "r", "_source": {"n": LINES, "extra": True}}
    cat = Catalog.load([DataSpec(export(tmp_path / "hits.ndjson", last, base))], {})
    assert set(cat.fields("idx")) == {"n", "extra"}
    assert last_value(cat, "idx", "extra") is True
    assert cat.con.execute(f"SELECT count(*) FROM {cat.table('idx')}").fetchone()[0] == LINES + 1


# The first data pass types a big file from a small sample (the primer's 2,048 lines); a key or
# value that only a later line shows, even one the default 20,480-line sample would have seen,
# must still load exactly as whole-file detection loads it.
BETWEEN = build.PRIMER_SAMPLE + 500


def export_with(path: Path, at: int, odd: dict, base=lambda i: {"n": i, "msg": "x"}) -> Path:
    with open(path, "w") as fh:
        for i in range(LINES):
            fh.write(json.dumps({**base(i), **odd} if i == at else base(i)) + "\n")
    return path


@pytest.mark.parametrize("odd", [
    {"late": {"field": "here"}},
    {"n": 0.5},
    {"dll": [{"name": "b.so", "hash": {"sha1": "x"}}]},
    {"msg": ["a", "b"]},
    {"exit_code": 3},
], ids=["new-key", "fraction", "key-in-array", "text-becomes-array", "late-value"])
def test_surprise_between_the_small_and_the_default_sample_loads_exactly(tmp_path, monkeypatch, odd):
    base = lambda i: {"n": i, "msg": "x", "exit_code": None, "dll": [{"name": "a.so"}]}  # noqa: E731
    f = export_with(tmp_path / "m.ndjson", BETWEEN, odd, base)
    fast = Catalog.load([DataSpec(f)], {})
    monkeypatch.setattr(build, "SAMPLED_MIN_BYTES", 1 << 40)
    exact = Catalog.load([DataSpec(f)], {})
    assert fast.fields("m") == exact.fields("m")
    assert set(odd) <= {name.split(".")[0] for name in fast.fields("m")}
    query = "SELECT * FROM {} ORDER BY n, msg"
    assert fast.con.execute(query.format(fast.table("m"))).fetchall() == exact.con.execute(
        query.format(exact.table("m"))).fetchall()
