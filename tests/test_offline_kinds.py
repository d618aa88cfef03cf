"""A field whose value changes JSON type after the sample loads as whole-file detection loads it.

DuckDB's reader, given types detected on a sample, converts a later value of another JSON
type without a word: ``true`` or ``"2"`` into a number column, ``5`` into a text column.
Whole-file detection would have typed such a field JSON (loaded as keyword, with a notice).
Each case here puts one such value after the sample and compares the sampled load (complete
and narrow) with whole-file detection: same fields, same rows, same notices.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collectors.offline import build
from collectors.offline.catalog import Catalog
from collectors.offline.lazy import Need
from collectors.sources import DataSpec

NEAR = 2_300  # just past the primer's small sample (2,048 lines), inside the next one
FAR = 21_000  # past DuckDB's default sample (20,480 lines) too

BASES = {  # how the field looks on every line but the last: (document, where the late value goes)
    "text": ({"v": "x"}, ("v",)),
    "integer": ({"v": 7}, ("v",)),
    "fraction": ({"v": 1.5}, ("v",)),
    "boolean": ({"v": True}, ("v",)),
    "only null": ({"v": None}, ("v",)),
    "list of text": ({"v": ["a", "b"]}, ("v",)),
    "inside a list of objects": ({"o": [{"v": "x"}]}, ("o", 0, "v")),
    "nested": ({"o": {"p": {"v": 7}}}, ("o", "p", "v")),
}
LATE = [5, 1.5, "2", "x", True, None, [1, "b"], {"a": 1}, "", 'quote " and \\ back', "caf\u00e9 \u202e", 2**60 + 1]


def export(path: Path, base: dict, where: tuple, late, lines: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(lines - 1):
            fh.write(json.dumps({"n": i, **base}) + "\n")
        doc = json.loads(json.dumps({"n": lines - 1, **base}))
        holder = doc
        for step in where[:-1]:
            holder = holder[step]
        holder[where[-1]] = late
        fh.write(json.dumps(doc) + "\n")
    return path


def snapshot(cat: Catalog, index: str) -> tuple:
    fields = cat.fields(index)
    cols = ", ".join(f'"{n}"' for n in sorted(fields))
    rows = cat.con.execute(f"SELECT {cols} FROM {cat.table(index)} ORDER BY n").fetchall()
    return fields, rows, cat.problems


def loads(path: Path, monkeypatch) -> tuple[tuple, tuple, tuple]:
    """(sampled complete, sampled narrow, whole-file) snapshots of one file."""
    monkeypatch.setattr(build, "SAMPLED_MIN_BYTES", 0)
    sampled = Catalog.load([DataSpec(path)], {})
    index = sampled.indices()[0]
    names = frozenset(f for f in sampled.fields(index))
    narrow = Catalog.load([DataSpec(path)], {}, need=Need((index,), names))
    monkeypatch.setattr(build, "SAMPLED_MIN_BYTES", 1 << 40)
    whole = Catalog.load([DataSpec(path)], {})
    return snapshot(sampled, index), snapshot(narrow, index), snapshot(whole, index)


@pytest.fixture(autouse=True)
def _cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("late", LATE, ids=repr)
@pytest.mark.parametrize("base", BASES)
def test_a_late_value_of_another_type_loads_as_whole_file_detection_loads_it(tmp_path, monkeypatch, base, late):
    path = export(tmp_path / "k.ndjson", *BASES[base], late, NEAR)
    sampled, narrow, whole = loads(path, monkeypatch)
    assert sampled == whole
    assert narrow[:2] == whole[:2]


@pytest.mark.parametrize(("base", "late"), [("integer", True), ("text", 5), ("boolean", "true"), ("fraction", "2"),
                                            ("list of text", 1), ("nested", "7")])
def test_the_same_far_past_duckdbs_own_sample(tmp_path, monkeypatch, base, late):
    path = export(tmp_path / "k.ndjson", *BASES[base], late, FAR)
    sampled, narrow, whole = loads(path, monkeypatch)
    assert sampled == whole
    assert narrow[:2] == whole[:2]
    assert any("different JSON types" in p for p in whole[2])  # the case is one whole-file detection flags
