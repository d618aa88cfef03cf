"""Where the cursor lands when a pivot step opens.

After Enter on a command line in Q2, then on the agent that ran it, the agent's list of
script command lines contains the very command the responder started from. Starting on
row 1 makes them hunt for it again; the cursor starts on the row that matches what was
pivoted from instead, when there is one: the row sharing the most values with the rows
the path went through (counts and times left out, they are not identities).
"""

from __future__ import annotations

from typing import Any

from tui.escape import visible
from tui.model import COUNT_COLUMNS, View

_NOT_IDENTITY = frozenset(COUNT_COLUMNS) | {"@timestamp", "first_seen", "last_seen"}


def landing_row(view: View, rows_shown: list[int]) -> int:
    """Position in ``rows_shown`` (indices into the result) to start the cursor on: the
    first row matching the most of ``view.origin``, else 0."""
    if not view.origin or view.result is None or not rows_shown:
        return 0
    names = view.column_names
    shared = [(names.index(c), _key(v)) for c, v in view.origin.items()
              if c in names and c not in _NOT_IDENTITY and v is not None]
    if not shared:
        return 0
    values = view.result.values
    scores = [sum(1 for col, want in shared if _key(values[r][col]) == want) for r in rows_shown]
    best = max(scores)
    if best == 0 or all(s == best for s in scores):
        return 0
    return scores.index(best)


def _key(value: Any) -> str:
    return visible(value)
