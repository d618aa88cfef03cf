"""A stand-in for Elasticsearch: a real HTTP(S) server on 127.0.0.1 speaking the parts of
the REST API huntbench's client uses, so tests exercise the real ``elasticsearch`` client
over real sockets.

Followed (shapes copied from Elasticsearch's REST docs and elasticsearch-py 9's checks):
- every answer carries ``X-Elastic-Product: Elasticsearch`` (the client refuses 2xx answers
  without it) and, when the client asked for ``application/vnd.elasticsearch+json``,
  answers in that media type;
- ``GET /`` (info), ``GET /_security/_authenticate``, ``GET /_resolve/index/{expr}``,
  ``GET /{index}/_mapping``, ``POST /_query``, ``POST /_query/async``,
  ``GET``/``DELETE /_query/async/{id}``;
- errors as ``{"error": {"root_cause": [..], "type", "reason"}, "status"}``;
- ES|QL warnings as ``Warning: 299 Elasticsearch-<version> "<text>"`` headers (text
  backslash-escaped and percent-encoded like ``HeaderWarning``);
- faults injected per path: any status with any body, a slow answer, a dropped connection;
  TLS with a trustme CA.

ES|QL is answered by ``answer(query, params)`` -> QueryResult: by default the project's
embedded engine over the bundled sample data with ``now()`` at its capture time.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, quote, unquote, urlsplit

from collectors.result import QueryError, QueryResult

ESQL_VERIFICATION_HINTS = ("Unknown index", "Unknown column", "Unknown function", "cannot", "Cannot", "must be", "argument")


def es_error(status: int, etype: str, reason: str, **extra: Any) -> dict[str, Any]:
    """An error body exactly in Elasticsearch's shape."""
    cause = {"type": etype, "reason": reason, **extra}
    return {"error": {"root_cause": [cause], "type": etype, "reason": reason, **extra}, "status": status}


def forbidden_body(action: str, user: str, *, indices: str | None = None, privileges: str = "read,all") -> dict:
    """A 403 as ``AuthorizationService.actionDenied`` words it."""
    if indices is None:
        reason = (f"action [{action}] is unauthorized for user [{user}] with effective roles [viewer], "
                  f"this action is granted by the cluster privileges [{privileges}]")
    else:
        reason = (f"action [{action}] is unauthorized for user [{user}] with effective roles [viewer] "
                  f"on indices [{indices}], this action is granted by the index privileges [{privileges}]")
    return es_error(403, "security_exception", reason)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    """Answer requests matching ``method``/``path`` prefix with a status, a delay or a drop."""

    path: str
    status: int | None = None
    body: Any = None
    delay: float = 0.0
    drop: bool = False
    times: int | None = 1
    method: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    """Send these bytes as the body instead of JSON (an HTML page from a proxy, ...)."""
    trickle: float = 0.0
    """Send the whole answer one byte every ``trickle`` seconds (defeats read timeouts)."""
    sent: int = 0
    """Bytes of the trickled answer written before it ended (complete or cut off)."""
    total: int = 0
    """Bytes the trickled answer has in all."""

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path) and (self.method is None or self.method == method)


@dataclass
class AsyncQuery:
    id: str
    ready_at: float
    result: QueryResult | None
    error: tuple[int, dict] | None
    done: threading.Event = field(default_factory=threading.Event)
    deleted: bool = False


def engine_answer(now=None) -> Callable[[str, Any], QueryResult]:
    """The embedded engine over the bundled sample, loaded once, ``now()`` at capture time."""
    import sample_data
    from collectors.esql.engine import run_esql
    from collectors.offline.catalog import Catalog
    from collectors.sources import DataSpec

    lock = threading.Lock()
    state: dict[str, Any] = {}

    def catalog():
        with lock:
            if "catalog" not in state:
                state["catalog"] = Catalog.load([DataSpec(p) for p in sample_data.data_files()], {})
            return state["catalog"]

    def answer(query: str, params: Any) -> QueryResult:
        return run_esql(query, catalog(), params=params, now=now or sample_data.capture_time())

    answer.catalog = catalog  # type: ignore[attr-defined]
    return answer


