"""Done-when of the engine: the seed hunt's two ES|QL queries, verbatim, return on the
bundled sample exactly the rows its answer key (sample_data/manifest.json) names."""

from __future__ import annotations

import itertools

import pytest

import sample_data
from collectors.sources import sample_source
from hunts import load_library

SEED = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"


@pytest.fixture(scope="module")
def source():
    return sample_source()


def groups_by_cc(rows: list[list]) -> list[tuple]:
    """Rows with equal ``cc`` may come in any order (SORT cc only); compare each run as a set."""
    return [(cc, sorted(map(repr, grp))) for cc, grp in itertools.groupby(rows, key=lambda r: r[0])]


@pytest.mark.parametrize("index", [0, 1])
def test_seed_hunt_query_matches_answer_key(source, index):
    hunt = load_library().find(SEED)
    query = next(q for q in hunt.esql_queries if q.index == index)
    key = sample_data.manifest()["answer_key"]["queries"][index]
    result = source.esql(query.text)
    assert [{"name": c.name, "type": c.type} for c in result.columns] == key["columns"]
    expected = [r["values"] for r in key["rows"]]
    assert len(result.values) == len(expected)
    assert groups_by_cc(result.values) == groups_by_cc(expected)
    assert result.warnings == []


ELASTIC_STYLE_HUNT = """
[hunt]
author = "test"
description = "Shells and downloaders started on Linux hosts, by network zone."
integration = ["endpoint"]
uuid = "00000000-0000-4000-8000-00000000e51f"
name = "Elastic-style Linux hunt"
language = ["ES|QL"]
license = "Elastic License v2"
query = ['''
sql
from logs-endpoint.events.*
| where host.os.type == "linux" and event.category == "process"
| where process.name rlike "(ba|z|da)?sh" or process.name like "curl*"
| eval Esql.net = case(cidr_match(to_ip(host.ip), "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"), "private",
    host.ip is null, "none", "public")
| stats Esql.count = count(*), Esql.hosts = count_distinct(host.name) by process.name, Esql.net
| where Esql.count >= 1
| sort Esql.count desc, process.name asc
| limit 50
''']
"""


def test_elastic_style_linux_hunt_runs_on_sample(source, tmp_path):
    """Several WHEREs, EVAL x = CASE(..), cidr_match, RLIKE, count(*), a stray first line."""
    (tmp_path / "hunt.toml").write_text(ELASTIC_STYLE_HUNT, encoding="utf-8")
    library = load_library([tmp_path], include_user_dir=False)
    hunt = library.find("00000000-0000-4000-8000-00000000e51f")
    (query,) = hunt.esql_queries
    result = source.esql(query.text)
    assert [c.name for c in result.columns] == ["Esql.count", "Esql.hosts", "process.name", "Esql.net"]
    assert result.values, "the sample has shell processes"
    counts = [r[0] for r in result.values]
    assert counts == sorted(counts, reverse=True)
    assert {r[3] for r in result.values} <= {"private", "public", "none"}
