"""The marker column: what a row means for the case and for the other panes.

A glance down the first column answers "have I seen this before?": ● the row is tagged in
the case, ○ it shares a value with a tagged finding, + it is marked for tagging, ⌂ the
fleet and the local scan both saw the file. The markers are computed from state kept here
(the values of tagged findings, the file names each side saw) so that drawing a row never
touches the case file.
"""

from __future__ import annotations

from typing import Any, Iterable

from rich.text import Text

from hunts.library import ESQL, OSQUERY
from tui.model import View, hashable

# Values that identify "the same thing" across panes: a row sharing one of these with a
# tagged finding gets the ○ marker wherever it appears.
RELATED_FIELDS = ("file.name", "file.path", "process.command_line", "filename", "path")
LOCAL_NAME = "filename"
"""The local scan's file-name column (osquery's ``file`` table)."""
FLEET_NAME = "file.name"
"""The same name in ECS events."""


class RowMarkers:
    """The marker of each row, from the case's tagged values and the panes' file names."""

    def __init__(self) -> None:
        self.related: dict[str, set[Any]] = {}
        self.local_names: set[Any] = set()
        """File names the local scan found (fleet rows with one get ⌂)."""
        self.remote_names: set[Any] = set()
        """File names the fleet queries returned (local rows with one get ⌂)."""

    def marker(self, view: View, index: int) -> Text:
        """● tagged, ○ related to a tagged row, + marked, ⌂ also seen on the other side."""
        text = Text(end="")
        row = view.row_dict(index)
        tags = view.tags.get(index)
        if tags:
            bad = any(t.casefold() in ("malicious", "suspicious") for t in tags)
            text.append("●", style="bold red" if bad else "bold yellow")
        elif any(row.get(f) is not None and hashable(row.get(f)) in self.related.get(f, ()) for f in RELATED_FIELDS):
            text.append("○", style="yellow")
        if index in view.marked:
            text.append("+", style="bold cyan")
        if view.language == OSQUERY:
            if hashable(row.get(LOCAL_NAME)) in self.remote_names:
                text.append("⌂", style="magenta")
        elif hashable(row.get(FLEET_NAME)) in self.local_names:
            text.append("⌂", style="magenta")
        return text

    def remember_tagged(self, rows: Iterable[dict[str, Any]]) -> None:
        """The rows of the case's tagged findings: their values make other rows ○."""
        related: dict[str, set[Any]] = {f: set() for f in RELATED_FIELDS}
        for row in rows:
            for f in RELATED_FIELDS:
                if row.get(f) is not None:
                    related[f].add(hashable(row[f]))
        self.related = related

    def link(self, views: Iterable[View]) -> bool:
        """Collect the file names each side saw in ``views``; True when the links changed."""
        local: set[Any] = set()
        remote: set[Any] = set()
        for view in views:
            if view.result is None:
                continue
            if view.language == OSQUERY and LOCAL_NAME in view.column_names:
                col = view.column_names.index(LOCAL_NAME)
                local.update(hashable(r[col]) for r in view.result.values if r[col] is not None)
            elif view.language == ESQL and FLEET_NAME in view.column_names:
                col = view.column_names.index(FLEET_NAME)
                remote.update(hashable(r[col]) for r in view.result.values if r[col] is not None)
        changed = local != self.local_names or remote != self.remote_names
        self.local_names, self.remote_names = local, remote
        return changed

    def forget_links(self) -> None:
        """A new hunt: no pane has answered yet."""
        self.local_names.clear()
        self.remote_names.clear()
