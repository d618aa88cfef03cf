"""What the CLI writes to a terminal can never drive it; what it writes to a pipe is the data.

Each command runs as a real process whose stdout is a pseudo-terminal (``pty``), as when a
responder types it, or a pipe, as in a script. Field names, values, hunt files and the
cluster's ``Warning`` headers all carry terminal controls: an OSC 52 clipboard write, a CSI
colour, a C1 CSI (U+009B) and a right-to-left override.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from cli.output import format_result, json_text
from collectors.result import Column, QueryResult
from tests.es_standin import StandIn, canned
from tui.escape import visible_json

REPO = Path(__file__).resolve().parent.parent

OSC52 = "\x1b]52;c;ZXZpbA==\x07"
CSI = "\x1b[31m"
C1 = "\x9b"
RLO = "\u202e"
HOSTILE_KEY = f"{OSC52}key"
HOSTILE_VALUE = f"a{CSI}red{RLO}{C1}"
FORMULA_KEY = '=HYPERLINK("http://evil.example","x")'


def terminal_controls(text: str) -> list[str]:
    """Characters a terminal would act on: controls other than line ends and tab, C1,
    bidi and other format characters."""
    return [ch for ch in text if ch not in "\r\n\t" and unicodedata.category(ch) in ("Cc", "Cf")]


def run(args: list[str], *, terminal: bool, cwd: Path | None = None, stdin: bytes | None = None) -> tuple[int, str, str]:
    """``huntbench ARGS`` as its own process; stdout a pty when ``terminal``, else a pipe."""
    cmd = [sys.executable, "-m", "cli.main", *args]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not terminal:
        done = subprocess.run(cmd, input=stdin or b"", capture_output=True, cwd=cwd or REPO, env=env, timeout=120)
        return done.returncode, done.stdout.decode("utf-8", "surrogateescape"), done.stderr.decode()
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            cwd=cwd or REPO, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    err = proc.stderr.read() if proc.stderr else b""
    code = proc.wait(timeout=120)
    return code, b"".join(chunks).decode("utf-8", "surrogateescape").replace("\r\n", "\n"), err.decode()


@pytest.fixture
def hostile_data(tmp_path) -> Path:
    doc = {"@timestamp": "2026-11-16T08:00:00Z", HOSTILE_KEY: "v1", FORMULA_KEY: "=1+2",
           "file.name": HOSTILE_VALUE}
    path = tmp_path / "logs-hostile.ndjson"
    path.write_text(json.dumps(doc) + "\n", encoding="utf-8")
    return path


QUERY = "FROM logs-hostile | LIMIT 5"


@pytest.mark.parametrize("fmt", ["txt", "csv", "tsv", "json"])
def test_esql_output_on_a_terminal_has_no_terminal_controls(hostile_data, fmt):
    code, out, err = run(["esql", QUERY, "--data", str(hostile_data), "--format", fmt], terminal=True)
    assert code == 0, err
    assert terminal_controls(out) == []
    assert "\\x1b]52;c;ZXZpbA==" in out or "\\u001b]52;c;ZXZpbA==" in out  # shown, not dropped


def test_json_on_a_terminal_is_still_the_same_data(hostile_data):
    code, out, err = run(["esql", QUERY, "--data", str(hostile_data), "--format", "json"], terminal=True)
    assert code == 0, err
    body = json.loads(out)
    names = [c["name"] for c in body["columns"]]
    assert HOSTILE_KEY in names
    assert body["values"][0][names.index("file.name")] == HOSTILE_VALUE


def test_terminal_json_escapes_keep_every_value_exact():
    undecodable = b"evil\xff.postinst".decode("utf-8", "surrogateescape")
    values = [OSC52, HOSTILE_VALUE, "\U000e0041\U000e0042 hidden tag characters", undecodable, "café\x7f\n"]
    text = visible_json(json_text({"values": values}))
    assert terminal_controls(text) == []
    assert json.loads(text)["values"] == values


def test_csv_to_a_pipe_carries_the_exact_data(hostile_data):
    code, out, err = run(["esql", QUERY, "--data", str(hostile_data), "--format", "csv"], terminal=False)
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))
    header = rows[0]
    assert HOSTILE_KEY in header
    assert rows[1][header.index("file.name")] == HOSTILE_VALUE  # CSI colour codes kept exactly
    assert "'" + FORMULA_KEY in header  # a formula header is neutralised even in a pipe
    assert rows[1][header.index("'" + FORMULA_KEY)] == "'=1+2"


def test_csv_and_tsv_headers_that_start_a_formula_are_neutralised():
    result = QueryResult([Column(FORMULA_KEY, "keyword"), Column("@timestamp", "date"),
                          Column("-x", "long"), Column("file.name", "keyword")],
                         [["a", "2026-11-16T08:00:00.000Z", 1, "b"]])
    for fmt, delimiter in (("csv", ","), ("tsv", "\t")):
        header = next(csv.reader(io.StringIO(format_result(result, fmt)), delimiter=delimiter))
        assert header == ["'" + FORMULA_KEY, "'@timestamp", "'-x", "file.name"]


@pytest.fixture
def hostile_hunts(tmp_path) -> Path:
    folder = tmp_path / "hunts"
    folder.mkdir()
    def toml(value) -> str:  # JSON's escapes (\\uXXXX) are TOML's too
        return json.dumps(value)

    (folder / "evil.toml").write_text(
        "[hunt]\n"
        'uuid = "0b0e7b0b-0000-4000-8000-00000000e71c"\n'
        f"name = {toml(f'Evil {RLO}hunt')}\n"
        f"mitre = {toml([f'T1546{OSC52}', f'T1{C1}059'])}\n"
        f"integration = {toml([f'endpoint{CSI}'])}\n"
        'query = ["from logs-* | limit 1"]\n',
        encoding="utf-8",
    )
    return folder


@pytest.mark.parametrize("args", [["hunt", "list"], ["hunt", "show", "0b0e7b0b-0000-4000-8000-00000000e71c"],
                                  ["hunt", "list", "--format", "json"]])
def test_hunt_fields_reach_a_terminal_escaped(hostile_hunts, args):
    code, out, err = run([*args, "--hunts", str(hostile_hunts)], terminal=True)
    assert code == 0, err
    assert "T1546" in out
    assert terminal_controls(out) == []


@pytest.fixture
def hostile_case(tmp_path, hostile_hunts) -> Path:
    case = tmp_path / "case.db"
    rows = {"columns": [{"name": HOSTILE_KEY, "type": "keyword"}, {"name": "file.name", "type": "keyword"}],
            "values": [["v", HOSTILE_VALUE]]}
    code, out, err = run(["case", "tag", "--case", str(case), "--tag", "malicious", "--note", f"see {OSC52}",
                          "--hunt", "0b0e7b0b-0000-4000-8000-00000000e71c", "--hunts", str(hostile_hunts),
                          "--from-json", "-"], terminal=False, stdin=json.dumps(rows).encode())
    assert code == 0, err
    return case


def _finding_id(case: Path) -> str:
    code, out, err = run(["case", "list", "--case", str(case), "--format", "json"], terminal=False)
    return json.loads(out)[0]["id"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_case_show_on_a_terminal_is_escaped(hostile_case, fmt):
    code, out, err = run(["case", "show", _finding_id(hostile_case), "--case", str(hostile_case),
                          "--format", fmt], terminal=True)
    assert code == 0, err
    assert "T1546" in out
    assert terminal_controls(out) == []


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_case_export_to_a_terminal_is_escaped_and_to_a_pipe_exact(hostile_case, fmt):
    code, out, err = run(["case", "export", "--case", str(hostile_case), "--out", "-", "--format", fmt],
                         terminal=True)
    assert code == 0, err
    assert "malicious" in out
    assert terminal_controls(out) == []
    code, out, err = run(["case", "export", "--case", str(hostile_case), "--out", "-", "--format", fmt],
                         terminal=False)
    assert HOSTILE_VALUE in (out if fmt == "csv" else json.loads(out.splitlines()[0])["file.name"])


def test_a_clusters_warning_header_is_escaped_on_stderr():
    with StandIn(answer=canned([("file.name", "keyword")], [["x"]], warnings=[f"look {OSC52}here{RLO}"])) as es:
        code, out, err = run(["esql", "FROM logs-* | LIMIT 1", "--es-url", es.url], terminal=False)
    assert code == 0, err
    assert "warning: look " in err
    assert terminal_controls(err) == []
