"""The Local scan pane as a responder uses it: on an image or the sample image, as of --now,
saying what it read, linked to the fleet both ways, with its blind spot (dotfiles) and the
maintainer scripts one key away. The app is built the way ``huntbench`` builds it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from casefile import open_case
from collectors.interface import HuntbenchError
from sample_data.story import BY_ID
from tests.tui_support import control_characters, screen_text, terminal_output, wait_for, wait_idle
from tui.escape import visible
from tui.launch import build_app, local_scan_options
from tui.screens.text import TextScreen

SIZE = (120, 40)
AGENTS = ("agent-aaaa", "agent-bbbb")


def _pane(app, language: str = "osquery SQL"):
    bench = app.workbench
    return next(i for i, p in enumerate(bench.panes) if p.view.language == language)


def _fleet(tmp_path: Path, now: float) -> list[str]:
    """Fleet events: two agents wrote evil.postinst a day before ``now``."""
    stamp = datetime.fromtimestamp(now - 86400, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    files = tmp_path / "file.ndjson"
    procs = tmp_path / "process.ndjson"
    lines = []
    for n, agent in enumerate(AGENTS):
        lines.append(json.dumps({"@timestamp": stamp, "host": {"os": {"type": "linux"}, "name": f"fleet-{n}"},
                                 "agent": {"id": agent}, "event": {"action": "creation"},
                                 "file": {"path": "/var/lib/dpkg/info/evil.postinst", "name": "evil.postinst"},
                                 "process": {"executable": "/usr/bin/dpkg"}}))
    files.write_text("\n".join(lines) + "\n")
    procs.write_text(json.dumps({"@timestamp": stamp, "host": {"os": {"type": "linux"}, "name": "fleet-0"},
                                 "agent": {"id": AGENTS[0]}, "event": {"type": "start", "action": "exec"},
                                 "process": {"executable": "/bin/true", "command_line": "true",
                                             "parent": {"executable": "/bin/sh", "command_line": "sh"}}}) + "\n")
    return [f"logs-endpoint.events.file-default={files}", f"logs-endpoint.events.process-default={procs}"]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _image_app(tmp_path: Path, root: Path, facts: dict, after: float = 0):
    """The workbench on the fleet's events and the image, as of ``after`` seconds past its capture."""
    return build_app(data=_fleet(tmp_path, facts["now"]), now=_iso(facts["now"] + after), scan_root=str(root),
                     case_path=str(tmp_path / "case.db"))


async def _select(pilot, app, column: str, value) -> None:
    pane = app.workbench.pane
    rows = pane.display_rows()
    names = pane.view.column_names
    position = next(i for i, r in enumerate(rows) if pane.view.result.values[r][names.index(column)] == value)
    pane.table.move_cursor(row=position, column=0)
    await pilot.pause()


async def test_root_data_now_image_linked_both_ways(image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root, facts = image
    app = _image_app(tmp_path, root, facts)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        header = screen_text(app).splitlines()[0].strip()  # long paths are cut to the screen's width
        assert "│ image: /" in header and header.endswith("(evidence-host)") and "Persistence via DPKG/RPM Package" in header
        bench.show_pane(_pane(app))
        await pilot.pause()
        assert "(evidence-host)" in screen_text(app).splitlines()[2]  # the pane's breadcrumb
        local = bench.pane.view
        assert sorted(r[local.column_names.index("path")] for r in local.result.values) == sorted(facts["recent"])
        assert "(evidence-host)" in local.title
        # The fleet row with the same file name carries the local-link marker.
        q1 = bench.panes[0].view
        row = [r[q1.column_names.index("file.name")] for r in q1.result.values].index("evil.postinst")
        assert "⌂" in bench.row_markers.marker(q1, row).plain
        # Enter on the local file: the fleet agents that wrote that name, in the same window.
        await _select(pilot, app, "path", "/var/lib/dpkg/info/evil.postinst")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(bench.pane.stack) == 2 and not bench.pane.view.loading, what="pivot")
        fleet = bench.pane.view
        assert fleet.name == "pivot:agents_for_local_file"
        assert fleet.params == {"file_name": "evil.postinst"}
        assert "evil.postinst" not in (fleet.query or "")
        assert "@timestamp > now() - 7 days" in (fleet.query or "")
        assert sorted(r[fleet.column_names.index("agent.id")] for r in fleet.result.values) == sorted(AGENTS)
        # ...and the chain continues as from Q1: the agent's script command lines.
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(bench.pane.stack) == 3 and not bench.pane.view.loading, what="chain")
        assert bench.pane.view.name == "pivot:agent_script_commands"


