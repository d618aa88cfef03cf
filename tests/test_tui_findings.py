"""A finding keeps its investigation: where (hosts, agents), when (event times) and how
(the pivot path), tagged through the workbench from every source, and the Case pane,
tags and export that a responder works with afterwards.

Expected values come from the answer key of the data the app runs on (the bundled sample,
and a sample generated here with another seed and capture time), never from this file.
"""

from __future__ import annotations

import csv
import json
import random
import socket
from datetime import datetime, timezone
from pathlib import Path
from uuid import uuid4

import pytest

from casefile import open_case
from casefile.values import parse_time
from collectors.sources import DataSpec, OfflineSource, sample_source
from hunts import load_library
from tests.generated import write_generated
from tests.tui_support import (
    answer_key,
    planted_chain,
    screen_text,
    wait_for,
    wait_idle,
)
from tui.app import HuntbenchApp
from tui.screens.query import QueryScreen

BIG = (160, 48)
SMALL = (80, 24)


@pytest.fixture(scope="module")
def library():
    return load_library(include_user_dir=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A sample the tests never saw: another seed, another capture time."""
    g = write_generated(tmp_path_factory)
    source = OfflineSource([DataSpec(p) for p in sorted(g.folder.glob("*.ndjson"))], now=g.capture)
    return {"source": source, "key": g.manifest["answer_key"], "window": g.manifest["window"], "seed": g.seed}


@pytest.fixture(scope="module")
def sample():
    import sample_data

    return {"source": sample_source(), "key": answer_key(), "window": sample_data.manifest()["window"], "seed": None}


@pytest.fixture(params=["sample", "generated"])
def data(request):
    return request.getfixturevalue(request.param)


def make_app(tmp_path, source, library, **kw) -> HuntbenchApp:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    options = dict(source=source, library=library, hunt=library.default, case_path=tmp_path / "case.db", scan_root=root)
    options.update(kw)
    return HuntbenchApp(**options)


async def filter_to(pilot, app, text: str) -> None:
    await pilot.press("slash")
    app.workbench.query_one("#filter").value = text
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()


async def select(pilot, app, **values) -> None:
    """Filter to the first value, then put the cursor on the row holding all of them."""
    await filter_to(pilot, app, str(next(iter(values.values()))))
    pane = app.workbench.pane
    view = pane.view
    rows = pane.display_rows()
    index = next(i for i in rows if all(view.row_dict(i).get(k) == v for k, v in values.items()))
    pane.table.move_cursor(row=rows.index(index))
    await pilot.pause()
    assert pane.selected_row() == view.row_dict(index)


async def enter(pilot, app) -> None:
    pane = app.workbench.pane
    depth = len(pane.stack)
    await pilot.press("enter")
    await wait_for(pilot, lambda: len(pane.stack) == depth + 1 and not pane.view.loading, what="the pivot")


async def tag(pilot, app, key: str, what: str) -> None:
    shown = len(app.notifications_shown)
    await pilot.press("t", key)
    await wait_for(pilot, lambda: any(f"tagged 1 row {what}" in n for n in app.notifications_shown[shown:]),
                   what="tagging")


async def export(pilot, app) -> Path:
    await pilot.press("e")
    await wait_for(pilot, lambda: app.screen.query("#prompt-input"), what="the export prompt")
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.last_export is not None, what="the export")
    return Path(app.last_export[0])


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


async def tag_file_then_command(pilot, app, chain) -> None:
    """Tag the rare file in Q1, pivot to its agent, pivot to its command lines, tag one."""
    await wait_idle(pilot, app)
    await select(pilot, app, **{"file.name": chain["file.name"], "process.executable": chain["process.executable"]})
    await tag(pilot, app, "2", "suspicious")
    await enter(pilot, app)
    await select(pilot, app, **{"agent.id": chain["agent.id"]})
    await enter(pilot, app)
    await select(pilot, app, **{"process.command_line": chain["process.command_line"]})
    await tag(pilot, app, "1", "malicious")


# ---------------------------------------------------------------- where, when, how
async def test_a_file_row_and_a_command_line_two_pivots_down_export_where_when_and_how(data, library, tmp_path):
    chain = planted_chain(key=data["key"], most_agents=True)
    agents = {a[3]: a for a in chain["pivot_agents"]}
    app = make_app(tmp_path, data["source"], library)
    async with app.run_test(size=BIG) as pilot:
        await tag_file_then_command(pilot, app, chain)
        rows = read_csv(tmp_path / await export(pilot, app))
    seed = f"(generated seed {data['seed']})"
    assert len(rows) == 2, seed
    by_tag = {json.loads(r["tag"])[0]: r for r in rows}
    q1, command = by_tag["suspicious"], by_tag["malicious"]
    # Where: every agent and host behind the aggregate row, from the hunt's declared pivot.
    assert sorted(q1["agent.id"].split(", ")) == sorted(agents), seed
    assert sorted(q1["host.name"].split(", ")) == sorted(a[4] for a in agents.values()), seed
    assert command["agent.id"] == chain["agent.id"] and command["host.name"] == chain["host.name"], seed
    # When: the events' time, not the day of tagging.
    assert q1["datetime"] == min(parse_time(a[1]) for a in agents.values()) == q1["first_seen"], seed
    assert q1["last_seen"] == max(parse_time(a[2]) for a in agents.values()), seed
    assert q1["timestamp_desc"] == "First seen"
    assert command["datetime"] == parse_time(chain["script_row"]["@timestamp"]), seed
    assert command["timestamp_desc"] == "Event time"
    start, end = parse_time(data["window"]["start"]), parse_time(data["window"]["end"])
    for row in rows:
        assert start <= row["datetime"] <= end < row["tagged"], seed
    # How: the path names the file the command line came from, and the agent pivoted on.
    assert q1["pivot_path"] == "Q1"
    assert command["pivot_path"] == (
        f"Q1 file.name={chain['file.name']}, process.executable={chain['process.executable']} > "
        f"Agents that wrote this file agent.id={chain['agent.id']} > "
        "Command lines spawned by dpkg/rpm scripts on this agent"), seed
    assert command["file.name"] == chain["file.name"] and command["process.command_line"] == chain["process.command_line"]
    assert command["source"] == app.source.describe() and "offline" in command["source"]
    assert command["message"].startswith(f"malicious command line: {chain['process.command_line']} on {chain['host.name']}")


async def test_a_finding_tagged_in_the_agents_pane_keeps_the_file_it_came_from(sample, library, tmp_path):
    chain = planted_chain(key=sample["key"])
    app = make_app(tmp_path, sample["source"], library)
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        await select(pilot, app, **{"file.name": chain["file.name"], "process.executable": chain["process.executable"]})
        await enter(pilot, app)
        await select(pilot, app, **{"agent.id": chain["agent.id"]})
        await tag(pilot, app, "4", "needs-review")
    with open_case(tmp_path / "case.db", create=False) as case:
        (finding,) = case.findings()
    agent = next(a for a in chain["pivot_agents"] if a[3] == chain["agent.id"])
    assert finding.key["file.name"] == chain["file.name"]
    assert finding.key["process.executable"] == chain["process.executable"]
    assert (finding.hosts, finding.agents) == ([chain["host.name"]], [chain["agent.id"]])
    assert (finding.first_seen, finding.last_seen) == (parse_time(agent[1]), parse_time(agent[2]))
    assert finding.pivot_steps[-1] == {"label": "Agents that wrote this file", "query": "pivot:agents_for_file", "on": {}}


async def test_the_same_walk_on_a_cluster_records_its_url_without_credentials(library, tmp_path):
    from collectors.elastic import connect_source
    from tests.es_standin import StandIn, needs_engine  # noqa: F401

    chain = planted_chain()
    with StandIn(basic=("hunter", "s3cret-pass")) as server:
        url = server.url.replace("://", "://hunter:s3cret-pass@")
        source = connect_source(es_url=url)
        app = make_app(tmp_path, source, library)
        async with app.run_test(size=BIG) as pilot:
            await tag_file_then_command(pilot, app, chain)
            rows = read_csv(tmp_path / await export(pilot, app))
    assert len(rows) == 2
    q1 = next(r for r in rows if r["query"] == "0")
    assert sorted(q1["agent.id"].split(", ")) == sorted(a[3] for a in chain["pivot_agents"])
    for row in rows:
        assert row["source_kind"] == "elastic"
        assert server.url.split("://")[1].rstrip("/") in row["source"]
        assert "s3cret" not in json.dumps(row) and "hunter:" not in row["source"]
    assert (tmp_path / "case.db").read_bytes().find(b"s3cret") == -1


async def test_a_local_scan_row_meets_fleet_rows_in_file_path_and_name(sample, library, tmp_path):
    chain = planted_chain(name_suffix=".postinst", key=sample["key"])
    image = tmp_path / "image"
    info = image / "var" / "lib" / "dpkg" / "info"
    info.mkdir(parents=True)
    (info / chain["file.name"]).write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    host = f"img-{random.SystemRandom().randrange(10**6)}"
    (image / "etc").mkdir()
    (image / "etc" / "hostname").write_text(host + "\n", encoding="utf-8")
    app = make_app(tmp_path, sample["source"], library, scan_root=image)
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        scan = next(i for i, p in enumerate(bench.panes) if p.view.name == "scan")
        await pilot.press(str(scan + 1))
        await wait_idle(pilot, app)
        await select(pilot, app, filename=chain["file.name"])
        assert f"{chain['file.name'][:10]}" in screen_text(app)
        await tag(pilot, app, "2", "suspicious")
        rows = read_csv(tmp_path / await export(pilot, app))
    (row,) = rows
    assert row["file.name"] == chain["file.name"]
    assert row["file.path"] == f"/var/lib/dpkg/info/{chain['file.name']}"
    assert row["host.name"] == host and row["source_kind"] == "osquery"
    assert str(image) in row["source"] and host in row["source"]
    assert row["pivot_path"] == "Local scan" and row["timestamp_desc"] == "File modified"
    modified = datetime.fromtimestamp((info / chain["file.name"]).stat().st_mtime, timezone.utc)
    assert abs(datetime.fromisoformat(row["datetime"].replace("Z", "+00:00")) - modified).total_seconds() < 1


def test_the_live_local_scan_names_this_host():
    from tui.finding_context import local_scan_host, local_scan_source

    assert local_scan_host(None) == socket.gethostname()
    assert socket.gethostname() in local_scan_source("builtin", None)


def test_an_image_whose_hostname_is_a_symlink_out_is_not_read(tmp_path):
    from tui.finding_context import local_scan_host

    (tmp_path / "etc").mkdir()
    outside = tmp_path / "outside"
    outside.write_text("the-responders-own-box\n", encoding="utf-8")
    (tmp_path / "etc" / "hostname").symlink_to(outside)
    assert local_scan_host(tmp_path) is None


# ---------------------------------------------------------------- time window
async def test_a_pivot_from_an_edited_30_day_q1_looks_at_30_days_and_the_header_says_so(sample, library, tmp_path):
    source, hunt = sample["source"], library.default
    pivot = next(p for p in hunt.pivots if p.id == "agents_for_file")
    wide = hunt.queries[0].text.replace("now() - 7 days", "now() - 30 days")
    # A row whose agents' events differ between 7 and 30 days (the data spans 10 days).
    row = next(dict(zip(source.esql(wide).column_names, v)) for v in source.esql(wide).values
               if source.esql(pivot.query, {"file_name": v[2], "process_executable": v[3]}).values
               != source.esql(pivot.query.replace("7 days", "30 days"), {"file_name": v[2], "process_executable": v[3]}).values)
    expected = source.esql(pivot.query.replace("7 days", "30 days"),
                           {"file_name": row["file.name"], "process_executable": row["process.executable"]})
    app = make_app(tmp_path, source, library)
    async with app.run_test(size=SMALL) as pilot:
        await wait_idle(pilot, app)
        capture = source.effective_now().strftime("%Y-%m-%d %H:%M")
        assert f"7 days to {capture}Z" in screen_text(app).splitlines()[2]
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, QueryScreen), what="the query editor")
        app.screen.query_one("#query-text").text = wide
        pane = app.workbench.pane
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(pane.stack) == 2 and not pane.view.loading, what="the edited query")
        assert f"30 days to {capture}Z" in screen_text(app).splitlines()[2]
        await select(pilot, app, **{"file.name": row["file.name"], "process.executable": row["process.executable"]})
        await enter(pilot, app)
        assert pane.view.result.values == expected.values
        assert "now() - 30 days" in pane.view.query and "7 days" not in pane.view.query
        assert f"30 days to {capture}Z" in screen_text(app).splitlines()[2]


def test_carrying_the_window_rewrites_or_adds_the_time_condition():
    from tui.window import carry_window, find_window

    n = random.SystemRandom().randrange(2, 400)
    viewed = f"from logs-*\n| where @timestamp >= now() - {n} hours\n| stats c = count() by x.y"
    declared = "from logs-*\n| where @timestamp > now() - 7 days and a == ?a\n| limit 5"
    generic = "from logs-endpoint.events.file-*\n| where `file.name` == ?value\n| limit 500"
    assert carry_window(declared, viewed) == f"from logs-*\n| where @timestamp >= now() - {n} hours and a == ?a\n| limit 5"
    assert carry_window(generic, viewed) == (f"from logs-endpoint.events.file-*\n| where @timestamp >= now() - {n} hours\n"
                                             "| where `file.name` == ?value\n| limit 500")
    assert carry_window(declared, "from logs-* | limit 5") == declared
    assert find_window(viewed).amount == n
    assert find_window("SELECT 1 WHERE mtime > strftime('%s', 'now') - (12 * 86400)", "osquery SQL").amount == 12


# ---------------------------------------------------------------- the Case pane
async def test_the_case_pane_at_80_columns_leads_with_tag_host_value_first_seen(sample, library, tmp_path):
    chain = planted_chain(key=sample["key"])
    app = make_app(tmp_path, sample["source"], library)
    async with app.run_test(size=SMALL) as pilot:
        await tag_file_then_command(pilot, app, chain)
        await pilot.press("c")
        pane = app.workbench.pane
        await wait_for(pilot, lambda: pane.view.result is not None and len(pane.view.result.values) == 2
                       and not pane.view.loading, what="the case pane")
        assert pane.view.column_names == ["tags", "hosts", "what", "first seen", "note", "finding"]
        text = screen_text(app)
        line = next(l for l in text.splitlines() if "malicious" in l)
        assert chain["host.name"] in line
        assert chain["process.command_line"][:20] in line
        assert parse_time(chain["script_row"]["@timestamp"])[:10] in line


async def test_t_adds_a_tag_in_the_case_pane_keeping_typed_case_and_x_removes_it(sample, library, tmp_path):
    chain = planted_chain(key=sample["key"])
    technique = f"T{random.SystemRandom().randrange(1000, 1999)}.00{random.SystemRandom().randrange(1, 9)}"
    app = make_app(tmp_path, sample["source"], library)
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        await select(pilot, app, **{"file.name": chain["file.name"], "process.executable": chain["process.executable"]})
        await tag(pilot, app, "1", "malicious")
        await pilot.press("c")
        pane = app.workbench.pane
        await wait_for(pilot, lambda: pane.view.result is not None and pane.view.result.values, what="the case pane")
        await pilot.press("t")
        await wait_for(pilot, lambda: app.screen.query("#tag-custom"), what="the tag dialog")
        app.screen.query_one("#tag-custom").focus()
        app.screen.query_one("#tag-custom").value = technique
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: any(f"added {technique}" in n for n in app.notifications_shown), what="added")
        await wait_for(pilot, lambda: not pane.view.loading and pane.view.result.values[0][0] == ", ".join(sorted(
            ["malicious", technique], key=str.casefold)), what="both tags")
    with open_case(tmp_path / "case.db", create=False) as case:
        (finding,) = case.findings(tag=technique.lower())
        assert sorted(finding.tags, key=str.casefold) == sorted(["malicious", technique], key=str.casefold)
        case.tag_rows([finding.row], [technique.lower()], source_kind="offline", source="",
                      hunt_uuid=finding.hunt_uuid, query=finding.query)
        assert case.finding(finding.id).tags == finding.tags  # the same tag in another case: no second tag


async def test_an_untagged_finding_stops_marking_rows_after_restart_and_export_counts_it(sample, library, tmp_path):
    chain = planted_chain(key=sample["key"])
    app = make_app(tmp_path, sample["source"], library)
    async with app.run_test(size=BIG) as pilot:
        await tag_file_then_command(pilot, app, chain)
        await pilot.press("c")
        pane = app.workbench.pane
        await wait_for(pilot, lambda: pane.view.result is not None and len(pane.view.result.values) == 2
                       and not pane.view.loading, what="the case pane")
        index = next(i for i, r in enumerate(pane.view.result.values) if r[0] == "malicious")
        pane.table.move_cursor(row=pane.display_rows().index(index))
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen.query("#prompt-input"), what="the note prompt")
        app.screen.query_one("#prompt-input").value = "false lead"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("note added" in n for n in app.notifications_shown), what="note")
        await pilot.press("x")
        await wait_for(pilot, lambda: any("removed malicious" in n for n in app.notifications_shown), what="untag")
        await export(pilot, app)
        assert any("exported 1 finding" in n and "(1 untagged finding left out)" in n for n in app.notifications_shown)
    again = make_app(tmp_path, sample["source"], library)
    async with again.run_test(size=BIG) as pilot:
        await wait_idle(pilot, again)
        bench = again.workbench
        await pilot.press("2")
        await wait_idle(pilot, again)
        related = bench.row_markers.related.get("process.command_line", set())
        assert chain["process.command_line"] not in related
    with open_case(tmp_path / "case.db", create=False) as case:
        untagged = next(f for f in case.findings() if not f.tags)
        assert [n.text for n in untagged.notes] == ["false lead"]
        assert [h.action for h in case.history(untagged.id)] == ["tag", "note", "untag"]


async def ask_to_export(pilot, app, target: Path, answer: str) -> None:
    await pilot.press("e")
    await wait_for(pilot, lambda: app.screen.query("#prompt-input"), what="the export prompt")
    app.screen.query_one("#prompt-input").value = str(target)
    await pilot.press("enter")
    # The question names the path first, so where it wraps depends on the path's length.
    await wait_for(pilot, lambda: "Overwrite" in screen_text(app) and "(y/n)" in screen_text(app),
                   what="the overwrite question")
    app.screen.query_one("#prompt-input").value = answer
    await pilot.press("enter")


async def test_e_asks_before_overwriting_an_existing_file(sample, library, tmp_path):
    chain = planted_chain(key=sample["key"])
    target = tmp_path / f"report-{random.SystemRandom().randrange(10**6)}.csv"
    target.write_text("the responder's earlier report\n", encoding="utf-8")
    app = make_app(tmp_path, sample["source"], library)
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        await select(pilot, app, **{"file.name": chain["file.name"], "process.executable": chain["process.executable"]})
        await tag(pilot, app, "2", "suspicious")
        await ask_to_export(pilot, app, target, "n")
        await wait_for(pilot, lambda: any("kept as it was" in n for n in app.notifications_shown), what="refusal")
        assert target.read_text(encoding="utf-8") == "the responder's earlier report\n"
        await ask_to_export(pilot, app, target, "y")
        await wait_for(pilot, lambda: app.last_export is not None, what="the export")
    assert json.loads(read_csv(target)[0]["tag"]) == ["suspicious"]


async def test_a_hunt_without_declared_pivots_still_records_the_hosts_behind_a_stats_row(data, library, tmp_path):
    """The general rule: the view's own query up to its STATS, narrowed to the row's keys."""
    from hunts.library import parse_hunt

    chain = planted_chain(key=data["key"], most_agents=True)
    seed_q1 = library.default.queries[0].text
    toml = tmp_path / "no_pivots.toml"
    toml.write_text(f'''[hunt]
author = "test"
description = "The DPKG/RPM hunt's first query, without huntbench pivots"
integration = ["endpoint"]
uuid = "{uuid4()}"
name = "Rare package files (no pivots)"
language = ["ES|QL"]
license = "Elastic License v2"
query = [\'\'\'{seed_q1}\'\'\']
''', encoding="utf-8")
    hunt = parse_hunt(toml.read_text(encoding="utf-8"), toml)
    assert hunt.pivots == []
    app = make_app(tmp_path, data["source"], library, hunt=hunt)
    async with app.run_test(size=BIG) as pilot:
        await wait_idle(pilot, app)
        await select(pilot, app, **{"file.name": chain["file.name"], "process.executable": chain["process.executable"]})
        await tag(pilot, app, "2", "suspicious")
    with open_case(tmp_path / "case.db", create=False) as case:
        (finding,) = case.findings()
    agents = chain["pivot_agents"]
    assert sorted(finding.agents) == sorted(a[3] for a in agents)
    assert sorted(finding.hosts) == sorted(a[4] for a in agents)
    assert finding.first_seen == min(parse_time(a[1]) for a in agents)
    assert finding.last_seen == max(parse_time(a[2]) for a in agents)


def test_the_events_behind_a_row_keep_the_query_text_and_pass_values_as_parameters():
    from tui.finding_context import events_behind, split_pipeline

    hostile = 'x" | eval pwned = 1 // ' + str(uuid4())
    query = 'from logs-*\n| keep a.b, c.d\n| where msg == "a | b" // not | a pipe\n| stats n = count() by a.b, c.d'
    assert split_pipeline(query) == ["from logs-*", "keep a.b, c.d", 'where msg == "a | b" // not | a pipe',
                                     "stats n = count() by a.b, c.d"]
    text, params = events_behind(query, {"n": 3, "a.b": hostile, "c.d": None}, ("agent.id",))
    assert hostile not in text and params == {"k0": hostile}
    assert text == ('from logs-*\n| where msg == "a | b" // not | a pipe\n| where a.b == ?k0 and c.d is null\n'
                    "| stats first_seen = min(@timestamp), last_seen = max(@timestamp) by agent.id\n"
                    "| sort first_seen asc\n| limit 100")
    assert events_behind("from logs-* | limit 5", {"a.b": 1}, ("agent.id",)) is None
