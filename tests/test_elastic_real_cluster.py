"""Opt-in: the DPKG/RPM hunt and one pivot on a REAL cluster.

Runs only when HUNTBENCH_ES_URL is set (and ELASTIC_API_KEY, unless the URL needs no
credentials: set HUNTBENCH_ES_NO_AUTH=1). Optional: HUNTBENCH_ES_CA_CERTS. Nothing is
written to the cluster. See docs/elasticsearch.md, "Testing against a real cluster".
"""

from __future__ import annotations

import os

import pytest

from collectors.elastic import connect_source
from hunts import load_library

URL = os.environ.get("HUNTBENCH_ES_URL")
KEY = os.environ.get("ELASTIC_API_KEY")

pytestmark = pytest.mark.skipif(
    not URL or not (KEY or os.environ.get("HUNTBENCH_ES_NO_AUTH")),
    reason="real-cluster test: set HUNTBENCH_ES_URL and ELASTIC_API_KEY to run it",
)


@pytest.fixture(scope="module")
def source():
    return connect_source(es_url=URL, ca_certs=os.environ.get("HUNTBENCH_ES_CA_CERTS"))


def test_dpkg_hunt_and_a_pivot_on_a_real_cluster(source):
    hunt = load_library([]).default
    first = None
    for q in hunt.esql_queries:
        result = source.esql(q.text)
        expected = {0: ["file.name", "process.executable"], 1: ["process.executable", "process.command_line"]}
        assert [c.name for c in result.columns] == ["cc", "agent_count"] + expected[q.index]
        assert [c.type for c in result.columns][:2] == ["long", "long"]
        if q.index == 0:
            first = result
    pivot = hunt.pivots_from("query:0")[0]
    row = first.rows_as_dicts()[0] if first.values else {"file.name": "huntbench-no-such-file", "process.executable": "/nope"}
    params = {name: row[column] for name, column in pivot.params.items()}
    result = source.esql(pivot.query, params)
    assert [c.name for c in result.columns] == ["events", "first_seen", "last_seen", "agent.id", "host.name"]
    # A real row of query 0 leads to at least one agent; the made-up row (an empty cluster) to none.
    assert bool(result.values) is bool(first.values)
