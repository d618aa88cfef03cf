"""Every way a cluster can fail (refused, TLS, auth, timeouts, bad answers), through the real
CLI, the real client and a real socket: one clear ``error:`` line, no traceback, no secret."""

from __future__ import annotations

import time

import pytest
import trustme

from collectors.elastic import connect_source
from collectors.result import QueryError, SourceError
from tests.es_standin import StandIn, canned, es_error, forbidden_body, run_cli, write_ca

KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
ONE_ROW = canned([("file.name", "keyword"), ("cc", "long")], [["evil.postinst", 1]])


@pytest.fixture
def server(clean_env):
    with StandIn(answer=ONE_ROW, api_key=KEY) as s:
        clean_env.setenv("ELASTIC_API_KEY", KEY)
        yield s


def fails(argv, capsys, *needles):
    code, out, err = run_cli(argv, capsys)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code != 0, (out, err)
    assert len(errors) == 1, err
    assert "Traceback" not in err and KEY not in err + out
    assert len(err.strip().splitlines()) <= 2  # the error, and at most one warning line
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def esql(url, query="from logs-*"):
    return ["esql", query, "--es-url", url, "--format", "json"]


def test_connection_refused(clean_env, capsys):
    line = fails(esql("http://127.0.0.1:9"), capsys, "connection refused by http://127.0.0.1:9")
    assert "is Elasticsearch running" in line


def test_dns_failure(clean_env, capsys):
    fails(esql("http://no-such-host.invalid:9200"), capsys,
          "cannot resolve the host of http://no-such-host.invalid:9200 (DNS lookup failed)")


def test_tls_verification_failure_names_the_ca_option_and_ca_certs_fixes_it(clean_env, capsys, tmp_path):
    ca = trustme.CA()
    with StandIn(answer=ONE_ROW, tls_ca=ca) as s:
        fails(esql(s.url), capsys, "TLS verification failed for https://127.0.0.1", "--ca-certs PATH")
        code, out, err = run_cli(esql(s.url) + ["--ca-certs", str(write_ca(ca, tmp_path))], capsys)
        assert code == 0, err
        assert '"evil.postinst"' in out
        code, out, err = run_cli(esql(s.url) + ["--insecure"], capsys)
        assert code == 0 and "warning: TLS certificate verification is OFF" in err


def test_401_bad_credentials(server, capsys, clean_env):
    clean_env.setenv("ELASTIC_API_KEY", "bm90LXRoZS1rZXk6bm9wZQ==")
    line = fails(esql(server.url), capsys, "401 authentication failed", "API key from ELASTIC_API_KEY")
    assert "bm90LXRoZS1rZXk6bm9wZQ==" not in line


def test_401_basic_auth_from_url_never_shows_the_password(clean_env, capsys):
    with StandIn(answer=ONE_ROW, basic=("elastic", "right-pass")) as s:
        url = s.url.replace("http://", "http://elastic:wrong-pass@")
        code, out, err = run_cli(esql(url), capsys)
        assert code != 0 and "wrong-pass" not in err + out
        assert "401 authentication failed at http://127.0.0.1" in err
        assert "user elastic" in err
        code, out, err = run_cli(esql(s.url.replace("http://", "http://elastic:right-pass@")), capsys)
        assert code == 0 and "right-pass" not in err + out


def test_403_names_the_privilege_and_index(server, capsys):
    server.inject("/_query", status=403, body=forbidden_body(
        "indices:data/read/esql", "hunter", indices="logs-endpoint.events.file-default"))
    fails(esql(server.url), capsys, "403 forbidden", "hunter may not run indices:data/read/esql",
          "on logs-endpoint.events.file-default", "grant the index privilege [read,all]")


def test_403_cluster_privilege(server, capsys):
    server.inject("/_query", status=403, body=forbidden_body("cluster:monitor/main", "hunter", privileges="monitor,manage,all"))
    fails(esql(server.url), capsys, "grant the cluster privilege [monitor,manage,all]")


def test_unknown_index_shows_line_col_and_the_query_line(server, capsys):
    server.inject("/_query", status=400, body=es_error(
        400, "verification_exception", "Found 1 problem\nline 1:6: Unknown index [logs-nope]"))
    code, out, err = run_cli(esql(server.url, "from logs-nope\n| limit 5"), capsys)
    assert code == 1
    assert err.strip() == "error: line 1:6: Unknown index [logs-nope] — query line 1: from logs-nope"


def test_unknown_column_with_several_problems(server, capsys):
    server.inject("/_query", status=400, body=es_error(
        400, "verification_exception",
        "Found 2 problems\nline 2:8: Unknown column [file.nam], did you mean [file.name]?\nline 3:8: Unknown column [x]"))
    code, out, err = run_cli(esql(server.url, "from logs-*\n| keep file.nam\n| keep x"), capsys)
    assert code == 1
    assert err.strip() == ("error: line 2:8: Unknown column [file.nam], did you mean [file.name]? "
                           "(and 1 more problem) — query line 2: | keep file.nam")


