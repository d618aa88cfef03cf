"""The built-in backend: osquery's SQL on SQLite virtual tables, no osquery needed.

Each query gets a fresh in-memory SQLite connection (apsw) with the tables of
:mod:`collectors.osquery.tables` registered under their osquery names, so the hunt's SQL
runs verbatim: SQLite's own functions (``datetime(x, 'unixepoch')``,
``strftime('%s', 'now')``) are the ones osquery uses too. Like osquery (its
``sqliteAuthorizer``), statements may only read: no ATTACH, no writes, no PRAGMA beyond
introspection.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import apsw

from collectors.osquery.clock import vfs_for
from collectors.osquery.fsroot import FsRoot, display
from collectors.osquery.result import OsqueryResult, es_type, infer_type, make_result, split_statement
from collectors.osquery.tables import TABLES
from collectors.osquery.vtable import QueryContext, effective_user, register
from collectors.result import HuntbenchError, QueryError, SourceError

_ALLOWED_ACTIONS = {apsw.SQLITE_SELECT, apsw.SQLITE_READ, apsw.SQLITE_FUNCTION, apsw.SQLITE_RECURSIVE}
_ALLOWED_PRAGMAS = {"table_info", "table_xinfo", "table_list", "function_list", "module_list"}


def _authorizer(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    if action in _ALLOWED_ACTIONS:
        return apsw.SQLITE_OK
    if action == apsw.SQLITE_PRAGMA and (arg1 or "").lower() in _ALLOWED_PRAGMAS:
        return apsw.SQLITE_OK
    return apsw.SQLITE_DENY


def run_builtin(sql: str, *, root: str | None = None, timeout: float = 30.0,
                head_lines: int = 40, now: datetime | None = None) -> OsqueryResult:
    """Run one osquery SQL statement on the built-in tables (raises QueryError/SourceError).

    ``now`` stops SQLite's clock (``'now'``) and osquery's ``time`` table at that instant."""
    text = split_statement(sql)
    started = time.monotonic()
    deadline = started + timeout
    if root is not None:
        import os

        if not os.path.isdir(root):
            raise SourceError(f"--root {root}: not a directory")
    fs = FsRoot(root, deadline=deadline)
    ctx = QueryContext(fs=fs, head_lines=head_lines, now=now.timestamp() if now else None)
    connection = apsw.Connection(":memory:", vfs=vfs_for(now)) if now else apsw.Connection(":memory:")
    try:
        register(connection, [table(ctx) for table in TABLES])
        connection.authorizer = _authorizer
        connection.set_progress_handler(lambda: time.monotonic() > deadline, 20_000)
        names, decltypes, rows = _execute(connection, text)
    finally:
        connection.close()
    types = []
    for i, decl in enumerate(decltypes):
        types.append(es_type(decl) or infer_type([r[i] for r in rows]))
    notices = list(ctx.notices)
    if fs.loops:
        count = len(fs.loops)
        notices.append(f"skipped {count} symbolic link loop{'s' if count != 1 else ''}"
                       f" (not followed): {', '.join(display(p) for p in fs.loops[:3])}")
    euid, user = effective_user()
    skipped = f"{fs.unreadable} unreadable path{'s' if fs.unreadable != 1 else ''} skipped"
    if euid != 0:
        notices.insert(0, f"running as uid {euid} ({user}), not root: results may be partial; {skipped}")
    elif fs.unreadable:
        notices.insert(0, skipped)
    took = int((time.monotonic() - started) * 1000)
    return make_result(names, types, rows, backend="builtin", notices=notices, took=took)


def _execute(connection: apsw.Connection, text: str) -> tuple[list[str], list[str | None], list[list[Any]]]:
    cursor = connection.cursor()
    described: list[tuple[tuple[str, str | None], ...]] = []

    def trace(cur: apsw.Cursor, sql: str, bindings: Any) -> bool:
        described.append(cur.get_description())
        return True

    cursor.exec_trace = trace
    try:
        cursor.execute(text)
        rows = [list(r) for r in cursor]
    except HuntbenchError:
        raise
    except apsw.InterruptError:
        raise SourceError("osquery SQL did not finish within its timeout (built-in tables)") from None
    except apsw.AuthError:
        raise QueryError("not authorized: osquery SQL may only read (SELECT)") from None
    except apsw.SQLError as exc:
        raise QueryError(_sqlite_message(exc)) from None
    except apsw.Error as exc:
        raise QueryError(_sqlite_message(exc)) from None
    if not described:
        raise QueryError("osquery SQL produced no statement to run")
    description = described[0]
    return [d[0] for d in description], [d[1] for d in description], rows


def _sqlite_message(exc: Exception) -> str:
    """SQLite's own message (``no such table: nope``), without apsw's class prefix."""
    text = str(exc)
    prefix, sep, rest = text.partition(": ")
    if sep and prefix.endswith("Error"):
        return rest
    return text
