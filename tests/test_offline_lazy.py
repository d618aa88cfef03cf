"""The first query on a fresh export loads only what it needs, and answers exactly as the
complete load would; the complete cache follows in the background."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from collectors.offline import build, lazy
from collectors.offline import source as offline_source
from collectors.offline.catalog import Catalog
from collectors.sources import DataSpec, OfflineSource

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 16, 9, tzinfo=timezone.utc)
LINES = 3_000  # more than the primer's small sample (2,048 lines)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch, tmp_path):
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HUNTBENCH_NO_PREWARM", "1")  # the detached builder has its own test
    monkeypatch.setattr(offline_source, "LAZY_MIN_BYTES", 0)  # every export counts as big
    monkeypatch.setattr(build, "SAMPLED_MIN_BYTES", 0)  # and takes the sampled route


def event(i: int, dataset: str) -> dict:
    doc = {
        "@timestamp": f"2026-11-{10 + i % 5:02d}T08:00:{i % 60:02d}.000Z",
        "data_stream": {"type": "logs", "dataset": dataset, "namespace": "default"},
        "host": {"name": f"h{i % 7}", "os": {"type": "linux" if i % 3 else "windows"}},
        "agent": {"id": f"a{i % 11}"},
        "event": {"action": ["creation", "rename", "deletion"][i % 3], "type": ["start"]},
        "process": {"executable": f"/usr/bin/p{i % 13}", "pid": i},
        "file": {"path": f"/var/lib/dpkg/info/f{i % 17}.postinst", "name": f"f{i % 17}.postinst"},
    }
    if i == LINES - 1:  # surprises past the samples: a new field, a float, a second value
        doc["late"] = {"field": "here"}
        doc["process"]["pid"] = 1.5
        doc["event"]["type"] = ["start", "end"]
    return doc


def export(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, dataset in [("file", "endpoint.events.file"), ("process", "endpoint.events.process")]:
        with open(folder / f"{name}.ndjson", "w") as fh:
            for i in range(LINES):
                fh.write(json.dumps(event(i, dataset)) + "\n")
    return folder


FILE_INDEX = "logs-endpoint.events.file-default"
QUERIES = [
    """from logs-endpoint.events.file-*
