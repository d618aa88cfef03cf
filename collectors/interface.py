"""The one interface between the places queries run and everything that shows their rows.

A leaf: it imports nothing of the project, so the TUI, the CLI and the case file can depend
on it without depending on any collector (the import walls in ``pyproject.toml`` check this).
It holds the result shape every source returns, the errors they raise, the words a query is
run with (parameters, a cancel token, a progress callback) and the :class:`Source` protocol
that the offline engine, a cluster and the local osquery scan all implement.

The result mirrors Elasticsearch's ``_query`` response (``columns`` with ES types, ``values``
as rows) because that is the shape responders already know and the shape the CLI prints with
``--format json``. Values are JSON-ready exactly as Elasticsearch sends them: dates as
``YYYY-MM-DDTHH:MM:SS.sssZ`` strings, ips as strings, multi-values as lists.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable


class Language(StrEnum):
    """The query languages a hunt can hold and a source can run.

    A ``StrEnum`` so that a hunt file's text and a saved case compare equal to the member.
    """

    ESQL = "ES|QL"
    OSQUERY = "osquery SQL"


class SourceKind(StrEnum):
    """Where rows came from; stored with every finding in the case file."""

    OFFLINE = "offline"
    ELASTIC = "elastic"
    OSQUERY = "osquery"


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


class UsageError(HuntbenchError):
    """Options that contradict each other (``--data`` with ``--sample``, ...).

    The CLI shows it as click's usage error; the TUI launcher as one ``error:`` line.
    """

    exit_code = 2


Params = Mapping[str, Any] | Sequence[Any] | None
"""Named (``{"file_name": "x"}``) or positional (``["x"]``) query parameters."""

Progress = Callable[[str], None]
"""Called from the worker thread with a short human status ("running 4.2 s", ...)."""


class CancelToken:
    """Set by the UI when the user presses Esc; a source checks it and stops."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if cancelled meanwhile (for polling loops)."""
        return self._event.wait(seconds)


@runtime_checkable
class Source(Protocol):
    """Something that runs queries in one language and answers in the ``_query`` shape."""

    @property
    def kind(self) -> SourceKind:
        """Offline, a cluster or the local scan: recorded with each finding."""
        ...

    @property
    def language(self) -> Language:
        """The language :meth:`run` accepts."""
        ...

    def describe(self) -> str:
        """Where the data comes from, for the header and the case file, never with secrets."""
        ...

    def warm(self) -> None:
        """Get ready in the background (load data, import the engine) so the first query
        does not wait; may do nothing. A failure here is raised again by the first query."""
        ...

    def run(
        self,
        query: str,
        params: Params = None,
        *,
        cancel: CancelToken | None = None,
        progress: Progress | None = None,
    ) -> QueryResult:
        """Run one query. Raises QueryError, SourceError or Cancelled, each one line."""
        ...


__all__ = [
    "Cancelled", "CancelToken", "Column", "HuntbenchError", "Language", "Params", "Progress",
    "QueryError", "QueryResult", "Source", "SourceError", "SourceKind", "UsageError",
]
