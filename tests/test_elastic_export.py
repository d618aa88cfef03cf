"""``es export-events``: time-paged export past ES|QL's 10,000-row cap, complete and
without duplicates, nested ECS documents, never overwriting what is there."""

from __future__ import annotations

import json
import re

import pytest

from collectors.elastic import connect_source
from collectors.elastic.export import export_events, multi_fields, nest, since_window
from collectors.result import Column, HuntbenchError, QueryResult
from hunts import load_library
from tests.es_standin import StandIn, run_cli

STREAM = "logs-endpoint.events.file-default"
PROC = "logs-endpoint.events.process-default"


def make_docs(n_by_ts: list[int]) -> list[dict]:
    """Events whose timestamps repeat: n_by_ts[i] events at second i."""
    docs, k = [], 0
    for second, n in enumerate(n_by_ts):
        for _ in range(n):
            docs.append({"@timestamp": f"2026-11-20T10:00:{second:02d}.000Z", "event.id": f"e{k}",
                         "file.name": f"f{k}.postinst", "file.path": f"/var/lib/dpkg/info/f{k}.postinst",
                         "file.path.text": "derived", "host.os.type": "linux", "process.args": ["a", "b"],
                         "missing": None})
            k += 1
    return docs


class PagedAnswer:
    """Answers the export's page queries over in-memory events, as ES|QL would:
    a ``@timestamp`` bound from ``?after``/``?at``, ``sort @timestamp asc``, ``limit N``."""

    def __init__(self, docs):
        self.docs = docs
        self.queries = []

    def __call__(self, query, params):
        self.queries.append((query, params))
        rows = [d for d in self.docs if d["@timestamp"] and query.startswith(f"from {STREAM}")]
        if ">= to_datetime(?after)" in query:
            rows = [d for d in rows if d["@timestamp"] >= params["after"]]
        elif "> to_datetime(?after)" in query:
            rows = [d for d in rows if d["@timestamp"] > params["after"]]
        elif "== to_datetime(?at)" in query:
            rows = [d for d in rows if d["@timestamp"] == params["at"]]
        if "sort @timestamp asc" in query:
            rows = sorted(rows, key=lambda d: d["@timestamp"])
        limit = int(re.search(r"limit (\d+)", query).group(1))
        names = list(self.docs[0])
        types = {"@timestamp": "date", "process.args": "keyword"}
        return QueryResult([Column(n, types.get(n, "keyword")) for n in names],
                           [[d[n] for n in names] for d in rows[:limit]])


MAPPING = {"properties": {
    "@timestamp": {"type": "date"},
    "file": {"properties": {"name": {"type": "keyword"},
                            "path": {"type": "keyword", "fields": {"text": {"type": "match_only_text"}}}}},
}}


def stand_in(answer):
    return StandIn(answer=answer, indices=[STREAM, PROC], mappings={STREAM: MAPPING})


def read_ndjson(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("n_by_ts, every_event", [
    ([3, 3, 3, 3], True),   # pages cut between instants
    ([1, 6, 1, 2], False),  # an instant larger than a page: its overflow is reported, not exported
    ([5, 5, 5], True),      # pages exactly full
])
def test_time_paging_exports_every_event_once(clean_env, tmp_path, n_by_ts, every_event):
    docs = make_docs(n_by_ts)
    answer = PagedAnswer(docs)
    with stand_in(answer) as s:
        src = connect_source(es_url=s.url)
        hunt = load_library([]).default
        results = export_events(src, hunt, tmp_path / "out", page_size=5)
        params_in_text = [q for q, p in answer.queries if p and any(str(v) in q for v in p.values())]
    by_name = {r.name: r for r in results}
    assert set(by_name) == {STREAM, PROC}
    exported = read_ndjson(by_name[STREAM].path)
    assert exported[0]["file"] == {"name": "f0.postinst", "path": "/var/lib/dpkg/info/f0.postinst"}
    assert "missing" not in exported[0] and exported[0]["process"]["args"] == ["a", "b"]
    assert json.loads(by_name[STREAM].mapping.read_text()) == MAPPING
    ids = [d["event"]["id"] for d in exported]
    assert len(ids) == len(set(ids))  # no event twice across page boundaries
    all_ids = {d["event.id"] for d in docs}
    assert set(ids) <= all_ids
    assert (sorted(ids) == sorted(all_ids)) is every_event
    assert by_name[STREAM].events == len(exported) and by_name[STREAM].pages > 1
    assert params_in_text == []  # page bounds travel as params


def test_more_than_a_page_at_one_instant_is_reported(clean_env, tmp_path):
    answer = PagedAnswer(make_docs([2, 7, 1]))
    with stand_in(answer) as s:
        results = export_events(connect_source(es_url=s.url), load_library([]).default, tmp_path / "o", page_size=5)
    file_export = next(r for r in results if r.name == STREAM)
    assert file_export.notes == ["more than 5 events at 2026-11-20T10:00:01.000Z: only 5 exported"]
    assert file_export.events == 2 + 5 + 1


def test_documents_are_nested_ecs_without_nulls_or_multi_fields():
    doc = nest({"@timestamp": "t", "file.name": "a", "file.path": "/p", "file.path.text": "/p", "x": None,
                "process.args": ["a", "b"]}, skip={"file.path.text"})
    assert doc == {"@timestamp": "t", "file": {"name": "a", "path": "/p"}, "process": {"args": ["a", "b"]}}
    # a leaf that is also an object (no mapping to tell): dotted keys, nothing lost
    assert nest({"a": 1, "a.b": 2}, skip=set()) == {"a": 1, "a.b": 2}
    mapping = {"properties": {"file": {"properties": {"path": {"type": "keyword", "fields": {"text": {"type": "match_only_text"}}}}}}}
    assert multi_fields(mapping) == {"file.path.text"}


def test_since_is_validated():
    assert since_window("7d") == "now() - 7 days"
    assert since_window("12h") == "now() - 12 hours"
    for bad in ("7 days; drop", "0d", "d", "-1d"):
        with pytest.raises(HuntbenchError, match="--since"):
            since_window(bad)


def test_cli_refuses_to_overwrite_and_says_where_it_wrote(clean_env, tmp_path, capsys):
    answer = PagedAnswer(make_docs([2, 2]))
    out = tmp_path / "export"
    with stand_in(answer) as s:
        code, stdout, err = run_cli(["es", "export-events", "1d7cae97-2dea-4f01-b04c-85fa4bd991d0",
                                     "--out", str(out), "--since", "2d", "--es-url", s.url], capsys)
        assert code == 0, err
        assert f"{out / (STREAM + '.ndjson')}: 4 events in 1 page" in stdout
        assert f"{STREAM}: 4 events (1 page)" in err  # progress
        assert "where @timestamp > now() - 2 days" in answer.queries[0][0]
        before = (out / (STREAM + ".ndjson")).read_bytes()
        code, stdout, err = run_cli(["es", "export-events", "1d7cae97-2dea-4f01-b04c-85fa4bd991d0",
                                     "--out", str(out), "--es-url", s.url], capsys)
    assert code == 2 and "already exists; choose another --out folder" in err
    assert (out / (STREAM + ".ndjson")).read_bytes() == before
    assert not list(out.glob("*.part"))
