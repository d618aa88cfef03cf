"""``--timeout`` as a total deadline for each request, not a pause between two bytes.

urllib3's read timeout bounds each wait on the socket. A server (or a proxy, or an
attacker in the path) that sends one byte a second never trips it, and a query would
then hang forever. So every request runs under a timer: when the request's timeout has
passed and the answer is still incomplete, the timer shuts down the socket the request
is reading from, which ends the read at once, and the request fails with
:class:`DeadlineExceeded`.

Finding that socket: the node's connection pool makes its connections from a subclass
that notes, when a request is sent, which thread uses it. elastic-transport lets a
client pick its node class (``node_class=``), so no library code is patched.
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from elastic_transport import ConnectionTimeout, NodeConfig, Urllib3HttpNode
from elastic_transport.client_utils import DEFAULT, DefaultType

_in_use: dict[int, Any] = {}
"""Thread id -> the urllib3 connection that thread's request is using."""
_lock = threading.Lock()


class DeadlineExceeded(ConnectionTimeout):
    """The answer was not complete when the request's total time ran out."""

    def __init__(self, seconds: float, errors: tuple[Exception, ...] = ()):
        super().__init__(f"the answer was not complete after {seconds:g} s", errors=errors)
        self.seconds = seconds


class _Tracked:
    """Mixed into the pool's connection class: remembers which thread sends on it."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            _in_use[threading.get_ident()] = self
        return super().request(*args, **kwargs)  # type: ignore[misc]


def _abort(ident: int) -> None:
    """Shut down the socket the thread ``ident`` reads from (its read ends at once)."""
    with _lock:
        conn = _in_use.get(ident)
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    try:
        # socket.socket's own shutdown, also for TLS: SSLSocket.shutdown would tear down
        # the TLS state under the reading thread's feet.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class DeadlineNode(Urllib3HttpNode):
    """elastic-transport's urllib3 node, with each request's timeout a total deadline."""

    def __init__(self, config: NodeConfig):
        super().__init__(config)
        base = self.pool.ConnectionCls
        self.pool.ConnectionCls = type(f"Deadline{base.__name__}", (_Tracked, base), {})

    def perform_request(self, method: str, target: str, body: bytes | None = None, headers: Any = None,
                        request_timeout: DefaultType | float | None = DEFAULT) -> Any:
        seconds = self.config.request_timeout if request_timeout is DEFAULT else request_timeout
        if not seconds:
            return super().perform_request(method, target, body=body, headers=headers,
                                           request_timeout=request_timeout)
        ident = threading.get_ident()
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            _abort(ident)

        timer = threading.Timer(float(seconds), expire)
        timer.daemon = True
        timer.start()
        try:
            return super().perform_request(method, target, body=body, headers=headers,
                                           request_timeout=request_timeout)
        except Exception as exc:
            if expired.is_set():
                raise DeadlineExceeded(float(seconds), errors=(exc,)) from None
            raise
        finally:
            timer.cancel()
            with _lock:
                _in_use.pop(ident, None)
