"""The one helper that locates ``../shared`` (seed, conformance material) for tests.

The product never reads it; tests that need it skip with the reason when it is absent.
``HUNTBENCH_SHARED`` overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    env = os.environ.get("HUNTBENCH_SHARED")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared", REPO / "shared"]
    for candidate in candidates:
        if (candidate / "seeds").is_dir():
            return candidate
    return None


def shared_path(*parts: str) -> Path:
    """A file under shared/, or skip the test saying what is missing."""
    root = shared_dir()
    if root is None:
        pytest.skip("../shared (seed and conformance material) is not beside this checkout")
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return path


def split_outside_brackets(line: str, sep: str) -> list[str]:
    """Split a line of the conformance material at ``sep``, but not inside ``[a, b]``
    multi-values (employees.csv cells and csv-spec result rows both use them)."""
    cells, buf, depth = [], [], 0
    for ch in line:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == sep and depth == 0:
            cells.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    cells.append("".join(buf))
    return cells
