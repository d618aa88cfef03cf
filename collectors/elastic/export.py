"""``huntbench es export-events``: a hunt's raw events, from the cluster to NDJSON files.

Online -> offline bridge: for every index or data stream the hunt's ``FROM`` patterns
match, the events in the time window are fetched with ES|QL (``FROM name | WHERE
@timestamp > now() - 7 days | SORT @timestamp | LIMIT 10000``) and written one document
per line, fields nested back into ECS objects, to ``DIR/<name>.ndjson`` (and the index
mapping to ``DIR/<name>.mapping``, for ``--mapping``) so the offline source reads them back
under the same index name and types.

ES|QL caps a response at 10,000 rows (``esql.query.result_truncation_max_size``) and has
no cursor, so pages are cut by time: when a page is full, rows at its last timestamp T
are held back and the next page starts at ``@timestamp >= T``; if a whole page shares one
timestamp, that instant is fetched on its own and the next page starts after it. The
window bound is ``now()`` on the cluster, as the hunt computes it, and the page bound a
query *parameter*. Multi-field sub-fields (``process.command_line.text``) are left out:
they are derived from their parent, as in ``_source``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from collectors.result import HuntbenchError

from .check import hunt_window
from .source import ElasticSource, index_names

PAGE = 10_000
_SINCE = re.compile(r"^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def since_window(text: str) -> str:
    """``--since 7d`` -> ``now() - 7 days`` (only digits and a unit reach the query)."""
    m = _SINCE.match(text)
    if not m or int(m.group(1)) == 0:
        raise HuntbenchError(f"--since {text!r}: expected a positive duration like 7d, 12h, 30m or 2w")
    return f"now() - {int(m.group(1))} {_UNITS[m.group(2)]}"


@dataclass
class IndexExport:
    name: str
    path: Path
    events: int = 0
    pages: int = 0
    mapping: Path | None = None
    notes: list[str] = field(default_factory=list)


def safe_file_name(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", name).lstrip(".")
    return cleaned or "index"


def nest(row: dict[str, Any], skip: set[str]) -> dict[str, Any]:
    """Dotted ES|QL columns -> an ECS document; nulls and derived sub-fields dropped."""
    doc: dict[str, Any] = {}
    flat = {k: v for k, v in row.items() if v is not None and k not in skip}
    for key, value in flat.items():
        node = doc
        parts = key.split(".")
        ok = True
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                ok = False
                break
            node = child
        if not ok or (parts[-1] in node and isinstance(node[parts[-1]], dict)):
            return flat  # a field is both a leaf and an object: keep dotted keys, lose nothing
        node[parts[-1]] = value
    return doc


def multi_fields(mapping: dict[str, Any]) -> set[str]:
    """Paths of multi-fields (``"fields": {...}`` sub-fields) in a mapping's properties."""
    found: set[str] = set()

    def walk(props: dict[str, Any], prefix: str) -> None:
        for name, spec in (props or {}).items():
            if not isinstance(spec, dict):
                continue
            path = f"{prefix}{name}"
            for sub in (spec.get("fields") or {}):
                found.add(f"{path}.{sub}")
            walk(spec.get("properties") or {}, path + ".")

    walk(mapping.get("properties") or {}, "")
    return found


