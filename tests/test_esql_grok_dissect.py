"""GROK and DISSECT patterns compile to regexes that real DuckDB runs, extracting the fields
Elasticsearch would (examples from Elasticsearch's grok/dissect docs and syslog lines)."""

from __future__ import annotations

import duckdb
import pytest

from collectors.esql.dissect import DissectError, compile_dissect
from collectors.esql.grok import PATTERNS, GrokError, compile_grok

SSHD = "Nov 27 10:01:02 web-1 sshd[1234]: Accepted password for root from 10.0.0.5 port 52144 ssh2"
CRON = "Nov  3 04:05:06 db01.example.com CRON[999]: (root) CMD (/usr/lib/dpkg/info/evil.postinst)"
NOPID = "Nov 27 10:01:02 10.1.2.3 kernel: [ 12.5] usb 1-1: new device"
DPKG = "2024-11-27 10:01:02 status installed evil-pkg:amd64 1.0-1"


def duck_extract(regex: str, names: tuple[str, ...], text: str) -> dict[str, str] | None:
    """Run the regex in DuckDB exactly as the engine would; None when it does not match."""
    con = duckdb.connect()
    matched, groups = con.execute(
        "SELECT regexp_matches(?, ?), regexp_extract(?, ?, ?)",
        [text, regex, text, regex, list(names)],
    ).fetchone()
    con.close()
    return groups if matched else None


def grok(pattern: str, text: str) -> dict[str, str] | None:
    g = compile_grok(pattern)
    return duck_extract(g.regex, g.group_names, text)


def test_syslog_line_with_explicit_fields() -> None:
    pattern = "%{SYSLOGTIMESTAMP:ts} %{SYSLOGHOST:host} %{DATA:prog}(?:\\[%{POSINT:pid:int}\\])?: %{GREEDYDATA:msg}"
    g = compile_grok(pattern)
    assert g.fields == (("host", "keyword"), ("msg", "keyword"), ("pid", "integer"),
                        ("prog", "keyword"), ("ts", "keyword"))  # sorted by name, as ES|QL
    got = grok(pattern, SSHD)
    assert got == {"ts": "Nov 27 10:01:02", "host": "web-1", "prog": "sshd", "pid": "1234",
                   "msg": "Accepted password for root from 10.0.0.5 port 52144 ssh2"}
    got = grok(pattern, NOPID)
    assert got["host"] == "10.1.2.3" and got["prog"] == "kernel" and got["pid"] == ""
    assert got["msg"] == "[ 12.5] usb 1-1: new device"


def test_syslogbase_brings_its_ecs_fields() -> None:
    g = compile_grok("%{SYSLOGBASE} %{GREEDYDATA:message}")
    names = dict(g.fields)
    assert names["process.pid"] == "integer" and names["host.hostname"] == "keyword"
    assert "log.syslog.priority" in names and names["timestamp"] == "keyword"
    got = grok("%{SYSLOGBASE} %{GREEDYDATA:message}", CRON)
    assert got["timestamp"] == "Nov  3 04:05:06"
    assert got["host.hostname"] == "db01.example.com"
    assert (got["process.name"], got["process.pid"]) == ("CRON", "999")
    assert got["message"] == "(root) CMD (/usr/lib/dpkg/info/evil.postinst)"


def test_ip_number_word_path_and_iso_timestamp() -> None:
    pattern = "%{TIMESTAMP_ISO8601:@timestamp} %{WORD:action} %{WORD:state} %{NOTSPACE:package} %{NOTSPACE:version}"
    got = grok(pattern, DPKG)
    assert got == {"@timestamp": "2024-11-27 10:01:02", "action": "status", "state": "installed",
                   "package": "evil-pkg:amd64", "version": "1.0-1"}
    got = grok("from %{IP:src.ip} port %{NUMBER:port:long}", SSHD)
    assert got == {"src.ip": "10.0.0.5", "port": "52144"}
    assert dict(compile_grok("%{NUMBER:port:long} %{NUMBER:f:float}").fields) == {"port": "long", "f": "double"}
    got = grok("CMD \\(%{UNIXPATH:path}\\)", CRON)
    assert got == {"path": "/usr/lib/dpkg/info/evil.postinst"}
    got = grok("%{IPV6:ip}", "connect from fe80::1ff:fe23:4567:890a now")
    assert got == {"ip": "fe80::1ff:fe23:4567:890a"}


def test_elasticsearch_doc_example() -> None:
    # ES|QL GROK docs: "2023-01-23T12:15:00.000Z 127.0.0.1 some.email@foo.com 42"
    pattern = "%{TIMESTAMP_ISO8601:date} %{IP:ip} %{EMAILADDRESS:email} %{NUMBER:num:int}"
    got = grok(pattern, "2023-01-23T12:15:00.000Z 127.0.0.1 some.email@foo.com 42")
    assert got == {"date": "2023-01-23T12:15:00.000Z", "ip": "127.0.0.1", "email": "some.email@foo.com", "num": "42"}


def test_no_match_is_reported_by_regexp_matches() -> None:
    assert grok("%{IP:ip} %{WORD:w}", "no address here") is None


