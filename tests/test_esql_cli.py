"""The CLI contract of ``huntbench esql`` and ``huntbench hunt run`` (output formats, exit
codes, warnings on stderr), run as a user would: the installed console script in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import sample_data

EXE = [sys.executable, "-c", "from cli.main import main; main()"]

EVENTS = [
    {"@timestamp": "2024-05-09T10:00:00Z", "host": {"name": "h1"}, "event": {"action": "exec"}, "size": 3, "ip": "10.0.0.1"},
    {"@timestamp": "2024-05-09T11:00:00Z", "host": {"name": "h2"}, "event": {"action": "exec"}, "size": 5, "ip": "10.0.0.2"},
    {"@timestamp": "2024-04-01T11:00:00Z", "host": {"name": "h1"}, "event": {"action": "fork"}, "size": 7, "ip": "10.0.0.3"},
]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(EXE + list(args), capture_output=True, text=True, input=stdin, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    path = tmp_path / "events.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n", encoding="utf-8")
    return path


def test_json_output_is_query_shaped_and_warnings_go_to_stderr(data):
    p = run("esql", "from events | stats c = count() by host.name | sort host.name", "--data", str(data), "--format", "json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["columns"] == [{"name": "c", "type": "long"}, {"name": "host.name", "type": "keyword"}]
    assert out["values"] == [[2, "h1"], [1, "h2"]]
    assert p.stderr == "warning: No limit defined, adding default limit of [1000]\n"


def test_query_error_exits_1_with_line_and_column(data):
    p = run("esql", "from events\n| where nope == 1 | limit 1", "--data", str(data))
    assert p.returncode == 1
    assert p.stderr == "error: line 2:9: Unknown column [nope]\n"
    p = run("esql", "from events | where", "--data", str(data))
    assert p.returncode == 1 and p.stderr.startswith("error: line 1:") and "Traceback" not in p.stderr
    p = run("esql", "from nothere | limit 1", "--data", str(data))
    assert p.returncode == 1 and p.stderr == "error: line 1:1: Unknown index [nothere]\n"


def test_bad_usage_and_unreadable_input_exit_2(data, tmp_path):
    p = run("esql", "from events", "--data", str(tmp_path / "missing.ndjson"))
    assert p.returncode == 2 and p.stderr.startswith("error: ") and "missing.ndjson" in p.stderr
    p = run("esql", "from events", "--data", str(data), "--format", "xml")
    assert p.returncode == 2 and "Traceback" not in p.stderr
    p = run("esql", "from events", "--data", str(data), "--now", "yesterday")
    assert p.returncode == 2 and p.stderr.startswith("error: --now")
    p = run("esql", "@" + str(tmp_path / "nofile.esql"), "--data", str(data))
    assert p.returncode == 2 and "nofile.esql" in p.stderr


def test_index_mapping_params_now_and_formats(data, tmp_path):
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"properties": {"size": {"type": "integer"}, "ip": {"type": "ip"}}}), encoding="utf-8")
    p = run("esql", "from ev | where host.name == ?h and @timestamp > now() - 1 day | keep host.name, size, ip | limit 5",
            "--data", f"ev={data}", "--mapping", f"ev={mapping}", "--param", "h=h2",
            "--now", "2024-05-09T12:00:00Z", "--format", "json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["columns"] == [{"name": "host.name", "type": "keyword"}, {"name": "size", "type": "integer"},
                              {"name": "ip", "type": "ip"}]
    assert out["values"] == [["h2", 5, "10.0.0.2"]] and p.stderr == ""
    p = run("esql", "from ev | sort size | keep host.name, size | limit 2", "--data", f"ev={data}", "--format", "csv")
    assert p.stdout == "host.name,size\nh1,3\nh2,5\n"
    p = run("esql", "from ev | sort size | keep host.name, size | limit 1", "--data", f"ev={data}", "--format", "tsv")
    assert p.stdout == "host.name\tsize\nh1\t3\n"
    p = run("esql", "-", "--data", f"ev={data}", "--format", "txt", stdin="from ev | stats n = count() | limit 1")
    assert p.returncode == 0 and p.stdout.splitlines()[0].strip() == "n" and p.stdout.splitlines()[2].strip() == "3"


def test_time_filter_excluding_everything_is_a_warning(data):
    p = run("esql", "from events | where @timestamp > now() - 1 hour | limit 10", "--data", str(data),
            "--now", "2030-01-01T00:00:00Z", "--format", "json")
    assert p.returncode == 0
    assert json.loads(p.stdout)["values"] == []
    assert p.stderr.startswith("warning: time filter [@timestamp > now() - 1 hour] excluded all 3 rows")


def test_malformed_lines_are_reported_as_warnings(data):
    with data.open("a", encoding="utf-8") as fh:
        fh.write("{not json\n")
    p = run("esql", "from events | stats c = count() | limit 1", "--data", str(data), "--format", "json")
    assert p.returncode == 0
    assert json.loads(p.stdout)["values"] == [[3]]
    assert p.stderr.startswith("warning: ") and "skipped 1 malformed line" in p.stderr


def test_hunt_run_sample_json_matches_answer_key():
    p = run("hunt", "run", "--sample", "--format", "json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert [(o["query"], o["language"]) for o in out] == [(0, "ES|QL"), (1, "ES|QL")]
    key = sample_data.manifest()["answer_key"]["queries"]
    for obj, answer in zip(out, key):
        assert obj["columns"] == answer["columns"]
        assert sorted(map(json.dumps, obj["values"])) == sorted(json.dumps(r["values"]) for r in answer["rows"])
    assert "warning" not in p.stderr


def test_hunt_run_query_error_exits_1(tmp_path, data):
    (tmp_path / "bad.toml").write_text(
        '[hunt]\nuuid = "00000000-0000-4000-8000-0000000000ba"\nname = "bad"\n'
        'query = ["from events | where nope > 1 | limit 1"]\n', encoding="utf-8")
    p = run("hunt", "run", str(tmp_path / "bad.toml"), "--data", str(data))
    assert p.returncode == 1 and p.stderr.strip().endswith("error: line 1:21: Unknown column [nope]")


def test_engine_limits_are_one_line_query_errors_or_answers(tmp_path):
    """The deepest expression the parser accepts answers; more than 500 commands and a
    non-finite parameter are Elasticsearch-style query errors (exit 1, one line, no
    traceback); a 26-digit integer parameter is a double."""
    deep = tmp_path / "deep.esql"
    deep.write_text("ROW a = -1 | EVAL b = " + "ABS(" * 299 + "a" + ")" * 299, encoding="utf-8")
    p = run("esql", f"@{deep}", "--format", "csv")
    assert (p.returncode, p.stdout, "Traceback" in p.stderr) == (0, "a,b\n-1,1\n", False)
    p = run("esql", "ROW a = 1" + " | EVAL a = a + 1" * 1000)
    assert p.returncode == 1
    assert p.stderr == ("error: line 1:1: ESQL statement exceeded the maximum query depth allowed (500): "
                        "[ROW | EVAL | EVAL | ...]\n")
    p = run("esql", "ROW a = ?p", "--param", "p=NaN")
    assert (p.returncode, p.stderr) == (1, "error: line 1:9: query parameter [?p] is [NaN]: only finite numbers are accepted\n")
    p = run("esql", "ROW a = ?p", "--param", "p=" + "9" * 26, "--format", "json")
    assert p.returncode == 0 and json.loads(p.stdout)["values"] == [[1e26]]
