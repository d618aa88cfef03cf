"""The one factory: the CLI and the TUI choose a source by the same rules and messages,
and a query reaches the source that speaks its language."""

from __future__ import annotations

import pytest

from collectors.interface import HuntbenchError, Language, Source, SourceKind, UsageError
from collectors.sources import SourceOptions, SourceRouter, open_scan, open_source, sample_source
from tests.es_standin import run_cli


@pytest.mark.parametrize("options, message", [
    (SourceOptions(data=("x.ndjson",), sample=True), "give --data or --sample, not both"),
    (SourceOptions(sample=True, es_url="http://127.0.0.1:9"),
     "give offline data (--data/--sample) or a cluster (--es-url/--profile), not both"),
])
def test_contradicting_options_are_refused_in_one_line(options, message):
    with pytest.raises(UsageError) as caught:
        open_source(options)
    assert str(caught.value) == message


def test_cli_and_workbench_refuse_contradicting_options_with_the_same_words(capsys):
    cli_code, _, cli_err = run_cli(["esql", "FROM x", "--data", "x.ndjson", "--sample"], capsys)
    bench_code, _, bench_err = run_cli(["--data", "x.ndjson", "--sample"], capsys)
    assert cli_code == bench_code == 2
    assert "give --data or --sample, not both" in cli_err
    assert "error: give --data or --sample, not both" in bench_err


def test_options_are_taken_out_of_a_commands_arguments():
    kwargs = {"data": ("a.ndjson",), "now": None, "fmt": "json", "insecure": False}
    options = SourceOptions.take(kwargs)
    assert kwargs == {"fmt": "json"}
    assert options.data == ("a.ndjson",) and options.offline and not options.names_cluster


def test_every_source_kind_implements_the_interface():
    offline = open_source(SourceOptions(sample=True))
    scan = open_scan(backend="builtin")
    for source in (offline, scan):
        assert isinstance(source, Source)
    assert (offline.kind, offline.language) == (SourceKind.OFFLINE, Language.ESQL)
    assert (scan.kind, scan.language) == (SourceKind.OSQUERY, Language.OSQUERY)


def test_the_router_sends_each_query_to_the_source_of_its_language():
    router = SourceRouter(sample_source(), open_scan(backend="builtin"))
    esql = router.run(Language.ESQL, "ROW a = 1")
    scan = router.run("osquery SQL", "SELECT 2 AS b")
    assert (esql.column_names, esql.values) == (["a"], [[1]])
    assert (scan.column_names, scan.values) == (["b"], [[2]])


def test_the_router_refuses_a_language_no_source_speaks():
    router = SourceRouter(sample_source())
    with pytest.raises(HuntbenchError, match=r"^EQL queries are not supported$"):
        router.run("EQL", "process where true")
    with pytest.raises(HuntbenchError, match=r"^osquery SQL queries are not supported$"):
        router.run(Language.OSQUERY, "SELECT 1")