def test_inline_named_groups_and_user_groups_do_not_shift_fields() -> None:
    pattern = "(a|b)+ (?<user>[a-z]+) (x(y))? %{INT:n:int}"
    g = compile_grok(pattern)
    assert g.group_names == ("user", "n")
    assert grok(pattern, "abab root xy 7") == {"user": "root", "n": "7"}


def test_every_library_pattern_compiles_in_duckdb() -> None:
    con = duckdb.connect()
    for name in PATTERNS:
        g = compile_grok("%{" + name + ":f}")
        con.execute("SELECT regexp_extract('x', ?, ['f'])", [g.regex]).fetchone()
    con.close()


@pytest.mark.parametrize(
    "pattern, reason",
    [
        ("%{NOPE:x}", "Unable to find pattern [NOPE]"),
        ("(?<=a)b", "look-ahead and look-behind"),
        ("(a)\\1", "back-reference"),
        ("[abc", "missing closing ]"),
        ("(unbalanced", "missing"),
        ("%{WORD:x:int} %{WORD:x}", "defined multiple times with different types"),
    ],
)
def test_bad_grok_patterns(pattern: str, reason: str) -> None:
    with pytest.raises(GrokError, match=".*"):
        compile_grok(pattern)
    try:
        compile_grok(pattern)
    except GrokError as exc:
        assert reason in str(exc)


# ---------------------------------------------------------------- dissect


def dissect(pattern: str, text: str, sep: str | None = None) -> dict[str, str] | None:
    d = compile_dissect(pattern, sep)
    groups = duck_extract(d.regex, d.group_names, text)
    python_side = d.match(text)
    if groups is None:
        assert python_side is None
        return None
    joined = {f: d.append_separator.join(groups[g] for g in parts) for f, parts in d.assembly.items()}
    assert joined == python_side  # DuckDB and the reference evaluation agree
    return joined


def test_dissect_docs_apache_example() -> None:
    # Elasticsearch dissect processor docs
    text = '1.2.3.4 - - [30/Apr/1998:22:00:52 +0000] "GET /english/venues/cities/images/montpellier/18.gif HTTP/1.0" 200 3171'
    pattern = '%{clientip} %{ident} %{auth} [%{@timestamp}] "%{verb} %{request} HTTP/%{httpversion}" %{status} %{size}'
    assert dissect(pattern, text) == {
        "clientip": "1.2.3.4", "ident": "-", "auth": "-", "@timestamp": "30/Apr/1998:22:00:52 +0000",
        "verb": "GET", "request": "/english/venues/cities/images/montpellier/18.gif",
        "httpversion": "1.0", "status": "200", "size": "3171",
    }


def test_dissect_esql_docs_example() -> None:
    # ES|QL DISSECT docs: ROW a = "2023-01-23T12:15:00.000Z - some text - 127.0.0.1"
    got = dissect("%{date} - %{msg} - %{ip}", "2023-01-23T12:15:00.000Z - some text - 127.0.0.1")
    assert got == {"date": "2023-01-23T12:15:00.000Z", "msg": "some text", "ip": "127.0.0.1"}


def test_dissect_right_padding() -> None:
    assert dissect("%{ts->} %{level}", "1998-08-10T17:15:42,466          WARN") == {
        "ts": "1998-08-10T17:15:42,466", "level": "WARN",
    }
    assert dissect("[%{ts}]%{->}[%{level}]", "[1998-08-10T17:15:42,466]            [WARN]") == {
        "ts": "1998-08-10T17:15:42,466", "level": "WARN",
    }


def test_dissect_append_with_separator_and_order() -> None:
    assert dissect("%{+name} %{+name} %{+name} %{+name}", "john jacob jingleheimer schmidt", " ") == {
        "name": "john jacob jingleheimer schmidt"
    }
    assert dissect("%{+name/2} %{+name/4} %{+name} %{+name/1}", "john jacob jingleheimer schmidt", ",") == {
        "name": "schmidt,john,jingleheimer,jacob"
    }


def test_dissect_skip_keys() -> None:
    d = compile_dissect("%{clientip} %{?ident} %{} [%{@timestamp}]")
    assert d.fields == ("clientip", "@timestamp")
    assert dissect("%{clientip} %{?ident} %{} [%{@timestamp}]", "1.2.3.4 - - [30/Apr/1998]") == {
        "clientip": "1.2.3.4", "@timestamp": "30/Apr/1998",
    }


def test_dissect_first_occurrence_and_no_match() -> None:
    assert dissect("%{a},%{b}", "x,y,z") == {"a": "x", "b": "y,z"}
    assert dissect("%{a} - %{b}", "no separator") is None
    assert dissect("<%{a}>", "x <y>") is None  # literal prefix must be at the start


def test_dissect_regex_specials_are_literal() -> None:
    assert dissect("(%{a}) [%{b}] $%{c}.*", "(1) [2] $3.*") == {"a": "1", "b": "2", "c": "3"}


@pytest.mark.parametrize("pattern", ["no keys at all", "%{*ref} %{&ref}", "%{+x/abc}"])
def test_bad_dissect_patterns(pattern: str) -> None:
    with pytest.raises(DissectError):
        compile_dissect(pattern)
