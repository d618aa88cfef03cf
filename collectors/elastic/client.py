"""The official ``elasticsearch.Elasticsearch`` client, built from settings, and calls through it.

The client's own retries are switched off (``max_retries=0``, no ``retry_on_status``) so
that :meth:`Cluster.call` can retry 429 and 503 itself with exponential backoff *and say
so* (Elastic's guidance for both: back off and retry). Its ``Warning`` header handling
(``ElasticsearchWarning`` via :mod:`warnings`) is silenced because :mod:`.source` returns
those warnings with the result instead of printing them.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, ElasticsearchWarning

from collectors.result import Cancelled, SourceError

from .deadline import DeadlineNode
from .errors import RETRYABLE_STATUS, translate
from .settings import ClusterSettings

warnings.filterwarnings("ignore", category=ElasticsearchWarning)

Notify = Callable[[str], None]


def stderr_warning(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def build_client(settings: ClusterSettings, warn: Notify | None = stderr_warning) -> Elasticsearch:
    """An ``Elasticsearch`` for the settings; ``--insecure`` on https prints a warning."""
    # returned with the result instead (re-applied here: test runners reset filters)
    warnings.filterwarnings("ignore", category=ElasticsearchWarning)
    kwargs: dict[str, Any] = {
        "request_timeout": settings.request_timeout,
        "max_retries": 0,
        "retry_on_status": (),
        "retry_on_timeout": False,
        "node_class": DeadlineNode,  # request_timeout is a total deadline, not a gap between bytes
    }
    if settings.url:
        kwargs["hosts"] = [settings.url]
    else:
        kwargs["cloud_id"] = settings.cloud_id
    if settings.api_key:
        kwargs["api_key"] = settings.api_key
    elif settings.username:
        kwargs["basic_auth"] = (settings.username, settings.password or "")
    https = bool(settings.cloud_id) or (settings.url or "").lower().startswith("https://")
    if https:
        if settings.insecure:
            kwargs["verify_certs"] = False
            kwargs["ssl_show_warn"] = False
            if warn:
                warn(
                    f"TLS certificate verification is OFF for {settings.target} "
                    f"({settings.origins.get('insecure', '--insecure')}): anyone on the network path "
                    f"could read your credentials and alter results"
                )
        elif settings.ca_certs:
            kwargs["ca_certs"] = settings.ca_certs
    elif settings.secrets and warn and not _loopback(settings.url or ""):
        warn(f"{settings.target} is plain http: your credentials travel unencrypted")
    try:
        return Elasticsearch(**kwargs)
    except ValueError as exc:
        # e.g. a malformed cloud_id; the message names the setting, never a secret
        which = "cloud_id" if settings.cloud_id and not settings.url else "URL"
        raise SourceError(f"cannot use the cluster {which} {settings.target}: {exc}") from None


def _loopback(url: str) -> bool:
    """A tunnel to localhost is how plain http is used safely; no warning then."""
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


@dataclass
class RetryPolicy:
    """429/503 are retried ``attempts - 1`` times, waiting base, 2*base, ... capped."""

    attempts: int = 4
    base: float = 1.0
    cap: float = 8.0

    def delay(self, attempt: int) -> float:
        return min(self.cap, self.base * (2 ** (attempt - 1)))


class Cluster:
    """A client plus the settings it came from; every call goes through :meth:`call`."""

    def __init__(self, settings: ClusterSettings, client: Elasticsearch | None = None,
                 *, retry: RetryPolicy | None = None, warn: Notify | None = stderr_warning):
        self.settings = settings
        self.client = client if client is not None else build_client(settings, warn)
        self.retry = retry or RetryPolicy()

    def call(self, what: str, fn: Callable[..., Any], *args: Any, query_text: str | None = None,
             notify: Notify | None = None, cancelled: Callable[[], bool] | None = None,
             retried: list[str] | None = None, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)``; 429/503 retried with backoff (told to ``notify``
        and appended to ``retried``); any failure raised as one-line HuntbenchError."""
        attempt = 1
        while True:
            try:
                return fn(*args, **kwargs)
            except ApiError as exc:
                status = exc.meta.status
                if status not in RETRYABLE_STATUS:
                    raise translate(exc, self.settings, query=query_text, what=what) from None
                if attempt >= self.retry.attempts:
                    raise SourceError(
                        f"{self.settings.target} still answered {RETRYABLE_STATUS[status]} to the {what} "
                        f"after {attempt} attempts with backoff; the cluster is overloaded, try again later"
                    ) from None
                delay = self.retry.delay(attempt)
                text = (f"{self.settings.target} answered {RETRYABLE_STATUS[status]} to the {what}; "
                        f"retrying in {delay:g} s (attempt {attempt + 1} of {self.retry.attempts})")
                if retried is not None:
                    retried.append(text)
                if notify:
                    notify(text)
                if _sleep(delay, cancelled):
                    raise Cancelled("cancelled while waiting to retry") from None
                attempt += 1
            except TransportError as exc:  # connection, TLS, timeout: one line too
                raise translate(exc, self.settings, query=query_text, what=what) from None

    def close(self) -> None:
        self.client.close()


def _sleep(seconds: float, cancelled: Callable[[], bool] | None) -> bool:
    """Sleep, waking every 0.1 s to see whether the user cancelled; True if so."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if cancelled and cancelled():
            return True
        time.sleep(min(0.1, left))
    return bool(cancelled and cancelled())
