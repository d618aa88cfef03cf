"""Every way a cluster call fails, as ONE line a tired responder can act on.

The shapes followed: elasticsearch-py 9 raises ``ApiError`` subclasses carrying the
Elasticsearch error body (``{"error": {"root_cause": [..], "type", "reason"}, "status"}``),
and elastic-transport raises ``ConnectionError`` / ``TlsError`` / ``ConnectionTimeout``
wrapping the urllib3 cause. ES|QL reports query problems as 400 ``parsing_exception`` or
``verification_exception`` whose reason is ``line L:C: message`` (verification prefixes
``Found N problem(s)`` and lists one per line), and authorization failures as 403
``security_exception`` "action [..] is unauthorized for user [..] ... on indices [..], this
action is granted by the index privileges [..]" (Elasticsearch's
``AuthorizationService.actionDenied``). Messages never carry a credential: the URL shown
is the one without userinfo and request headers are never echoed.
"""

from __future__ import annotations

import re
from typing import Any

import elastic_transport
from elasticsearch import ApiError, UnsupportedProductError

from collectors.result import HuntbenchError, QueryError, SourceError

from .deadline import DeadlineExceeded
from .settings import ENV_REQUEST_TIMEOUT, ClusterSettings

RETRYABLE_STATUS = {429: "429 Too Many Requests", 503: "503 Service Unavailable"}

_LINE_COL = re.compile(r"^line (\d+):(\d+): (.*)$", re.DOTALL)
_UNAUTHORIZED = re.compile(
    r"action \[(?P<action>[^\]]+)\] is unauthorized for (?:user|API key id) \[(?P<user>[^\]]*)\]"
    r"(?:.*? on indices \[(?P<indices>[^\]]*)\])?"
    r"(?:.*?granted by the (?P<kind>cluster|index) privileges \[(?P<privs>[^\]]*)\])?",
    re.DOTALL,
)


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace (and drop control characters) so a message stays one line."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def error_body(exc: ApiError) -> dict[str, Any]:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else {}


def error_type_reason(exc: ApiError) -> tuple[str, str]:
    """``(type, reason)`` of the first root cause, the part Elasticsearch means to show."""
    error = error_body(exc)
    causes = error.get("root_cause") or []
    first = causes[0] if causes and isinstance(causes[0], dict) else error
    etype = str(first.get("type") or error.get("type") or "")
    reason = str(first.get("reason") or error.get("reason") or "")
    if not reason and isinstance(exc.body, (str, bytes)):
        reason = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else exc.body
    return etype, reason


def _cause_text(exc: BaseException) -> str:
    """The exception's message and its causes (urllib3's reason is in there, not in str())."""
    parts = [str(getattr(exc, "message", "") or ""), str(exc)]
    chain = list(getattr(exc, "errors", ()) or ()) + [exc.__cause__, exc.__context__]
    seen = 0
    while chain and seen < 12:
        cur = chain.pop(0)
        if cur is None:
            continue
        seen += 1
        parts.append(repr(cur))
        chain += [cur.__cause__, cur.__context__]
    return " ".join(parts)


