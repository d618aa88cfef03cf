"""A finding tagged from the shell keeps its investigation, as one tagged in the workbench:
``huntbench hunt run --format json | huntbench case tag --from-json -`` records the hunt,
the query as the UI labels it, the source, and -- for a Q1 row that names no host -- the
hosts, agents and first/last seen behind it, from the hunt's declared pivot run through the
same source. Where that source cannot be opened again, the rows are tagged without and one
warning line says how many and how to get them.

Expected values come from the answer key of the data the commands run on (the bundled
sample, and a sample generated here with a seed and capture time the test picks).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from casefile.values import parse_time
from tests.es_standin import StandIn, run_cli
from tests.generated import write_generated
from tests.tui_support import answer_key, planted_chain

HUNTBENCH = str(Path(sys.executable).with_name("huntbench"))
DPKG = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"
DPKG_NAME = "Persistence via DPKG/RPM Package"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A sample the tests never saw: another seed, another capture time, plain NDJSON files."""
    g = write_generated(tmp_path_factory)
    args = ["--data", str(g.folder), "--now", g.capture.strftime("%Y-%m-%dT%H:%M:%SZ")]
    return {"args": args, "key": g.manifest["answer_key"], "window": g.manifest["window"], "seed": g.seed,
            "folder": g.folder, "source": f"offline: {g.folder}"}


@pytest.fixture(scope="module")
def sample():
    import sample_data

    return {"args": ["--sample"], "key": answer_key(), "window": sample_data.manifest()["window"], "seed": None,
            "source": "sample data (bundled, offline)"}


@pytest.fixture(params=["sample", "generated"])
def data(request):
    return request.getfixturevalue(request.param)


def pipe(left: list[str], right: list[str]) -> subprocess.CompletedProcess:
    """``left | right`` through a real OS pipe; fails if either side fails."""
    producer = subprocess.Popen(left, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    consumer = subprocess.run(right, stdin=producer.stdout, capture_output=True, timeout=600)
    producer.stdout.close()
    assert producer.wait(timeout=600) == 0, producer.stderr.read().decode()
    assert consumer.returncode == 0, consumer.stderr.decode()
    return consumer


def export(case: Path, fmt: str, out: Path) -> list[dict]:
    done = subprocess.run([HUNTBENCH, "case", "export", "--case", str(case), "--format", fmt, "--out", str(out)],
                          capture_output=True)
    assert done.returncode == 0, done.stderr.decode()
    text = out.read_text(encoding="utf-8")
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text, newline="")))
    return [json.loads(line) for line in text.splitlines()]


def the_row(rows: list[dict], chain: dict) -> dict:
    found = [r for r in rows if r["file.name"] == chain["file.name"]
             and r["process.executable"] == chain["process.executable"]]
    assert len(found) == 1, [r["file.name"] for r in rows]
    return found[0]


# ---------------------------------------------------------------- the README pipeline
def test_the_readme_pipeline_records_the_hosts_and_time_behind_a_q1_file(data, tmp_path):
    chain = planted_chain(key=data["key"], most_agents=True)
    agents = chain["pivot_agents"]  # [events, first_seen, last_seen, agent.id, host.name] per agent
    seed = f"(generated seed {data['seed']})"
    case = tmp_path / "case.db"
    tagged = pipe([HUNTBENCH, "hunt", "run", *data["args"], "--format", "json"],
                  [HUNTBENCH, "case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", "-"])
    assert "name no host" not in tagged.stderr.decode(), tagged.stderr.decode()
    start, end = parse_time(data["window"]["start"]), parse_time(data["window"]["end"])

    row = the_row(export(case, "csv", tmp_path / "f.csv"), chain)
    assert sorted(row["host.name"].split(", ")) == sorted(a[4] for a in agents), seed
    assert sorted(row["agent.id"].split(", ")) == sorted(a[3] for a in agents), seed
    assert row["first_seen"] == min(parse_time(a[1]) for a in agents) == row["datetime"], seed
    assert row["last_seen"] == max(parse_time(a[2]) for a in agents), seed
    assert start <= row["datetime"] <= end < row["tagged"], seed
    assert row["timestamp_desc"] == "First seen"
    assert (row["hunt"], row["hunt_uuid"]) == (DPKG_NAME, DPKG)
    assert row["pivot_path"].split(" ")[0] == "Q1"
    assert row["source"] == data["source"]

    line = the_row(export(case, "jsonl", tmp_path / "f.jsonl"), chain)
    assert sorted(line["host.name"]) == sorted(a[4] for a in agents), seed
    assert sorted(line["agent.id"]) == sorted(a[3] for a in agents), seed
    assert line["datetime"] == row["datetime"] and line["mitre"] == ["T1546.016"]


