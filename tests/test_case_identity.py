"""Finding ids: the same finding from any process, any column order, any later count."""

from __future__ import annotations

import subprocess
import sys

from casefile import finding_id, identifying_fields

HUNT = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"
ROW = {"cc": 1, "agent_count": 1, "file.name": "evil.postinst", "process.executable": "/usr/bin/dpkg"}


def test_same_row_in_another_process_gets_the_same_id():
    here = finding_id("offline", HUNT, 0, ROW)
    code = (
        "from casefile import finding_id;"
        f"print(finding_id('offline', {HUNT!r}, 0, {ROW!r}))"
    )
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"}).stdout.strip()
    assert there == here


def test_counts_and_column_order_do_not_change_the_finding():
    later = {"process.executable": "/usr/bin/dpkg", "file.name": "evil.postinst", "cc": 7, "agent_count": 3}
    assert finding_id("offline", HUNT, 0, later) == finding_id("offline", HUNT, 0, ROW)
    assert identifying_fields(ROW, "offline") == ["file.name", "process.executable"]


def test_identifying_values_source_hunt_query_and_pivot_params_do():
    base = finding_id("offline", HUNT, 0, ROW)
    assert finding_id("offline", HUNT, 0, {**ROW, "file.name": "other"}) != base
    assert finding_id("elastic", HUNT, 0, ROW) != base
    assert finding_id("offline", "another-hunt", 0, ROW) != base
    assert finding_id("offline", HUNT, 1, ROW) != base
    agent = {"events": 2, "agent.id": "a1", "host.name": "web1"}
    via_a = finding_id("offline", HUNT, "pivot:agents_for_file", agent, {"file_name": "a"})
    via_b = finding_id("offline", HUNT, "pivot:agents_for_file", agent, {"file_name": "b"})
    assert via_a != via_b


def test_query_number_as_int_or_text_is_the_same():
    assert finding_id("offline", HUNT, 0, ROW) == finding_id("offline", HUNT, "0", ROW)


def test_timestamps_in_other_notations_are_the_same_event():
    a = {"@timestamp": "2026-11-20T10:00:00.000Z", "process.command_line": "sh -c x"}
    b = {"@timestamp": "2026-11-20T11:00:00+01:00", "process.command_line": "sh -c x"}
    assert finding_id("elastic", None, 2, a) == finding_id("elastic", None, 2, b)


def test_row_without_identifying_field_is_identified_by_all_its_values():
    row = {"count": 5}
    assert identifying_fields(row, "offline") == []
    assert finding_id("offline", None, None, row) == finding_id("offline", None, None, {"count": 5})
    assert finding_id("offline", None, None, {"count": 6}) != finding_id("offline", None, None, row)
    only_nulls = {"cc": 1, "file.name": None}
    assert identifying_fields(only_nulls, "offline") == []


def test_osquery_rows_are_identified_by_path_not_by_times():
    a = {"path": "/var/lib/dpkg/info/x.postinst", "filename": "x.postinst", "file_last_access_time": "2026-11-20 10:00:00"}
    b = {**a, "file_last_access_time": "2026-11-21 10:00:00"}
    assert finding_id("osquery", HUNT, 2, a) == finding_id("osquery", HUNT, 2, b)


def test_undecodable_bytes_and_nul_still_give_an_id():
    weird = {"file.name": "evil\udcff\x00.sh"}
    assert finding_id("osquery", None, None, {"path": "a\udc80"}) != finding_id("osquery", None, None, {"path": "a"})
    assert len(finding_id("offline", None, None, weird)) == 20
