"""Loading NDJSON exports into the offline catalog: what a responder sees in FROM."""

from __future__ import annotations

import gzip
import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from collectors.offline.catalog import Catalog, FieldInfo
from collectors.offline.sql import ident
from collectors.result import SourceError
from collectors.sources import DataSpec
from tests.shared import shared_path, split_outside_brackets


def write_ndjson(path: Path, docs: list, gz: bool = False) -> Path:
    text = "".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in docs)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load(*specs, mappings=None) -> Catalog:
    out = []
    for s in specs:
        out.append(s if isinstance(s, DataSpec) else DataSpec(Path(s)))
    return Catalog.load(out, mappings or {})


def rows(cat: Catalog, index: str, *cols: str, order: str | None = None) -> list[tuple]:
    select = ", ".join(ident(c) for c in cols)
    order_by = f" ORDER BY {ident(order)}" if order else ""
    return cat.con.execute(f"SELECT {select} FROM {cat.table(index)}{order_by}").fetchall()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


# -- flattening and multi-values ------------------------------------------------------------

def test_nested_objects_flatten_to_dotted_columns(tmp_path):
    f = write_ndjson(tmp_path / "app.ndjson", [
        {"process": {"name": "dpkg", "parent": {"executable": "/usr/bin/apt", "pid": 10}}, "user.name": "root"},
        {"process": {"name": "sh", "parent": {"executable": "/usr/bin/dpkg", "pid": 11}}, "user": {"name": "bob"}},
    ])
    cat = load(f)
    assert cat.indices() == ["app"]
    assert set(cat.fields("app")) == {"process.name", "process.parent.executable", "process.parent.pid", "user.name"}
    assert rows(cat, "app", "process.parent.executable", "process.parent.pid", "user.name", order="process.parent.pid") == [
        ("/usr/bin/apt", 10, "root"),
        ("/usr/bin/dpkg", 11, "bob"),
    ]


def test_arrays_become_multi_values_and_one_element_arrays_single_values(tmp_path):
    f = write_ndjson(tmp_path / "ev.ndjson", [
        {"n": 1, "event": {"type": ["start"], "category": ["process"]}, "tags": ["b", "a", "b"]},
        {"n": 2, "event": {"type": ["start", "info"], "category": "process"}, "tags": []},
        {"n": 3, "event": {"type": "end", "category": ["process"]}, "tags": None},
    ])
    cat = load(f)
    fields = cat.fields("ev")
    assert fields["event.type"] == FieldInfo("event.type", "keyword", True)
    assert fields["event.category"] == FieldInfo("event.category", "keyword", False)
    assert fields["tags"].multi
    got = rows(cat, "ev", "n", "event.type", "event.category", "tags", order="n")
    assert got == [
        (1, ["start"], "process", ["a", "b"]),  # keywords come back sorted and de-duplicated
        (2, ["info", "start"], "process", None),  # [] is null
        (3, ["end"], "process", None),
    ]


def test_numeric_multi_values_keep_duplicates_sorted(tmp_path):
    f = write_ndjson(tmp_path / "n.ndjson", [{"id": 1, "v": [3, 1, 3]}, {"id": 2, "v": 5}])
    cat = load(f)
    assert cat.fields("n")["v"] == FieldInfo("v", "long", True)
    assert rows(cat, "n", "v", order="id") == [([1, 3, 3],), ([5],)]


def test_arrays_of_objects_flatten_per_leaf(tmp_path):
    f = write_ndjson(tmp_path / "o.ndjson", [
        {"id": 1, "dll": [{"name": "a.so", "size": 5}, {"name": "b.so"}]},
        {"id": 2, "dll": [{"name": "c.so", "size": 7}]},
    ])
    cat = load(f)
    fields = cat.fields("o")
    assert fields["dll.name"] == FieldInfo("dll.name", "keyword", True)
    assert fields["dll.size"] == FieldInfo("dll.size", "long", False)
    assert rows(cat, "o", "dll.name", "dll.size", order="id") == [(["a.so", "b.so"], 5), (["c.so"], 7)]


# -- types --------------------------------------------------------------------------------------

def test_dynamic_mapping_types(tmp_path):
    f = write_ndjson(tmp_path / "t.ndjson", [
        {"@timestamp": "2026-11-20T12:00:00.123456Z", "pid": 4, "ratio": 0.5, "ok": True,
         "user": {"id": "0"}, "when": "2026-11-20T14:00:00+02:00", "day": "1953-09-02"},
        {"@timestamp": "2026-11-20T12:00:01Z", "pid": 5, "ratio": 2, "ok": False,
         "user": {"id": "1000"}, "when": "2026-11-20T13:00:00+02:00", "day": "1953-09-03"},
    ])
    cat = load(f)
    types = {n: fi.type for n, fi in cat.fields("t").items()}
    assert types == {"@timestamp": "date", "pid": "long", "ratio": "double", "ok": "boolean",
                     "user.id": "keyword", "when": "date", "day": "date"}
    got = rows(cat, "t", "@timestamp", "when", "day", "ratio", "user.id", order="pid")
    assert got[0] == (datetime(2026, 11, 20, 12, 0, 0, 123000), datetime(2026, 11, 20, 12, 0), datetime(1953, 9, 2), 0.5, "0")
    assert got[1][3] == 2.0


