"""What a result printed with ``--format json`` tells ``case tag`` about where it came from.

The workbench records a finding with its investigation (pivot path, hosts and agents behind
it, event times, source; see tui/finding_context.py). A responder who scripts the same hunt
-- ``huntbench hunt run --format json | huntbench case tag --from-json -`` -- must get the
same deliverable, so each result object carries, next to its ``columns``/``values``
(additive keys; older readers ignore them):

* ``hunt``: ``{"uuid", "name", "mitre", "path"}`` of the hunt the query belongs to;
* ``label``: the query as the UI labels it (``Q1``, ``Local scan``);
* ``text`` (and ``params``): the ES|QL that ran, which the general "events behind this
  row" lookup narrows when the hunt declares no pivot for the query;
* ``source``: ``{"kind", "description", ...}`` -- the description as the workbench records
  it (cluster URL without credentials, export files, the sample, the host or image a scan
  read) and what reopening it takes: the data files (absolute), ``sample``, a cluster's
  ``profile``; never a credential;
* ``now``: the end of the query's time window, when it has one (offline data reads
  ``now()`` as this again at tag time, so the lookup sees the same events).

``case tag`` reads these as defaults and, for rows that name no host or agent (a Q1 rare
file), runs the hunt's declared pivot through the same source, reopened here, with the
workbench's own code (:func:`tui.finding_context.resolve_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from collectors.interface import HuntbenchError, Language, QueryResult, Source, SourceKind
from collectors.sources import OfflineSource, SourceOptions
from hunts import Hunt
from hunts.library import HuntQuery
from tui.finding_context import local_scan_host, local_scan_source, resolve_rows
from tui.model import View
from tui.window import find_window

LOCAL_SCAN = "Local scan"
SAMPLE_LABEL = "sample data (bundled, offline)"


# ---------------------------------------------------------------- what the producers print
def _iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def hunt_json(hunt: Hunt) -> dict[str, Any]:
    return {"uuid": hunt.uuid, "name": hunt.name, "mitre": list(hunt.mitre), "path": str(Path(hunt.path).absolute())}


def esql_source_json(source: Source) -> dict[str, Any]:
    """The ES|QL source as ``case tag`` records it and reopens it (no credentials)."""
    out: dict[str, Any] = {"kind": str(source.kind), "description": source.describe()}
    if isinstance(source, OfflineSource):
        if source.label == SAMPLE_LABEL:
            out["sample"] = True
        else:
            out["data"] = [{"path": str(spec.path.absolute()), "index": spec.index} for spec in source.specs]
            out["mappings"] = {index: str(path.absolute()) for index, path in source.mappings.items()}
    else:
        settings = getattr(source, "settings", None)
        profile = getattr(settings, "profile", None)
        if profile:
            out["profile"] = profile
    return out


def _window_end(source: Source, text: str, language: str) -> str | None:
    if find_window(text, language) is None:
        return None
    now = getattr(source, "effective_now", None)
    return _iso(now() if callable(now) else datetime.now(timezone.utc))


def esql_context(source: Source, source_json: Mapping[str, Any], text: str, *,
                 hunt: Hunt | None = None, query: HuntQuery | None = None,
                 params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The keys ``hunt run``/``esql --format json`` add to one result object."""
    out: dict[str, Any] = {}
    if hunt is not None:
        out["hunt"] = hunt_json(hunt)
    if query is not None:
        out["label"] = f"Q{query.index + 1}"
    out["source"] = dict(source_json)
    out["text"] = text
    if params:
        out["params"] = dict(params)
    end = _window_end(source, text, Language.ESQL)
    if end:
        out["now"] = end
    return out


def scan_context(source: Source, text: str, root: str | Path | None, now: datetime | None, *,
                 hunt: Hunt | None = None) -> dict[str, Any]:
    """The keys ``scan``/``osquery --format json`` add: the host or image the scan read."""
    described = local_scan_source(source.describe(), root)
    out: dict[str, Any] = {"label": LOCAL_SCAN}
    if hunt is not None:
        out["hunt"] = hunt_json(hunt)
    source_json: dict[str, Any] = {"kind": SourceKind.OSQUERY.value, "description": described}
    host = local_scan_host(root)
    if host:
        source_json["host"] = host
    if root is not None:
        source_json["root"] = str(Path(root).absolute())
    out["source"] = source_json
    if find_window(text, Language.OSQUERY) is not None:
        out["now"] = _iso(now or datetime.now(timezone.utc))
    return out


# ---------------------------------------------------------------- what case tag reads
def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


