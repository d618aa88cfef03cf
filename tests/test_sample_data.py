"""The bundled sample: reproducible, shaped like Elastic Defend, and telling the story its
answer key claims.

The answer key is checked here independently of the generator's own evaluation: by
hand-written DuckDB SQL over the NDJSON, spelling the hunt's ES|QL filters as plain string
functions (``LIKE "/var/lib/rpm/*"`` -> ``starts_with``; ES|QL ``_`` is literal, so
``"__db*.*"`` is "starts with __db and has a dot after it").
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest

import sample_data
from sample_data import generate

ESC = "\u001b"


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


COLUMNS = {
    "@timestamp": "VARCHAR",
    "agent": "STRUCT(id VARCHAR)",
    "data_stream": "STRUCT(dataset VARCHAR, namespace VARCHAR, type VARCHAR)",
    "event": "STRUCT(action VARCHAR, type VARCHAR[])",
    "file": "STRUCT(name VARCHAR, path VARCHAR)",
    "host": "STRUCT(name VARCHAR, os STRUCT(type VARCHAR, family VARCHAR))",
    "process": "STRUCT(executable VARCHAR, command_line VARCHAR, "
               "parent STRUCT(executable VARCHAR, command_line VARCHAR))",
    "user": "STRUCT(name VARCHAR)",
}


class Sample:
    """A generated sample opened in DuckDB, with its manifest."""

    def __init__(self, data: Path, manifest: dict) -> None:
        self.data = data
        self.manifest = manifest
        self.key = manifest["answer_key"]
        self.cutoff = _ms(self.key["now"]) - 7 * 86_400_000
        self.con = duckdb.connect()
        # Only the fields the hunt and its pivots read, declared rather than inferred.
        self.con.execute(
            "CREATE TABLE ev AS SELECT * REPLACE (epoch_ms(\"@timestamp\"::TIMESTAMPTZ) AS \"@timestamp\") "
            "FROM read_json(?, format='newline_delimited', columns=?, maximum_object_size=16777216)",
            [str(data), COLUMNS])

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    # ---- the hunt's two queries, by hand
    def query0(self) -> list[list]:
        return [list(r) for r in self.rows(f"""
            SELECT count(*) AS cc, count(DISTINCT agent.id) AS agent_count,
                   file.name, process.executable
            FROM ev
            WHERE data_stream.type = 'logs' AND data_stream.dataset = 'endpoint.events.file'
              AND "@timestamp" > {self.cutoff}
              AND host.os.type = 'linux' AND event.action IN ('rename', 'creation')
              AND (starts_with(file.path, '/var/lib/dpkg/info/') OR starts_with(file.path, '/var/lib/rpm/'))
              AND NOT (ends_with(file.name, '-new')
                       OR (starts_with(file.name, '__db') AND contains(substr(file.name, 5), '.'))
                       OR ends_with(file.name, '.list')
                       OR contains(file.name, '.md5sums'))
            GROUP BY file.name, process.executable
            HAVING count(DISTINCT agent.id) <= 3
            ORDER BY cc, file.name, process.executable""")]

    SCRIPT_CHILD = """event.type = ['start'] AND event.action = 'exec'
              AND (contains(process.parent.command_line, '/var/tmp/rpm-tmp.')
                   OR starts_with(process.parent.executable, '/var/lib/dpkg/info/'))"""

    def query1(self) -> list[list]:
        return [list(r) for r in self.rows(f"""
            SELECT count(*) AS cc, count(DISTINCT agent.id) AS agent_count,
                   process.executable, process.command_line
            FROM ev
            WHERE data_stream.type = 'logs' AND data_stream.dataset = 'endpoint.events.process'
              AND "@timestamp" > {self.cutoff}
              AND host.os.type = 'linux' AND {self.SCRIPT_CHILD}
            GROUP BY process.executable, process.command_line
            HAVING count(DISTINCT agent.id) <= 3
            ORDER BY cc, process.executable, process.command_line""")]

    # ---- the pivots, by hand
    def agents_for_file(self, file_name: str, executable: str) -> list[list]:
        return self._agents("""data_stream.dataset = 'endpoint.events.file'
              AND event.action IN ('rename', 'creation')
              AND (starts_with(file.path, '/var/lib/dpkg/info/') OR starts_with(file.path, '/var/lib/rpm/'))
              AND file.name = ? AND process.executable = ?""", [file_name, executable])

    def agents_for_command(self, executable: str, command_line: str) -> list[list]:
        return self._agents(f"""data_stream.dataset = 'endpoint.events.process' AND {self.SCRIPT_CHILD}
              AND process.executable = ? AND process.command_line = ?""", [executable, command_line])

    def _agents(self, where: str, params: list) -> list[list]:
        rows = self.rows(f"""
            SELECT count(*) AS events, min("@timestamp"), max("@timestamp"),
                   agent.id AS agent_id, host.name
            FROM ev
            WHERE "@timestamp" > {self.cutoff} AND host.os.type = 'linux' AND {where}
            GROUP BY agent.id, host.name
            ORDER BY events, agent_id""", params)
        return [[n, _iso(first), _iso(last), agent, host] for n, first, last, agent, host in rows]

    def agent_script_commands(self, agent_id: str) -> list[list]:
        rows = self.rows(f"""
            SELECT "@timestamp", host.name, user.name, process.parent.executable,
                   process.parent.command_line, process.executable, process.command_line
            FROM ev
            WHERE data_stream.dataset = 'endpoint.events.process' AND "@timestamp" > {self.cutoff}
              AND agent.id = ? AND {self.SCRIPT_CHILD}
            ORDER BY 1 LIMIT 1000""", [agent_id])
        return [[_iso(r[0]), *r[1:]] for r in rows]


@pytest.fixture(scope="module")
def bundled() -> Sample:
    files = sample_data.data_files()
    assert [f.name for f in files] == ["endpoint-events.ndjson.gz"]
    return Sample(files[0], sample_data.manifest())


@pytest.fixture(scope="module")
def docs(bundled: Sample) -> list[dict]:
    with gzip.open(bundled.data, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _key_rows(key: dict, number: int) -> list[list]:
    rows = [row["values"] for row in key["queries"][number]["rows"]]
    return sorted(rows, key=lambda r: (r[0], r[2], r[3]))


# ------------------------------------------------------------------ reproducible

def test_cli_regenerates_the_bundled_files_byte_for_byte(tmp_path: Path) -> None:
    manifest = sample_data.manifest()
    gen = manifest["generator"]
    assert gen["command"] == f"python -m sample_data.generate --events {gen['events_requested']} --seed {gen['seed']}"
    done = subprocess.run([sys.executable, "-m", "sample_data.generate", "--events", str(gen["events_requested"]),
                           "--seed", str(gen["seed"]), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    folder = sample_data.folder()
    for name in ("manifest.json", "MANIFEST.md"):
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name
    fresh = (tmp_path / "endpoint-events.ndjson.gz").read_bytes()
    bundled = (folder / "endpoint-events.ndjson.gz").read_bytes()
    assert gzip.decompress(fresh) == gzip.decompress(bundled)
    if "ng" not in zlib.ZLIB_RUNTIME_VERSION:  # zlib-ng deflates differently; content is checked above
        assert fresh == bundled
    assert fresh[4:8] == b"\0\0\0\0", "gzip header must carry mtime 0"
    assert not list(tmp_path.glob("*.partial"))


def test_cli_rejects_a_sample_too_small_for_the_story(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sample_data.generate", "--events", "50", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --events 50 is too small") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ shape

def test_events_have_the_nested_shape_elastic_defend_writes(docs: list[dict]) -> None:
    manifest = sample_data.manifest()
    assert len(docs) == manifest["counts"]["events"] == manifest["files"][0]["events"]
    for doc in docs:
        ds = doc["data_stream"]
        assert ds["type"] == "logs" and ds["namespace"] == "default"
        assert ds["dataset"] in ("endpoint.events.file", "endpoint.events.process")
        event = doc["event"]
        assert isinstance(event["category"], list) and isinstance(event["type"], list)
        assert event["dataset"] == ds["dataset"] and event["module"] == "endpoint" and event["kind"] == "event"
        assert doc["agent"]["type"] == "endpoint" and doc["agent"]["id"] == doc["elastic"]["agent"]["id"]
        assert doc["host"]["os"]["type"] in ("linux", "windows", "macos")
        assert doc["host"]["name"] == doc["host"]["hostname"]
        assert doc["@timestamp"].endswith("Z") and len(doc["@timestamp"]) == 24
        assert doc["process"]["entity_id"] and doc["process"]["executable"]
        assert doc["user"]["name"]
        if ds["dataset"] == "endpoint.events.file":
            assert event["category"] == ["file"]
            assert "parent" not in doc["process"] and "command_line" not in doc["process"]
            sep = "\\" if doc["host"]["os"]["type"] == "windows" else "/"
            assert doc["file"]["path"].rsplit(sep, 1)[-1] == doc["file"]["name"]
        else:
            assert event["category"] == ["process"] and "file" not in doc
            assert doc["process"]["command_line"] == " ".join(doc["process"]["args"])
            assert doc["process"]["args_count"] == len(doc["process"]["args"])
            if event["action"] in ("exec", "fork", "start"):
                assert event["type"] == ["start"]
                parent = doc["process"]["parent"]
                assert parent["entity_id"] and parent["command_line"] == " ".join(parent["args"])


def test_json_keys_are_in_sorted_order_everywhere(bundled: Sample) -> None:
    def check(value) -> None:
        if isinstance(value, dict):
            assert list(value) == sorted(value)
            for item in value.values():
                check(item)
        elif isinstance(value, list):
            for item in value:
                check(item)

    with gzip.open(bundled.data, "rt", encoding="utf-8") as handle:
        for line in handle:
            check(json.loads(line))


def test_fleet_time_span_and_decoys(bundled: Sample) -> None:
    hosts = dict(bundled.rows("SELECT host.os.type, count(DISTINCT host.name) FROM ev GROUP BY 1"))
    assert 38 <= hosts["linux"] <= 42 and hosts["windows"] >= 2 and hosts["macos"] >= 2
    families = {r[0] for r in bundled.rows("SELECT DISTINCT host.os.family FROM ev WHERE host.os.type = 'linux'")}
    assert {"ubuntu", "debian"} <= families and {"rhel", "rocky"} <= families
    first, last = bundled.rows('SELECT min("@timestamp"), max("@timestamp") FROM ev')[0]
    capture = _ms(bundled.manifest["capture_time"])
    assert 9.5 <= (capture - first) / 86_400_000 <= 10 and last < capture
    # Planted-looking events the hunt's filters must drop are really there.
    old = bundled.rows(f"""SELECT count(*) FROM ev WHERE "@timestamp" <= {bundled.cutoff}
                           AND file.name LIKE 'netfilter-persistent-helper.%'""")[0][0]
    at_cutoff = bundled.rows(f"""SELECT count(*) FROM ev WHERE "@timestamp" = {bundled.cutoff}
                                 AND file.name = 'netfilter-persistent-helper.postinst'""")[0][0]
    non_linux = bundled.rows("""SELECT count(*) FROM ev WHERE host.os.type <> 'linux' AND
                                (starts_with(file.path, '/var/lib/dpkg/info/')
                                 OR contains(process.parent.command_line, '/var/tmp/rpm-tmp.')
                                 OR starts_with(process.parent.executable, '/var/lib/dpkg/info/'))""")[0][0]
    assert old > 5 and at_cutoff == 1 and non_linux >= 3


def test_routine_package_noise_is_there_and_common(bundled: Sample) -> None:
    noise = dict(bundled.rows(f"""
        SELECT CASE WHEN ends_with(file.name, '.list') THEN 'list' WHEN ends_with(file.name, '-new') THEN 'new'
                    WHEN ends_with(file.name, '.md5sums') THEN 'md5sums' WHEN starts_with(file.name, '__db.') THEN 'db'
               END AS kind, count(DISTINCT agent.id)
        FROM ev WHERE "@timestamp" > {bundled.cutoff} AND file.path LIKE '/var/lib/%'
        GROUP BY kind"""))
    assert all(noise.get(kind, 0) > 3 for kind in ("list", "new", "md5sums", "db"))
    scripted = bundled.rows(f"""SELECT count(DISTINCT agent.id) FROM ev
                               WHERE "@timestamp" > {bundled.cutoff} AND {Sample.SCRIPT_CHILD}""")[0][0]
    assert scripted >= 20


# ------------------------------------------------------------------ the story

def test_duckdb_finds_exactly_the_answer_keys_rows(bundled: Sample) -> None:
    assert bundled.query0() == _key_rows(bundled.key, 0)
    assert bundled.query1() == _key_rows(bundled.key, 1)
    for number in (0, 1):
        ccs = [row["values"][0] for row in bundled.key["queries"][number]["rows"]]
        assert ccs == sorted(ccs) and len(ccs) <= 100
        assert [c["name"] for c in bundled.key["queries"][number]["columns"]][:2] == ["cc", "agent_count"]


def test_planted_rows_stand_out(bundled: Sample) -> None:
    for number in (0, 1):
        labels = [row["label"] for row in bundled.key["queries"][number]["rows"]]
        planted = [label for label in labels if label.startswith("planted:")]
        assert len(planted) >= 2 * labels.count("benign")
        assert {label.split(":", 1)[1] for label in planted} == {i["id"] for i in bundled.key["intrusions"]}
    assert len(bundled.key["intrusions"]) >= 3
    for intrusion in bundled.key["intrusions"]:
        assert 1 <= len(intrusion["agents"]) <= 3 and intrusion["mitre"] and intrusion["description"]
        assert intrusion["files"] and intrusion["command_lines"]


def test_pivot_chain_leads_from_each_planted_file_to_its_command_lines(bundled: Sample) -> None:
    rows0 = bundled.key["queries"][0]["rows"]
    rows1 = bundled.key["queries"][1]["rows"]
    by_agent = bundled.key["pivots"]["agent_script_commands"]["by_agent"]
    for intrusion in bundled.key["intrusions"]:
        agents = {(a["agent.id"], a["host.name"]) for a in intrusion["agents"]}
        reached: set[tuple[str, str]] = set()
        for row in (r for r in rows0 if r["label"] == intrusion["label"]):
            found = bundled.agents_for_file(row["values"][2], row["values"][3])
            assert found == row["pivot_agents"]
            reached |= {(r[3], r[4]) for r in found}
        assert reached == agents, intrusion["id"]
        commands_seen: set[tuple[str, str]] = set()
        for agent_id, _host in sorted(agents):
            lines = bundled.agent_script_commands(agent_id)
            expected = by_agent[agent_id]
            assert len(lines) == min(expected["row_count"], 1000)
            assert sorted(map(tuple, lines)) == sorted(tuple(r["values"]) for r in expected["rows"])
            commands_seen |= {(r[5], r[6]) for r in lines}
        wanted = {(c["process.executable"], c["process.command_line"]) for c in intrusion["command_lines"]}
        assert wanted <= commands_seen, intrusion["id"]
        for row in (r for r in rows1 if r["label"] == intrusion["label"]):
            found = bundled.agents_for_command(row["values"][2], row["values"][3])
            assert found == row["pivot_agents"] and {(r[3], r[4]) for r in found} <= agents


def test_hostile_strings_reach_the_hunts_results(bundled: Sample) -> None:
    values = [v for q in (bundled.query0(), bundled.query1()) for row in q for v in row[2:]]
    text = "\n".join(values)
    assert f"{ESC}[31m" in text  # ANSI colour
    assert f"{ESC}]52;" in text  # OSC 52 clipboard write
    assert f"{ESC}]8;;" in text  # OSC 8 hyperlink
    assert "[link=https://evil.example]click[/link]" in text and "[/]" in text  # Rich markup
    assert "\u202e" in text  # right-to-left override
    assert any("\n" in v for v in values)
    assert max(len(v) for v in values) >= 10_000


def test_manifest_documents_the_capture_time_and_generator(bundled: Sample) -> None:
    manifest = bundled.manifest
    assert sample_data.capture_time() == datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc)
    assert manifest["capture_time"] == manifest["answer_key"]["now"]
    assert manifest["answer_key"]["hunt"]["uuid"] == "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"
    md = (sample_data.folder() / "MANIFEST.md").read_text(encoding="utf-8")
    assert ESC not in md and "\u202e" not in md  # hostile values are shown escaped
    for intrusion in manifest["answer_key"]["intrusions"]:
        assert intrusion["title"] in md and all(a["host.name"] in md for a in intrusion["agents"])


# ------------------------------------------------------------------ scale

def test_events_scale_with_another_seed_and_the_story_still_holds(tmp_path: Path) -> None:
    manifest = generate.write(tmp_path, 200_000, seed=11, plain=True)
    data = tmp_path / "endpoint-events.ndjson"
    assert manifest["counts"]["events"] == 200_000
    with open(data, "rb") as handle:
        assert sum(1 for _ in handle) == 200_000
    big = Sample(data, manifest)
    assert big.query0() == _key_rows(big.key, 0)
    assert big.query1() == _key_rows(big.key, 1)
    bundled_key = sample_data.manifest()["answer_key"]
    assert [i["id"] for i in big.key["intrusions"]] == [i["id"] for i in bundled_key["intrusions"]]
    assert [sorted(a["host.name"] for a in i["agents"]) for i in big.key["intrusions"]] == \
        [sorted(a["host.name"] for a in i["agents"]) for i in bundled_key["intrusions"]]
    # A different seed is a different fleet: other agent ids, same story.
    assert {a["agent.id"] for i in big.key["intrusions"] for a in i["agents"]}.isdisjoint(
        {a["agent.id"] for i in bundled_key["intrusions"] for a in i["agents"]})