def export_events(source: ElasticSource, hunt, out: Path, *, since: str | None = None,
                  progress: Callable[[str], None] | None = None, page_size: int = PAGE) -> list[IndexExport]:
    """Write the hunt's raw events to ``out``; refuses to overwrite an existing file."""
    window = since_window(since) if since else None
    if window is None:
        windows = [w for w in (hunt_window(q.text) for q in hunt.esql_queries) if w]
        if not windows:
            raise HuntbenchError(f"hunt {hunt.name!r} has no @timestamp window; give --since (e.g. 7d)")
        window = max(windows, key=_window_seconds)
    patterns = sorted({p for q in hunt.esql_queries for p in q.index_patterns})
    if not patterns:
        raise HuntbenchError(f"hunt {hunt.name!r} has no ES|QL query with a FROM to export")
    cluster = source.cluster
    resolved = cluster.call("index lookup", cluster.client.indices.resolve_index, name=",".join(patterns)).body
    names = sorted(set(index_names(resolved, cluster.settings.target, aliases=False)))
    if not names:
        raise HuntbenchError(f"no index or data stream on {cluster.settings.target} matches {', '.join(patterns)}")
    out.mkdir(parents=True, exist_ok=True)
    plans = [IndexExport(n, out / f"{safe_file_name(n)}.ndjson") for n in names]
    for plan in plans:
        for path in (plan.path, plan.path.with_suffix(".mapping")):
            if path.exists():
                raise HuntbenchError(f"{path} already exists; choose another --out folder or move it away")
    done = []
    for plan in plans:
        _export_one(source, plan, window, progress, page_size)
        done.append(plan)
    return done


def _window_seconds(window: str) -> float:
    m = re.search(r"(\d+)\s*([a-z]+)", window.split("-", 1)[1])
    assert m is not None  # hunt_window() only makes windows of this shape
    n, unit = int(m.group(1)), m.group(2).rstrip("s")
    return n * {"millisecond": 0.001, "second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800,
                "month": 2629800, "year": 31557600}.get(unit, 86400)


def _export_one(source: ElasticSource, plan: IndexExport, window: str, progress, page_size: int) -> None:
    cluster = source.cluster
    skip: set[str] = set()
    mapping: dict[str, Any] | None = None
    try:
        mappings = cluster.call("mapping lookup", cluster.client.indices.get_mapping, index=plan.name).body
        latest = sorted(mappings)[-1] if mappings else None
        if latest:
            mapping = mappings[latest].get("mappings", {})
            skip = multi_fields(mapping)
    except HuntbenchError as exc:
        plan.notes.append(f"mapping not exported ({exc})")
    base = f"from {plan.name}\n| where @timestamp > {window}"
    tmp = plan.path.with_name(plan.path.name + ".part")
    after: str | None = None  # page bound: >= after (inclusive) or > after (exclusive)
    inclusive = True
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            while True:
                if after is None:
                    query, params = base, None
                else:
                    op = ">=" if inclusive else ">"
                    query, params = f"{base} and @timestamp {op} to_datetime(?after)", {"after": after}
                page = source.quick(f"{query}\n| sort @timestamp asc\n| limit {page_size}", params)
                plan.pages += 1
                rows = page.rows_as_dicts()
                full = len(rows) >= page_size
                if full:
                    last = rows[-1].get("@timestamp")
                    keep = [r for r in rows if r.get("@timestamp") != last]
                    if not keep:  # a whole page at one instant: take that instant alone
                        same = source.quick(f"{base} and @timestamp == to_datetime(?at)\n| limit {page_size}",
                                            {"at": last})
                        keep = same.rows_as_dicts()
                        if len(keep) >= page_size:
                            plan.notes.append(f"more than {page_size} events at {last}: only {page_size} exported")
                        after, inclusive = last, False
                    else:
                        after, inclusive = last, True
                    rows = keep
                for row in rows:
                    fh.write(json.dumps(nest(row, skip), ensure_ascii=False) + "\n")
                plan.events += len(rows)
                if progress:
                    progress(f"{plan.name}: {plan.events:,} events ({plan.pages} page{'s' if plan.pages > 1 else ''})")
                if not full:
                    break
        os.replace(tmp, plan.path)
        if mapping is not None:  # written last: a failed export leaves nothing behind
            # ".mapping", not ".json": a --data folder loads every *.json as events
            plan.mapping = plan.path.with_suffix(".mapping")
            plan.mapping.write_text(json.dumps(mapping, indent=1), encoding="utf-8")
    finally:
        if tmp.exists():
            tmp.unlink()
