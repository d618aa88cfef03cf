"""The one result shape every source returns, and the errors they raise.

It mirrors Elasticsearch's ``_query`` response (``columns`` with ES types, ``values``
as rows) because that is the shape responders already know and the shape the CLI
prints with ``--format json``. Values are JSON-ready exactly as Elasticsearch sends them:
dates as ``YYYY-MM-DDTHH:MM:SS.sssZ`` strings, ips as strings, multi-values as lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    """A result column: its name and its Elasticsearch type (keyword, long, date, ...)."""

    name: str
    type: str


@dataclass
class QueryResult:
    """Rows from one query, in the shape of Elasticsearch's ``_query`` response."""

    columns: list[Column]
    values: list[list[Any]]
    warnings: list[str] = field(default_factory=list)
    took: int | None = None
    """Milliseconds the source spent, when it says."""
    is_partial: bool = False
    """True when the source says some shards or clusters did not answer."""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def rows_as_dicts(self) -> list[dict[str, Any]]:
        names = self.column_names
        return [dict(zip(names, row)) for row in self.values]

    def to_json(self) -> dict[str, Any]:
        """The ``_query``-shaped object the CLI prints with ``--format json``."""
        out: dict[str, Any] = {
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
            "values": self.values,
        }
        if self.took is not None:
            out["took"] = self.took
        if self.is_partial:
            out["is_partial"] = True
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> "QueryResult":
        """Read back what :meth:`to_json` (or Elasticsearch) wrote."""
        return cls(
            columns=[Column(c["name"], c.get("type", "keyword")) for c in obj["columns"]],
            values=[list(r) for r in obj.get("values", [])],
            took=obj.get("took"),
            is_partial=bool(obj.get("is_partial", False)),
        )


class HuntbenchError(Exception):
    """An expected failure a user caused or can fix: shown as one line, never a traceback.

    ``exit_code`` is what the CLI exits with: 1 for a query that is wrong, 2 for bad usage
    or input that cannot be read.
    """

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class QueryError(HuntbenchError):
    """The query itself is wrong (syntax, unknown index or column, bad types).

    Rendered like Elasticsearch's own messages: ``line L:C: <message>``.
    """

    exit_code = 1

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        self.line = line
        self.column = column
        self.reason = message
        text = f"line {line}:{column}: {message}" if line is not None else message
        super().__init__(text)


class SourceError(HuntbenchError):
    """The data source failed: unreadable input, cluster down, auth, timeout, osquery error."""

    exit_code = 2


class Cancelled(HuntbenchError):
    """The user cancelled a running query."""

    exit_code = 130
