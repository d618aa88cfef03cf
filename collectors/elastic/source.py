"""ES|QL on a cluster, answering in exactly the shape the offline source answers.

Followed: Elasticsearch's ES|QL query and async query REST docs. Every query is submitted
to ``POST /_query/async`` with ``wait_for_completion_timeout`` of a couple of seconds: a
quick query comes back complete in that first answer (``is_running: false``, same body as
``POST /_query``); a longer one returns an ``id`` that is polled with
``GET /_query/async/{id}`` while ``progress`` is told how long it has been running, and is
deleted with ``DELETE /_query/async/{id}`` when the user cancels (which stops it on the
cluster) or once its stored result has been read. Clusters without the async endpoint
(8.11 and 8.12) get ``POST /_query``. ``params`` always travel in the request body, named
ones as ``[{"name": value}, ...]``, so a value from a result never becomes query text.
``Warning`` response headers (``299 Elasticsearch-<version> "<text>"``, text escaped per
RFC 7234 and percent-encoded as Elasticsearch's ``HeaderWarning`` does) become the result's
warnings.
"""

from __future__ import annotations

import re
import time
from typing import Any, Mapping, Sequence
from urllib.parse import unquote

from elasticsearch import ApiError

from collectors.interface import CancelToken, Language, Params, Progress, SourceKind
from collectors.result import Cancelled, Column, QueryResult, SourceError

from .client import Cluster
from .errors import error_type_reason, one_line

_WARNING = re.compile(r'\d{3} \S+ "((?:[^"\\]|\\.)*)"(?: "[^"]*")?')


def parse_warning_header(header: str | None) -> list[str]:
    """``Warning`` header value(s) -> the texts, unescaped and percent-decoded."""
    if not header:
        return []
    found = _WARNING.findall(header)
    if not found:
        return [header.strip()]
    return [re.sub(r"\\(.)", r"\1", unquote(text)) for text in found]


