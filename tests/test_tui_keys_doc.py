"""The key table of docs/workbench.md and the help screen say the same, because both are
made from tui/keys.py; and every key listed is bound to what it says."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from tui.keys import END, START, TABLE_KEYS, WORKBENCH_KEYS, key_rows, markdown_table, rewrite
from tui.pane import ResultTable
from tui.screens.help import help_table

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "workbench.md"


def documented_table() -> str:
    page = PAGE.read_text(encoding="utf-8")
    return page[page.index(START) + len(START):page.index(END)].strip()


def test_the_docs_key_table_is_the_one_the_key_map_generates():
    assert documented_table() == markdown_table(), "run: python -m tui.keys docs/workbench.md"


def test_the_generator_rewrites_only_the_table(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\nbefore\n\n{START}\n| old | table |\n{END}\n\nafter\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "tui.keys", str(page)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nbefore\n\n") and text.endswith(f"{END}\n\nafter\n")
    assert "| old | table |" not in text and markdown_table() in text
    assert rewrite(text) == text


def test_the_help_screen_lists_every_row_of_the_docs_table():
    console = Console(width=400, file=io.StringIO(), record=True)
    console.print(help_table())
    shown = [" ".join(line.split()) for line in console.export_text().splitlines()]
    for _section, keys, what in key_rows():
        assert any(line.startswith(keys + " ") and line.endswith(" ".join(what.split())) for line in shown), keys
    documented = documented_table().splitlines()[2:]
    assert len(documented) == len(key_rows())


def test_the_readme_points_to_the_key_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/workbench.md#keys" in readme and "## Keys" in PAGE.read_text(encoding="utf-8")


def test_every_key_in_the_map_is_bound():
    table_keys = {k: b.action for b in ResultTable.BINDINGS if hasattr(b, "key") for k in b.key.split(",")}
    for key in TABLE_KEYS:
        for name in key.key.split(","):
            assert table_keys.get(name) == key.action, name
    from tui.workbench import WorkbenchScreen

    screen_keys = {k: b.action for b in WorkbenchScreen.BINDINGS if hasattr(b, "key") for k in b.key.split(",")}
    for key in WORKBENCH_KEYS:
        first = key.key.split(",")[0]
        assert screen_keys.get(first, "").split("(")[0] == key.action, first