def test_conflicting_value_types_become_keyword_with_a_notice(tmp_path):
    f = write_ndjson(tmp_path / "c.ndjson", [{"id": 1, "port": 443}, {"id": 2, "port": "https"}])
    cat = load(f)
    assert cat.fields("c")["port"].type == "keyword"
    assert rows(cat, "c", "port", order="id") == [("443",), ("https",)]
    assert any("[port]" in p and "keyword" in p for p in cat.problems)


def test_mapping_types_and_multi_fields(tmp_path):
    f = write_ndjson(tmp_path / "m.ndjson", [
        {"pid": "42", "size": 1.7, "cmd": "a b", "seen": 1700000000000, "ip": "10.0.0.1"},
        {"pid": 7, "size": [2.9, 3], "cmd": "c", "seen": "2026-11-20T00:00:00Z"},
    ])
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"mappings": {"properties": {
        "pid": {"type": "integer"},
        "size": {"type": "long"},
        "cmd": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
        "seen": {"type": "date"},
        "ip": {"type": "ip"},
        "absent": {"type": "keyword"},
        "host": {"properties": {"os": {"type": "keyword"}}},
    }}}))
    cat = load(f, mappings={"m": mapping})
    types = {n: (fi.type, fi.multi) for n, fi in cat.fields("m").items()}
    assert types == {
        "pid": ("integer", False), "size": ("long", True), "cmd": ("text", False),
        "cmd.keyword": ("keyword", False), "seen": ("date", False), "ip": ("ip", False),
        "absent": ("keyword", False), "host.os": ("keyword", False),
    }
    got = rows(cat, "m", "pid", "size", "cmd.keyword", "seen", "absent", order="pid")
    assert got == [
        (7, [2, 3], "c", datetime(2026, 11, 20), None),
        (42, [1], "a b", datetime(2023, 11, 14, 22, 13, 20), None),  # long truncates, epoch_millis
    ]


def read_employees(csv_path: Path) -> tuple[list[dict], dict[str, str], list[dict]]:
    """employees.csv as source documents (base fields only) plus its expected sub-fields."""
    lines = csv_path.read_text().splitlines()
    header = [h.strip().split(":") for h in lines[0].split(",")]
    docs, expected = [], []

    def cell(text: str, kind: str):
        text = text.strip()
        if text == "":
            return None
        if text.startswith("["):
            inner = text[1:-1]
            return [cell(v, kind) for v in inner.split(",")] if inner.strip() else None
        if kind in ("integer", "long", "short", "byte"):
            return int(text)
        if kind in ("double", "float", "half_float", "scaled_float"):
            return float(text)
        if kind == "boolean":
            return text == "true"
        return text

    for line in lines[1:]:
        values = _split_csv(line)
        row = {name: cell(v, kind) for (name, kind), v in zip(header, values)}
        expected.append(row)
        docs.append({k: v for k, v in row.items() if "." not in k and v is not None})
    return docs, {name: kind for name, kind in header}, expected


def _split_csv(line: str) -> list[str]:
    return split_outside_brackets(line, ",")


def test_employees_with_mapping_default_through_from_documents():
    import struct


    csv_path = shared_path("conformance", "esql", "employees.csv")
    mapping = json.loads(shared_path("conformance", "esql", "mapping-default.json").read_text())
    docs, kinds, expected = read_employees(csv_path)
    cat = Catalog.from_documents({"employees": docs}, {"employees": mapping})
    fields = cat.fields("employees")
    assert {n: f.type for n, f in fields.items()} == {
        "avg_worked_seconds": "long", "birth_date": "date", "emp_no": "integer", "first_name": "keyword",
        "gender": "keyword", "height": "double", "height.float": "double", "height.half_float": "double",
        "height.scaled_float": "double", "hire_date": "date", "is_rehired": "boolean", "job_positions": "keyword",
        "languages": "integer", "languages.byte": "integer", "languages.long": "long", "languages.short": "integer",
        "last_name": "keyword", "salary": "integer", "salary_change": "double", "salary_change.int": "integer",
        "salary_change.keyword": "keyword", "salary_change.long": "long", "still_hired": "boolean",
    }
    assert fields["job_positions"].multi and fields["salary_change.int"].multi and not fields["salary"].multi
    cols = ["emp_no", "height.float", "height.half_float", "height.scaled_float", "salary_change.int",
            "salary_change.keyword", "languages.long", "job_positions", "birth_date"]
    got = {r[0]: r for r in rows(cat, "employees", *cols)}
    assert len(got) == 100
    for exp in expected:
        r = got[exp["emp_no"]]
        h = exp["height"]
        assert r[1] == struct.unpack("f", struct.pack("f", h))[0]
        assert r[2] == struct.unpack("e", struct.pack("e", h))[0]
        assert r[3] == round(h * 100) / 100
        want_int = sorted(exp["salary_change.int"]) if exp["salary_change.int"] else None
        assert r[4] == want_int
        want_kw = sorted({f"{v}" for v in exp["salary_change"]}) if exp["salary_change"] else None
        assert r[5] == want_kw
        assert r[6] == exp["languages.long"]
        jp = exp["job_positions"]
        assert r[7] == (sorted(set(jp)) if jp else None)
        if exp["birth_date"]:
            assert r[8] == datetime.fromisoformat(exp["birth_date"].replace("Z", ""))
        else:
            assert r[8] is None
    by_no = got[10001]
    assert by_no[1] == 2.0299999713897705


