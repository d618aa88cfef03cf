"""Quoting helpers: every name and value from data reaches DuckDB through these."""

from __future__ import annotations

from typing import Any


def ident(name: str) -> str:
    """A DuckDB identifier for any string (index and field names come from the data)."""
    return '"' + name.replace("\x00", "").replace('"', '""') + '"'


def lit(value: str) -> str:
    """A DuckDB string literal (standard SQL: only the quote needs doubling)."""
    return "'" + value.replace("\x00", "").replace("'", "''") + "'"


class Names:
    """Fresh lambda-parameter names, so nested ``list_transform`` lambdas never shadow."""

    def __init__(self) -> None:
        self._n = 0

    def __call__(self) -> str:
        self._n += 1
        return f"__hb{self._n}"


def one(cursor: Any) -> tuple[Any, ...]:
    """The row of a query that always answers exactly one (an aggregate, a scalar)."""
    row = cursor.fetchone()
    assert row is not None, "an aggregate query answered no row"
    return row
