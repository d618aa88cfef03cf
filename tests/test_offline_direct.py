"""A first query's narrow load reads only its own fields straight from the export, and still
answers as whole-file detection does.

The narrow load fixes the wanted fields' types from the sample and reads nothing else; each
case here puts, after the sample, a document that would make whole-file detection (or the
index a document belongs to) come out differently, and checks the narrow load agrees with
a complete load typed over the whole file: same fields, same rows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.offline import build
from collectors.offline.catalog import Catalog
from collectors.offline.lazy import Need
from collectors.sources import DataSpec

LINES = 2_300  # past the sample a narrow load is typed from (2,048 lines)
WANTED = frozenset({"@timestamp", "host.os.type", "file.name", "event.code"})


def doc(i: int) -> dict:
    return {"@timestamp": f"2026-11-10T08:00:{i % 60:02d}.{i % 1000:03d}Z",
            "data_stream": {"type": "logs", "dataset": "endpoint.events.file", "namespace": "default"},
            "host": {"name": f"h{i % 3}", "os": {"type": "linux", "family": "debian"}},
            "event": {"code": i % 7, "kind": "event"},
            "file": {"name": f"f{i % 5}.postinst", "path": "/var/lib/dpkg/info"},
            "message": "x"}


LATE = {  # what the last line is (a function of a normal document)
    "another spelling of a wanted field at the top": lambda d: {**d, "host.os.type": "windows"},
    "another spelling inside an object": lambda d: {**d, "host": {**d["host"], "os.type": "windows"}},
    "another spelling of a parent": lambda d: {**d, "host.os": {"type": "windows"}},
    "an escaped spelling": lambda d: json.dumps(d)[:-1] + ', "ho\\u0073t\\u002eos": {"type": "windows"}}',
    "a hit dump document": lambda d: {"_index": "other", "_source": d},
    "a data stream where the sample had none": lambda d: {**d, "data_stream": {"type": "logs", "dataset": "x",
                                                                              "namespace": "y"}},
    "a dotted data stream": lambda d: {**d, "data_stream.dataset": "other"},
    "a timestamp without its zone": lambda d: {**d, "@timestamp": "2026-11-10T08:00:00"},
    "a timestamp in words": lambda d: {**d, "@timestamp": "2026-11-10T08:00:00 UTC"},
    "a date only": lambda d: {**d, "@timestamp": "2026-11-10"},
    "a timestamp with an offset": lambda d: {**d, "@timestamp": "2026-11-10T10:00:00.5+02:00"},
    "an object where the sample saw text": lambda d: {**d, "file": {**d["file"], "name": {"x": 1}}},
    "a list where the sample saw one value": lambda d: {**d, "file": {**d["file"], "name": ["a", "b"]}},
    "a list of objects where the sample saw one": lambda d: {**d, "host": [d["host"], d["host"]]},
    "text where the sample saw a number": lambda d: {**d, "event": {**d["event"], "code": "7"}},
    "a fraction where the sample saw integers": lambda d: {**d, "event": {**d["event"], "code": 7.5}},
    "a parent that is null": lambda d: {**d, "host": None},
    "a key differing in case only": lambda d: {**d, "Host": {"os": {"type": "windows"}}},
    "an unrelated new field": lambda d: {**d, "process": {"pid": 3, "name": "x"}},
}


def export(path: Path, late, with_data_stream: bool = True) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(LINES - 1):
            d = doc(i)
            if not with_data_stream:
                d.pop("data_stream")
            fh.write(json.dumps(d) + "\n")
        d = doc(LINES - 1)
        if not with_data_stream:
            d.pop("data_stream")
        last = late(d)  # a document, or a line written as is
        fh.write((last if isinstance(last, str) else json.dumps(last)) + "\n")
    return path


def answer(cat: Catalog, names: frozenset[str]) -> tuple:
    out = []
    for index in cat.indices():
        fields = {n: f for n, f in cat.fields(index).items() if n in names}
        cols = ", ".join(f'"{n}"' for n in sorted(fields)) or "1"
        rows = cat.con.execute(f"SELECT {cols} FROM {cat.table(index)}").fetchall()
        out.append((index, fields, sorted(map(repr, rows))))
    return tuple(out)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "SAMPLED_MIN_BYTES", 0)


@pytest.mark.parametrize("case", LATE)
def test_narrow_load_answers_as_whole_file_detection(tmp_path, monkeypatch, case):
    ds = case != "a data stream where the sample had none"
    path = export(tmp_path / "events.ndjson", LATE[case], with_data_stream=ds)
    indices = ("logs-endpoint.events.file-default", "logs-x-y", "events", "other")
    narrow = Catalog.load([DataSpec(path)], {}, need=Need(indices, WANTED))
    monkeypatch.setattr(build, "SAMPLED_MIN_BYTES", 1 << 40)
    whole = Catalog.load([DataSpec(path)], {})
    assert answer(narrow, WANTED) == answer(whole, WANTED)


def test_the_narrow_load_reads_the_export_itself(tmp_path, monkeypatch):
    """No copy of the export for the first query (the primer's copy costs a third of a
    second per 600 MB): the narrow load reads the file as given."""
    path = export(tmp_path / "events.ndjson", lambda d: d)
    copies: list[Path] = []
    real = build._primed_copy
    monkeypatch.setattr(build, "_primed_copy", lambda *a: copies.append(a[0]) or real(*a))
    narrow = Catalog.load([DataSpec(path)], {}, need=Need(("logs-*",), WANTED))
    assert sorted(narrow.fields("logs-endpoint.events.file-default")) == sorted(WANTED)
    assert copies == []
    Catalog.load([DataSpec(path)], {})  # the complete load still primes a copy
    assert copies == [path]
