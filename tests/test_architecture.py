"""The layers stay apart: the walls declared in pyproject.toml hold for the code as it is.

The TUI reaches data only through the source interface and the factory (never DuckDB, the
Elasticsearch client, apsw, lark or a collector's internals); collectors never import the UI,
the CLI or the case file; the case file imports only the leaf interface; no package has an
import cycle. import-linter reads every import, including ones inside functions.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

REQUIRED = {
    "The TUI reaches data only through the source interface and factory",
    "Collectors never import the UI, the CLI or the case file",
    "The case file imports only the leaf interface of the collectors",
    "The source interface is a leaf",
    "Layers: the CLI over the TUI over the case file and hunts over the collectors",
    "No import cycles inside a package",
}


def contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def test_every_wall_is_declared() -> None:
    assert REQUIRED <= {c["name"] for c in contracts()}


def test_the_walls_hold() -> None:
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports; "
                               "sys.exit(lint_imports(no_cache=True, no_logo=True))"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Contracts: {len(contracts())} kept, 0 broken." in run.stdout


def test_the_tui_wall_names_the_drivers_and_every_collector() -> None:
    tui = next(c for c in contracts() if c["name"].startswith("The TUI"))
    assert tui["source_modules"] == ["tui"]
    assert {"duckdb", "elasticsearch", "apsw", "lark", "collectors.esql", "collectors.offline",
            "collectors.elastic", "collectors.osquery"} <= set(tui["forbidden_modules"])
