"""What a pane shows, independent of Textual: one *view* per step of a pivot path.

A pane (a hunt query, the local scan, the case) holds a stack of views; Enter pushes a
view, Esc pops it and the previous view comes back with its cursor, sort and filter as
they were. Keeping this in plain Python means the ordering rules (sort, rare-first, filter)
are tested without a terminal and the widget only draws what the view says.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from collectors.interface import Column, Language, QueryResult, SourceKind
from tui.escape import clip, visible
from tui.load_bar import reading_line

# Columns whose small values mean "rare": the hunts' `stats cc = count()` and the pivots'
# `events = count()`. Rare-first sorts by the first one present, ascending.
COUNT_COLUMNS = ("cc", "count", "events", "agent_count", "count()")

# The column the cursor starts on (and the detail pane lists first) when a view opens.
PREFERRED_COLUMNS = ("process.command_line", "file.name", "filename", "agent.id")

# Columns that say which machine a row is about. A pivot step shows them first: ES|QL's
# STATS puts its BY columns after the aggregates, so the agents pane's query answers
# `events, first_seen, last_seen, agent.id, host.name`, and at 80 columns a cursor on
# agent.id would scroll the row's first columns out of sight.
LEAD_COLUMNS = ("agent.id", "host.name")

CASE_LANGUAGE = "case"
"""The Case pane's view language: its rows are the case file's findings, not a query's."""

TABLE_COLUMNS = 200
"""Most result columns the table holds. A table of thousands of columns (a wide export)
takes seconds per arrow key; past this the table holds the first ones in display order,
the status line says how many there are, and the detail pane lists every field."""

_ids = itertools.count(1)