def test_parsing_exception(server, capsys):
    server.inject("/_query", status=400, body=es_error(
        400, "parsing_exception", "line 1:13: mismatched input 'wher' expecting {<EOF>, '|'}"))
    code, out, err = run_cli(esql(server.url, "from logs-* wher x"), capsys)
    assert code == 1
    assert err.strip() == ("error: line 1:13: mismatched input 'wher' expecting {<EOF>, '|'} "
                           "— query line 1: from logs-* wher x")


@pytest.mark.parametrize("status, name", [(429, "429 Too Many Requests"), (503, "503 Service Unavailable")])
def test_busy_cluster_is_retried_and_the_user_is_told(server, capsys, status, name):
    server.inject("/_query", status=status, body=es_error(status, "es_rejected_execution_exception", "rejected execution"))
    code, out, err = run_cli(esql(server.url), capsys)
    assert code == 0, err
    assert '"evil.postinst"' in out
    assert "warning: the cluster was busy: retried 1 time(s) with backoff" in err
    assert len(server.requests_to("/_query/async", "POST")) == 2


@pytest.mark.parametrize("status, name", [(429, "429 Too Many Requests"), (503, "503 Service Unavailable")])
def test_busy_cluster_gives_up_after_backoff(server, status, name):
    server.inject("/_query", status=status, times=None, body=es_error(status, "circuit_breaking_exception", "busy"))
    source = connect_source(es_url=server.url, warn=lambda t: None)
    source.cluster.retry.base = 0.02
    told = []
    with pytest.raises(SourceError) as info:
        source.esql("from logs-*", progress=told.append)
    assert str(info.value) == (f"{server.url} still answered {name} to the ES|QL query after 4 attempts "
                               f"with backoff; the cluster is overloaded, try again later")
    assert len(told) == 3 and f"answered {name} to the ES|QL query; retrying in 0.02 s (attempt 2 of 4)" in told[0]
    assert len(server.requests_to("/_query/async")) == 4


def test_request_timeout_names_itself_and_how_to_raise_it(server, capsys, clean_env):
    clean_env.setenv("HUNTBENCH_ES_TIMEOUT", "0.5")
    server.inject("/_query", delay=5)
    started = time.monotonic()
    fails(esql(server.url), capsys, "no answer from http://127.0.0.1", "within 0.5 s (request timeout)",
          "raise it with HUNTBENCH_ES_TIMEOUT=SECONDS")
    assert time.monotonic() - started < 4


def test_query_timeout_cancels_on_the_cluster(server, clean_env):
    clean_env.setenv("HUNTBENCH_ES_QUERY_TIMEOUT", "0.3")
    server.async_delay = 30
    source = connect_source(es_url=server.url, warn=lambda t: None)
    source.async_wait = source.poll_wait = 0.2
    with pytest.raises(SourceError, match=r"still running on .* after 0.3 s \(query timeout\) and was cancelled "
                                          r"there; raise it with HUNTBENCH_ES_QUERY_TIMEOUT=SECONDS"):
        source.esql("from logs-*")
    assert len(server.deleted) == 1


def test_dropped_connection(server, capsys):
    server.inject("/_query", drop=True)
    fails(esql(server.url), capsys, "closed the connection without answering the ES|QL query")


def test_not_elasticsearch(server, capsys):
    server.inject("/_query", status=200, body={"hello": "proxy"}, headers={})
    # a 2xx answer without X-Elastic-Product: the client's product check refuses it
    orig = server.server.RequestHandlerClass.send_header

    def no_product(self, key, value):
        if key != "X-Elastic-Product":
            orig(self, key, value)

    server.server.RequestHandlerClass.send_header = no_product
    try:
        fails(esql(server.url), capsys, "answered, but it is not Elasticsearch")
    finally:
        server.server.RequestHandlerClass.send_header = orig


def test_api_errors_from_python_are_huntbench_errors(server):
    server.inject("/_query", status=400, body=es_error(400, "verification_exception", "Found 1 problem\nline 1:1: Unknown index [x]"))
    source = connect_source(es_url=server.url, warn=lambda t: None)
    with pytest.raises(QueryError) as info:
        source.esql("from x")
    assert (info.value.line, info.value.column) == (1, 1)


def test_401_without_credentials_says_how_to_give_them(server, capsys, clean_env):
    clean_env.delenv("ELASTIC_API_KEY")
    fails(esql(server.url), capsys, "401 authentication required at http://127.0.0.1",
          "no credentials were given; set ELASTIC_API_KEY")


def test_tls_certificate_for_another_host(clean_env, capsys, tmp_path):
    ca = trustme.CA()
    with StandIn(answer=ONE_ROW, tls_ca=ca, tls_names=("es.example.org",)) as s:
        fails(esql(s.url) + ["--ca-certs", str(write_ca(ca, tmp_path))], capsys,
              "its certificate is issued for another host name")


def test_https_to_a_plain_http_server(clean_env, capsys):
    with StandIn(answer=ONE_ROW) as s:
        fails(esql(s.url.replace("http://", "https://")), capsys, "does not speak TLS; try http://")
