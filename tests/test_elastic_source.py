"""ElasticSource against the stand-in: the request it sends (params in the body, never in
the query text), the result it returns (same shape as offline), async polling, progress,
cancel, warnings, is_partial, and no secret anywhere."""

from __future__ import annotations

import threading

import pytest

from collectors.elastic import connect_source
from collectors.elastic.source import parse_warning_header, request_params
from collectors.result import Cancelled, Column, QueryResult, SourceError
from collectors.sources import CancelToken
from tests.es_standin import StandIn, canned, encode_warning

KEY = "S2V5SWQ6c3VwZXItc2VjcmV0LWFwaS1rZXk="
HOSTILE = 'x" | eval pwned = 1 | where "1"=="1'


def recording(columns, values, warnings=()):
    seen = []
    answer = canned(columns, values, warnings)

    def record(query, params):
        seen.append((query, params))
        return answer(query, params)

    record.seen = seen
    return record


@pytest.fixture
def server(clean_env):
    answer = recording([("agent.id", "keyword"), ("events", "long"), ("first_seen", "date")],
                       [["a-1", 2, "2026-11-19T08:00:00.000Z"]])
    with StandIn(answer=answer, api_key=KEY) as s:
        clean_env.setenv("ELASTIC_API_KEY", KEY)
        yield s


def source_for(server, **kw):
    src = connect_source(es_url=server.url, warn=lambda t: None, **kw)
    src.async_wait = 0.3
    src.poll_wait = 0.1
    return src


def test_pivot_values_travel_in_params_never_in_the_query_text(server):
    src = source_for(server)
    pivot = 'from logs-endpoint.events.file-*\n| where file.name == ?file_name and process.executable == ?process_executable'
    result = src.esql(pivot, {"file_name": HOSTILE, "process_executable": "/usr/bin/dpkg"})
    (req,) = server.requests_to("/_query/async", "POST")
    assert req.body["query"] == pivot
    assert req.body["params"] == [{"file_name": HOSTILE}, {"process_executable": "/usr/bin/dpkg"}]
    assert HOSTILE not in req.body["query"]
    assert server.answer.seen == [(pivot, {"file_name": HOSTILE, "process_executable": "/usr/bin/dpkg"})]
    assert result.values == [["a-1", 2, "2026-11-19T08:00:00.000Z"]]


def test_positional_params():
    assert request_params(["a", 1, None]) == ["a", 1, None]
    assert request_params({"?x": [1, 2]}) == [{"x": [1, 2]}]
    assert request_params(None) is None


def test_result_has_the_offline_shape(server):
    result = source_for(server).esql("from logs-*")
    assert isinstance(result, QueryResult)
    assert result.columns == [Column("agent.id", "keyword"), Column("events", "long"), Column("first_seen", "date")]
    out = result.to_json()
    assert set(out) <= {"columns", "values", "took", "is_partial"}
    assert out["columns"] == [{"name": "agent.id", "type": "keyword"}, {"name": "events", "type": "long"},
                              {"name": "first_seen", "type": "date"}]
    assert isinstance(result.took, int)


def test_warning_headers_become_result_warnings(clean_env):
    texts = ["No limit defined, adding default limit of [1000]",
             "Line 1:27: evaluation of [to_lower(process.args)] failed, treating result as null. Only first 20 failures recorded.",
             'Line 1:27: java.lang.IllegalArgumentException: single-value function encountered multi-value',
             'a "quoted" \\ back-slashed, 100% ünïcode text']
    with StandIn(answer=canned([("n", "long")], [[1]], texts)) as s:
        result = connect_source(es_url=s.url).esql("from logs-*")
    assert result.warnings == texts


def test_parse_warning_header_of_real_elasticsearch():
    header = ('299 Elasticsearch-9.1.0-5f6c6a3e "No limit defined, adding default limit of [1000]", '
              '299 Elasticsearch-9.1.0-5f6c6a3e "Line 2:3: \\"x\\" failed" "Sat, 25 Aug 2018 04:00:00 GMT"')
    assert parse_warning_header(header) == ["No limit defined, adding default limit of [1000]", 'Line 2:3: "x" failed']
    assert parse_warning_header(encode_warning("tab\there ☃", "9.1.0")) == ["tab\there ☃"]