| keep @timestamp, host.os.type, event.action, file.path, file.name, agent.id, process.executable
| where @timestamp > now() - 7 days
| where host.os.type == "linux" and event.action in ("rename", "creation") and file.path like "/var/lib/dpkg/info/*"
| stats cc = count(), agent_count = count_distinct(agent.id) by file.name, process.executable
| where agent_count <= 5
| sort cc asc, file.name asc, process.executable asc
| limit 100""",
    "from logs-endpoint.events.file-* | stats pids = sum(process.pid), n = count(*) by event.type | sort event.type",
    "from logs-* | where late.field is not null | keep late.field, process.pid, event.type",
    "from logs-endpoint.events.process-default | where host.name == \"h3\" | sort process.pid desc | limit 5",
    "from logs-endpoint.events.file-* | keep host.* | sort host.name | limit 3",
    "from logs-endpoint.events.file-* | stats n = count() by mv = mv_count(event.type) | sort mv",
]


@pytest.mark.parametrize("query", QUERIES)
def test_answer_from_the_narrow_load_equals_the_complete_one(tmp_path, query):
    data = export(tmp_path / "data")
    complete = OfflineSource([DataSpec(data)], now=NOW)
    complete._catalog = Catalog.load([DataSpec(data)], {})  # the complete load, as a cache gives it
    expected = complete.esql(query)

    fresh = OfflineSource([DataSpec(data)], now=NOW)
    got = fresh.esql(query)
    assert (got.columns, got.values) == (expected.columns, expected.values)
    assert got.values  # each query has an answer to compare


def test_a_query_naming_one_index_does_not_load_the_others(tmp_path, reads):
    data = export(tmp_path / "data")
    source = OfflineSource([DataSpec(data)], now=NOW)
    result = source.esql(QUERIES[0])
    assert result.values
    assert reads == [data / "file.ndjson"]  # process.ndjson was proven to hold no such index
    narrow = source.catalog_for(QUERIES[0])
    assert narrow.indices() == [FILE_INDEX]
    assert sorted(narrow.fields(FILE_INDEX)) == sorted(
        ["@timestamp", "host.os.type", "event.action", "file.path", "file.name", "agent.id", "process.executable"]
    )


def test_a_file_that_holds_the_index_after_its_first_line_is_loaded(tmp_path, reads):
    data = tmp_path / "data"
    data.mkdir()
    with open(data / "mixed.ndjson", "w") as fh:  # first line: the process index
        for i in range(LINES):
            fh.write(json.dumps(event(i, "endpoint.events.file" if i % 100 == 50 else "endpoint.events.process")) + "\n")
    other = OfflineSource([DataSpec(data)], now=NOW)
    other._catalog = Catalog.load([DataSpec(data)], {})
    expected = other.esql("from logs-endpoint.events.file-* | stats n = count()")
    got = OfflineSource([DataSpec(data)], now=NOW).esql("from logs-endpoint.events.file-* | stats n = count()")
    assert got.values == expected.values == [[LINES // 100]]


@pytest.mark.parametrize("spelling", ["endpoint.events.file", "endpoint.events.\\u0066ile", "\\u0065ndpoint.events.file"])
def test_a_late_document_naming_the_index_is_found_however_it_is_spelled(tmp_path, spelling):
    data = tmp_path / "data"
    data.mkdir()
    line = json.dumps(event(1, "endpoint.events.process")) + "\n"
    late = json.dumps(event(2, "SPELLING")).replace("SPELLING", spelling) + "\n"
    (data / "process.ndjson").write_text(line * LINES + late)
    got = OfflineSource([DataSpec(data)], now=NOW).esql("from logs-endpoint.events.file-* | stats n = count()")
    assert got.values == [[1]]


def test_a_file_whose_bytes_cannot_name_the_index_is_not_scanned(tmp_path, monkeypatch):
    data = tmp_path / "process.ndjson"
    data.write_text((json.dumps(event(1, "endpoint.events.process")) + "\n") * LINES)
    scans: list[str] = []

    class Watched:  # the JSON scan is the only query may_hold would run
        def __init__(self, con):
            self.con = con

        def execute(self, sql):
            scans.append(sql)
            return self.con.execute(sql)

    import duckdb

    con = Watched(duckdb.connect())
    assert lazy.may_hold(con, data, None, ("logs-endpoint.events.file-*",)) is False
    assert scans == []
    assert lazy.may_hold(con, data, None, ("logs-endpoint.events.proc*",)) is True  # named by its first line
    assert lazy.may_hold(con, data, None, ("logs-*-default",)) is True
    assert lazy.may_hold(con, data, None, ("2026.11-true-*",)) is False  # pieces a number or word could spell: scanned
    assert len(scans) == 1


def test_a_pivot_the_narrow_load_covers_runs_on_it_others_load_what_they_need(tmp_path, reads):
    data = export(tmp_path / "data")
    source = OfflineSource([DataSpec(data)], now=NOW)
    source.esql(QUERIES[0])
    assert len(reads) == 1
    pivot = source.esql(f'{QUERIES[0].split("| stats")[0]}| where agent.id == "a1" | stats n = count()')
    assert len(reads) == 1 and pivot.values  # covered: no new load
    other = source.esql("from logs-endpoint.events.process-* | stats n = count() by host.name | sort host.name")
    assert len(reads) == 2 and len(other.values) == 7
    again = source.esql(f'{QUERIES[0].split("| stats")[0]}| where agent.id == "a2" | stats n = count()')
    assert len(reads) == 2 and again.values  # the first pane's load is still there


def test_needs_reads_indices_and_fields_from_the_query():
    assert lazy.needs(QUERIES[0]) == lazy.Need(
        ("logs-endpoint.events.file-*",),
        frozenset({"@timestamp", "host.os.type", "event.action", "file.path", "file.name", "agent.id",
                   "process.executable"}),
    )
    # the output is every column: everything is needed
    assert lazy.needs("from a | where x == 1 | limit 5") == lazy.Need(("a",), None)
    assert lazy.needs("from a, b* | keep x.*") == lazy.Need(("a", "b*"), None)
    assert lazy.needs("from a | eval y = x + 1 | stats max(y) by z") == lazy.Need(("a",), frozenset({"x", "y", "z"}))
    assert lazy.needs("row a = 1") is None
    assert lazy.needs("from a | where (") is None


def test_detached_builder_writes_the_complete_cache_and_the_next_run_uses_it(tmp_path):
    data = export(tmp_path / "data")
    cache = tmp_path / "cli-cache"
    env = {**os.environ, "HUNTBENCH_CACHE_DIR": str(cache), "HUNTBENCH_LAZY_MIN_BYTES": "0",
           "HUNTBENCH_CACHE_MIN_BYTES": "0"}
    env.pop("HUNTBENCH_NO_PREWARM", None)
    argv = [sys.executable, "-m", "cli.main", "esql", "--data", str(data), "--now", NOW.isoformat(),
            "--format", "json", QUERIES[1]]
    first = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=True)
    deadline = time.monotonic() + 120  # a bound for a wait, not a speed assertion
    while not list(cache.glob("*.duckdb")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(list(cache.glob("*.duckdb"))) == 1
    second = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=True)
    assert json.loads(second.stdout)["values"] == json.loads(first.stdout)["values"]


def test_a_query_using_no_field_gets_no_spurious_notice(tmp_path):
    data = export(tmp_path / "data")
    result = OfflineSource([DataSpec(data)], now=NOW).esql("from logs-endpoint.events.file-* | stats n = count()")
    assert result.values == [[LINES]]
    assert not [w for w in result.warnings if "hold no field" in w]


def _cli(data: Path, env: dict, *, tty: bool) -> str:
    """The CLI's stderr, on a terminal (through ``script``) or piped."""
    argv = [sys.executable, "-m", "cli.main", "esql", "--data", str(data), "--now", NOW.isoformat(),
            "from logs-endpoint.events.file-* | stats n = count()"]
    if tty:
        import shlex

        out = subprocess.run(["script", "-qec", shlex.join(argv), "/dev/null"], capture_output=True,
                             text=True, env=env, cwd=REPO, check=True)
        return out.stdout  # the terminal carries stdout and stderr
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=True).stderr