def test_hunt_run_json_keeps_its_keys_and_adds_what_case_tag_records(sample, capsys):
    code, out, err = run_cli(["hunt", "run", DPKG, "--sample", "--format", "json"], capsys)
    assert code == 0, err
    q1, q2 = json.loads(out)
    # What older readers use is still there, unchanged in shape.
    assert (q1["query"], q1["language"], q2["query"]) == (0, "ES|QL", 1)
    assert [c["name"] for c in q1["columns"]] == ["cc", "agent_count", "file.name", "process.executable"]
    assert (q1["label"], q2["label"]) == ("Q1", "Q2")
    assert q1["hunt"]["uuid"] == DPKG and q1["hunt"]["name"] == DPKG_NAME and q1["hunt"]["mitre"] == ["T1546.016"]
    assert q1["source"]["description"] == sample["source"] and q1["source"]["kind"] == "offline"
    assert parse_time(q1["now"]) == parse_time(sample["window"]["end"])


def test_an_esql_stats_row_gets_the_hosts_of_the_events_behind_it(data, tmp_path):
    """No hunt, no declared pivot: the query itself up to its STATS, narrowed to the row."""
    from hunts import load_library

    chain = planted_chain(key=data["key"], most_agents=True)
    q1 = load_library(include_user_dir=False).default.queries[0].text
    case = tmp_path / "case.db"
    pipe([HUNTBENCH, "esql", q1 + "\n| where file.name == ?f", "--param", f"f={chain['file.name']}",
          *data["args"], "--format", "json"],
         [HUNTBENCH, "case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", "-"])
    row = the_row(export(case, "csv", tmp_path / "f.csv"), chain)
    agents = chain["pivot_agents"]
    assert sorted(row["host.name"].split(", ")) == sorted(a[4] for a in agents), data["seed"]
    assert row["datetime"] == min(parse_time(a[1]) for a in agents), data["seed"]
    assert row["source"] == data["source"]


# ---------------------------------------------------------------- what the responder says wins
def test_given_hunt_source_and_query_win_over_what_the_json_says(sample, tmp_path, capsys):
    produced = tmp_path / "run.json"
    code, out, err = run_cli(["hunt", "run", DPKG, "--sample", "--format", "json"], capsys)
    assert code == 0, err
    produced.write_text(out, encoding="utf-8")
    case = tmp_path / "case.db"
    code, out, err = run_cli(["case", "tag", "--case", str(case), "--tag", "suspicious", "--source",
                              "https://analyst:s3cret@es.corp.example:9200/", "--query", "7",
                              "--from-json", str(produced)], capsys)
    assert code == 0, err
    rows = export(case, "csv", tmp_path / "f.csv")
    assert {r["source"] for r in rows} == {"https://es.corp.example:9200/"}
    assert {r["pivot_path"] for r in rows} == {"Q8"}
    # The hunt still comes from the JSON, and the rows' hosts from its declared pivot.
    chain = planted_chain(key=sample["key"], most_agents=True)
    assert the_row(rows, chain)["hunt"] == DPKG_NAME
    assert sorted(the_row(rows, chain)["host.name"].split(", ")) == sorted(a[4] for a in chain["pivot_agents"])


# ---------------------------------------------------------------- when the source is gone
def test_rows_whose_source_cannot_be_opened_again_are_tagged_with_one_warning(generated, tmp_path, capsys):
    copy = tmp_path / "export"
    shutil.copytree(generated["folder"], copy)
    code, out, err = run_cli(["hunt", "run", DPKG, "--data", str(copy), *generated["args"][2:], "--format", "json"],
                             capsys)
    assert code == 0, err
    results = json.loads(out)
    aggregate = len(results[0]["values"]) + len(results[1]["values"])  # Q1 and Q2 rows name no host
    produced = tmp_path / "run.json"
    produced.write_text(out, encoding="utf-8")
    shutil.rmtree(copy)
    case = tmp_path / "case.db"
    code, out, err = run_cli(["case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json",
                              str(produced)], capsys)
    assert code == 0, err
    assert out.endswith(f"{aggregate} findings created, 0 updated\n")
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, err
    assert f"{aggregate} rows name no host" in warnings[0] and str(copy) in warnings[0]
    assert "hunt run" in warnings[0]  # how to get them
    rows = export(case, "csv", tmp_path / "f.csv")
    assert {r["host.name"] for r in rows} == {""}
    assert {r["source"] for r in rows} == {f"offline: {copy}"}  # still where they came from


