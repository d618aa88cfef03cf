"""Where, when and how a finding was found: hosts, agents, the pivot path, key fields.

A row rarely says all of it. A Q1 row of the DPKG/RPM hunt is ``stats ... by file.name,
process.executable``: no host, no agent, no time. A command line two pivots down has its
host and time but not the agent the pivot was filtered on, nor the file that led to it.
The workbench knows the rest, so a finding records, besides its row:

* the **pivot path**: the steps the responder took, as the breadcrumb shows them. Each
  step is ``{"label", "query", "on"}``: the pane's label as the UI shows it (``Q1``,
  ``Local scan``, a pivot's title), the query it ran (``query:0``, ``pivot:ID``) and the
  ``field -> value`` pairs pivoted on when leaving that step, values exactly as they were
  passed to the next query. The last step is the view the row was tagged in.
* **hosts and agents**, each a list: from the row's ``host.name`` / ``agent.id``, else
  from the nearest step of the pivot path that pivoted on them, else *resolved* by the
  caller (the hunt's declared pivot run at tag time, see ``tui/finding_context.py``), else
  the caller's default (the host or image the local scan read).
* the **key ECS fields** (``file.name``, ``process.command_line`` ...): from the row, else
  (osquery rows) ``path``/``filename`` as ``file.path``/``file.name``, else from the pivot
  path: a finding tagged in the agents pane keeps the file it came from.
* **event times** from the row's time columns, else the resolved ones.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Sequence

from casefile.errors import CaseError
from casefile.values import display_text, parse_time

HOST_FIELD = "host.name"
AGENT_FIELD = "agent.id"
OSQUERY_KEY_FIELDS = {"path": "file.path", "filename": "file.name"}
"""osquery's ``file`` table columns and the ECS fields fleet rows carry the same value in."""
PATH_SEPARATOR = " > "
EARLIER_STEPS = "(earlier steps not recorded)"
"""The first step of a path derived from a finding an older huntbench recorded."""
LOCAL_SCAN = "Local scan"


def clean_steps(steps: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The pivot path as stored: each step a ``{"label", "query", "on"}`` dict."""
    out: list[dict[str, Any]] = []
    for step in steps or ():
        if not isinstance(step, Mapping) or not isinstance(step.get("label"), str):
            raise CaseError("a pivot path step needs a text label (e.g. {'label': 'Q1', 'on': {...}})")
        on = step.get("on") or {}
        if not isinstance(on, Mapping):
            raise CaseError(f"pivot path step {step['label']!r}: 'on' must map fields to values")
        query = step.get("query")
        out.append({"label": step["label"], "query": None if query is None else str(query),
                    "on": {str(k): v for k, v in on.items()}})
    return out


def path_text(steps: Sequence[Mapping[str, Any]]) -> str:
    """``Q1 file.name=.rpm-check > Agents that wrote this file agent.id=2213… > …``."""
    parts = []
    for step in steps:
        pairs = ", ".join(f"{k}={'' if display_text(v) is None else display_text(v)}" for k, v in step["on"].items())
        parts.append(f"{display_text(step['label'])} {pairs}".rstrip())
    return PATH_SEPARATOR.join(parts)


def distinct_texts(values: Iterable[Any]) -> list[str]:
    """Display texts of ``values`` (lists flattened), empty ones dropped, first order kept."""
    out: list[str] = []
    for value in values:
        items = value if isinstance(value, (list, tuple)) else [value]
        for item in items:
            text = display_text(item)
            if text and text not in out:
                out.append(text)
    return out


def _from_path(steps: Sequence[Mapping[str, Any]], field: str) -> Any:
    """The value the nearest step pivoted on for ``field`` (None if no step did)."""
    for step in reversed(steps):
        if field in step["on"] and step["on"][field] is not None:
            return step["on"][field]
    return None


def machines(
    row: Mapping[str, Any], steps: Sequence[Mapping[str, Any]], resolved: Mapping[str, Any] | None,
    default_hosts: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """(hosts, agents) behind a row: the row, else the pivot path, else resolved, else default."""
    found = []
    for field, key, default in ((HOST_FIELD, "hosts", default_hosts), (AGENT_FIELD, "agents", ())):
        values = distinct_texts([row.get(field)])
        if not values:
            values = distinct_texts([_from_path(steps, field)])
        if not values and resolved:
            values = distinct_texts(resolved.get(key) or [])
        if not values:
            values = distinct_texts(default)
        found.append(values)
    return found[0], found[1]


def key_values(row: Mapping[str, Any], steps: Sequence[Mapping[str, Any]], key_fields: Iterable[str],
               source_kind: str) -> dict[str, Any]:
    """Each key ECS field's value: the row's, an osquery column's, else the pivot path's."""
    out: dict[str, Any] = {}
    for field in key_fields:
        value = row.get(field)
        if value is None and source_kind == "osquery":
            column = next((c for c, f in OSQUERY_KEY_FIELDS.items() if f == field), None)
            value = row.get(column) if column else None
        if value is None:
            value = _from_path(steps, field)
        out[field] = value
    return out


def resolved_times(resolved: Mapping[str, Any] | None) -> tuple[str | None, str | None, str | None]:
    """(first seen, last seen, description) the caller resolved, as stored times."""
    if not resolved:
        return None, None, None
    first = parse_time(resolved.get("first_seen"))
    last = parse_time(resolved.get("last_seen")) or first
    if not first and not last:
        return None, None, None
    return first or last, last, str(resolved.get("time_desc") or "First seen")


# ---------------------------------------------------------------- findings of older files
def query_label(source_kind: str, query: str | None) -> str:
    """The UI's label for a recorded query: ``Q1`` for ``0``, ``Local scan``, the pivot id."""
    if source_kind == "osquery":
        return LOCAL_SCAN
    if query is None:
        return "query"
    if query.isdigit():
        return f"Q{int(query) + 1}"
    if query.startswith("events:"):
        return f"events where {query[len('events:'):]} == value"
    return query


def param_field(name: str, query: str | None, key_fields: Iterable[str]) -> str:
    """The field a recorded pivot parameter was bound to, where the record says it.

    Generic pivots (``events:FIELD``) bind ``?value`` to FIELD; declared pivots name their
    parameters after the field with ``_`` for ``.`` (``agent_id``), which is mapped back
    when that is one of the key fields. Anything else keeps the parameter's own name.
    """
    if name == "value" and query and query.startswith("events:"):
        return query[len("events:"):]
    dotted = name.replace("_", ".")
    return dotted if dotted in set(key_fields) else name


def derived_steps(source_kind: str, query: str | None, params: Mapping[str, Any],
                  key_fields: Iterable[str]) -> list[dict[str, Any]]:
    """The pivot path that can be told from an older finding's query and parameters."""
    keys = list(key_fields)
    last: dict[str, Any] = {"label": query_label(source_kind, query), "query": query, "on": {}}
    if not params:
        return [last]
    first: dict[str, Any] = {"label": EARLIER_STEPS, "query": None,
             "on": {param_field(k, query, keys): v for k, v in params.items()}}
    return [first, last]


def loads_list(text: str | None) -> list[Any]:
    """A JSON list column (None or malformed: empty)."""
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
