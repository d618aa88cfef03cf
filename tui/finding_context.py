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
  the row's values as query parameters, over the view's time window;
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
from tui.pivots import PivotUnavailable, declared_pivot
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


def resolve_rows(hunt: Hunt | None, view: View, rows: Sequence[Mapping[str, Any]],
                 steps: Sequence[Mapping[str, Any]], run: Run) -> tuple[list[dict[str, Any] | None], list[str]]:
    """For each row, what the hunt's declared pivot says is behind it (None: not needed or
    not possible), and notices for the responder (pivot failures, rows left unresolved)."""
    out: list[dict[str, Any] | None] = [None] * len(rows)
    notices: list[str] = []
    pivots = hunt.pivots_from(view.name) if hunt else []
    if not pivots:
        return out, notices
    done = 0
    for i, row in enumerate(rows):
        if _names_machine(row, steps):
            continue
        if done >= RESOLVE_LIMIT:
            notices.append(f"hosts of {len(rows) - i} more rows not looked up (at most {RESOLVE_LIMIT} per tag)")
            break
        for pivot in pivots:
            try:
                request = declared_pivot(pivot, dict(row))
            except PivotUnavailable:
                continue
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


def local_scan_source(backend: str, root: str | Path | None) -> str:
    """What the case file records as the local scan's source: backend and host, or image path."""
    host = local_scan_host(root)
    if root is None:
        return f"osquery ({backend}) on host {host or 'this host'}"
    return f"osquery ({backend}) on image {Path(root).absolute()}" + (f" (host {host})" if host else "")
