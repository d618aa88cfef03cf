"""Offline answers are a function of the data and the query: re-running a hunt shows the same
rows in the same order, whether the tables were freshly loaded or came from the cache and
however many threads DuckDB uses (rows tied on the SORT keys included — Elasticsearch leaves
their order unspecified, the responder expects the same screen)."""

from __future__ import annotations

import sample_data
from collectors.esql.engine import run_esql
from collectors.offline import cache
from collectors.offline.catalog import Catalog
from collectors.sources import DataSpec
from hunts import load_library

SEED = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"
MANY_TIES = [
    # raw rows, a low-cardinality key: LIMIT must pick the same tied rows every time
    "from logs-endpoint.events.* | sort host.os.type | limit 60",
    "from logs-endpoint.events.process-* | stats c = count() by host.name | sort c desc | limit 5",
    "from logs-endpoint.events.file-* | keep host.os.type, file.name | sort host.os.type desc | limit 40"
    " | mv_expand file.name",
    # no SORT: groups in order of first appearance, rows in load order
    "from logs-endpoint.events.* | stats c = count() by process.executable | limit 7",
    "from logs-endpoint.events.process-* | where host.os.type == \"linux\" | limit 25",
]


def queries() -> list[str]:
    hunt = load_library().find(SEED)
    return [q.text for q in hunt.esql_queries] + MANY_TIES


def answers(threads: int | None = None) -> list[list[list]]:
    catalog = Catalog.load([DataSpec(p) for p in sample_data.data_files()])
    try:
        catalog.wait_cached()
        if threads:
            catalog.con.execute(f"SET threads = {int(threads)}")
        return [run_esql(q, catalog, now=sample_data.capture_time()).values for q in queries()]
    finally:
        catalog.close()


def test_seed_hunt_has_ties_on_its_sort_key():
    """The property below is only worth testing if rows do tie on ``cc``."""
    first = answers()[0]
    ccs = [row[0] for row in first]
    assert len(ccs) != len(set(ccs))


def test_same_rows_in_same_order_fresh_cached_and_any_thread_count(tmp_path, monkeypatch):
    reference = answers()
    assert all(reference), "every query returns rows on the sample"
    for _ in range(2):
        assert answers() == reference
    assert answers(threads=1) == reference
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cache, "CACHE_MIN_BYTES", 0)
    assert answers() == reference  # first load: writes the cache
    assert any(tmp_path.iterdir()), "the cache was written"
    for threads in (None, 1):
        assert answers(threads) == reference  # loaded from the cache
