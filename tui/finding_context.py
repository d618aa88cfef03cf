"""What the workbench knows about a row beyond its cells, handed to the case file at tag time.

A row of the hunt's Q1 (``stats ... by file.name, process.executable``) names no host, no
agent and no time; a command line two pivots down does not name the agent the pivot was
filtered on. The pane's stack of views is the investigation that led to the row, so a
tagged row takes along (see casefile/provenance.py for how the case file uses it):

* the pivot path: one step per view on the stack, labelled as the UI labels it (``Q1``,
  ``Local scan``, the pivot's title) with the ``field=value`` pairs pivoted on;
* for a row that names no host or agent and whose path does not either: the hosts, agents
  and first/last seen times *behind* it, by running the hunt's declared pivot from this
  view -- the query that answers "which agents wrote this file" -- through the same source,
  the row's values as query parameters, over the view's time window. A hunt that declares
  no pivot for the view gets the general form of the same question (:func:`events_behind`):
  the view's own query up to its ``STATS``, narrowed to the row's group keys, counted by
  ``agent.id, host.name``;
* for the local scan: the host (or image) it read.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from collectors.result import QueryResult
from hunts.library import OSQUERY, Hunt
from tui.model import View
from tui.pivots import PivotUnavailable, declared_pivot, quote_name
from tui.window import carry_window

RESOLVE_LIMIT = 200
"""Rows resolved per tag action (one pivot query each); more are tagged without it."""
HOSTNAME_LIMIT = 255

Run = Callable[[str, Mapping[str, Any]], QueryResult]


def step_label(view: View) -> str:
    """The view's name as the pane bar / breadcrumb shows it."""
    if view.language == OSQUERY:
        return "Local scan"
    if view.is_pivot:
        return view.title
    if isinstance(view.case_query, int):
        label = f"Q{view.case_query + 1}"
        return f"{label} (edited)" if view.title == "edited query" else label
    return view.title


def pivot_steps(stack: Sequence[View]) -> list[dict[str, Any]]:
    """The path to the top view: each step's label, query and the values pivoted on from it."""
    steps = []
    for i, view in enumerate(stack):
        on = stack[i + 1].via if i + 1 < len(stack) else {}
        steps.append({"label": step_label(view), "query": view.name, "on": dict(on)})
    return steps


def _names_machine(row: Mapping[str, Any], steps: Iterable[Mapping[str, Any]]) -> bool:
    fields = ("host.name", "agent.id")
    if any(row.get(f) not in (None, [], "") for f in fields):
        return True
    return any(step["on"].get(f) is not None for step in steps for f in fields)


def _gather(result: QueryResult) -> dict[str, Any] | None:
    """Hosts, agents and the time span in a pivot's answer (None if it names no machine)."""
    names = result.column_names
    if "agent.id" not in names and "host.name" not in names:
        return None
    hosts: list[Any] = []
    agents: list[Any] = []
    firsts: list[str] = []
    lasts: list[str] = []
    for values in result.values:
        row = dict(zip(names, values))
        for field, into in (("host.name", hosts), ("agent.id", agents)):
            value = row.get(field)
            for item in value if isinstance(value, list) else [value]:
                if item is not None and item not in into:
                    into.append(item)
        first = row.get("first_seen", row.get("@timestamp"))
        last = row.get("last_seen", first)
        if first is not None:
            firsts.append(str(first))
        if last is not None:
            lasts.append(str(last))
    from casefile.values import parse_time  # the case file's own time reading

    first_times = sorted(t for t in (parse_time(v) for v in firsts) if t)
    last_times = sorted(t for t in (parse_time(v) for v in lasts) if t)
    return {"hosts": hosts, "agents": agents, "first_seen": first_times[0] if first_times else None,
            "last_seen": last_times[-1] if last_times else None, "time_desc": "First seen"}


_BEHIND = "\n| stats first_seen = min(@timestamp), last_seen = max(@timestamp) by {by}\n| sort first_seen asc\n| limit 100"
_DROPPED = ("keep", "drop", "sort")
"""Commands left out before the STATS: ``keep``/``drop`` only narrow the columns (and may
drop ``host.name``), ``sort`` does not change which events there are."""


def split_pipeline(query: str) -> list[str]:
    """ES|QL's commands: the text split at ``|`` outside strings and comments."""
    commands, start, i, n = [], 0, 0, len(query)
    while i < n:
        if query.startswith('"""', i):
            end = query.find('"""', i + 3)
            i = n if end < 0 else end + 3
        elif query[i] == '"':
            i += 1
            while i < n and query[i] != '"':
                i += 2 if query[i] == "\\" else 1
            i += 1
        elif query.startswith("//", i):
            end = query.find("\n", i)
            i = n if end < 0 else end
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif query[i] == "|":
            commands.append(query[start:i])
            start = i = i + 1
        else:
            i += 1
    commands.append(query[start:])
    return [c.strip() for c in commands if c.strip()]