class StandIn:
    """The server. Use as a context manager; ``url``, ``requests``, ``faults``, ``deleted``."""

    def __init__(self, *, answer: Callable[[str, Any], QueryResult] | None = None, version: str = "9.1.0",
                 tls_ca=None, api_key: str | None = None, basic: tuple[str, str] | None = None,
                 username: str = "hunter", no_async: bool = False, indices: list[str] | None = None,
                 mappings: dict[str, dict] | None = None, tls_names: tuple[str, ...] = ("127.0.0.1", "localhost")):
        self.answer = answer or engine_answer()
        self.indices = indices
        self.mappings = mappings or {}
        """Index name -> mapping ({"properties": ..}) for canned mode."""
        """Index names for canned mode (the engine mode takes them from the catalog)."""
        self.version = version
        self.api_key = api_key
        self.basic = basic
        self.username = username
        self.no_async = no_async
        self.async_delay = 0.0
        """Seconds every ES|QL query "takes" on the async endpoint."""
        self.extra_warnings: list[str] = []
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.queries: dict[str, AsyncQuery] = {}
        self.deleted: list[str] = []
        self.security_enabled = True
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # TLS handshake failures are expected
        self.scheme = "http"
        if tls_ca is not None:
            cert = tls_ca.issue_cert(*tls_names)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            cert.configure_cert(ctx)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True, do_handshake_on_connect=False)
            self.scheme = "https"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # -- life ---------------------------------------------------------------------------

    def __enter__(self) -> "StandIn":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        for q in list(self.queries.values()):
            q.done.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    # -- test helpers -------------------------------------------------------------------

    def inject(self, path: str, **kwargs: Any) -> Fault:
        fault = Fault(path, **kwargs)
        with self._lock:
            self.faults.append(fault)
        return fault

    def requests_to(self, path: str, method: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith(path) and (method is None or r.method == method)]

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops; True if stopped."""
        return self._stop.wait(seconds)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    # -- ES|QL --------------------------------------------------------------------------

    def run(self, body: dict) -> tuple[int, Any, list[str]]:
        """(status, body, warnings) for an ES|QL request body."""
        query = body.get("query")
        if not isinstance(query, str):
            return 400, es_error(400, "x_content_parse_exception", "[esql/query] failed to parse field [query]"), []
        params = _engine_params(body.get("params"))
        started = time.monotonic()
        try:
            result = self.answer(query, params)
        except QueryError as exc:
            text = f"line {exc.line}:{exc.column}: {exc.reason}" if exc.line is not None else exc.reason
            if any(h in exc.reason for h in ESQL_VERIFICATION_HINTS) and "mismatched input" not in exc.reason:
                return 400, es_error(400, "verification_exception", "Found 1 problem\n" + text), []
            return 400, es_error(400, "parsing_exception", text), []
        except Exception as exc:  # a bug or a data problem: Elasticsearch's 500 shape, not a dropped socket
            return 500, es_error(500, "exception", f"{type(exc).__name__}: {exc}"), []
        took = int((time.monotonic() - started) * 1000)
        out = {"took": took, "is_partial": bool(result.is_partial),
               "documents_found": len(result.values), "values_loaded": 0}
        out.update({"columns": [{"name": c.name, "type": c.type} for c in result.columns],
                    "values": result.values})
        return 200, out, list(result.warnings) + self.extra_warnings

    # -- catalog-backed endpoints (engine mode) -----------------------------------------

    def resolve(self, expression: str) -> dict:
        catalog = getattr(self.answer, "catalog", None)
        names: list[str] = []
        for pattern in expression.split(","):
            if catalog:
                found = catalog().resolve(pattern)
            else:
                found = [n for n in self.indices or [] if fnmatch.fnmatchcase(n, pattern)]
            names += [n for n in found if n not in names]
        streams = [n for n in names if n.count("-") >= 2]
        return {
            "indices": [{"name": n, "attributes": ["open"]} for n in names if n not in streams],
            "aliases": [],
            "data_streams": [{"name": n, "backing_indices": [f".ds-{n}-2026.11.01-000001"], "timestamp_field": "@timestamp"}
                             for n in streams],
        }

    def mapping(self, expression: str) -> dict:
        catalog = getattr(self.answer, "catalog", None)
        out: dict[str, Any] = {}
        if not catalog:
            for name in self.indices or []:
                if name in self.mappings and any(fnmatch.fnmatchcase(name, p) for p in expression.split(",")):
                    out[f".ds-{name}-2026.11.01-000001"] = {"mappings": self.mappings[name]}
            return out
        for name in self.resolve(expression)["indices"] + self.resolve(expression)["data_streams"]:
            index = name["name"]
            props: dict[str, Any] = {}
            for fname, info in catalog().fields(index).items():
                node = props
                parts = fname.split(".")
                for part in parts[:-1]:
                    node = node.setdefault(part, {"properties": {}}).setdefault("properties", {})
                node.setdefault(parts[-1], {})["type"] = info.type
            backing = f".ds-{index}-2026.11.01-000001" if index.count("-") >= 2 else index
            out[backing] = {"mappings": {"properties": props}}
        return out


def _engine_params(params: Any) -> Any:
    """ES's ``params`` (``[{"name": v}]`` or ``[v, ...]``) as the engine takes them."""
    if params is None:
        return None
    if params and all(isinstance(p, dict) and len(p) == 1 for p in params):
        merged: dict[str, Any] = {}
        for p in params:
            for k, v in p.items():
                merged[k] = v["value"] if isinstance(v, dict) and "value" in v else v
        return merged
    return list(params)


