"""Stable finding ids: what makes two rows "the same finding".

A finding id is a hash of: the source kind, the hunt uuid, the query (hunt query index or
pivot pane name), the pivot parameters that produced the row (if any), and the row's
*identifying fields*. Tagging the same row twice -- in another process, another day, with
its columns in another order -- gives the same id.

Identifying fields, by source kind:

* ES|QL rows (``offline``, ``elastic``): every column that is a document field -- an ECS
  name with a dot (``file.name``, ``process.executable``, ``agent.id``), ``@timestamp``,
  ``_id``/``_index``. Columns the query *computes* and names itself (``cc``,
  ``agent_count``, ``events``, ``first_seen``, ``count(*)``) are measures, not identity:
  the hunt's ``stats cc = count() by file.name, process.executable`` row is the same
  finding next week when ``cc`` has grown. For a ``stats ... by`` result the identifying
  fields are exactly the ``by`` keys; for raw events they include ``@timestamp``.
* osquery rows (no ECS names): the columns in :data:`OSQUERY_IDENTIFYING` (``path``,
  ``filename``, ``sha256``, ``package``, ``pid`` ...); times, sizes and owners are state.

A row with no identifying field (or only nulls there), e.g. ``stats count()``, is
identified by *all* its columns ("whole-row" id): tagging identical values again gives the
same finding, but a changed count makes a new one. The finding records which basis was
used (``id_basis``: ``fields`` or ``row``) and which fields.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

from casefile.errors import CaseError
from casefile.values import parse_time
from collectors.interface import SourceKind

SOURCE_KINDS = tuple(kind.value for kind in SourceKind)
ID_VERSION = "huntbench-finding/1"
ID_LENGTH = 20
"""Hex characters kept of the SHA-256 (80 bits: no collision in any real case)."""

OSQUERY_IDENTIFYING = frozenset({
    "path", "filename", "directory", "target_path", "sha256", "sha1", "md5",
    "package", "kind", "name", "version", "pid", "parent", "cmdline", "uid", "username",
    "hostname", "host", "inode", "device",
})
TIME_FIELDS = frozenset({"@timestamp"})


def is_identifying(column: str, source_kind: str) -> bool:
    """Whether ``column`` names the thing a row is about (see the module docstring)."""
    if source_kind == SourceKind.OSQUERY:
        return column in OSQUERY_IDENTIFYING
    if "(" in column or " " in column:
        return False
    return "." in column or column in ("@timestamp", "_id", "_index")


def identifying_fields(row: Mapping[str, Any], source_kind: str) -> list[str]:
    """The identifying columns of ``row``, sorted; empty means "use the whole row"."""
    names = sorted(c for c in row if is_identifying(c, source_kind))
    if all(row[c] is None for c in names):
        return []
    return names


def _canonical(name: str, value: Any) -> Any:
    """One representation per value: times in UTC, multi-values as a sorted set."""
    if name in TIME_FIELDS:
        parsed = parse_time(value)
        if parsed is not None:
            return parsed
    if isinstance(value, list):
        items = [_canonical(name, v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=True))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def check_source_kind(source_kind: str) -> str:
    if source_kind not in SOURCE_KINDS:
        raise CaseError(f"source kind {source_kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    return str(source_kind)  # a SourceKind member is stored as its plain text


def finding_id(
    source_kind: str,
    hunt_uuid: str | None,
    query: int | str | None,
    row: Mapping[str, Any],
    params: Mapping[str, Any] | None = None,
) -> str:
    """The stable id of ``row`` (deterministic across processes and column order).

    ``params`` are the pivot parameters that produced the row (``{"agent_id": ...}``):
    the same agent reached from two different files is two findings.
    """
    check_source_kind(source_kind)
    return _finding_id(source_kind, hunt_uuid, query, row, params, identifying_fields(row, source_kind))


_ID_ENCODER = json.JSONEncoder(ensure_ascii=True, sort_keys=True, separators=(",", ":"), default=str)


def _finding_id(source_kind: str, hunt_uuid: str | None, query: int | str | None, row: Mapping[str, Any],
                params: Mapping[str, Any] | None, fields: list[str]) -> str:
    """:func:`finding_id` with the identifying fields already worked out (batch tagging)."""
    basis = fields or sorted(row)
    payload = [
        ID_VERSION,
        source_kind,
        hunt_uuid or "",
        "" if query is None else str(query),
        sorted((str(k), _canonical(str(k), v)) for k, v in (params or {}).items()),
        "fields" if fields else "row",
        [[name, _canonical(name, row[name])] for name in basis],
    ]
    text = _ID_ENCODER.encode(payload)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:ID_LENGTH]