def test_is_partial_is_surfaced(clean_env):
    class Partial:
        def __call__(self, query, params):
            return QueryResult([Column("n", "long")], [[1]], is_partial=True)

    with StandIn(answer=Partial()) as s:
        result = connect_source(es_url=s.url).esql("from logs-*")
    assert result.is_partial and result.to_json()["is_partial"] is True


def test_quick_query_answers_in_the_first_request(server):
    src = source_for(server)
    src.esql("from logs-*")
    assert [(r.method, r.path) for r in server.requests] == [("POST", "/_query/async")]
    body = server.requests[0].body
    assert body["wait_for_completion_timeout"] == "300ms" and body["keep_on_completion"] is False


def test_long_query_is_polled_with_progress_and_its_stored_result_deleted(server):
    server.async_delay = 0.8
    src = source_for(server)
    told = []
    result = src.esql("from logs-*", progress=told.append)
    assert result.values == [["a-1", 2, "2026-11-19T08:00:00.000Z"]]
    methods = [(r.method, r.path.split("/")[-1] if r.path.count("/") > 2 else r.path) for r in server.requests]
    assert methods[0] == ("POST", "/_query/async")
    assert ("GET", server.deleted[0]) in methods and methods[-1] == ("DELETE", server.deleted[0])
    assert told and all(t.startswith("running on the cluster for ") for t in told)


def test_cancel_deletes_the_running_query_on_the_cluster(server):
    server.async_delay = 60
    src = source_for(server)
    token = CancelToken()
    told = []

    def progress(text):
        told.append(text)
        if len(told) == 2:
            token.cancel()

    with pytest.raises(Cancelled, match=r"query cancelled after .* s \(stopped on the cluster\)"):
        src.esql("from logs-*", cancel=token, progress=progress)
    (qid,) = server.deleted
    assert server.requests[-1].method == "DELETE" and server.requests[-1].path == f"/_query/async/{qid}"
    assert server.queries[qid].deleted


def test_cancel_from_another_thread(server):
    server.async_delay = 60
    src = source_for(server)
    token = CancelToken()
    timer = threading.Timer(0.6, token.cancel)
    timer.start()
    with pytest.raises(Cancelled):
        src.esql("from logs-*", cancel=token)
    timer.join()
    assert len(server.deleted) == 1


def test_cluster_without_async_api_gets_the_sync_endpoint(clean_env):
    with StandIn(answer=canned([("n", "long")], [[7]]), version="8.12.2", no_async=True) as s:
        src = connect_source(es_url=s.url)
        assert src.esql("from logs-*", {"n": 1}).values == [[7]]
        assert src.esql("from logs-*").values == [[7]]
        paths = [(r.method, r.path) for r in s.requests]
    assert paths == [("POST", "/_query/async"), ("POST", "/_query"), ("POST", "/_query")]
    assert s.requests[1].body["params"] == [{"n": 1}]


def test_describe_and_errors_never_show_the_api_key(server):
    src = source_for(server)
    assert src.describe() == f"elastic: {server.url}"
    assert KEY not in src.describe() and KEY not in repr(src.settings)
    assert src.kind == "elastic"
    # the key did travel, as the Authorization header the client sends
    src.esql("from logs-*")
    assert {k.lower(): v for k, v in server.requests[-1].headers.items()}["authorization"] == f"ApiKey {KEY}"


def test_ctrl_c_in_the_cli_stops_the_query_on_the_cluster(server):
    server.async_delay = 60
    src = source_for(server)

    def interrupt(text):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        src.esql("from logs-*", progress=interrupt)
    assert len(server.deleted) == 1 and server.requests[-1].method == "DELETE"


def test_a_failed_poll_still_deletes_the_query(server):
    from tests.es_standin import es_error

    server.async_delay = 60
    server.inject("/_query/async/", method="GET", status=500,
                  body=es_error(500, "illegal_state_exception", "node left the cluster"))
    with pytest.raises(SourceError, match=r"answered 500 illegal_state_exception: node left the cluster"):
        source_for(server).esql("from logs-*")
    assert len(server.deleted) == 1


def test_debug_logs_never_carry_the_api_key(server, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    src = source_for(server)
    src.esql("from logs-*", {"a": 1})
    server.inject("/_query", status=401, body={"error": "nope", "status": 401})
    with pytest.raises(SourceError):
        src.esql("from logs-*")
    assert "/_query/async" in caplog.text  # the transport did log the requests
    assert KEY not in caplog.text
