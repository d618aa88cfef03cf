"""Wide data: a file with more distinct fields than a table should hold loads within the
memory limit; its rarest fields are folded into one JSON text column, with one warning,
and a query naming a folded field says so instead of "Unknown column".

Real parts: NDJSON files written here, the offline catalog on DuckDB (its 1 GB memory
limit), the ES|QL engine, the on-disk cache.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

import sample_data
from cli.main import main
from collectors.esql.engine import run_esql
from collectors.interface import QueryError
from collectors.offline import build, wide
from collectors.offline.catalog import Catalog
from collectors.sources import DataSpec

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
DOCS = 10_000


def own_keys(path: Path, nested: bool = False, hits: bool = False) -> Path:
    """DOCS documents sharing three fields, each with one key of its own."""
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(DOCS):
            doc: dict = {"@timestamp": "2026-01-01T00:00:00Z", "host": {"name": f"h{i % 4}"}, "n": i}
            if nested:
                doc["labels"] = {f"k{i:05d}": f"v{i}"}
            else:
                doc[f"k{i:05d}"] = f"v{i}"
            fh.write(json.dumps({"_index": "hits", "_id": str(i), "_source": doc} if hits else doc) + "\n")
    return path


def esql(cat: Catalog, query: str) -> list[list]:
    return run_esql(query, cat, now=NOW).values


def folded_warning(path: Path, count: int) -> str:
    return f"{path}: {count:,} rare fields folded into [_folded] (more than {wide.MAX_FIELDS:,} distinct fields)"


def test_ten_thousand_documents_each_with_its_own_key_load_with_rare_fields_folded(tmp_path):
    path = own_keys(tmp_path / "wide.ndjson")
    cat = Catalog.load([DataSpec(path)])
    assert cat.problems == [folded_warning(path, DOCS)]
    # the fields every document has stay columns; each one-off key is folded
    assert sorted(cat.fields("wide")) == ["@timestamp", "_folded", "host.name", "n"]
    assert esql(cat, "FROM wide | STATS count(*)") == [[DOCS]]
    assert esql(cat, "FROM wide | STATS c = count(*), s = sum(n) BY host.name | SORT host.name") == [
        [DOCS // 4, sum(range(h, DOCS, 4)), f"h{h}"] for h in range(4)
    ]
    # a folded field's value is in the document's JSON text, and naming it says why it is missing
    assert esql(cat, "FROM wide | WHERE n == 9999 | KEEP _folded") == [['{"k09999":"v9999"}']]
    with pytest.raises(QueryError, match=r"^line 1:19: field \[k09999\] was folded into \[_folded\] because "
                       rf"{path} has more than 1,000 distinct fields"):
        esql(cat, "FROM wide | WHERE k09999 == \"v9999\"")
    with pytest.raises(QueryError, match=r"Unknown column \[nothere\]"):  # other unknown names stay unknown
        esql(cat, "FROM wide | KEEP nothere")


def test_the_cli_warns_and_names_the_folded_field(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    path = own_keys(tmp_path / "wide.ndjson")
    main(["esql", "--data", str(path), "--format", "json", "FROM wide | STATS count(*)"])
    out, err = capsys.readouterr()
    assert json.loads(out)["values"] == [[DOCS]]
    assert f"warning: {folded_warning(path, DOCS)}" in err.splitlines()
    with pytest.raises(SystemExit) as exit_info:
        main(["esql", "--data", str(path), "FROM wide | KEEP n, k00042"])
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: line 1:21: field [k00042] was folded into [_folded] because {path} has more than "
        "1,000 distinct fields; its values are in the JSON text of [_folded]")


def test_folding_below_source_and_in_nested_objects(tmp_path):
    path = own_keys(tmp_path / "dump.ndjson", nested=True, hits=True)
    cat = Catalog.load([DataSpec(path)])
    assert cat.indices() == ["hits"]  # the hit's own _index still names the index
    assert esql(cat, "FROM hits | STATS count(*), count(host.name), min(n), max(n)") == [[DOCS, DOCS, 0, DOCS - 1]]
    assert esql(cat, "FROM hits | WHERE n == 9998 | KEEP _folded") == [['{"labels.k09998":"v9998"}']]
    with pytest.raises(QueryError, match=r"field \[labels.k09998\] was folded into \[_folded\]"):
        esql(cat, "FROM hits | KEEP labels.k09998")


@pytest.mark.parametrize("sampled", [False, True], ids=["whole-file detection", "sampled detection"])
def test_a_file_that_widens_past_its_head_is_folded_too(tmp_path, monkeypatch, sampled):
    if sampled:  # as a big file is: DuckDB's sample, checked by the data pass
        monkeypatch.setattr(build, "SAMPLED_MIN_BYTES", 0)
    narrow, own = 3000, 1500  # the narrow documents fill more than the first MiB looked at
    path = tmp_path / "late.ndjson"
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(narrow):
            fh.write(json.dumps({"n": i, "host": {"name": "h"}, "pad": "x" * 400}) + "\n")
        fh.write("oops\n")
        for i in range(own):
            fh.write(json.dumps({"n": narrow + i, f"late{i:04d}": i}) + "\n")
    assert path.stat().st_size > wide.HEAD_MORE_BYTES
    cat = Catalog.load([DataSpec(path)])
    assert cat.problems == [f"{path}: skipped 1 malformed line (first at line {narrow + 1})",
                            folded_warning(path, own)]
    assert sorted(cat.fields("late")) == ["_folded", "host.name", "n", "pad"]
    assert esql(cat, "FROM late | STATS count(*), count(_folded), count(pad), max(n)") == [
        [narrow + own, own, narrow, narrow + own - 1]]
    assert esql(cat, f"FROM late | WHERE n == {narrow} | KEEP _folded") == [['{"late0000":0}']]


def test_the_folded_fields_are_known_after_a_cache_hit(tmp_path, cache_dir, reads):
    path = own_keys(tmp_path / "wide.ndjson")
    Catalog.load([DataSpec(path)]).close()
    again = Catalog.load([DataSpec(path)])
    assert reads == [path]  # the second load came from the cache
    assert again.problems == [folded_warning(path, DOCS)]
    assert esql(again, "FROM wide | STATS count(*)") == [[DOCS]]
    with pytest.raises(QueryError, match=r"field \[k09999\] was folded into \[_folded\]"):
        esql(again, "FROM wide | KEEP k09999")


def test_few_documents_with_many_fields_keep_as_many_columns_as_fit(tmp_path):
    path = tmp_path / "one.ndjson"
    path.write_text(json.dumps({f"f{i:04d}": i for i in range(2 * wide.MAX_FIELDS)}) + "\n")
    cat = Catalog.load([DataSpec(path)])
    kept = wide.MAX_FIELDS - 1  # and the folded column; equally frequent fields are kept by name
    assert cat.problems == [folded_warning(path, 2 * wide.MAX_FIELDS - kept)]
    assert sorted(cat.fields("one")) == ["_folded"] + [f"f{i:04d}" for i in range(kept)]
    assert esql(cat, "FROM one | KEEP f0000, f0998") == [[0, 998]]
    folded = json.loads(esql(cat, "FROM one | KEEP _folded")[0][0])
    assert folded == {f"f{i:04d}": i for i in range(kept, 2 * wide.MAX_FIELDS)}


def test_a_file_within_the_bound_is_not_folded(tmp_path):
    path = tmp_path / "ok.ndjson"
    path.write_text("".join(json.dumps({"n": i, f"k{i}": i}) + "\n" for i in range(wide.MAX_FIELDS - 1)))
    cat = Catalog.load([DataSpec(path)])
    assert cat.problems == [] and len(cat.fields("ok")) == wide.MAX_FIELDS
    assert "_folded" not in cat.fields("ok")


def test_the_bundled_sample_loads_as_before():
    cat = Catalog.load([DataSpec(p) for p in sample_data.data_files()])
    assert not any("folded" in p for p in cat.problems)
    assert all("_folded" not in cat.fields(i) for i in cat.indices())
