"""The time window a view's query looks at, carried into the pivots taken from it.

The hunts filter on ``@timestamp > now() - 7 days`` and so do their declared pivots. When
the responder widens Q1 to 30 days (``v``) and presses Enter, the pivot must look at the
same 30 days, or the agents behind a row found in week three are silently missing. So a
pivot's query gets the time condition of the view it came from: an existing
``@timestamp > now() - N unit`` is rewritten, and a query without one (the generic "events
where field == value") gets one after its ``FROM``. Only digits and a unit word taken from
the responder's own query text are written into the pivot's text; row values still travel
as parameters only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_ESQL_WINDOW = re.compile(r"@timestamp\s*(>=?)\s*now\(\s*\)\s*-\s*(\d+)\s*([A-Za-z]+)", re.IGNORECASE)
_OSQUERY_WINDOW = re.compile(r"mtime\s*>=?\s*strftime\(\s*'%s'\s*,\s*'now'\s*\)\s*-\s*\(?\s*(\d+)\s*\*\s*86400", re.IGNORECASE)
_FROM_LINE = re.compile(r"\A(\s*from\b[^\n|]*)", re.IGNORECASE)


@dataclass(frozen=True)
class Window:
    """``@timestamp > now() - 30 days`` as (">", 30, "days")."""

    operator: str
    amount: int
    unit: str

    def esql(self) -> str:
        return f"@timestamp {self.operator} now() - {self.amount} {self.unit}"

    def describe(self, end: datetime) -> str:
        """``7 days to 2026-11-16 09:00Z``: what the header shows."""
        return f"{self.amount} {self.unit} to {end.strftime('%Y-%m-%d %H:%M')}Z"


def find_window(query: str | None, language: str = "ES|QL") -> Window | None:
    """The first relative time condition of ``query`` (ES|QL, or the osquery scan's mtime)."""
    if not query:
        return None
    if language != "ES|QL":
        match = _OSQUERY_WINDOW.search(query)
        return Window(">", int(match.group(1)), "days") if match else None
    match = _ESQL_WINDOW.search(query)
    if not match:
        return None
    return Window(match.group(1), int(match.group(2)), match.group(3).lower())


def carry_window(pivot_query: str, from_query: str | None, language: str = "ES|QL") -> str:
    """``pivot_query`` with the time condition of the view it is taken from (if it has one);
    from the local scan (``language`` osquery SQL) its ``mtime`` window becomes the same
    span of ``@timestamp``."""
    window = find_window(from_query, language)
    if window is None:
        return pivot_query
    if _ESQL_WINDOW.search(pivot_query):
        return _ESQL_WINDOW.sub(lambda _m: window.esql(), pivot_query)
    match = _FROM_LINE.match(pivot_query)
    if not match:
        return pivot_query
    return f"{match.group(1).rstrip()}\n| where {window.esql()}{pivot_query[match.end():]}"
