"""The workbench searches a big export's bytes ahead, in a child process, while it starts:
the first load takes those answers, and they are the answers it would have found itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from collectors import sources
from collectors.offline import lazy
from collectors.offline import source as offline_source
from collectors.sources import DataSpec, OfflineSource, warm_before_screen
from hunts import load_library
from tests.test_offline_lazy import LINES, NOW, _fresh, event, export  # noqa: F401 - _fresh: its set-up applies here too

FILE_PATTERN = "logs-endpoint.events.file-*"
Q = f"from {FILE_PATTERN} | stats n = count()"


@pytest.fixture(autouse=True)
def _no_search_ahead_left(monkeypatch):
    monkeypatch.setattr(lazy, "_running", None)
    yield
    lazy.stop_ahead()


def _count(data: Path) -> list:
    return OfflineSource([DataSpec(data)], now=NOW).esql(Q).values


def test_the_load_takes_the_answers_searched_ahead(tmp_path, monkeypatch):
    data = export(tmp_path / "data")
    lazy.start_ahead([(str(data), None)], Q)
    assert lazy.told_ahead(data / "process.ndjson", FILE_PATTERN) is False  # waits for the child's answer
    searched: list[Path] = []
    real = lazy._bytes_may_name
    monkeypatch.setattr(lazy, "_bytes_may_name", lambda path, pattern: searched.append(path) or real(path, pattern))
    assert _count(data) == [[LINES]]
    assert searched == []  # proven by the child, not searched again


@pytest.mark.parametrize("spelling", ["endpoint.events.file", "endpoint.events.\\u0066ile"])
def test_what_the_child_finds_is_what_the_load_would_find(tmp_path, spelling):
    data = tmp_path / "data"
    data.mkdir()
    late = json.dumps(event(2, "SPELLING")).replace("SPELLING", spelling) + "\n"
    (data / "process.ndjson").write_text((json.dumps(event(1, "endpoint.events.process")) + "\n") * LINES + late)
    (data / "clean.ndjson").write_text((json.dumps(event(1, "endpoint.events.process")) + "\n") * LINES)
    lazy.start_ahead([(str(data), None)], Q)
    for name in ("process.ndjson", "clean.ndjson"):
        path = data / name
        assert lazy.told_ahead(path, FILE_PATTERN) is lazy._bytes_may_name(path, FILE_PATTERN)
    assert lazy.told_ahead(data / "process.ndjson", FILE_PATTERN) is True
    assert _count(data) == [[1]]


def test_a_file_changed_after_the_search_ahead_is_searched_again(tmp_path):
    data = export(tmp_path / "data")
    lazy.start_ahead([(str(data), None)], Q)
    process = data / "process.ndjson"
    assert lazy.told_ahead(process, FILE_PATTERN) is False
    with open(process, "a") as fh:  # the responder's export grows: now it holds a file event
        fh.write(json.dumps(event(7, "endpoint.events.file")) + "\n")
    assert lazy.told_ahead(process, FILE_PATTERN) is None
    assert _count(data) == [[LINES + 1]]


def test_a_file_replaced_with_its_size_and_mtime_kept_is_searched_again(tmp_path):
    """``cp -p`` / ``rsync -t`` keep the modification time: the inode tells the file apart."""
    data = export(tmp_path / "data")
    lazy.start_ahead([(str(data), None)], Q)
    process = data / "process.ndjson"
    assert lazy.told_ahead(process, FILE_PATTERN) is False
    text = process.read_text()
    swapped = text.replace('"endpoint.events.process"', '"endpoint.events.file"   ', 1)  # same length
    assert len(swapped) == len(text)
    replacement = tmp_path / "replacement.ndjson"
    replacement.write_text(swapped)
    before = process.stat()
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, process)
    assert (process.stat().st_size, process.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert lazy.told_ahead(process, FILE_PATTERN) is None
    assert _count(data) == [[LINES + 1]]


def test_a_search_the_child_was_not_asked_for_is_made_by_the_load(tmp_path):
    data = export(tmp_path / "data")
    lazy.start_ahead([(str(data), None)], Q)
    assert lazy.told_ahead(data / "process.ndjson", FILE_PATTERN) is False
    assert lazy.told_ahead(data / "file.ndjson", "logs-endpoint.events.process-*") is None
    got = OfflineSource([DataSpec(data)], now=NOW).esql("from logs-endpoint.events.process-* | stats n = count()")
    assert got.values == [[LINES]]


STALLED = """
import json, sys, time
print(json.dumps({"plan": [[sys.argv[1], sys.argv[2]]]}), flush=True)
time.sleep(3)  # long past the tests' waits
"""


@pytest.fixture
def stalled_child(monkeypatch):
    """A child that says what it will search, then never answers (stopped, a hung mount)."""
    real = subprocess.Popen

    def popen(argv, **kwargs):
        job = json.loads(argv[-1])
        path = Path(job["specs"][0][0]) / "process.ndjson"
        return real([sys.executable, "-c", STALLED, str(path), FILE_PATTERN], **kwargs)

    monkeypatch.setattr(lazy.subprocess, "Popen", popen)


def test_a_search_not_planned_is_not_waited_for(tmp_path, stalled_child):
    data = export(tmp_path / "data")
    lazy.start_ahead([(str(data), None)], Q)
    assert lazy.told_ahead(data / "file.ndjson", "logs-endpoint.events.process-*") is None
    assert lazy._running is not None and not lazy._running._finished  # answered from the plan, not the child's end


def test_a_stalled_child_is_waited_for_only_so_long_then_the_load_searches(tmp_path, stalled_child, monkeypatch):
    monkeypatch.setattr(lazy, "AHEAD_WAIT", 0.3)
    data = export(tmp_path / "data")
    lazy.start_ahead([(str(data), None)], Q)
    assert lazy.told_ahead(data / "process.ndjson", FILE_PATTERN) is None
    assert lazy._running is not None and not lazy._running._finished  # gave up waiting; the child is still there
    assert _count(data) == [[LINES]]


def test_a_query_that_does_not_parse_leaves_the_searches_to_the_load(tmp_path):
    data = export(tmp_path / "data")
    lazy.start_ahead([(str(data), None)], "from | nonsense")
    assert lazy.told_ahead(data / "process.ndjson", FILE_PATTERN) is None
    assert _count(data) == [[LINES]]


def test_the_workbench_searches_ahead_for_its_lead_pane_only_on_a_big_export(tmp_path, monkeypatch):
    data = export(tmp_path / "data")
    hunt = load_library().default
    warm_before_screen(OfflineSource([DataSpec(data)], now=NOW), hunt.lead_esql)
    assert lazy._running is not None
    assert lazy.told_ahead(data / "process.ndjson", FILE_PATTERN) is False  # the seed's Q1 reads the file index

    lazy.stop_ahead()
    monkeypatch.setattr(lazy, "_running", None)
    warmed: list = []
    monkeypatch.setattr(sources, "warm_source", warmed.append)  # (its load would outlive the test)
    monkeypatch.setattr(offline_source, "LAZY_MIN_BYTES", 1 << 40)  # a small export: loaded whole before the screen
    small = OfflineSource([DataSpec(data)], now=NOW)
    warm_before_screen(small, hunt.lead_esql)
    assert warmed == [small]
    assert lazy._running is None
