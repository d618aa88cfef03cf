"""``huntbench es check``: can this cluster run this hunt? One line per check.

Checks, in order (a failed connection skips the rest): reachable (``GET /``), who we are
(``GET /_security/_authenticate``), a version with ES|QL (8.11+, where ES|QL appeared as
technical preview; serverless always has it), and for each ES|QL query of the hunt: do
its ``FROM`` patterns match indices or data streams (``GET /_resolve/index/{patterns}``),
and how many documents fall in the hunt's time window (one ``STATS COUNT(*)`` ES|QL
request, counted by the cluster, never by pulling events).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Mapping

from collectors.result import HuntbenchError

from .source import ElasticSource, answer_body, index_names

_WINDOW = re.compile(r"@timestamp\s*>=?\s*now\(\)\s*-\s*(\d+)\s*([a-z]+)", re.IGNORECASE)
MIN_ESQL = (8, 11)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    hint: str = ""

    def line(self) -> str:
        mark = "PASS" if self.ok else "FAIL"
        text = f"{mark}  {self.name}: {self.detail}"
        return text + (f"  (hint: {self.hint})" if self.hint and not self.ok else "")


def hunt_window(text: str) -> str | None:
    """``now() - 7 days`` as written in a hunt query, or None when it has no window."""
    m = _WINDOW.search(text)
    return f"now() - {m.group(1)} {m.group(2)}" if m else None


def _version_tuple(number: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", number)[:3])


def run_checks(source: ElasticSource, hunt=None, emit: Callable[[Check], None] | None = None) -> list[Check]:
    """Run every check; ``emit`` sees each one as soon as it is known."""
    checks: list[Check] = []

    def add(check: Check) -> None:
        checks.append(check)
        if emit:
            emit(check)

    cluster = source.cluster
    s = cluster.settings
    try:
        info = answer_body(cluster.call("connection check", cluster.client.info).body, s.target, "connection check")
    except HuntbenchError as exc:
        text = str(exc)
        if text.startswith("401"):
            add(Check("reachable", True, f"{s.target} answered (and asked for credentials)"))
            add(Check("authenticated", False, text,
                      "set ELASTIC_API_KEY (or ELASTIC_USERNAME + ELASTIC_PASSWORD), or api_key in the profile"))
            return checks
        if not text.startswith("403"):
            add(Check("reachable", False, text, _connect_hint(text)))
            return checks
        info = {"version": {}}  # reachable, but the user may not read cluster info
    version = info.get("version") or {}
    if not isinstance(version, Mapping):
        version = {}
    if version:
        add(Check("reachable", True, f"{s.target}: cluster {info.get('cluster_name', '?')}, "
                                     f"Elasticsearch {version.get('number', '?')}"))
    else:
        add(Check("reachable", True, f"{s.target} answered (this user may not read the cluster's info)"))
    try:
        who = answer_body(cluster.call("authentication check", cluster.client.security.authenticate).body,
                          s.target, "authentication check")
        how = who.get("api_key", {}).get("name") if who.get("api_key") else None
        realm = (who.get("authentication_realm") or {}).get("name", "?")
        detail = f"as {who.get('username', '?')}" + (f" with API key {how!r}" if how else f" (realm {realm})")
        add(Check("authenticated", True, f"{detail}; credentials: {s.credential_label}"))
    except HuntbenchError as exc:
        text = str(exc)
        if "Security must be explicitly enabled" in text or "security is not enabled" in text.lower():
            add(Check("authenticated", True, "security is disabled on this cluster (no login needed)"))
        else:
            add(Check("authenticated", False, text,
                      "set ELASTIC_API_KEY (or ELASTIC_USERNAME + ELASTIC_PASSWORD), or api_key in the profile"))
    flavor = version.get("build_flavor")
    number = str(version.get("number", "0"))
    if not version:
        add(Check("ES|QL", True, "version unknown (no monitor privilege to read it); the queries below will tell"))
    elif flavor == "serverless" or _version_tuple(number) >= MIN_ESQL:
        add(Check("ES|QL", True, f"Elasticsearch {number} supports ES|QL"
                                 + ("" if _version_tuple(number) >= (8, 13) or flavor == "serverless" else " (no async API: long queries cannot be cancelled)")))
    else:
        add(Check("ES|QL", False, f"Elasticsearch {number} has no ES|QL (needs 8.11 or later)",
                  "upgrade the cluster, or export the events and hunt offline with --data"))
        return checks
    if hunt is None:
        return checks
    for q in hunt.esql_queries:
        patterns = q.index_patterns
        label = f"query {q.index} FROM {', '.join(patterns)}"
        try:
            resolved = cluster.call("index lookup", cluster.client.indices.resolve_index, name=",".join(patterns)).body
            names = index_names(resolved, s.target)
        except HuntbenchError as exc:
            add(Check(f"{label} indices", False, str(exc), "the user needs view_index_metadata on these indices"))
            continue
        if not names:
            add(Check(f"{label} indices", False, "no index or data stream matches",
                      "is the integration (e.g. Elastic Defend) shipping these events, and may this user read them?"))
            continue
        shown = ", ".join(sorted(names)[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")
        add(Check(f"{label} indices", True, f"{len(names)} match: {shown}"))
        window = hunt_window(q.text)
        where = f"| where @timestamp > {window}\n" if window else ""
        count_query = f"from {', '.join(patterns)}\n{where}| stats docs = count(*)"
        try:
            result = source.quick(count_query)
            docs = result.values[0][0] if result.values else 0
        except HuntbenchError as exc:
            add(Check(f"{label} documents", False, str(exc), "the user needs the read privilege on these indices"))
            continue
        span = f"since {window}" if window else "in all time"
        if docs:
            add(Check(f"{label} documents", True, f"{docs:,} {span}"))
        else:
            add(Check(f"{label} documents", False, f"0 {span}",
                      "the hunt will find nothing: are events arriving? is the cluster clock right?"))
    return checks


def _connect_hint(text: str) -> str:
    if "TLS" in text:
        return "pass --ca-certs PATH with the cluster's CA"
    if "401" in text:
        return "check the API key or user/password"
    if "DNS" in text or "refused" in text:
        return "check --es-url / ELASTICSEARCH_URL / the profile's url"
    return "check the URL and that the cluster is up"