@dataclass
class Given:
    """A result's provenance keys, each checked for its type (the JSON may come from anywhere)."""

    hunt_uuid: str | None = None
    hunt_name: str | None = None
    mitre: list[str] = field(default_factory=list)
    hunt_path: str | None = None
    label: str | None = None
    text: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    now: str | None = None

    @classmethod
    def read(cls, extra: Mapping[str, Any]) -> "Given":
        given = cls()
        hunt = extra.get("hunt")
        if isinstance(hunt, dict):
            given.hunt_uuid = _text(hunt.get("uuid"))
            given.hunt_name = _text(hunt.get("name"))
            mitre = hunt.get("mitre")
            given.mitre = [m for m in mitre if isinstance(m, str)] if isinstance(mitre, list) else []
            given.hunt_path = _text(hunt.get("path"))
        given.label = _text(extra.get("label"))
        given.text = _text(extra.get("text"))
        params = extra.get("params")
        given.params = dict(params) if isinstance(params, dict) else {}
        source = extra.get("source")
        given.source = dict(source) if isinstance(source, dict) else {}
        given.now = _text(extra.get("now"))
        return given

    @property
    def description(self) -> str | None:
        return _text(self.source.get("description"))

    @property
    def kind(self) -> str | None:
        kind = self.source.get("kind")
        return kind if kind in {k.value for k in SourceKind} else None

    @property
    def default_hosts(self) -> list[str]:
        """The host a local scan read (what every row of it is about)."""
        host = _text(self.source.get("host")) if self.kind == SourceKind.OSQUERY.value else None
        return [host] if host else []


class Unavailable(Exception):
    """The rows' source cannot be opened again here (the reason, one line)."""


def reopen(given: Given) -> Source:
    """The ES|QL source the rows came from, opened again: the sample, the same data files,
    or the cluster this environment/config names -- only when it is the same cluster
    (credentials are never taken from the JSON, nor sent to an address it names)."""
    from collectors.sources import DataSpec, open_cluster, parse_now, sample_source

    source = given.source
    try:
        now = parse_now(given.now) if given.now else None
    except HuntbenchError:
        now = None
    if given.kind == SourceKind.OFFLINE.value:
        if source.get("sample") is True:
            return sample_source(now)
        data = source.get("data")
        if not isinstance(data, list) or not data:
            raise Unavailable("the JSON names no data files")
        specs = []
        for item in data:
            path = _text(item.get("path")) if isinstance(item, dict) else None
            if path is None:
                raise Unavailable("a data entry names no path")
            if not Path(path).exists():
                raise Unavailable(f"{path} is not there any more")
            index = item.get("index")
            specs.append(DataSpec(Path(path), index if isinstance(index, str) and index else None))
        mappings = source.get("mappings") if isinstance(source.get("mappings"), dict) else {}
        maps = {str(k): Path(v) for k, v in (mappings or {}).items() if isinstance(v, str)}
        return OfflineSource(specs, maps, now)
    if given.kind == SourceKind.ELASTIC.value:
        profile = _text(source.get("profile"))
        try:
            cluster = open_cluster(SourceOptions(profile=profile))
        except HuntbenchError as exc:
            raise Unavailable(f"no cluster to ask ({exc})") from None
        if cluster.describe() != given.description:
            raise Unavailable(f"the cluster configured here ({cluster.describe()}) is not the one the rows came from")
        return cluster
    raise Unavailable("the JSON does not say which source the rows came from")


def _names_host(row: Mapping[str, Any]) -> bool:
    return any(row.get(f) not in (None, [], "") for f in ("host.name", "agent.id"))


@dataclass
class Resolution:
    """What :func:`resolve` found: one context (or None) per row, and what to tell."""

    resolved: list[dict[str, Any] | None] | None
    notices: list[str] = field(default_factory=list)
    missing: int = 0
    """Rows naming no host that are tagged without one."""
    reason: str | None = None


class SourceCache:
    """Each source opened once per ``case tag`` run (several results share one)."""

    def __init__(self) -> None:
        self._opened: dict[str, Source | Unavailable] = {}

    def get(self, given: Given) -> Source:
        import json

        key = json.dumps([given.source, given.now], sort_keys=True, default=str)
        if key not in self._opened:
            try:
                self._opened[key] = reopen(given)
            except Unavailable as exc:
                self._opened[key] = exc
        found = self._opened[key]
        if isinstance(found, Unavailable):
            raise found
        return found


def resolve(rows: Sequence[Mapping[str, Any]], given: Given, hunt: Hunt | None, query: int | str | None,
            steps: Sequence[Mapping[str, Any]], language: str | None, sources: SourceCache) -> Resolution:
    """Hosts, agents and first/last seen behind rows that name none, as the workbench finds
    them (the hunt's declared pivot, else the events behind the STATS row), run through the
    rows' own source with the row's values as query parameters."""
    needing = sum(1 for r in rows if not _names_host(r))
    if not needing or given.kind == SourceKind.OSQUERY.value or language == Language.OSQUERY:
        return Resolution(None)
    text = given.text
    if text is None and hunt is not None and isinstance(query, int):
        text = next((q.text for q in hunt.queries if q.index == query), None)
    if text is None:
        return Resolution(None, missing=needing, reason="the JSON does not carry the query")
    try:
        source = sources.get(given)
    except Unavailable as exc:
        return Resolution(None, missing=needing, reason=str(exc))
    name = f"query:{query}" if isinstance(query, int) else str(query or "query")
    view = View(name=name, title=given.label or name, query=text, params=dict(given.params),
                case_query=query)

    def run(q: str, params: Mapping[str, Any]) -> QueryResult:
        return source.run(q, {**given.params, **dict(params)} or None)

    resolved, notices = resolve_rows(hunt, view, rows, steps, run)
    missing = sum(1 for r, c in zip(rows, resolved) if c is None and not _names_host(r))
    return Resolution(resolved, notices, missing, "the lookup found no host for them" if missing else None)