async def test_scan_window_follows_now(image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root, facts = image
    later = facts["now"] + 60 * 86400
    app = build_app(data=_fleet(tmp_path, later), now=_iso(later), scan_root=str(root),
                    case_path=str(tmp_path / "case.db"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot, app)
        local = app.workbench.panes[_pane(app)].view
        assert local.result.values == []
        app.workbench.show_pane(_pane(app))
        await pilot.pause()
        assert f"7 days to {datetime.fromtimestamp(later, timezone.utc):%Y-%m-%d %H:%M}Z" in screen_text(app)


async def test_sample_opens_on_the_sample_image_linked_to_q1(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import sample_data

    key = json.loads((sample_data.folder() / "image_answer_key.json").read_text())
    app = build_app(sample=True, case_path=str(tmp_path / "case.db"))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        assert app.scan_label == f"sample image ({key['host']})"
        local = bench.panes[_pane(app)].view
        assert sorted(r[local.column_names.index("path")] for r in local.result.values) == sorted(
            r["path"] for r in key["rows"])
        planted = [r["filename"] for r in key["rows"] if r["role"] == "planted"]
        q1 = bench.panes[0].view
        names = [r[q1.column_names.index("file.name")] for r in q1.result.values]
        linked = [n for i, n in enumerate(names) if "⌂" in bench.row_markers.marker(q1, i).plain]
        assert sorted(set(linked) & set(planted)) == sorted(set(names) & set(planted))
        assert set(names) & set(planted)
        bench.show_pane(_pane(app))
        await pilot.pause()
        assert f"sample image ({key['host']})" in screen_text(app).splitlines()[2]  # the pane's breadcrumb
        script = key["maintainer_script"]["path"]
        await _select(pilot, app, "path", script)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(bench.pane.stack) == 2 and not bench.pane.view.loading, what="pivot")
        hosts = sorted(r[bench.pane.view.column_names.index("host.name")] for r in bench.pane.view.result.values)
        assert hosts == sorted(BY_ID["trojan-postinst-systemd"].hosts)


async def test_dotfiles_are_counted_and_one_key_away(image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root, facts = image
    (root / "var/lib/rpm/.rpm-check").write_text("#!/bin/sh\n")
    app = _image_app(tmp_path, root, facts, after=60)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        bench.show_pane(_pane(app))
        await pilot.pause()
        assert "2 dotfiles the LIKE skips (. shows)" in screen_text(app)
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: len(bench.pane.stack) == 2 and not bench.pane.view.loading, what="dotfiles")
        view = bench.pane.view
        assert sorted(r[view.column_names.index("path")] for r in view.result.values) == [
            "/var/lib/dpkg/info/.hidden.postinst", "/var/lib/rpm/.rpm-check"]


async def test_m_shows_a_script_escaped_bounded_and_from_the_image(image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root, facts = image
    info = root / "var/lib/dpkg/info"
    hostile = "#!/bin/sh\nprintf '\x1b]52;c;aGk=\x07'\necho '\u202egnp.exe'\n" + "# pad\n" * 20000
    (info / "evil.postinst").write_text(hostile)
    (info / "evil.prerm").symlink_to("../../../../../../../../../etc/passwd")
    import os
    now = facts["now"]
    os.utime(info / "evil.postinst", (now - 86400, now - 86400))
    os.utime(info / "evil.prerm", (now - 86400, now - 86400), follow_symlinks=False)
    app = build_app(data=_fleet(tmp_path, now), now=_iso(now), scan_root=str(root), case_path=str(tmp_path / "case.db"))
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        bench.show_pane(_pane(app))
        await pilot.pause()
        await _select(pilot, app, "path", "/var/lib/dpkg/info/evil.postinst")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="the script")
        body = app.screen.body
        assert body.startswith("#!/bin/sh\nprintf '\x1b]52;c;aGk=\x07'")
        assert body.endswith("… (cut at 64 KiB)")
        _, texts = terminal_output(app)
        assert control_characters(texts) == []
        assert visible("\x1b]52;c;aGk=") in screen_text(app)
        await pilot.press("escape")
        # A script that is a link out of the image is read inside it: /etc/passwd *of the image*.
        await _select(pilot, app, "path", "/var/lib/dpkg/info/evil.prerm")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), what="the linked script")
        assert app.screen.body == (root / "etc/passwd").read_text()


async def test_a_local_finding_records_the_image_and_its_host(image, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root, facts = image
    app = _image_app(tmp_path, root, facts)
    async with app.run_test(size=SIZE) as pilot:
        await wait_idle(pilot, app)
        bench = app.workbench
        bench.show_pane(_pane(app))
        await pilot.pause()
        await _select(pilot, app, "path", "/var/lib/dpkg/info/evil.postinst")
        await pilot.press("t", "1")  # a fixed tag at once
        await wait_for(pilot, lambda: any("tagged 1 row" in n for n in app.notifications_shown), what="tag")
    with open_case(tmp_path / "case.db") as case:
        finding = case.findings()[0]
    assert finding.hosts == ["evidence-host"]
    assert str(root) in finding.source


def test_sample_root_slash_scans_this_host_and_root_needs_builtin(tmp_path):
    here = local_scan_options({"sample": True, "scan_root": "/"})
    assert here["root"] is None and here["label"].startswith("local: this host (")
    sample = local_scan_options({"sample": True})
    assert sample["label"].startswith("sample image (") and Path(sample["root"], "etc/hostname").is_file()
    with pytest.raises(HuntbenchError, match="--root works only with --osquery-backend builtin, not socket"):
        local_scan_options({"scan_root": str(tmp_path), "osquery_backend": "socket"})