def test_from_documents_index_with_mapping_and_no_documents():
    cat = Catalog.from_documents({"empty": []}, {"empty": {"properties": {"a": {"type": "long"}}}})
    assert cat.fields("empty") == {"a": FieldInfo("a", "long", False)}
    assert rows(cat, "empty", "a") == []


def test_from_documents_dotted_and_nested_keys_are_one_field():
    cat = Catalog.from_documents({"x": [{"a.b": 1}, {"a": {"b": 2}}]})
    assert cat.fields("x") == {"a.b": FieldInfo("a.b", "long", False)}
    assert sorted(rows(cat, "x", "a.b")) == [(1,), (2,)]


# -- index naming -------------------------------------------------------------------------------

def test_index_names_from_index_data_stream_file_name_and_forced(tmp_path):
    f = write_ndjson(tmp_path / "export.2026.ndjson.gz", [
        {"data_stream": {"type": "logs", "dataset": "endpoint.events.process", "namespace": "default"}, "n": 1},
        {"data_stream.type": "logs", "data_stream.dataset": "endpoint.events.file", "data_stream.namespace": "default", "n": 2},
        {"n": 3},
        {"data_stream": {"type": "logs"}, "n": 4},
    ], gz=True)
    cat = load(f)
    assert cat.indices() == ["export.2026", "logs-endpoint.events.file-default", "logs-endpoint.events.process-default"]
    assert rows(cat, "export.2026", "n", order="n") == [(3,), (4,)]
    assert rows(cat, "logs-endpoint.events.file-default", "n") == [(2,)]
    forced = load(DataSpec(f, "mine"))
    assert forced.indices() == ["mine"]
    assert rows(forced, "mine", "n", order="n") == [(1,), (2,), (3,), (4,)]


def test_hit_dump_lines_use_index_and_source(tmp_path):
    f = write_ndjson(tmp_path / "dump.ndjson", [
        {"_index": ".ds-logs-endpoint.events.process-default-2026.11.20-000001", "_id": "a", "_score": 1.0,
         "_source": {"process": {"name": "dpkg"}, "data_stream": {"type": "logs", "dataset": "x", "namespace": "y"}}},
        {"_index": "other", "_type": "_doc", "_id": "b", "_source": {"process": {"name": "rpm"}}},
    ])
    cat = load(f)
    assert cat.indices() == [".ds-logs-endpoint.events.process-default-2026.11.20-000001", "other"]
    assert rows(cat, "other", "process.name") == [("rpm",)]
    assert "_id" not in cat.fields("other") and "_source.process.name" not in cat.fields("other")


def test_whole_search_response_file(tmp_path):
    response = {"took": 3, "timed_out": False, "hits": {"total": {"value": 2}, "hits": [
        {"_index": "idx", "_id": "1", "_source": {"a": 1}},
        {"_index": "idx", "_id": "2", "_source": {"a": [2, 3]}},
    ]}}
    f = tmp_path / "resp.json"
    f.write_text(json.dumps(response, indent=2))
    cat = load(f)
    assert cat.indices() == ["idx"]
    assert rows(cat, "idx", "a") == [([1],), ([2, 3],)]


