"""A result with thousands of columns stays usable: the table holds a bounded number of
columns (the status line says so) and the detail pane still lists every field.

Real parts: one NDJSON document with 10,000 fields, loaded by the offline source, queried
by a hunt through the workbench.
"""

from __future__ import annotations

import json

from collectors.offline.source import DataSpec, OfflineSource
from hunts.library import parse_hunt
from tests.tui_support import screen_text, wait_idle
from tui.app import HuntbenchApp
from tui.detail import FieldLines
from tui.model import TABLE_COLUMNS

FIELDS = 10_000

HUNT = '''[hunt]
author = "test"
description = "Everything about one wide event"
integration = ["endpoint"]
uuid = "0b4b6a0e-0000-4000-8000-0000000000aa"
name = "Wide event"
language = ["ES|QL"]
license = "Elastic License v2"
query = [\'\'\'
from wide
| limit 5
\'\'\']
'''


async def test_a_result_with_ten_thousand_columns_keeps_the_table_bounded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    doc = {f"field{i:05d}": f"value{i}" for i in range(FIELDS)}
    (data / "wide.ndjson").write_text(json.dumps(doc) + "\n", encoding="utf-8")
    toml = tmp_path / "wide.toml"
    toml.write_text(HUNT, encoding="utf-8")
    root = tmp_path / "root"
    root.mkdir()
    app = HuntbenchApp(source=OfflineSource([DataSpec(data)]), library=None,
                       hunt=parse_hunt(HUNT, toml), case_path=tmp_path / "case.db", scan_root=root)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_idle(pilot, app)
        pane = app.workbench.pane
        result = pane.view.result
        assert result is not None and not pane.view.error
        total = len(result.columns)
        assert total > TABLE_COLUMNS
        # the table holds a bounded number of columns: the markers and the first ones
        assert len(pane.table.columns) == TABLE_COLUMNS + 1
        assert f"showing {TABLE_COLUMNS} of {total:,} columns" in screen_text(app)
        for _ in range(5):
            await pilot.press("right")
        await pilot.pause()
        assert pane.selected_column() == result.columns[5].name
        await pilot.press("dollar_sign")  # the last column the table holds
        await pilot.pause()
        assert pane.selected_column() == result.columns[TABLE_COLUMNS - 1].name
        # the detail pane lists every field of the row, the selected one first (on screen),
        # also those the table leaves out
        selected = result.columns[TABLE_COLUMNS - 1].name
        assert f"{selected}: {result.values[0][TABLE_COLUMNS - 1]}" in screen_text(app)
        listed = [line.plain for line in app.workbench.query_one(FieldLines).lines]
        assert len(listed) == total
        assert listed[0] == f"{selected}: {result.values[0][TABLE_COLUMNS - 1]}"
        assert {f"{c.name}: {v}" for c, v in zip(result.columns, result.values[0])} == set(listed)
