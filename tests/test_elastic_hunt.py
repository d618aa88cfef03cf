"""Online equals offline: against the stand-in (answering with the embedded engine over
the bundled sample), ``hunt run --es-url`` and ``esql --es-url`` print the same JSON as
their offline forms; a pivot chain sends its values as params; ``es check`` counts the
sample's events; ``es export-events`` writes files the offline source reads back to the
same hunt result."""

from __future__ import annotations

import json

import pytest

from collectors.elastic import connect_source
from collectors.elastic.export import export_events
from collectors.sources import DataSpec, OfflineSource, sample_source
from hunts import load_library
from tests.es_standin import StandIn, needs_engine, run_cli

pytestmark = needs_engine
DPKG = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"


@pytest.fixture(scope="module")
def server():
    with StandIn() as s:
        yield s


def without_took(printed: str):
    """The result, without what differs by design: the time taken, which source answered
    and the wall-clock end of the window a cluster's ``now()`` reads."""
    data = json.loads(printed)
    for item in data if isinstance(data, list) else [data]:
        for key in ("took", "source", "now"):
            item.pop(key, None)
    return data


def assert_same_hunt_output(online: list, offline: list) -> None:
    """Equal JSON; except that ``sort cc asc`` leaves the order of rows with equal ``cc``
    unspecified (in Elasticsearch too), and the offline engine's tie order can change
    with the physical order of a (cached) load: then the rows and the cc order must match."""
    if online == offline:
        return
    assert len(online) == len(offline)
    for a, b in zip(online, offline):
        assert {k: v for k, v in a.items() if k != "values"} == {k: v for k, v in b.items() if k != "values"}
        assert sorted(map(json.dumps, a["values"])) == sorted(map(json.dumps, b["values"]))
        keys = [row[0] for row in a["values"]]
        assert keys == sorted(keys) == [row[0] for row in b["values"]]


def test_hunt_run_prints_the_same_json_as_offline(server, clean_env, capsys):
    code, offline, err = run_cli(["hunt", "run", DPKG, "--sample", "--format", "json"], capsys)
    assert code == 0, err
    code, online, err = run_cli(["hunt", "run", DPKG, "--es-url", server.url, "--format", "json"], capsys)
    assert code == 0, err
    assert_same_hunt_output(without_took(online), without_took(offline))
    assert any(q["values"] for q in json.loads(online)), "the sample must make the hunt find something"


def test_esql_with_params_prints_the_same_json_as_offline(server, clean_env, capsys):
    query = "from logs-endpoint.events.process-* | where process.executable == ?exe | stats n = count() by host.name | sort host.name"
    args = ["esql", query, "--param", "exe=/bin/sh", "--format", "json"]
    code, offline, err = run_cli(args + ["--sample"], capsys)
    assert code == 0, err
    code, online, err = run_cli(args + ["--es-url", server.url], capsys)
    assert code == 0, err
    assert without_took(online) == without_took(offline)
    assert server.requests[-1].body["params"] == [{"exe": "/bin/sh"}]


def test_pivot_chain_pushes_values_down_as_params(server, clean_env):
    hunt = load_library([]).default
    online = connect_source(es_url=server.url)
    offline = sample_source()
    first = online.esql(hunt.queries[0].text)
    assert first.values
    pivot = hunt.pivots_from("query:0")[0]
    row = first.rows_as_dicts()[0]
    params = {name: row[column] for name, column in pivot.params.items()}
    before = len(server.requests)
    agents = online.esql(pivot.query, params)
    sent = [r for r in server.requests[before:] if r.method == "POST"]
    assert len(sent) == 1  # one request per pivot
    assert sent[0].body["query"] == pivot.query
    assert sent[0].body["params"] == [{k: v} for k, v in params.items()]
    for value in params.values():
        assert str(value) not in sent[0].body["query"]
    assert agents.to_json()["values"] == offline.esql(pivot.query, params).to_json()["values"]
    assert agents.values


def test_es_check_counts_the_sample(server, clean_env, capsys):
    code, out, err = run_cli(["es", "check", "--es-url", server.url], capsys)
    assert code == 0, out + err
    assert out.splitlines()[-1] == "7 passed, 0 failed"


def test_exported_events_hunt_offline_to_the_same_result(server, clean_env, tmp_path):
    hunt = load_library([]).default
    online = connect_source(es_url=server.url)
    results = export_events(online, hunt, tmp_path / "export", page_size=50)
    assert sum(r.events for r in results) > 0 and any(r.pages > 1 for r in results)
    import sample_data

    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == sorted(
        [r.path.name for r in results] + [r.mapping.name for r in results])
    offline = OfflineSource([DataSpec(tmp_path / "export")], {r.name: r.mapping for r in results},
                            now=sample_data.capture_time())
    for q in hunt.esql_queries:
        a = online.esql(q.text).to_json()
        b = offline.esql(q.text).to_json()
        a.pop("took", None)
        b.pop("took", None)
        assert a["values"]
        assert_same_hunt_output([a], [b])