@dataclass
class View:
    """One query and its result, as shown in a pane."""

    name: str
    """The pane name hunts use for pivots: ``query:N``, ``pivot:ID``; or ``events``, ``scan``."""
    title: str
    """What this step is ("Agents that wrote this file"), shown in the status line."""
    query: str | None
    """ES|QL (or osquery SQL for the scan) that fills the view; None for the case pane."""
    params: dict[str, Any] = field(default_factory=dict)
    language: str = Language.ESQL
    source_kind: str = SourceKind.OFFLINE
    case_query: int | str | None = None
    """What the case file records as the query of a finding from this view."""
    result: QueryResult | None = None
    error: str | None = None
    notices: list[str] = field(default_factory=list)
    elapsed: float | None = None
    loading: bool = False
    progress: str = ""
    """The source's last progress line while running (cluster async query status)."""
    reading: str = ""
    """What this run reads before its source reports progress (``endpoint-events.ndjson
    (1.5 GB)``): the first run of a hunt's query on files not loaded yet."""
    elapsed_running: float = 0.0
    generation: int = 0
    """Bumped each time the view is (re-)run: a result for an older generation is stale."""
    cursor: tuple[int, int] | None = None
    """(row, column) in the table; None until first drawn (then: the preferred column)."""
    sort: tuple[str, bool] | None = None
    """(column, descending) or None for the query's own order."""
    rare_first: bool = False
    rare_column: str | None = None
    filter_text: str = ""
    marked: set[int] = field(default_factory=set)
    """Indices into ``result.values`` of rows marked with space."""
    index_patterns: list[str] = field(default_factory=list)
    """The FROM patterns, where a generic pivot looks for events."""
    tags: dict[int, list[str]] = field(default_factory=dict)
    """Case-file tags of this view's rows (by row index), for the marker column."""
    crumb: str = ""
    """The breadcrumb's step: the value pivoted on (``file.name=x``); the title when empty."""
    via: dict[str, Any] = field(default_factory=dict)
    """Column -> value the pivot into this view was filtered on (for the finding's pivot path)."""
    column_widths: dict[str, int] = field(default_factory=dict)
    """Widest a column's cells are drawn, whatever the width of the screen (Case pane)."""
    origin: dict[str, Any] = field(default_factory=dict)
    """Values of the rows the pivot path went through, nearest last (where the cursor lands)."""
    uid: int = field(default_factory=lambda: next(_ids))

    # ------------------------------------------------------------------ rows
    @property
    def columns(self) -> list[Column]:
        return self.result.columns if self.result else []

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def is_pivot(self) -> bool:
        """A step reached by Enter (a declared pivot or "events where field == value")."""
        return self.name.startswith("pivot:") or self.name == "events"

    def display_order(self) -> list[int]:
        """Indices into ``columns`` in the order the table shows them.

        A hunt's own query keeps its column order (it is the hunt's text, as Elastic wrote
        it). A pivot step shows the lead columns (``agent.id``, ``host.name``), then the
        column the cursor starts on, then the rest in the query's order: the cursor's
        column is on screen at 80 columns without hiding the row's first columns. Display
        only: values, row dicts, sorting and the case file use the query's columns.
        """
        names = self.column_names
        if not self.is_pivot:
            return list(range(len(names)))
        first = [names.index(n) for n in LEAD_COLUMNS if n in names]
        preferred = self._preferred_index()
        if preferred is not None and preferred not in first:
            first.append(preferred)
        return first + [i for i in range(len(names)) if i not in first]

    def table_order(self) -> list[int]:
        """The columns the table holds: display order, at most :data:`TABLE_COLUMNS`."""
        return self.display_order()[:TABLE_COLUMNS]

    @property
    def display_names(self) -> list[str]:
        """Names of the columns the table holds, in display order (see :meth:`table_order`)."""
        names = self.column_names
        return [names[i] for i in self.table_order()]

    def row_dict(self, index: int) -> dict[str, Any]:
        """Row ``index`` of the result (an index into ``result.values``) by column name."""
        assert self.result is not None
        return dict(zip(self.column_names, self.result.values[index]))

    def visible_rows(self) -> list[int]:
        """Indices of the result's rows in display order: filtered, then sorted."""
        if self.result is None:
            return []
        rows = self._filtered_rows()
        if self.rare_first:
            rows = self._rare_order(rows)
        elif self.sort is not None:
            name, descending = self.sort
            if name in self.column_names:
                col = self.column_names.index(name)
                rows = _sorted_by(rows, lambda i: self.result.values[i][col], descending)
        return rows

    def _filtered_rows(self) -> list[int]:
        assert self.result is not None
        rows = list(range(len(self.result.values)))
        if self.filter_text:
            needle = self.filter_text.lower()
            rows = [i for i in rows if any(needle in visible(v).lower() for v in self.result.values[i])]
        return rows

    def _rare_order(self, rows: list[int]) -> list[int]:
        """Rarest first: by a count column if the query has one, else by how often the
        chosen column's value occurs among the rows (VisiData's frequency idea)."""
        assert self.result is not None
        names = self.column_names
        counter = next((c for c in COUNT_COLUMNS if c in names), None)
        if counter is not None:
            col = names.index(counter)
            return _sorted_by(rows, lambda i: self.result.values[i][col], False)
        column = self.rare_column if self.rare_column in names else (names[0] if names else None)
        if column is None:
            return rows
        col = names.index(column)
        values = self.result.values
        freq = Counter(hashable(values[i][col]) for i in rows)
        return sorted(rows, key=lambda i: freq[hashable(values[i][col])])

    def rare_counts(self) -> dict[int, int] | None:
        """Rare-first by how often a value occurs (no count column): each row's count, which
        the pane shows in a column of its own so the order can be read. None otherwise."""
        if not self.rare_first or self.result is None:
            return None
        names = self.column_names
        if any(c in names for c in COUNT_COLUMNS):
            return None
        column = self.rare_basis()
        if column is None:
            return None
        col = names.index(column)
        values = self.result.values
        rows = self._filtered_rows()
        freq = Counter(hashable(values[i][col]) for i in rows)
        return {i: freq[hashable(values[i][col])] for i in rows}

    def rare_basis(self) -> str | None:
        """What rare-first orders by, for the status line."""
        names = self.column_names
        counter = next((c for c in COUNT_COLUMNS if c in names), None)
        if counter:
            return counter
        return self.rare_column if self.rare_column in names else (names[0] if names else None)

    def _preferred_index(self) -> int | None:
        names = self.column_names
        return next((names.index(n) for n in PREFERRED_COLUMNS if n in names), None)

    def preferred_column(self) -> int:
        """Where the cursor starts, as a position in display order: the command line or
        file name a responder reads first (else the first column)."""
        preferred = self._preferred_index()
        return 0 if preferred is None else self.display_order().index(preferred)

    def toggle_sort(self, column: str) -> None:
        """First press: ascending; second: descending; third: the query's own order."""
        self.rare_first = False
        if self.sort is None or self.sort[0] != column:
            self.sort = (column, False)
        elif not self.sort[1]:
            self.sort = (column, True)
        else:
            self.sort = None

    def status(self, timings: bool = True) -> str:
        """The one-line summary under the table (plain text; the caller escapes)."""
        if self.loading:
            if self.progress:  # the source's own line (a load's bar, rate and time left) says
                return self.progress + "  (esc cancels)"  # it all: at 80 columns it needs the room
            if self.reading:
                return reading_line(self.reading, self.elapsed_running, timings) + "  (esc cancels)"
            running = f"running… {self.elapsed_running:.1f} s" if timings and self.elapsed_running >= 0.3 else "running…"
            return running + "  (esc cancels)"
        if self.error:
            return "error"
        if self.result is None:
            return ""
        shown = len(self.visible_rows())
        total = len(self.result.values)
        parts = [f"{shown} of {total} rows" if shown != total else f"{total} row{'s' if total != 1 else ''}"]
        if self.filter_text:
            parts.append(f"filter: {clip(self.filter_text, 32)}")
        if self.rare_first:
            parts.append(f"rare first by {self.rare_basis()}")
        elif self.sort:
            parts.append(f"sorted by {self.sort[0]} {'↓' if self.sort[1] else '↑'}")
        if self.marked:
            parts.append(f"{len(self.marked)} marked")
        if len(self.columns) > TABLE_COLUMNS:
            parts.append(f"showing {TABLE_COLUMNS} of {len(self.columns):,} columns; the detail pane lists all")
        if self.result.is_partial:
            parts.append("partial result")
        # two notices: e.g. the dotfiles a local scan skipped and "not root: results may be partial"
        parts += self.result.warnings[:1] + self.notices[:2]
        if self.elapsed is not None and timings:
            parts.append(f"{self.elapsed:.2f} s")
        if self.crumb:
            parts.append(self.title)
        return " · ".join(parts)


def hashable(value: Any) -> Any:
    """Multi-valued cells are lists; to count or compare them as set members they become tuples."""
    return tuple(value) if isinstance(value, list) else value


def _sorted_by(rows: list[int], key, descending: bool) -> list[int]:
    """Sort with nulls last in both directions, numbers numerically, the rest as text."""
    present = [i for i in rows if key(i) is not None]
    missing = [i for i in rows if key(i) is None]

    def sort_key(i):
        value = key(i)
        if isinstance(value, bool):
            return (1, str(value))
        if isinstance(value, (int, float)):
            return (0, value)
        return (1, visible(value))

    try:
        present.sort(key=sort_key, reverse=descending)
    except TypeError:
        present.sort(key=lambda i: visible(key(i)), reverse=descending)
    return present + missing
