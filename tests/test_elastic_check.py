"""``huntbench es check``: one line per check, PASS/FAIL, a hint on each failure."""

from __future__ import annotations

import pytest

from collectors.result import Column, QueryResult
from tests.es_standin import StandIn, forbidden_body, run_cli

KEY = "Y2hlY2s6a2V5LWZvci1jaGVjaw=="
STREAMS = ["logs-endpoint.events.file-default", "logs-endpoint.events.process-default", "logs-system.auth-default"]


def counting(counts):
    """Answer ``stats docs = count(*)`` per FROM, and record the queries."""
    seen = []

    def answer(query, params):
        seen.append(query)
        target = query.split("\n")[0][len("from "):]
        return QueryResult([Column("docs", "long")], [[counts.get(target, 0)]])

    answer.seen = seen
    return answer


@pytest.fixture
def server(clean_env):
    answer = counting({"logs-endpoint.events.file-*": 1234, "logs-endpoint.events.process-*": 56})
    with StandIn(answer=answer, api_key=KEY, indices=STREAMS) as s:
        clean_env.setenv("ELASTIC_API_KEY", KEY)
        yield s


def test_all_checks_pass(server, capsys):
    code, out, err = run_cli(["es", "check", "--es-url", server.url], capsys)
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0] == f"cluster: {server.url} (url from --es-url; API key from ELASTIC_API_KEY)"
    assert lines[1] == "hunt: Persistence via DPKG/RPM Package"
    assert lines[2] == f"PASS  reachable: {server.url}: cluster huntbench-standin, Elasticsearch 9.1.0"
    assert lines[3] == ("PASS  authenticated: as hunter with API key 'huntbench-responder'; "
                        "credentials: API key from ELASTIC_API_KEY")
    assert lines[4] == "PASS  ES|QL: Elasticsearch 9.1.0 supports ES|QL"
    assert lines[5] == "PASS  query 0 FROM logs-endpoint.events.file-* indices: 1 match: logs-endpoint.events.file-default"
    assert lines[6] == "PASS  query 0 FROM logs-endpoint.events.file-* documents: 1,234 since now() - 7 days"
    assert lines[8] == "PASS  query 1 FROM logs-endpoint.events.process-* documents: 56 since now() - 7 days"
    assert lines[-1] == "7 passed, 0 failed"
    assert KEY not in out + err
    # counted on the cluster: one STATS request per query, no events pulled
    assert server.answer.seen == [
        "from logs-endpoint.events.file-*\n| where @timestamp > now() - 7 days\n| stats docs = count(*)",
        "from logs-endpoint.events.process-*\n| where @timestamp > now() - 7 days\n| stats docs = count(*)",
    ]
    assert [r.path for r in server.requests_to("/_query")] == ["/_query", "/_query"]


def test_missing_indices_and_empty_window_fail_with_hints(clean_env, capsys):
    with StandIn(answer=counting({}), indices=["logs-endpoint.events.file-default"]) as s:
        code, out, err = run_cli(["es", "check", "--es-url", s.url], capsys)
    assert code == 1
    assert ("FAIL  query 0 FROM logs-endpoint.events.file-* documents: 0 since now() - 7 days  "
            "(hint: the hunt will find nothing: are events arriving? is the cluster clock right?)") in out
    assert ("FAIL  query 1 FROM logs-endpoint.events.process-* indices: no index or data stream matches  "
            "(hint: is the integration (e.g. Elastic Defend) shipping these events, and may this user read them?)") in out
    assert out.splitlines()[-1] == "4 passed, 2 failed"


def test_unreachable_stops_after_one_line(clean_env, capsys):
    code, out, err = run_cli(["es", "check", "--es-url", "http://127.0.0.1:9"], capsys)
    assert code == 1
    fails = [line for line in out.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert fails == ["FAIL  reachable: connection refused by http://127.0.0.1:9; is Elasticsearch running and "
                     "listening on that host and port?  (hint: check --es-url / ELASTICSEARCH_URL / the profile's url)"]


def test_bad_credentials(server, capsys, clean_env):
    clean_env.setenv("ELASTIC_API_KEY", "d3Jvbmc6a2V5")
    code, out, err = run_cli(["es", "check", "--es-url", server.url], capsys)
    assert code == 1
    assert f"PASS  reachable: {server.url} answered (and asked for credentials)" in out
    assert "FAIL  authenticated: 401 authentication failed" in out and "(hint: set ELASTIC_API_KEY" in out
    assert "d3Jvbmc6a2V5" not in out + err


def test_old_cluster_has_no_esql(clean_env, capsys):
    with StandIn(answer=counting({}), version="8.9.2", indices=STREAMS) as s:
        code, out, err = run_cli(["es", "check", "--es-url", s.url], capsys)
    assert code == 1
    assert ("FAIL  ES|QL: Elasticsearch 8.9.2 has no ES|QL (needs 8.11 or later)  "
            "(hint: upgrade the cluster, or export the events and hunt offline with --data)") in out


def test_forbidden_count_names_privilege(server, capsys):
    server.inject("/_query", status=403, times=None, body=forbidden_body(
        "indices:data/read/esql", "hunter", indices="logs-endpoint.events.file-default"))
    code, out, err = run_cli(["es", "check", "--es-url", server.url], capsys)
    assert code == 1
    assert ("FAIL  query 0 FROM logs-endpoint.events.file-* documents: 403 forbidden at "
            f"{server.url}: hunter may not run indices:data/read/esql on logs-endpoint.events.file-default") in out


def test_security_disabled_passes(server, capsys):
    server.security_enabled = False
    code, out, err = run_cli(["es", "check", "--es-url", server.url], capsys)
    assert "PASS  authenticated: security is disabled on this cluster (no login needed)" in out
    assert code == 0


def test_unknown_hunt(server, capsys):
    code, out, err = run_cli(["es", "check", "--hunt", "no such hunt", "--es-url", server.url], capsys)
    assert code == 2 and err.startswith("error: no hunt named 'no such hunt'")


def test_user_without_monitor_privilege_still_checks_the_hunt(server, capsys):
    server.inject("/", method="GET", status=403, body=forbidden_body("cluster:monitor/main", "hunter", privileges="monitor,manage,all"))
    code, out, err = run_cli(["es", "check", "--es-url", server.url], capsys)
    assert f"PASS  reachable: {server.url} answered (this user may not read the cluster's info)" in out
    assert "PASS  ES|QL: version unknown (no monitor privilege to read it); the queries below will tell" in out
    assert "PASS  query 0 FROM logs-endpoint.events.file-* documents: 1,234 since now() - 7 days" in out
    assert code == 0