def _command_word(command: str) -> str:
    return command.split(None, 1)[0].lower() if command.split() else ""


def events_behind(query: str | None, row: Mapping[str, Any], by: Sequence[str]) -> tuple[str, dict[str, Any]] | None:
    """The query for the events behind an aggregate row, and its parameters; None when the
    view's query has no ``STATS`` or the row no group key.

    Group keys are the row's document fields (dotted names, as the case file's identity
    rule calls them); their values travel as parameters ``?k0, ?k1 ...``.
    """
    commands = split_pipeline(query or "")
    stats = next((i for i, c in enumerate(commands) if _command_word(c) == "stats"), None)
    if stats is None or stats == 0:
        return None
    keys = [c for c in row if "." in c and "(" not in c and " " not in c and not isinstance(row[c], list)]
    if not keys:
        return None
    params: dict[str, Any] = {}
    conditions = []
    for n, column in enumerate(keys):
        if row[column] is None:
            conditions.append(f"{quote_name(column)} is null")
        else:
            params[f"k{n}"] = row[column]
            conditions.append(f"{quote_name(column)} == ?k{n}")
    kept = [c for c in commands[:stats] if _command_word(c) not in _DROPPED or c is commands[0]]
    text = "\n| ".join(kept) + f"\n| where {' and '.join(conditions)}" + _BEHIND.format(by=", ".join(by))
    return text, params


def _run_behind(view: View, row: Mapping[str, Any], run: Run) -> dict[str, Any] | None:
    """The general lookup: by agent and host, else (no ``host.name`` in the data) by agent."""
    for by in (("agent.id", "host.name"), ("agent.id",)):
        built = events_behind(view.query, row, by)
        if built is None:
            return None
        try:
            return _gather(run(*built))
        except Exception:  # noqa: BLE001 - e.g. unknown column host.name: try the narrower one
            continue
    return None


def resolve_rows(hunt: Hunt | None, view: View, rows: Sequence[Mapping[str, Any]],
                 steps: Sequence[Mapping[str, Any]], run: Run) -> tuple[list[dict[str, Any] | None], list[str]]:
    """For each row, what the hunt's declared pivot says is behind it (None: not needed or
    not possible), and notices for the responder (pivot failures, rows left unresolved)."""
    out: list[dict[str, Any] | None] = [None] * len(rows)
    notices: list[str] = []
    pivots = hunt.pivots_from(view.name) if hunt else []
    done = 0
    for i, row in enumerate(rows):
        if _names_machine(row, steps):
            continue
        if done >= RESOLVE_LIMIT:
            notices.append(f"hosts of {len(rows) - i} more rows not looked up (at most {RESOLVE_LIMIT} per tag)")
            break
        declared = False
        for pivot in pivots:
            try:
                request = declared_pivot(pivot, dict(row))
            except PivotUnavailable:
                continue
            declared = True
            done += 1
            try:
                result = run(carry_window(request.query, view.query), request.params)
            except Exception as exc:  # noqa: BLE001 - tagging goes on without the lookup
                notices.append(f"hosts not looked up ({pivot.id}): {exc}")
                break
            gathered = _gather(result)
            if gathered is not None:
                out[i] = gathered
                break
        if not declared:
            done += 1
            out[i] = _run_behind(view, row, run)
    return out, notices


def local_scan_host(root: str | Path | None) -> str | None:
    """The host the local scan read: this machine's name, or an image's ``/etc/hostname``.

    The image's file is read without following a symlink (an image's ``/etc/hostname``
    pointing at ``/etc/hostname`` must not report the responder's own machine).
    """
    if root is None:
        return socket.gethostname() or None
    etc = Path(root) / "etc"
    if etc.is_symlink() or not etc.is_dir():
        return None
    try:
        fd = os.open(etc / "hostname", os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        data = os.read(fd, HOSTNAME_LIMIT + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    lines = data.decode("utf-8", errors="replace").splitlines()
    name = lines[0].strip() if lines else ""
    return name[:HOSTNAME_LIMIT] or None


def local_scan_source(described: str, root: str | Path | None) -> str:
    """The local scan's source for the case file: what the scan source tells, plus the image
    path and the host name it read when it does not say them already."""
    extra = []
    if root is not None and str(Path(root).absolute()) not in described:
        extra.append(f"image {Path(root).absolute()}")
    host = local_scan_host(root)
    if host and host not in described:
        extra.append(f"host {host}")
    return f"{described} ({', '.join(extra)})" if extra else described