@pytest.mark.skipif(subprocess.run(["which", "script"], capture_output=True).returncode != 0,
                    reason="needs script(1) for a terminal")
def test_cli_shows_a_load_progress_bar_on_a_terminal_and_nothing_when_piped(tmp_path):
    data = export(tmp_path / "data")
    env = {**os.environ, "HUNTBENCH_CACHE_DIR": str(tmp_path / "c"), "HUNTBENCH_LAZY_MIN_BYTES": "0",
           "HUNTBENCH_NO_PREWARM": "1", "HUNTBENCH_PROGRESS_AFTER": "0"}
    on_terminal = _cli(data, env, tty=True)
    assert "loading data" in on_terminal
    assert re.search(r"[\d.]+/[\d.]+ [kM]B", on_terminal)  # bytes read of the export's size
    assert "loading" not in _cli(data, {**env, "HUNTBENCH_CACHE_DIR": str(tmp_path / "c2")}, tty=False)


def test_the_pane_sees_load_progress_and_esc_cancels_the_load(tmp_path):
    from collectors.interface import Cancelled, CancelToken

    data = export(tmp_path / "data")
    lines: list[str] = []
    OfflineSource([DataSpec(data)], now=NOW).esql("from logs-* | stats n = count()", progress=lines.append)
    assert re.fullmatch(r"loading █{20} [\d.]+ of [\d.]+ MB · \d+ MB/s · \d+ s left", lines[-1])

    token = CancelToken()

    def esc(_text: str) -> None:  # the user presses Esc as soon as the bar shows
        token.cancel()

    with pytest.raises(Cancelled):
        OfflineSource([DataSpec(data)], now=NOW).esql("from logs-* | stats n = count()", cancel=token, progress=esc)


def test_esc_stops_the_scans_proving_other_files_too(tmp_path):
    """The proofs run beside the load on a cursor of their own: Esc must reach it as well."""
    import threading

    import duckdb

    other = tmp_path / "mixed.ndjson"  # its first document names another index: must be scanned
    doc = event(1, "endpoint.events.process")
    doc["process"]["executable"] = "/opt/endpoint.events.file"  # its bytes may name the index: a scan decides
    other.write_text((json.dumps(doc) + "\n") * 300_000)
    handed: list = []
    stop = threading.Event()

    def press_esc() -> None:  # as the pane's ticker does while the user's Esc is pending
        while not stop.is_set():
            for con in handed:
                con.interrupt()
            stop.wait(0.005)

    con = duckdb.connect()
    with lazy.Proofs(con, [(other, None)], ("logs-endpoint.events.file-*",), handed.append) as proofs:
        assert len(handed) == 1 and handed[0] is not con
        esc = threading.Thread(target=press_esc)
        esc.start()
        try:
            with pytest.raises(duckdb.InterruptException):
                proofs.holds(0)
        finally:
            stop.set()
            esc.join()
    assert not [t for t in threading.enumerate() if t.name == "huntbench-proofs"]
