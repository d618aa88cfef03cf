"""The ES|QL syntax tree: what the parser produces and the compiler consumes.

Every node carries ``pos`` (1-based line, column) so that later stages can report
errors the way Elasticsearch does (``line L:C: ...``), and expressions carry ``text``
(the query text they were parsed from, whitespace as written) because ES|QL names an
unnamed ``STATS``/``EVAL`` column by its text: ``count()``, ``AVG(salary)``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Union

Pos = tuple[int, int]


# ---------------------------------------------------------------- expressions


@dataclass
class Expr:
    pos: Pos = field(default=(0, 0), kw_only=True, compare=False)
    text: str = field(default="", kw_only=True, compare=False)


@dataclass
class Literal(Expr):
    """A constant. ``type`` is an ES type: keyword, integer, long, double, boolean, null.

    A bracketed list (``[1, 2, 3]``) is a multi-value literal: ``value`` is a Python list.
    """

    value: Any
    type: str


@dataclass
class TimeSpan(Expr):
    """``7 days``, ``1 hour``: ``unit`` normalised to one of year, quarter, month, week,
    day, hour, minute, second, millisecond."""

    amount: int
    unit: str


@dataclass
class Param(Expr):
    """``?`` (key = its 1-based position among anonymous params), ``?1`` (key = 1), ``?name``."""

    key: Union[int, str]


@dataclass
class Field(Expr):
    """A column reference; ``name`` is the dotted field name, backquotes removed."""

    name: str


@dataclass
class UnaryOp(Expr):
    op: str  # "-" or "not"
    operand: Expr


@dataclass
class BinaryOp(Expr):
    """Arithmetic (+ - * / %), comparison (== != < <= > >=) and logic (and, or)."""

    op: str
    left: Expr
    right: Expr


@dataclass
class Like(Expr):
    """``x LIKE "pat"``, ``x RLIKE "re"``, ``x LIKE ("a*", "b*")``; ``kind`` is like or rlike."""

    operand: Expr
    patterns: list[Expr]
    kind: str
    negated: bool = False


@dataclass
class In(Expr):
    operand: Expr
    items: list[Expr]
    negated: bool = False


@dataclass
class IsNull(Expr):
    operand: Expr
    negated: bool = False  # IS NOT NULL


@dataclass
class Cast(Expr):
    """``x::long``; ``type`` as written, lower-cased (long, integer, double, keyword, ...)."""

    operand: Expr
    type: str


@dataclass
class FunctionCall(Expr):
    """``name`` lower-cased. ``count(*)`` has ``star=True`` and no args."""

    name: str
    args: list[Expr]
    star: bool = False


# ---------------------------------------------------------------- commands


@dataclass
class Command:
    pos: Pos = field(default=(0, 0), kw_only=True, compare=False)


@dataclass
class From(Command):
    indices: list[str]  # patterns as written, e.g. "logs-endpoint.events.file-*"
    metadata: list[str] = field(default_factory=list)  # e.g. ["_index"]


@dataclass
class Row(Command):
    fields: list[tuple[str, Expr]]


@dataclass
class Keep(Command):
    patterns: list[str]
    # where each pattern was written, parallel to ``patterns`` (errors point at the name);
    # empty when the node was built by hand
    positions: list[Pos] = field(default_factory=list, compare=False)


@dataclass
class Drop(Command):
    patterns: list[str]
    positions: list[Pos] = field(default_factory=list, compare=False)  # as in Keep


@dataclass
class Rename(Command):
    pairs: list[tuple[str, str]]  # (old, new), whichever syntax was written
    positions: list[Pos] = field(default_factory=list, compare=False)  # of each old name


@dataclass
class Eval(Command):
    fields: list[tuple[str, Expr]]  # unnamed expressions are named by their text


@dataclass
class Where(Command):
    condition: Expr


@dataclass
class Aggregate:
    """One ``STATS`` aggregate: ``name = expr [WHERE filter]``; unnamed -> named by text."""

    name: str
    expr: Expr
    filter: Expr | None = None


@dataclass
class Stats(Command):
    aggregates: list[Aggregate]
    by: list[tuple[str, Expr]]  # BY keys: a bare field is named by itself, an expression by its text


@dataclass
class SortKey:
    expr: Expr
    ascending: bool = True
    nulls_first: bool | None = None  # None: ES default (last for ASC, first for DESC)


@dataclass
class Sort(Command):
    keys: list[SortKey]


@dataclass
class Limit(Command):
    """``LIMIT n`` or ``LIMIT n BY expr, ...`` (the first n rows of each group)."""

    count: int
    by: list[Expr] = field(default_factory=list)


@dataclass
class MvExpand(Command):
    field: str
    field_pos: Pos | None = dataclasses.field(default=None, compare=False)  # where the name was written


@dataclass
class Dissect(Command):
    source: Expr
    pattern: str
    append_separator: str | None = None


@dataclass
class Grok(Command):
    source: Expr
    pattern: str


@dataclass
class Query:
    """A whole query: a source command (From or Row) then processing commands."""

    commands: list[Command]
    text: str = ""