def request_params(params: Params) -> list[Any] | None:
    """The ``params`` body field: named -> ``[{"name": v}, ...]``, positional -> ``[v, ...]``."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return [{str(name).lstrip("?"): value} for name, value in params.items()]
    if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
        raise SourceError("query parameters must be a mapping of names to values or a list of values")
    return list(params)


def _kind(value: Any) -> str:
    """What a JSON value is, for a message: ``a string``, ``an HTML page``, ``a list``..."""
    if isinstance(value, (bytes, str)):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if text.lstrip()[:15].lower().startswith(("<!doctype html", "<html")):
            return "an HTML page"
        return f"text ({one_line(text, 60)})" if text.strip() else "an empty body"
    names = {dict: "an object", list: "a list", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def answer_body(body: Any, target: str, what: str = "ES|QL query") -> Mapping[str, Any]:
    """``body`` when it is a JSON object; else one line naming the cluster and what came.

    Anything can sit at the cluster's address (a login page of a proxy, a misconfigured
    gateway, a hostile server), and a 200 says nothing about the body.
    """
    if not isinstance(body, Mapping):
        raise SourceError(f"{target} sent a malformed answer to the {what}: {_kind(body)} instead of a JSON object")
    return body


def index_names(body: Any, target: str, *, aliases: bool = True) -> list[str]:
    """Index, data stream (and alias) names from a ``_resolve/index`` answer (backing
    ``.ds-`` indices left out), checked like any other answer."""
    body = answer_body(body, target, "index lookup")
    names: list[str] = []
    for key in ("indices", "data_streams") + (("aliases",) if aliases else ()):
        entries = body.get(key) or []
        if not isinstance(entries, list) or not all(isinstance(e, Mapping) and isinstance(e.get("name"), str)
                                                    for e in entries):
            raise SourceError(f'{target} sent a malformed answer to the index lookup: "{key}" is not a list of named entries')
        names += [e["name"] for e in entries if not e["name"].startswith(".ds-")]
    return names


def to_result(body: Any, headers: Mapping[str, str] | None, retried: list[str],
              target: str = "the cluster") -> QueryResult:
    """A ``_query`` response body (and its headers) as a :class:`QueryResult`.

    The shape is checked before anything is read from it: ``columns`` a list of objects
    with a name, ``values`` a list of rows as long as ``columns``. A bad answer is one
    :class:`SourceError` line naming ``target`` and what was wrong.
    """
    body = answer_body(body, target)

    def bad(problem: str) -> SourceError:
        return SourceError(f"{target} sent a malformed answer to the ES|QL query: {problem}")

    raw_columns = body.get("columns") or []
    if not isinstance(raw_columns, list):
        raise bad(f'"columns" is {_kind(raw_columns)}, not a list')
    columns = []
    for i, c in enumerate(raw_columns, 1):
        if not isinstance(c, Mapping) or not isinstance(c.get("name"), str):
            raise bad(f"column {i} of {len(raw_columns)} has no name")
        columns.append(Column(c["name"], str(c.get("type") or "keyword")))
    raw_values = body.get("values") or []
    if not isinstance(raw_values, list):
        raise bad(f'"values" is {_kind(raw_values)}, not a list of rows')
    for i, row in enumerate(raw_values, 1):
        if not isinstance(row, list):
            raise bad(f"row {i} is {_kind(row)}, not a list of values")
        if len(row) != len(columns):
            raise bad(f"row {i} has {len(row)} value{'s' if len(row) != 1 else ''} for {len(columns)} columns")
    values = [list(row) for row in raw_values]
    warnings = parse_warning_header(headers.get("warning") if headers else None)
    if retried:
        warnings.append(f"the cluster was busy: retried {len(retried)} time(s) with backoff")
    return QueryResult(
        columns=columns,
        values=values,
        warnings=warnings,
        took=body.get("took"),
        is_partial=bool(body.get("is_partial", False)),
    )


class ElasticSource:
    """An ES|QL :class:`~collectors.interface.Source` for one cluster."""

    kind = SourceKind.ELASTIC
    language = Language.ESQL

    def __init__(self, cluster: Cluster, *, async_wait: float = 2.0, poll_wait: float = 1.0):
        self.cluster = cluster
        self.async_wait = async_wait
        self.poll_wait = poll_wait
        self._async_supported: bool | None = None

    @property
    def settings(self):
        return self.cluster.settings

    def describe(self) -> str:
        return self.settings.describe()

    def warm(self) -> None:
        """Nothing to prepare: the first query is what reaches the cluster."""

    def esql(self, query: str, params: Params = None, *, cancel: CancelToken | None = None,
             progress: Progress | None = None) -> QueryResult:
        body_params = request_params(params)
        cancelled = (lambda: cancel.cancelled) if cancel else None
        if cancel and cancel.cancelled:
            raise Cancelled("query cancelled before it started")
        retried: list[str] = []
        if self._async_supported is not False:
            try:
                return self._run_async(query, body_params, cancel, progress, retried)
            except _NoAsyncEndpoint:
                self._async_supported = False
        response = self.cluster.call(
            "ES|QL query", self.cluster.client.esql.query, query=query, params=body_params,
            query_text=query, notify=progress, cancelled=cancelled, retried=retried,
        )
        return to_result(response.body, response.meta.headers, retried, self.settings.target)

    run = esql
    """The :class:`~collectors.interface.Source` name for :meth:`esql`."""

    def quick(self, query: str, params: Params = None) -> QueryResult:
        """``POST /_query`` for short bookkeeping queries (counts, export pages)."""
        retried: list[str] = []
        response = self.cluster.call(
            "ES|QL query", self.cluster.client.esql.query, query=query, params=request_params(params),
            query_text=query, retried=retried,
        )
        return to_result(response.body, response.meta.headers, retried, self.settings.target)

    # -- async -------------------------------------------------------------------------

    def _run_async(self, query, body_params, cancel, progress, retried) -> QueryResult:
        cluster = self.cluster
        cancelled = (lambda: cancel.cancelled) if cancel else None
        started = time.monotonic()
        response = cluster.call(
            "ES|QL query", _submit, cluster.client, query, body_params, self.async_wait,
            max(60, int(cluster.settings.query_timeout) + 60),
            query_text=query, notify=progress, cancelled=cancelled, retried=retried,
        )
        self._async_supported = True
        target = cluster.settings.target
        query_id = answer_body(response.body, target).get("id")
        try:
            while answer_body(response.body, target).get("is_running"):
                elapsed = time.monotonic() - started
                if cancel and cancel.cancelled:
                    raise Cancelled(f"query cancelled after {elapsed:.1f} s (stopped on the cluster)")
                if elapsed > cluster.settings.query_timeout:
                    raise SourceError(
                        f"the query was still running on {cluster.settings.target} after "
                        f"{cluster.settings.query_timeout:g} s (query timeout) and was cancelled there; "
                        f"raise it with HUNTBENCH_ES_QUERY_TIMEOUT=SECONDS or query_timeout in the profile"
                    )
                if progress:
                    progress(f"running on the cluster for {elapsed:.1f} s")
                response = cluster.call(
                    "poll of the running query", cluster.client.esql.async_query_get, id=query_id,
                    wait_for_completion_timeout=f"{int(self.poll_wait * 1000)}ms",
                    query_text=query, notify=progress, cancelled=cancelled, retried=retried,
                )
        finally:
            # cancelled, timed out, Ctrl-C, a failed poll, or done: in every case the
            # query (or its stored result) is deleted on the cluster
            self._delete(query_id if isinstance(query_id, str) else None)
        return to_result(response.body, response.meta.headers, retried, target)

    def _delete(self, query_id: str | None) -> None:
        if not query_id:
            return
        try:
            self.cluster.client.esql.async_query_delete(id=query_id)
        except Exception:
            pass  # best effort: it expires with keep_alive anyway


class _NoAsyncEndpoint(Exception):
    """The cluster predates ``/_query/async`` (8.11, 8.12)."""


def _submit(client, query: str, params: list | None, wait: float, keep_alive_s: int):
    try:
        return client.esql.async_query(
            query=query, params=params, wait_for_completion_timeout=f"{int(wait * 1000)}ms",
            keep_on_completion=False, keep_alive=f"{keep_alive_s}s",
        )
    except ApiError as exc:
        etype, reason = error_type_reason(exc)
        missing = exc.meta.status in (404, 405) and etype in ("", "illegal_argument_exception")
        if missing or (exc.meta.status == 400 and "no handler found" in reason):
            raise _NoAsyncEndpoint() from None
        raise
