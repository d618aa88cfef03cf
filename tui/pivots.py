"""What Enter on a cell leads to: a declared pivot, or "events where this field == value".

Values from the selected row reach ES|QL only as named query parameters (``?file_name``);
the query text is the hunt's own (declared pivots) or built from the *column name* and
the query's index patterns, never from a value. Column names are quoted with backticks as
ES|QL requires for names that are not plain identifiers (Elastic's ES|QL syntax reference,
"Identifiers"), so even a hostile field name in an NDJSON export cannot inject query text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hunts.library import Hunt, Pivot
from tui.escape import visible
from tui.fit import crumb_for

_PLAIN_NAME = re.compile(r"\A[A-Za-z_@][A-Za-z0-9_.@]*\Z")
_EVENT_LIMIT = 500


class PivotUnavailable(Exception):
    """Enter on this cell leads nowhere (shown as a one-line notification)."""


@dataclass
class PivotRequest:
    """A view to open: its pane name, breadcrumb title, query and parameters."""

    name: str
    title: str
    query: str
    params: dict[str, Any] = field(default_factory=dict)
    case_query: int | str | None = None
    crumb: str = ""
    via: dict[str, Any] = field(default_factory=dict)
    """Column -> value pivoted on, exactly as passed to the query (the finding's pivot path)."""


def quote_name(name: str) -> str:
    """An ES|QL field reference: as is when plain, else in backticks (doubled inside)."""
    if _PLAIN_NAME.match(name):
        return name
    return "`" + name.replace("`", "``") + "`"


def _scalar(value: Any, column: str) -> Any:
    if isinstance(value, list):
        if len(value) == 1:
            return value[0]
        raise PivotUnavailable(f"{visible(column)} holds {len(value)} values; pick a single-valued cell")
    return value


def declared_pivot(pivot: Pivot, row: dict[str, Any]) -> PivotRequest:
    """Bind a hunt's declared pivot to the selected row's columns."""
    params: dict[str, Any] = {}
    for param, column in pivot.params.items():
        if column not in row:
            raise PivotUnavailable(f"pivot {pivot.id} needs column {visible(column)}, which this result lacks")
        value = _scalar(row[column], column)
        if value is None:
            raise PivotUnavailable(f"pivot {pivot.id}: {visible(column)} is empty in this row")
        params[param] = value
    via = {column: params[param] for param, column in pivot.params.items()}
    return PivotRequest(
        name=f"pivot:{pivot.id}",
        title=pivot.label,
        query=pivot.query,
        params=params,
        case_query=f"pivot:{pivot.id}",
        crumb=crumb_for(via, row) or pivot.id,
        via=via,
    )


def generic_pivot(column: str, value: Any, index_patterns: list[str],
                  row: dict[str, Any] | None = None) -> PivotRequest:
    """Events where ``column`` equals ``value`` over the query's indices.

    ``agent.id`` leads to all of that agent's events (``logs-*``), since an agent is what a
    responder follows across data streams.
    """
    value = _scalar(value, column)
    patterns = ["logs-*"] if column == "agent.id" or not index_patterns else index_patterns
    ref = quote_name(column)
    source = ", ".join(patterns)
    if value is None:
        where, params = f"{ref} is null", {}
    else:
        where, params = f"{ref} == ?value", {"value": value}
    query = f"from {source}\n| where {where}\n| sort @timestamp desc\n| limit {_EVENT_LIMIT}"
    return PivotRequest(
        name="events",
        title=f"events where {visible(column)} == value",
        crumb=crumb_for({column: value}, row or {}),
        query=query,
        params=params,
        case_query=f"events:{column}",
        via={column: value},
    )


def choose_pivot(
    hunt: Hunt | None, pane: str, row: dict[str, Any], column: str, index_patterns: list[str]
) -> PivotRequest:
    """The pivot for Enter on ``column`` of ``row`` in ``pane``.

    A declared pivot wins when the hunt declares one for this pane (if several, the one
    whose parameters include the selected column, else the first). Otherwise the generic
    pivot on the selected cell.
    """
    pivots = hunt.pivots_from(pane) if hunt else []
    if pivots:
        pivot = next((p for p in pivots if column in p.params.values()), pivots[0])
        return declared_pivot(pivot, row)
    if column not in row:
        raise PivotUnavailable("no cell selected")
    return generic_pivot(column, row[column], index_patterns, row)
