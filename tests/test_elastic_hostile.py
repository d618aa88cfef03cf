"""A cluster address that answers badly: too slowly to ever finish, or with a 200 whose body
is not an ES|QL answer. Each ends in one line naming the cluster, never a hang or a traceback."""

from __future__ import annotations

import json

import pytest

from tests.es_standin import StandIn, canned, run_cli

ROWS = {"columns": [{"name": "file.name", "type": "keyword"}], "values": [[".rpm-check"]]}


@pytest.fixture
def server():
    with StandIn(answer=canned([("file.name", "keyword")], [[".rpm-check"]])) as es:
        yield es


def esql(url: str, *extra: str) -> list[str]:
    return ["esql", "FROM logs-* | LIMIT 5", "--es-url", url, *extra]


def one_error(err: str) -> str:
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    return errors[0]


def test_a_server_that_trickles_is_stopped_at_the_timeout(server, capsys, clean_env):
    # A whole, valid answer, one byte every 0.2 s: each read gets a byte long before the
    # timeout, so only a deadline for the whole answer ends it.
    fault = server.inject("/_query", trickle=0.2, times=None, body={"is_running": False, **ROWS, "took": 1})
    code, out, err = run_cli(esql(server.url, "--timeout", "1"), capsys)
    assert code == 2
    line = one_error(err)
    assert server.url in line and "within 1 s (request timeout)" in line
    assert 0 < fault.sent < fault.total  # the client gave up while the answer was still arriving
    assert out == ""


def test_a_trickling_server_over_tls_is_stopped_too(tmp_path, capsys, clean_env):
    trustme = pytest.importorskip("trustme")
    from tests.es_standin import write_ca

    ca = trustme.CA()
    with StandIn(answer=canned([("file.name", "keyword")], [["x"]]), tls_ca=ca) as es:
        fault = es.inject("/_query", trickle=0.2, times=None, body={"is_running": False, **ROWS})
        code, out, err = run_cli(esql(es.url, "--timeout", "1", "--ca-certs", str(write_ca(ca, tmp_path))), capsys)
    assert code == 2
    assert "within 1 s (request timeout)" in one_error(err)
    assert 0 < fault.sent < fault.total


MALFORMED = [
    ("an HTML page", b"<!DOCTYPE html><html><body>Sign in to the proxy</body></html>", {"Content-Type": "text/html"},
     "an HTML page instead of a JSON object"),
    ("columns not a list", json.dumps({"is_running": False, "columns": "nope", "values": []}).encode(), {},
     '"columns" is text (nope), not a list'),
    ("a row too short", json.dumps({"is_running": False, "columns": [{"name": "a", "type": "keyword"},
                                                                     {"name": "b", "type": "long"}],
                                    "values": [["x", 1], ["y"]]}).encode(), {},
     "row 2 has 1 value for 2 columns"),
    ("a row too long", json.dumps({"is_running": False, "columns": [{"name": "a", "type": "keyword"}],
                                   "values": [["x", 1]]}).encode(), {},
     "row 1 has 2 values for 1 columns"),
    ("values not a list", json.dumps({"is_running": False, "columns": [], "values": 5}).encode(), {},
     '"values" is a number, not a list of rows'),
    ("a column without a name", json.dumps({"is_running": False, "columns": [{"type": "keyword"}],
                                            "values": [["x"]]}).encode(), {},
     "column 1 of 1 has no name"),
    ("a list for a body", b"[1, 2, 3]", {}, "a list instead of a JSON object"),
]


@pytest.mark.parametrize("body,headers,says", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_200_answer_is_one_line_naming_the_cluster(server, capsys, clean_env, body, headers, says):
    server.inject("/_query", raw=body, headers=headers, times=None)
    code, out, err = run_cli(esql(server.url), capsys)
    assert code == 2
    line = one_error(err)
    assert f"{server.url} sent a malformed answer to the ES|QL query: {says}" in line
    assert out == ""


def test_es_check_says_when_the_address_answers_with_a_web_page(server, capsys, clean_env):
    server.inject("/", raw=b"<html><body>It works!</body></html>", headers={"Content-Type": "text/html"},
                  method="GET", times=None)
    code, out, err = run_cli(["es", "check", "--es-url", server.url], capsys)
    assert code == 1
    assert "Traceback" not in err
    assert f"{server.url} sent a malformed answer to the connection check: an HTML page" in out