def translate(exc: BaseException, settings: ClusterSettings, *, query: str | None = None,
              what: str = "request") -> HuntbenchError:
    """The one-line error for ``exc`` (an exception from the client)."""
    target = settings.target
    if isinstance(exc, HuntbenchError):
        return exc
    if isinstance(exc, UnsupportedProductError):
        return SourceError(f"{target} answered, but it is not Elasticsearch (no X-Elastic-Product header); check the URL")
    if isinstance(exc, ApiError):
        return _api_error(exc, settings, query)
    if isinstance(exc, DeadlineExceeded):  # the timeout bounds the whole answer, not a gap between bytes
        return SourceError(
            f"no answer from {target} within {exc.seconds:g} s (request timeout) during the {what}, counting the "
            f"whole answer; raise it with {ENV_REQUEST_TIMEOUT}=SECONDS or request_timeout in the profile"
        )
    if isinstance(exc, elastic_transport.ConnectionTimeout):
        return SourceError(
            f"no answer from {target} within {settings.request_timeout:g} s (request timeout) "
            f"during the {what}; raise it with {ENV_REQUEST_TIMEOUT}=SECONDS or request_timeout in the profile"
        )
    if isinstance(exc, elastic_transport.TlsError):
        cause = _cause_text(exc)
        if "WRONG_VERSION_NUMBER" in cause or "wrong version number" in cause:
            return SourceError(f"TLS handshake with {target} failed: it does not speak TLS; try http:// instead of https://")
        if "mismatch" in cause.lower() or "doesn't match" in cause or "not valid for" in cause:
            return SourceError(
                f"TLS verification failed for {target}: its certificate is issued for another host name; "
                f"use the name on the certificate in the URL, or --insecure to skip the check"
            )
        m = re.search(r"certificate verify failed: ([^()'\"]+)", cause)
        detail = "certificate verify failed" + (f": {m.group(1).strip()}" if m else "")
        return SourceError(
            f"TLS verification failed for {target} ({one_line(detail, 120)}); give the CA that signed "
            f"the cluster's certificate with --ca-certs PATH (or ca_certs in the profile), or --insecure to skip the check"
        )
    if isinstance(exc, elastic_transport.ConnectionError):
        cause = _cause_text(exc)
        low = cause.lower()
        host = target
        if any(s in low for s in ("name or service not known", "nodename nor servname", "getaddrinfo failed",
                                  "temporary failure in name resolution", "no address associated",
                                  "failed to resolve", "name resolution")):
            return SourceError(f"cannot resolve the host of {host} (DNS lookup failed); check the cluster URL")
        if "connection refused" in low or "errno 111" in low or "actively refused" in low:
            return SourceError(f"connection refused by {host}; is Elasticsearch running and listening on that host and port?")
        if any(s in low for s in ("remotedisconnected", "connection aborted", "reset by peer",
                                  "without response", "protocolerror", "incompleteread", "broken pipe")):
            return SourceError(
                f"{host} closed the connection without answering the {what}; if the cluster uses TLS, use https://, "
                f"else a proxy or the node dropped it (try again)"
            )
        if "timed out" in low:
            return SourceError(
                f"connecting to {host} timed out after {settings.request_timeout:g} s (request timeout); "
                f"check the host is reachable, or raise it with {ENV_REQUEST_TIMEOUT}=SECONDS"
            )
        return SourceError(f"cannot connect to {host}: {one_line(str(getattr(exc, 'message', exc)), 160)}")
    if isinstance(exc, elastic_transport.SerializationError):
        return SourceError(f"{target} sent an answer that is not valid JSON for the {what}")
    if isinstance(exc, elastic_transport.TransportError):
        return SourceError(f"{target}: {one_line(str(exc), 200)}")
    return SourceError(f"{target}: unexpected {type(exc).__name__}: {one_line(str(exc), 200)}")


def _api_error(exc: ApiError, settings: ClusterSettings, query: str | None) -> HuntbenchError:
    status = exc.meta.status
    etype, reason = error_type_reason(exc)
    target = settings.target
    if status == 401 and not settings.secrets:
        return SourceError(
            f"401 authentication required at {target}: no credentials were given; set ELASTIC_API_KEY "
            f"(or ELASTIC_USERNAME + ELASTIC_PASSWORD), or use a profile with api_key"
        )
    if status == 401:
        return SourceError(
            f"401 authentication failed at {target}: the cluster rejected the {settings.credential_label}; "
            f"check or renew it"
        )
    if status == 403:
        return SourceError(_forbidden(reason, target))
    if etype in ("parsing_exception", "verification_exception") or (status == 400 and _LINE_COL.search(reason.split("\n")[-1] or "")):
        return query_error(etype, reason, query)
    if status in RETRYABLE_STATUS:
        return SourceError(f"{target} answered {RETRYABLE_STATUS[status]} ({one_line(reason, 120) or etype})")
    if etype == "index_not_found_exception":
        return QueryError(one_line(reason))
    label = f"{status} {etype}".strip()
    return SourceError(f"{target} answered {label}: {one_line(reason, 200) or 'no reason given'}")


def _forbidden(reason: str, target: str) -> str:
    m = _UNAUTHORIZED.search(reason)
    if not m:
        return f"403 forbidden at {target}: {one_line(reason, 200)}; ask an admin for the missing privilege"
    who = m.group("user")
    privs = m.group("privs")
    indices = m.group("indices")
    grant = f"the {m.group('kind')} privilege [{privs}]" if privs else "a privilege"
    on = f" on {indices}" if indices else ""
    return (
        f"403 forbidden at {target}: {who} may not run {m.group('action')}{on}; "
        f"ask an admin to grant {grant}{on}"
    )


def query_error(etype: str, reason: str, query: str | None) -> QueryError:
    """A ``parsing_exception``/``verification_exception`` as ``line L:C: msg (query line L: ...)``."""
    lines = [ln for ln in reason.split("\n") if ln.strip()]
    problems = [ln for ln in lines if _LINE_COL.match(ln.strip())]
    extra = len(problems) - 1
    first = problems[0].strip() if problems else one_line(reason)
    m = _LINE_COL.match(first)
    if not m:
        return QueryError(one_line(first))
    line, col, msg = int(m.group(1)), int(m.group(2)), one_line(m.group(3), 200)
    if extra > 0:
        msg += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    if query is not None:
        qlines = query.split("\n")
        if 1 <= line <= len(qlines) and qlines[line - 1].strip():
            msg += f" — query line {line}: {one_line(qlines[line - 1], 120)}"
    return QueryError(msg, line, col)
