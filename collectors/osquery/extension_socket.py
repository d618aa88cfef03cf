"""The socket backend: ask a running osqueryd through its extensions socket (thrift).

Uses the ``osquery`` package's ExtensionClient (the same client osquery's Python
extensions use) with a read timeout on its socket. Like osqueryi's ``.connect`` mode
(shell.cpp, ``shell_exec_remote``) it calls ``query`` for the rows, which arrive as
``{column: text}`` maps, then ``getQueryColumns`` for the SELECT's column order and
osquery's types. osqueryd sends NULL as an empty string, so NULL and '' cannot be told
apart here (typed columns turn '' into null).
"""

from __future__ import annotations

import os
import time

from collectors.osquery.result import OsqueryResult, es_type, infer_text_type, make_result, split_statement, typed_value
from collectors.result import QueryError, SourceError

DEFAULT_SOCKETS = ("/var/osquery/osquery.em", "/opt/orbit/orbit-osquery.em")


class SocketMissing(SourceError):
    """No extensions socket to talk to (auto moves on to the next backend)."""


def _client(path: str, timeout: float):
    """An opened ExtensionClient whose socket gives up after ``timeout`` seconds."""
    from osquery.extension_client import ExtensionClient
    from thrift.protocol import TBinaryProtocol
    from thrift.transport import TSocket, TTransport

    client = ExtensionClient(path=path)
    sock = TSocket.TSocket(unix_socket=path)
    sock.setTimeout(int(timeout * 1000))
    client._transport = TTransport.TBufferedTransport(sock)
    client._protocol = TBinaryProtocol.TBinaryProtocol(client._transport)
    if not client.open(timeout=min(timeout, 1.0), interval=0.1):
        raise SocketMissing(f"osquery extensions socket {path}: nothing is listening")
    return client


def pick_socket(explicit: str | os.PathLike | None) -> str:
    if explicit:
        path = os.fspath(explicit)
        if not os.path.exists(path):
            raise SocketMissing(f"--osquery-socket {path}: no such socket")
        return path
    for path in DEFAULT_SOCKETS:
        if os.path.exists(path):
            return path
    raise SocketMissing("no osquery extensions socket (" + ", ".join(DEFAULT_SOCKETS) + ")")


def run_socket(sql: str, *, socket: str | os.PathLike | None = None, timeout: float = 30.0) -> OsqueryResult:
    """Run one statement on osqueryd; raises SocketMissing, QueryError, SourceError."""
    text = split_statement(sql)
    path = pick_socket(socket)
    started = time.monotonic()
    from thrift.Thrift import TException

    client = _client(path, timeout)
    try:
        manager = client.extension_manager_client()
        answer = manager.query(text)
        _check(answer, path)
        columns = manager.getQueryColumns(text)
        _check(columns, path)
    except TException as exc:
        message = str(exc) or type(exc).__name__
        if "timed out" in message.lower() or "timeout" in message.lower():
            raise SourceError(f"osqueryd at {path} did not answer within {timeout:g} s") from None
        raise SourceError(f"osqueryd at {path}: {message}") from None
    except OSError as exc:
        raise SourceError(f"osqueryd at {path}: {exc.strerror or exc}") from None
    finally:
        client.close()
    names, decls = [], []
    for item in columns.response or []:
        for name, kind in item.items():
            names.append(name)
            decls.append(kind)
    raw = [[row.get(name) for name in names] for row in (answer.response or [])]
    if not names and answer.response:
        names = list(answer.response[0].keys())
        decls = [None] * len(names)
        raw = [[row.get(n) for n in names] for row in answer.response]
    types = [es_type(d) or infer_text_type([r[i] for r in raw]) for i, d in enumerate(decls)]
    rows = [[typed_value(r[i], types[i]) for i in range(len(names))] for r in raw]
    result = make_result(names, types, rows, backend="socket")
    result.took = int((time.monotonic() - started) * 1000)
    return result


def _check(answer, path: str) -> None:
    status = getattr(answer, "status", None)
    if status is None:
        raise SourceError(f"osqueryd at {path} sent no status")
    if status.code:
        raise QueryError(status.message or f"osqueryd error code {status.code}")
