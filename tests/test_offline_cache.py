"""The load cache: reused while the export is unchanged, rebuilt when it changes or breaks."""

from __future__ import annotations

import json
import os
from pathlib import Path

from collectors.offline import cache
from collectors.offline.catalog import Catalog
from collectors.sources import DataSpec


def export(path: Path, values: list[int]) -> Path:
    path.write_text("".join(json.dumps({"n": v, "tags": ["a", "b"]}) + "\n" for v in values) + "oops\n")
    return path


def count(cat: Catalog, index: str) -> int:
    return cat.con.execute(f"SELECT count(*) FROM {cat.table(index)}").fetchone()[0]


def test_second_open_reuses_the_cache_file(tmp_path, cache_dir, reads):
    f = export(tmp_path / "big.ndjson", [1, 2, 3])
    first = Catalog.load([DataSpec(f)], {})
    first.wait_cached()  # the cache is written in the background
    files = list(cache_dir.glob("*.duckdb"))
    assert len(files) == 1 and reads == [f]
    stamp = files[0].stat().st_mtime_ns
    first.close()

    second = Catalog.load([DataSpec(f)], {})
    assert reads == [f]  # not parsed again
    assert list(cache_dir.glob("*.duckdb")) == files and files[0].stat().st_mtime_ns == stamp
    assert count(second, "big") == 3
    assert second.fields("big") == first.fields("big")
    assert second.problems == [f"{f}: skipped 1 malformed line (first at line 4)"]  # kept with the cache


def test_changed_file_rebuilds(tmp_path, cache_dir, reads):
    f = export(tmp_path / "big.ndjson", [1, 2, 3])
    Catalog.load([DataSpec(f)], {}).close()
    export(f, [1, 2, 3, 4])  # new size (and mtime)
    cat = Catalog.load([DataSpec(f)], {})
    assert reads == [f, f]
    assert count(cat, "big") == 4
    cat.close()
    assert len(list(cache_dir.glob("*.duckdb"))) == 1  # the older version was deleted


def test_same_size_new_mtime_rebuilds(tmp_path, cache_dir, reads):
    f = export(tmp_path / "big.ndjson", [1, 2, 3])
    Catalog.load([DataSpec(f)], {}).close()
    export(f, [7, 8, 9])
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    cat = Catalog.load([DataSpec(f)], {})
    assert len(reads) == 2
    assert sorted(r[0] for r in cat.con.execute(f"SELECT n FROM {cat.table('big')}").fetchall()) == [7, 8, 9]


def test_forced_index_and_mapping_are_part_of_the_key(tmp_path, cache_dir, reads):
    f = export(tmp_path / "big.ndjson", [1])
    Catalog.load([DataSpec(f)], {}).close()
    assert Catalog.load([DataSpec(f, "other")], {}).indices() == ["other"]
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"properties": {"n": {"type": "keyword"}}}))
    cat = Catalog.load([DataSpec(f)], {"big": mapping})
    assert cat.fields("big")["n"].type == "keyword"
    assert len(reads) == 3


def test_corrupt_cache_is_rebuilt_silently(tmp_path, cache_dir, reads):
    f = export(tmp_path / "big.ndjson", [1, 2])
    Catalog.load([DataSpec(f)], {}).close()
    (cached,) = cache_dir.glob("*.duckdb")
    cached.write_bytes(b"this is not a duckdb file" * 100)
    cat = Catalog.load([DataSpec(f)], {})
    assert count(cat, "big") == 2
    assert len(reads) == 2
    cat.close()
    assert Catalog.load([DataSpec(f)], {}).indices() == ["big"]
    assert len(reads) == 2  # the rebuilt cache is good again


def test_small_inputs_are_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    f = export(tmp_path / "small.ndjson", [1])
    assert Catalog.load([DataSpec(f)], {}).indices() == ["small"]
    assert not list((tmp_path / "cache").glob("*.duckdb*"))


def test_unwritable_cache_dir_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(blocker / "cache"))
    monkeypatch.setattr(cache, "CACHE_MIN_BYTES", 0)
    f = export(tmp_path / "big.ndjson", [1, 2])
    cat = Catalog.load([DataSpec(f)], {})
    cat.wait_cached()
    assert count(cat, "big") == 2


def test_queries_work_while_the_cache_is_written(tmp_path, cache_dir):
    f = export(tmp_path / "big.ndjson", list(range(5000)))
    cat = Catalog.load([DataSpec(f)], {})
    for _ in range(20):  # from other cursors, as the engine's worker threads do
        assert cat.con.cursor().execute(f"SELECT count(*) FROM {cat.table('big')}").fetchone()[0] == 5000
    cat.close()
    assert len(list(cache_dir.glob("*.duckdb"))) == 1 and not list(cache_dir.glob("*.tmp*"))


def test_bundled_sample_is_cached_whatever_its_size(tmp_path, monkeypatch, reads):
    """The TUI opens the bundled sample at every launch: the second launch must not parse it."""
    import sample_data

    folder = tmp_path / "cache"
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(folder))
    files = sample_data.data_files()
    assert sum(f.stat().st_size for f in files) < cache.CACHE_MIN_BYTES  # small: cached only as the sample
    first = Catalog.load([DataSpec(f) for f in files], {})
    rows = {i: count(first, i) for i in first.indices()}
    first.close()
    assert len(list(folder.glob("*.duckdb"))) == 1
    second = Catalog.load([DataSpec(f) for f in files], {})
    assert reads == files  # parsed once, by the first load
    assert {i: count(second, i) for i in second.indices()} == rows and sum(rows.values()) > 0


def test_small_export_elsewhere_is_not_cached(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(folder))
    Catalog.load([DataSpec(export(tmp_path / "small.ndjson", [1]))], {}).close()
    assert not folder.exists() or not list(folder.glob("*.duckdb"))
