"""Run a hunt's osquery SQL: through osqueryi, a running osqueryd, or built-in tables.

Public API (the workbench and the CLI reach it through :mod:`collectors.osquery.source`):

* :func:`run_osquery` runs one statement with the chosen backend (``auto`` tries
  osqueryi, then the extensions socket, then the built-in tables);
* :func:`maintainer_scripts` lists every dpkg/rpm maintainer script with its first lines.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from collectors.osquery.builtin import run_builtin
from collectors.osquery.extension_socket import DEFAULT_SOCKETS, SocketMissing, run_socket
from collectors.osquery.osqueryi import OsqueryiMissing, run_osqueryi
from collectors.osquery.result import OsqueryResult
from collectors.result import Column, HuntbenchError, QueryResult

BACKENDS = ("auto", "osqueryi", "socket", "builtin")


def run_osquery(sql: str, *, backend: str = "auto", root: str | Path | None = None,
                socket: str | Path | None = None, timeout: float = 30.0,
                now: _dt.datetime | None = None) -> OsqueryResult:
    """Run one osquery SQL statement and return its rows (columns in SELECT order).

    ``root`` evaluates against a mounted image; only the built-in tables can, so ``auto``
    then goes straight to them. Raises QueryError (bad SQL, osquery's refusals) or
    SourceError (backend unavailable or failing), each one line. ``now`` (``--now``) is
    the instant SQLite's ``'now'`` and the ``time`` table read; only the built-in tables
    can take it, so ``auto`` then goes straight to them as for ``root``.
    """
    if backend not in BACKENDS:
        raise HuntbenchError(f"--backend {backend}: expected one of {', '.join(BACKENDS)}")
    root_text = os.fspath(root) if root is not None else None
    if root_text is not None and backend in ("osqueryi", "socket"):
        raise HuntbenchError(f"--root works only with the builtin backend, not {backend}")
    if now is not None and backend in ("osqueryi", "socket"):
        raise HuntbenchError(f"--now works only with the builtin backend, not {backend} (osquery reads the real clock)")
    if backend == "osqueryi":
        return run_osqueryi(sql, timeout=timeout)
    if backend == "socket":
        return run_socket(sql, socket=socket, timeout=timeout)
    if backend == "builtin" or root_text is not None or now is not None:
        return run_builtin(sql, root=root_text, timeout=timeout, now=now)
    notes = []
    try:
        return run_osqueryi(sql, timeout=timeout)
    except OsqueryiMissing:
        pass
    try:
        return run_socket(sql, socket=socket, timeout=timeout)
    except SocketMissing as exc:
        if socket:
            raise
        notes.append(f"no osqueryi on PATH and {exc}: using the built-in tables")
    result = run_builtin(sql, timeout=timeout)
    result.notices[:0] = notes
    return result


def maintainer_scripts(*, root: str | Path | None = None, head_lines: int = 40) -> QueryResult:
    """Every dpkg/rpm maintainer script: package, kind, path, size, mtime, sha256, head.

    ``mtime`` is ISO-8601 UTC (type date); ``manager`` (dpkg/rpm) follows ``head``.
    Notices (not root, unreadable paths) are in ``warnings``.
    """
    result = run_builtin(
        "SELECT package, kind, path, size, mtime, sha256, head, manager "
        "FROM huntbench_maintainer_scripts ORDER BY package, kind, path",
        root=os.fspath(root) if root is not None else None, head_lines=head_lines,
    )
    rows = []
    for row in result.values:
        row = list(row)
        if row[4] is not None:
            row[4] = _dt.datetime.fromtimestamp(row[4], _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        rows.append(row)
    columns = [Column(c.name, "date" if c.name == "mtime" else c.type) for c in result.columns]
    return QueryResult(columns=columns, values=rows, warnings=list(result.notices), took=result.took)


__all__ = ["BACKENDS", "DEFAULT_SOCKETS", "OsqueryResult", "maintainer_scripts", "run_osquery"]
