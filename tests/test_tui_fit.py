"""Column widths, breadcrumb and header fitted to the terminal (tui/fit.py, no Textual)."""

from __future__ import annotations

from tui.fit import (
    KEY_MIN,
    OTHER_CAP,
    OTHER_MIN,
    STAMP_WIDTH,
    breadcrumb,
    crumb_for,
    cut_middle,
    fit_widths,
    header,
    short_stamp,
)

CRON = "sh -c echo '*/15 * * * * root /var/lib/rpm/.rpm-check >/dev/null 2>&1' > /etc/cron.d/rpm-check"


def test_a_wide_terminal_shows_a_long_command_line_in_full():
    # Q2 at 200 columns: cc, agent_count, process.executable, process.command_line (the key)
    natural = [2, 11, 18, len(CRON)]
    assert fit_widths(natural, available=180, key=3) == natural


def test_when_not_everything_fits_the_key_column_gets_the_slack():
    natural = [2, 11, 40, 300]
    widths = fit_widths(natural, available=180, key=3)
    assert widths[:2] == [2, 11] and widths[2] == OTHER_CAP
    assert sum(widths) == 180 and widths[3] == 180 - 2 - 11 - OTHER_CAP


def test_room_the_key_does_not_need_goes_back_to_the_columns_cut():
    widths = fit_widths([60, 50, 30], available=125, key=2)
    assert widths[2] == 30 and sum(widths) == 125 and widths[0] > OTHER_CAP and widths[1] > OTHER_CAP


def test_at_80_columns_the_other_columns_give_way_to_the_key():
    # Q2 at 80 columns: /usr/bin/deb-systemd-helper must not take more room than the command line
    widths = fit_widths([2, 11, 27, 95], available=64, key=3)
    assert widths[2] == OTHER_MIN and widths[3] == 64 - 2 - 11 - OTHER_MIN


def test_a_key_that_would_be_squeezed_takes_the_visible_row_and_the_rest_scroll():
    # a pivot's command lines: host.name, process.command_line (key), then five more columns
    widths = fit_widths([11, 95, 19, 9, 40, 60, 20], available=58, key=1)
    assert widths[0] == 11 and widths[1] == 58 - 11
    # the same at 160 columns: the command line whole rather than 30 characters of it
    assert fit_widths([11, 60, 19, 9, 25, 70, 18], available=140, key=1)[1] == 60
    assert fit_widths([11, 30, 200], available=30, key=1)[1] == KEY_MIN


def test_timestamps_keep_their_time_at_80_columns():
    assert short_stamp("2026-11-16T08:58:12.000Z") == "2026-11-16 08:58:12"
    assert short_stamp("2026-11-16T08:58:12+02:00") == "2026-11-16 08:58:12+02:00"
    assert short_stamp("not a time") is None and short_stamp(5) is None
    # agents pane at 80 columns: agent.id (key), host.name, events, first_seen, last_seen
    widths = fit_widths([36, 11, 6, STAMP_WIDTH, STAMP_WIDTH], available=60, key=0,
                        floors=[0, 0, 0, STAMP_WIDTH, STAMP_WIDTH])
    assert widths[3:] == [STAMP_WIDTH, STAMP_WIDTH]


def test_the_breadcrumb_is_cut_in_the_middle_and_keeps_the_time_window():
    steps = ["Q2 process-*", "process.executable=/usr/bin/bash, process.command_line=" + CRON[:40] + "…",
             "agent.id=2213e004-9b8f-4a51-8c55-8d4f2a3b9c10 (k8s-node-03)"]
    line = breadcrumb(steps, "  ⏱ 7 days to 2026-11-16 09:00Z", 78)
    assert len(line) == 78
    assert line.startswith("Q2 process-*") and line.endswith("⏱ 7 days to 2026-11-16 09:00Z")
    assert "(k8s-node-03)" in line and "…" in line
    assert cut_middle("abcdefghij", 5) == "ab…ij"


def test_a_pivot_crumb_names_every_field_and_the_host_of_an_agent():
    row = {"agent.id": "2213e004", "host.name": "k8s-node-03", "events": 4}
    assert crumb_for({"agent.id": "2213e004"}, row) == "agent.id=2213e004 (k8s-node-03)"
    two = crumb_for({"process.executable": "/usr/bin/bash", "process.command_line": "bash -i"}, {})
    assert two == "process.executable=/usr/bin/bash, process.command_line=bash -i"
    assert crumb_for({"file.name": "\x1b[31mx"}, {}) == "file.name=\\x1b[31mx"


def test_the_header_keeps_the_hunt_name_and_shortens_the_source():
    hunt = "Persistence via DPKG/RPM Package"
    line = header("sample data (bundled, offline)", "huntbench-case.db", hunt, 78)
    assert len(line) <= 78 and line.endswith(hunt) and "sample data" in line
    scanned = header("sample data (bundled, offline)", "huntbench-case.db", hunt, 78, scan="image: /tmp/x (web-03)")
    assert scanned.endswith(hunt) and "sample data" in scanned and len(scanned) <= 78
    assert header("sample data", "c.db", hunt, 120, scan="image: /tmp/x (web-03)").endswith("│ image: /tmp/x (web-03)")
    long_scan = header("offline: /data/" + "x" * 60, "c.db", hunt, 118, scan="image: /mnt/" + "y" * 60 + " (api-01)")
    assert len(long_scan) <= 118 and hunt in long_scan and long_scan.endswith("(api-01)")
    wide = header("elasticsearch https://es.example.org:9200", "huntbench-case.db", hunt, 198)
    assert wide == f"huntbench │ elasticsearch https://es.example.org:9200 │ case huntbench-case.db │ {hunt}"
