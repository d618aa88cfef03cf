"""The socket backend against a real thrift server on a Unix socket.

The server is built from the ``osquery`` package's own generated classes
(``osquery.extensions.ExtensionManager.Processor`` and ``Iface``) and speaks the binary
thrift protocol osqueryd speaks; it answers ``query``/``getQueryColumns`` the way
osqueryd does (rows as text maps, NULL as '', columns as one-entry maps in SELECT order),
computing them with the built-in backend.
"""

from __future__ import annotations

import socket as socket_mod
import threading
import time

import pytest
from osquery.extensions import ExtensionManager
from osquery.extensions.ttypes import ExtensionResponse, ExtensionStatus
from thrift.protocol import TBinaryProtocol
from thrift.transport import TSocket, TTransport

from collectors.osquery import run_osquery
from collectors.osquery.builtin import run_builtin
from collectors.result import QueryError, SourceError
from tests.osquery_image import build_image, seed_sql

_TYPES = {"keyword": "TEXT", "long": "BIGINT", "double": "DOUBLE"}


class FakeOsqueryd(ExtensionManager.Iface):
    """Answers like osqueryd's extension manager, from the built-in tables under ``root``."""

    def __init__(self, root, delay: float = 0.0):
        self.root = root
        self.delay = delay
        self.calls: list[str] = []

    def ping(self):
        return ExtensionStatus(code=0, message="OK")

    def _run(self, sql):
        time.sleep(self.delay)
        try:
            return run_builtin(sql, root=str(self.root)), None
        except QueryError as exc:
            return None, ExtensionResponse(status=ExtensionStatus(code=1, message=str(exc)), response=[])

    def query(self, sql):
        self.calls.append("query")
        result, error = self._run(sql)
        if error:
            return error
        rows = [{c: "" if v is None else str(v) for c, v in zip(result.column_names, row)}
                for row in result.values]
        return ExtensionResponse(status=ExtensionStatus(code=0, message="OK"), response=rows)

    def getQueryColumns(self, sql):
        self.calls.append("getQueryColumns")
        result, error = self._run(sql)
        if error:
            return error
        cols = [{c.name: _TYPES[c.type]} for c in result.columns]
        return ExtensionResponse(status=ExtensionStatus(code=0, message="OK"), response=cols)


class Server:
    """A thrift server loop on a Unix socket; stops when the test ends."""

    def __init__(self, path: str, handler: FakeOsqueryd):
        self.processor = ExtensionManager.Processor(handler)
        self.listener = TSocket.TServerSocket(unix_socket=path)
        self.listener.listen()
        self.listener.handle.settimeout(0.2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                client = self.listener.accept()
            except (socket_mod.timeout, TTransport.TTransportException, OSError):
                continue
            if client is None:
                continue
            transport = TTransport.TBufferedTransport(client)
            protocol = TBinaryProtocol.TBinaryProtocol(transport)
            try:
                while not self.stopping.is_set():
                    self.processor.process(protocol, protocol)
            except (TTransport.TTransportException, OSError, EOFError):
                pass
            finally:
                transport.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def osqueryd(tmp_path):
    root = tmp_path / "image"
    root.mkdir()
    build_image(root)
    handler = FakeOsqueryd(root)
    path = str(tmp_path / "osquery.em")
    server = Server(path, handler)
    yield path, handler, root
    server.stop()


def test_seed_query_over_the_socket_matches_builtin(osqueryd):
    path, handler, root = osqueryd
    result = run_osquery(seed_sql(), backend="socket", socket=path)
    local = run_builtin(seed_sql(), root=str(root))
    assert result.backend == "socket"
    assert handler.calls == ["query", "getQueryColumns"]
    assert result.column_names == local.column_names        # SELECT order, not sorted keys
    assert [c.type for c in result.columns] == [c.type for c in local.columns]
    assert sorted(result.values, key=str) == sorted(local.values, key=str)


def test_auto_uses_the_given_socket_when_no_osqueryi(osqueryd, monkeypatch, tmp_path):
    path, _, _ = osqueryd
    monkeypatch.setenv("PATH", str(tmp_path))
    result = run_osquery("SELECT uid, username FROM users WHERE uid = 1000", socket=path)
    assert result.backend == "socket"
    assert result.values == [[1000, "alice"]]


def test_osqueryd_error_status_becomes_query_error(osqueryd):
    path, _, _ = osqueryd
    with pytest.raises(QueryError, match="Table file was queried without a required column"):
        run_osquery("SELECT * FROM file", backend="socket", socket=path)


def test_read_timeout(tmp_path):
    handler = FakeOsqueryd(tmp_path, delay=3.0)
    path = str(tmp_path / "slow.em")
    server = Server(path, handler)
    try:
        started = time.monotonic()
        with pytest.raises(SourceError, match="did not answer within 0.5 s"):
            run_osquery("SELECT 1", backend="socket", socket=path, timeout=0.5)
        assert time.monotonic() - started < 2.5
    finally:
        server.stop()


def test_missing_socket_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="no such socket"):
        run_osquery("SELECT 1", backend="socket", socket=tmp_path / "none.em")