def test_json_that_does_not_say_its_source_is_tagged_with_one_warning(sample, tmp_path, capsys):
    code, out, err = run_cli(["hunt", "run", DPKG, "--sample", "--format", "json"], capsys)
    assert code == 0, err
    bare = [{k: r[k] for k in ("query", "language", "columns", "values")} for r in json.loads(out)]
    produced = tmp_path / "bare.json"
    produced.write_text(json.dumps(bare), encoding="utf-8")
    case = tmp_path / "case.db"
    code, out, err = run_cli(["case", "tag", "--case", str(case), "--tag", "suspicious", "--hunt", DPKG,
                              "--from-json", str(produced)], capsys)
    assert code == 0, err
    total = sum(len(r["values"]) for r in bare)
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and f"{total} rows name no host" in warnings[0], err


# ---------------------------------------------------------------- a cluster
def test_rows_from_a_cluster_get_their_hosts_from_the_cluster_configured_here(sample, clean_env, tmp_path, capsys):
    chain = planted_chain(key=sample["key"], most_agents=True)
    with StandIn(basic=("hunter", "s3cret-pw")) as server:
        secret_url = server.url.replace("://", "://hunter:s3cret-pw@")
        code, out, err = run_cli(["hunt", "run", DPKG, "--es-url", secret_url, "--format", "json"], capsys)
        assert code == 0, err
        assert "s3cret-pw" not in out
        produced = tmp_path / "run.json"
        produced.write_text(out, encoding="utf-8")
        case = tmp_path / "case.db"
        args = ["case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", str(produced)]

        # No cluster configured here: tagged without hosts, the stand-in is not asked.
        asked = len(server.requests)
        code, out, err = run_cli(args, capsys)
        assert code == 0, err
        assert "rows name no host" in err and len(server.requests) == asked
        assert the_row(export(case, "csv", tmp_path / "a.csv"), chain)["host.name"] == ""

        # The same cluster from the environment: the declared pivot runs there, values as parameters.
        clean_env.setenv("ELASTICSEARCH_URL", server.url)
        clean_env.setenv("ELASTIC_USERNAME", "hunter")
        clean_env.setenv("ELASTIC_PASSWORD", "s3cret-pw")
        code, out, err = run_cli(args, capsys)
        assert code == 0, err
        assert "name no host" not in err
        sent = [r.body.get("params") for r in server.requests[asked:] if isinstance(r.body, dict) and "query" in r.body]
        assert any({"file_name": chain["file.name"]} in (p or []) for p in sent)
    row = the_row(export(case, "csv", tmp_path / "b.csv"), chain)
    assert sorted(row["host.name"].split(", ")) == sorted(a[4] for a in chain["pivot_agents"])
    assert row["source"] == f"elastic: {server.url}"
    assert "s3cret-pw" not in (tmp_path / "b.csv").read_text(encoding="utf-8")


def test_a_cluster_the_json_names_is_not_sent_the_credentials_configured_here(sample, clean_env, tmp_path, capsys):
    with StandIn() as server, StandIn() as other:
        code, out, err = run_cli(["hunt", "run", DPKG, "--es-url", other.url, "--format", "json"], capsys)
        assert code == 0, err
        produced = tmp_path / "run.json"
        produced.write_text(out, encoding="utf-8")
        clean_env.setenv("ELASTICSEARCH_URL", server.url)
        clean_env.setenv("ELASTIC_API_KEY", "a-key-for-the-configured-cluster")
        asked = len(other.requests)
        code, out, err = run_cli(["case", "tag", "--case", str(tmp_path / "c.db"), "--tag", "suspicious",
                                  "--from-json", str(produced)], capsys)
        assert code == 0, err
        assert "is not the one the rows came from" in err
        assert len(other.requests) == asked
        assert not [r for r in server.requests if isinstance(r.body, dict) and "query" in r.body]


# ---------------------------------------------------------------- the local scan
def test_a_scan_of_an_image_records_the_image_and_its_host(image, tmp_path):
    root, facts = image
    host = (root / "etc" / "hostname").read_text().strip()
    case = tmp_path / "case.db"
    pipe([HUNTBENCH, "scan", DPKG, "--root", str(root), "--format", "json"],
         [HUNTBENCH, "case", "tag", "--case", str(case), "--tag", "suspicious", "--from-json", "-"])
    rows = export(case, "csv", tmp_path / "f.csv")
    assert {r["file.path"] for r in rows} == set(facts["recent"])
    assert {r["host.name"] for r in rows} == {host}
    assert {r["pivot_path"] for r in rows} == {"Local scan"}
    assert {r["hunt"] for r in rows} == {DPKG_NAME}
    assert all(str(root.absolute()) in r["source"] and host in r["source"] for r in rows)