def encode_warning(text: str, version: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    encoded = quote(escaped, safe="".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%") + "\t")
    return f'299 Elasticsearch-{version}-standin "{encoded}"'


def _handler_for(standin: StandIn):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body: Any, warnings: list[str] = (), extra: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            accept = self.headers.get("Accept", "")
            ctype = "application/vnd.elasticsearch+json;compatible-with=9" if "vnd.elasticsearch" in accept else "application/json"
            self.send_header("Content-Type", ctype)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            for text in warnings:
                self.send_header("Warning", encode_warning(text, standin.version))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send_raw(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("X-Elastic-Product", "Elasticsearch")
            for k, v in {"Content-Type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _trickle(self, fault: Fault) -> None:
            """A whole, valid answer, written one byte at a time until done or stopped."""
            data = json.dumps(fault.body if fault.body is not None else {"columns": [], "values": []}).encode()
            head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Elastic-Product: Elasticsearch\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n").encode()
            self.close_connection = True
            answer = head + data
            fault.total = len(answer)
            try:
                for i in range(len(answer)):
                    self.wfile.write(answer[i:i + 1])
                    self.wfile.flush()
                    fault.sent = i + 1
                    if standin.sleep(fault.trickle):
                        return
            except OSError:  # the client gave up and closed the connection
                return

        def _read_body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            if self.headers.get("Content-Encoding") == "gzip":
                import gzip

                raw = gzip.decompress(raw)
            try:
                return json.loads(raw)
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _authorized(self) -> bool:
            header = self.headers.get("Authorization", "")
            if standin.api_key is not None:
                return header == f"ApiKey {standin.api_key}"
            if standin.basic is not None:
                token = base64.b64encode(f"{standin.basic[0]}:{standin.basic[1]}".encode()).decode()
                return header == f"Basic {token}"
            return True

        def _handle(self, method: str) -> None:
            parts = urlsplit(self.path)
            path = unquote(parts.path)
            body = self._read_body()
            standin.requests.append(Recorded(method, path, parse_qs(parts.query), dict(self.headers.items()), body))
            fault = standin.take_fault(method, path)
            if fault:
                if fault.delay and standin.sleep(fault.delay):
                    return
                if fault.drop:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault.trickle:
                    self._trickle(fault)
                    return
                if fault.raw is not None:
                    self._send_raw(fault.status or 200, fault.raw, fault.headers)
                    return
                if fault.status is not None:
                    self._send(fault.status, fault.body if fault.body is not None else {}, extra=fault.headers)
                    return
            if not self._authorized():
                self._send(401, es_error(401, "security_exception",
                                         "unable to authenticate with provided credentials and anonymous access is not allowed for this request",
                                         header={"WWW-Authenticate": ['Basic realm="security"', "ApiKey"]}),
                           extra={"WWW-Authenticate": "ApiKey"})
                return
            self._route(method, path, parse_qs(parts.query), body)

        def _route(self, method: str, path: str, query: dict, body: Any) -> None:
            if method == "GET" and path == "/":
                self._send(200, {"name": "standin-node", "cluster_name": "huntbench-standin",
                                 "cluster_uuid": "c0ffee", "version": {"number": standin.version, "build_flavor": "default",
                                                                       "lucene_version": "10.2.1"},
                                 "tagline": "You Know, for Search"})
            elif method == "GET" and path == "/_security/_authenticate":
                if not standin.security_enabled:
                    self._send(500, es_error(500, "exception", "Security must be explicitly enabled when using a [basic] license."))
                    return
                via_key = self.headers.get("Authorization", "").startswith("ApiKey")
                info = {"username": standin.username, "roles": ["viewer"], "enabled": True,
                        "authentication_realm": {"name": "_es_api_key" if via_key else "native1",
                                                 "type": "_es_api_key" if via_key else "native"},
                        "authentication_type": "api_key" if via_key else "realm"}
                if via_key:
                    info["api_key"] = {"id": "k3y1d", "name": "huntbench-responder"}
                self._send(200, info)
            elif method in ("GET", "POST") and path.startswith("/_resolve/index/"):
                self._send(200, standin.resolve(path[len("/_resolve/index/"):]))
            elif method == "GET" and path.endswith("/_mapping"):
                self._send(200, standin.mapping(path.strip("/").rsplit("/", 1)[0]))
            elif method == "POST" and path == "/_query":
                status, out, warnings = standin.run(body or {})
                self._send(status, out, warnings)
            elif path == "/_query/async" and method == "POST" and not standin.no_async:
                self._submit(body or {})
            elif path.startswith("/_query/async/") and not standin.no_async and method in ("GET", "DELETE"):
                self._async(method, path[len("/_query/async/"):], query)
            else:
                self._send(400, es_error(400, "illegal_argument_exception",
                                         f"no handler found for uri [{path}] and method [{method}]"))

        def _submit(self, body: dict) -> None:
            status, out, warnings = standin.run(body)
            wait = _seconds(body.get("wait_for_completion_timeout", "1s"))
            if status != 200:
                self._send(status, out)
                return
            if standin.async_delay <= wait:
                if standin.async_delay and standin.sleep(standin.async_delay):
                    return
                self._send(200, {"is_running": False, **out}, warnings)
                return
            qid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            q = AsyncQuery(qid, time.monotonic() + standin.async_delay, None, None)
            q.result = (out, warnings)  # type: ignore[assignment]
            standin.queries[qid] = q
            q.done.wait(wait)
            self._send(200, {"id": qid, "is_running": True}, extra={"X-Elasticsearch-Async-Id": qid,
                                                                      "X-Elasticsearch-Async-Is-Running": "?1"})

        def _async(self, method: str, qid: str, query: dict) -> None:
            q = standin.queries.get(qid)
            if q is None or q.deleted:
                self._send(404, es_error(404, "resource_not_found_exception", qid))
                return
            if method == "DELETE":
                q.deleted = True
                q.done.set()
                standin.deleted.append(qid)
                self._send(200, {"acknowledged": True})
                return
            wait = _seconds(query.get("wait_for_completion_timeout", ["30s"])[0])
            left = q.ready_at - time.monotonic()
            if left > 0:
                q.done.wait(min(left, wait))
            out, warnings = q.result  # type: ignore[misc]
            if time.monotonic() >= q.ready_at and not q.deleted:
                self._send(200, {"id": qid, "is_running": False, **out}, warnings)
            else:
                self._send(200, {"id": qid, "is_running": True, "columns": [], "values": []})

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_DELETE(self):
            self._handle("DELETE")

        def do_HEAD(self):
            self._handle("HEAD")

    return Handler


def _seconds(text: Any) -> float:
    """``"2s"``, ``"1500ms"``, ``"1m"`` -> seconds (Elasticsearch time units)."""
    text = str(text).strip()
    for unit, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return float(text[: -len(unit)]) * factor
    return float(text)


def canned(columns: list[tuple[str, str]], values: list[list[Any]], warnings: list[str] = ()) -> Callable:
    """An ``answer`` that returns a fixed result (for tests that do not need the engine)."""
    from collectors.result import Column

    def answer(query: str, params: Any) -> QueryResult:
        return QueryResult([Column(n, t) for n, t in columns], [list(v) for v in values], list(warnings))

    return answer


def write_ca(ca, folder: Path) -> Path:
    path = folder / "standin-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


# -- pytest fixtures and helpers shared by tests/test_elastic_*.py ----------------------

import pytest  # noqa: E402

CLUSTER_ENV = ("ELASTICSEARCH_URL", "ELASTIC_API_KEY", "ELASTIC_CLOUD_ID", "ELASTIC_USERNAME",
               "ELASTIC_PASSWORD", "HUNTBENCH_PROFILE", "HUNTBENCH_ES_TIMEOUT", "HUNTBENCH_ES_QUERY_TIMEOUT")


def engine_available() -> bool:
    try:
        import collectors.esql.engine  # noqa: F401
        import collectors.offline.catalog  # noqa: F401
        import sample_data

        return bool(sample_data.data_files())
    except Exception:
        return False


needs_engine = pytest.mark.skipif(not engine_available(),
                                  reason="the embedded ES|QL engine or the sample data is not built yet")


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """Run ``huntbench ARGV`` in-process through its real entry point: (exit code, out, err)."""
    from cli.main import main

    capsys.readouterr()
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