def test_folder_of_files_merges_same_index_and_reconciles_types(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    write_ndjson(tmp_path / "d" / "a.ndjson", [{"_index": "i", "_source": {"v": 1, "k": "x"}}])
    write_ndjson(tmp_path / "d" / "sub" / "b.ndjson.gz", [{"_index": "i", "_source": {"v": 2.5, "k": ["y", "z"]}}], gz=True)
    (tmp_path / "d" / "notes.txt").write_text("not data")
    cat = load(tmp_path / "d")
    assert cat.indices() == ["i"]
    assert cat.fields("i") == {"k": FieldInfo("k", "keyword", True), "v": FieldInfo("v", "double", False)}
    assert sorted(rows(cat, "i", "v", "k")) == [(1.0, ["x"]), (2.5, ["y", "z"])]


def test_resolve_patterns(tmp_path):
    f = write_ndjson(tmp_path / "x.ndjson", [
        {"_index": "logs-endpoint.events.process-default", "_source": {"a": 1}},
        {"_index": "logs-endpoint.events.file-default", "_source": {"a": 1}},
        {"_index": "metrics-x", "_source": {"a": 1}},
    ])
    cat = load(f)
    assert cat.resolve("logs-endpoint.events.*") == ["logs-endpoint.events.file-default", "logs-endpoint.events.process-default"]
    assert cat.resolve("metrics-x") == ["metrics-x"]
    assert cat.resolve("*") == cat.indices()
    assert cat.resolve("nope*") == [] and cat.resolve("logs") == []


def test_wildcards_skip_hidden_indices_unless_asked(tmp_path):
    f = write_ndjson(tmp_path / "x.ndjson", [
        {"_index": ".ds-logs-x-default-2026.11.20-000001", "_source": {"a": 1}},
        {"_index": "logs-x-default", "_source": {"a": 1}},
    ])
    cat = load(f)
    assert cat.resolve("*") == ["logs-x-default"]
    assert cat.resolve(".ds-logs-*") == [".ds-logs-x-default-2026.11.20-000001"]
    assert cat.resolve(".ds-logs-x-default-2026.11.20-000001") == [".ds-logs-x-default-2026.11.20-000001"]


def test_hostile_index_and_field_names_are_quoted(tmp_path):
    f = write_ndjson(tmp_path / "h.ndjson", [
        {"_index": 'we"ird\'; DROP TABLE x; --', "_source": {'a"b': 1, "c'; DROP TABLE t; --": "v", "`x`": True}},
    ])
    cat = load(f)
    (index,) = cat.indices()
    assert index == 'we"ird\'; DROP TABLE x; --'
    assert set(cat.fields(index)) == {'a"b', "c'; DROP TABLE t; --", "`x`"}
    assert rows(cat, index, 'a"b', "c'; DROP TABLE t; --") == [(1, "v")]


# -- bad input ----------------------------------------------------------------------------------

def test_malformed_lines_are_skipped_counted_and_located(tmp_path):
    f = write_ndjson(tmp_path / "app.ndjson", [
        {"a": 1}, "", '{"a": 2', "not json", {"a": 3}, "[1, 2]", {"a": 4},
    ])
    cat = load(f)
    assert rows(cat, "app", "a", order="a") == [(1,), (3,), (4,)]
    assert cat.problems == [f"{f}: skipped 3 malformed lines (first at line 3)"]


def test_non_object_line_is_located(tmp_path):
    f = write_ndjson(tmp_path / "g.ndjson.gz", [{"a": 1}, {"a": 2}, "42", {"a": 3}], gz=True)
    cat = load(f)
    assert rows(cat, "g", "a", order="a") == [(1,), (2,), (3,)]
    assert cat.problems == [f"{f}: skipped 1 malformed line (first at line 3)"]


def test_file_with_only_bad_lines_loads_nothing(tmp_path):
    f = write_ndjson(tmp_path / "junk.ndjson", ["garbage", "more garbage"])
    cat = load(f)
    assert cat.indices() == []
    assert cat.problems == [f"{f}: no line is a JSON object (2 malformed lines, first at line 1); nothing loaded from it"]


def test_missing_path_names_it(tmp_path):
    missing = tmp_path / "nope.ndjson"
    with pytest.raises(SourceError, match=f"{missing}: no such file or directory"):
        load(missing)


def test_folder_without_data_files_names_it(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="empty: folder holds no"):
        load(tmp_path / "empty")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_names_it(tmp_path):
    f = write_ndjson(tmp_path / "secret.ndjson", [{"a": 1}])
    f.chmod(0)
    with pytest.raises(SourceError, match="secret.ndjson: cannot read"):
        load(f)


def test_corrupt_gzip_is_a_source_error(tmp_path):
    f = tmp_path / "broken.ndjson.gz"
    f.write_bytes(b"\x1f\x8b\x08\x00not really gzip at all")
    with pytest.raises(SourceError, match="broken.ndjson.gz"):
        load(f)


def test_bad_mapping_file_names_it(tmp_path):
    f = write_ndjson(tmp_path / "a.ndjson", [{"a": 1}])
    bad = tmp_path / "map.json"
    bad.write_text("{not json")
    with pytest.raises(SourceError, match=r"--mapping a=.*map.json: not valid JSON"):
        load(f, mappings={"a": bad})
