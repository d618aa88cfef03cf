"""The osquery result shape and the type rules every backend shares.

osquery types its columns with its own names (``TEXT``, ``INTEGER``, ``BIGINT``,
``UNSIGNED_BIGINT``, ``DOUBLE``, ``BLOB``, ``UNKNOWN``: osquery/core/sql/column.h); the
rest of huntbench speaks Elasticsearch's (keyword, long, double), so results say those.
osqueryi and the extensions socket hand every value over as text; :func:`typed_value`
turns it back into a number where the column type says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from collectors.result import Column, QueryError, QueryResult

_OSQUERY_TO_ES = {
    "TEXT": "keyword",
    "BLOB": "keyword",
    "INTEGER": "long",
    "BIGINT": "long",
    "UNSIGNED_BIGINT": "long",
    "DOUBLE": "double",
}


@dataclass
class OsqueryResult(QueryResult):
    """Rows from one osquery SQL statement, plus which backend answered and what to tell."""

    backend: str = "builtin"
    """``osqueryi``, ``socket`` or ``builtin``."""
    notices: list[str] = field(default_factory=list)
    """Things the responder should know (not root, unreadable paths, --root limits)."""


def es_type(osquery_type: str | None) -> str | None:
    """The ES type for an osquery (or SQLite declared) type; None when it says nothing."""
    if not osquery_type:
        return None
    return _OSQUERY_TO_ES.get(osquery_type.strip().upper())


def infer_type(values: list[Any]) -> str:
    """A column's type from its values, for columns no backend typed (expressions)."""
    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {int}:
        return "long"
    if kinds and kinds <= {int, float}:
        return "double"
    return "keyword"


_INT = re.compile(r"-?\d+\Z")
_FLOAT = re.compile(r"-?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?\Z")


def typed_value(text: str | None, es: str) -> Any:
    """A value that arrived as text (osqueryi, socket), typed by its column's ES type.

    Text that does not parse is kept as text rather than dropped: the responder sees
    exactly what osquery said.
    """
    if text is None:
        return None
    if es == "long":
        if text == "":
            return None
        return int(text) if _INT.match(text) else text
    if es == "double":
        if text == "":
            return None
        try:
            return float(text)
        except ValueError:
            return text
    return text


def infer_text_type(values: list[str | None]) -> str:
    """Type of an untyped column whose values are text (osqueryi without ``.types``)."""
    present = [v for v in values if v not in (None, "")]
    if present and all(_INT.match(v) for v in present):
        return "long"
    if present and all(_FLOAT.match(v) for v in present):
        return "double"
    return "keyword"


def split_statement(sql: str) -> str:
    """The one statement in ``sql``; raises QueryError for none or more than one.

    A hunt's osquery query is one statement, sometimes followed by ``;`` and a comment
    (the seed ends with ``; -- Modified in the last 7 days``); that is kept as written.
    """
    import apsw

    text = sql.strip()
    if not text or not _strip_comments(text).strip(" \t\r\n;"):
        raise QueryError("empty osquery SQL: give one SELECT statement")
    for match in re.finditer(";", text):
        end = match.end()
        if apsw.complete(text[:end]):
            rest = _strip_comments(text[end:]).strip(" \t\r\n;")
            if rest:
                line = text[:end].count("\n") + 1
                raise QueryError(f"osquery SQL must be one statement; more SQL follows the ';' on line {line}")
            return text
    return text


_COMMENTS = re.compile(r"--[^\n]*|/\*.*?(\*/|\Z)", re.DOTALL)


def _strip_comments(text: str) -> str:
    return _COMMENTS.sub(" ", text)


def make_result(names: list[str], types: list[str], rows: list[list[Any]], *, backend: str,
                notices: list[str] | None = None, took: int | None = None) -> OsqueryResult:
    """Assemble an :class:`OsqueryResult` (columns typed, rows as lists)."""
    return OsqueryResult(
        columns=[Column(n, t) for n, t in zip(names, types)],
        values=rows,
        took=took,
        backend=backend,
        notices=list(notices or []),
    )
