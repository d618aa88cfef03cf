"""The answer key: what the seed hunt's queries and pivots must return on the sample.

Computed while the generator writes events, from its own model (each event carries a label
that is never written out), by evaluating the hunt's filters and aggregations directly in
Python.  No ES|QL engine is involved, so the key can judge one.

Semantics followed (Elasticsearch ES|QL reference: "LIKE", "Multivalued fields", "STATS",
"Three-valued logic"): ``LIKE`` patterns use ``*`` (any run of characters, newlines
included) and ``?`` (one character), are case-sensitive and must match the whole value;
``_`` and ``%`` are literal.  A comparison or ``LIKE`` on a missing (null) field is null, and
on a multi-valued field is null too (single-element arrays count as a single value); ``WHERE``
keeps only rows whose condition is true.  ``count(*)`` counts rows; ``count_distinct`` is exact
at these cardinalities.  Index patterns match the data-stream name
``{type}-{dataset}-{namespace}``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sample_data.defend import iso

DAY_MS = 86_400_000
LIMIT = 100
PIVOT_LIMIT = 1000

Q0_COLUMNS = [("cc", "long"), ("agent_count", "long"), ("file.name", "keyword"),
              ("process.executable", "keyword")]
Q1_COLUMNS = [("cc", "long"), ("agent_count", "long"), ("process.executable", "keyword"),
              ("process.command_line", "keyword")]
AGENTS_COLUMNS = [("events", "long"), ("first_seen", "date"), ("last_seen", "date"),
                  ("agent.id", "keyword"), ("host.name", "keyword")]
SCRIPT_COLUMNS = [("@timestamp", "date"), ("host.name", "keyword"), ("user.name", "keyword"),
                  ("process.parent.executable", "keyword"), ("process.parent.command_line", "keyword"),
                  ("process.executable", "keyword"), ("process.command_line", "keyword")]


@lru_cache(maxsize=None)
def _pattern(pattern: str) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def _value(doc: dict, path: str):
    """A field as ES|QL sees it: nested lookup; [x] -> x; [] -> null; [x, y] -> MV marker."""
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, list):
        if not node:
            return None
        return node[0] if len(node) == 1 else _MV
    return node


_MV = object()


def like(value, pattern: str) -> bool | None:
    if value is None or value is _MV:
        return None
    return _pattern(pattern).fullmatch(value) is not None


def eq(value, literal) -> bool | None:
    if value is None or value is _MV:
        return None
    return value == literal


def any_of(*values: bool | None) -> bool | None:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


def all_of(*values: bool | None) -> bool | None:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def negate(value: bool | None) -> bool | None:
    return None if value is None else not value


def index_name(doc: dict) -> str:
    ds = doc.get("data_stream", {})
    return f"{ds.get('type')}-{ds.get('dataset')}-{ds.get('namespace')}"


def q0_match(doc: dict, cutoff_ms: int, ms: int) -> bool:
    """Query 0's FROM and WHERE clauses."""
    if not like(index_name(doc), "logs-endpoint.events.file-*") or not ms > cutoff_ms:
        return False
    name = _value(doc, "file.name")
    path = _value(doc, "file.path")
    action = _value(doc, "event.action")
    return all_of(
        eq(_value(doc, "host.os.type"), "linux"),
        any_of(eq(action, "rename"), eq(action, "creation")),
        any_of(like(path, "/var/lib/dpkg/info/*"), like(path, "/var/lib/rpm/*")),
        negate(any_of(like(name, "*-new"), like(name, "__db*.*"), like(name, "*.list"),
                      like(name, "*.md5sums*"))),
    ) is True


def script_child(doc: dict) -> bool | None:
    """The process filter shared by query 1 and the pivots (start/exec under a dpkg/rpm script)."""
    return all_of(
        eq(_value(doc, "event.type"), "start"),
        eq(_value(doc, "event.action"), "exec"),
        any_of(like(_value(doc, "process.parent.command_line"), "*/var/tmp/rpm-tmp.*"),
               like(_value(doc, "process.parent.executable"), "/var/lib/dpkg/info/*")),
    )


def q1_match(doc: dict, cutoff_ms: int, ms: int) -> bool:
    """Query 1's FROM and WHERE clauses."""
    if not like(index_name(doc), "logs-endpoint.events.process-*") or not ms > cutoff_ms:
        return False
    return all_of(eq(_value(doc, "host.os.type"), "linux"), script_child(doc)) is True


def candidate(doc: dict) -> bool:
    """Cheap necessary condition for any of the hunt's filters (their path LIKEs are prefixes;
    the script filter needs a parent); the full check runs only on what passes."""
    if "file" in doc:
        path = doc["file"].get("path")
        return isinstance(path, str) and path.startswith(("/var/lib/dpkg/info/", "/var/lib/rpm/"))
    parent = doc.get("process", {}).get("parent")
    if parent is None:
        return False
    command_line = parent.get("command_line")
    executable = parent.get("executable")
    return bool((isinstance(command_line, str) and "/var/tmp/rpm-tmp." in command_line)
                or (isinstance(executable, str) and executable.startswith("/var/lib/dpkg/info/")))


class _Group:
    __slots__ = ("count", "agents", "labels")

    def __init__(self) -> None:
        self.count = 0
        self.agents: dict[tuple, list] = {}
        self.labels: set[str] = set()

    def add(self, doc: dict, ms: int, label: str) -> None:
        self.count += 1
        self.labels.add(label)
        key = (_value(doc, "agent.id"), _value(doc, "host.name"))
        seen = self.agents.get(key)
        if seen is None:
            self.agents[key] = [1, ms, ms]
        else:
            seen[0] += 1
            seen[1] = min(seen[1], ms)
            seen[2] = max(seen[2], ms)


def row_label(labels: set[str], where: str) -> str:
    """One label for a result row; a row mixing two stories is a generator bug."""
    planted = sorted(label for label in labels if label.startswith("planted:"))
    decoys = sorted(label for label in labels if label.startswith("decoy:"))
    if decoys or len(planted) > 1 or (planted and labels - set(planted)):
        raise AssertionError(f"answer key: {where} mixes labels {sorted(labels)}")
    if planted:
        return planted[0]
    if "hostile" in labels:
        if labels != {"hostile"}:
            raise AssertionError(f"answer key: {where} mixes labels {sorted(labels)}")
        return "hostile"
    return "benign"


class AnswerKey:
    """Feed every written event (in time order) to :meth:`add`; :meth:`result` is the key."""

    def __init__(self, capture_ms: int, watch_agents: set[str]) -> None:
        self.capture_ms = capture_ms
        self.cutoff_ms = capture_ms - 7 * DAY_MS
        self.q0: dict[tuple, _Group] = {}
        self.q1: dict[tuple, _Group] = {}
        self.watch = watch_agents
        self.scripts: dict[str, list] = {agent: [] for agent in sorted(watch_agents)}
        self.script_totals: dict[str, int] = {agent: 0 for agent in watch_agents}

    def add(self, ms: int, doc: dict, label: str) -> None:
        if not candidate(doc):
            return
        if q0_match(doc, self.cutoff_ms, ms):
            key = (_value(doc, "file.name"), _value(doc, "process.executable"))
            self.q0.setdefault(key, _Group()).add(doc, ms, label)
        elif q1_match(doc, self.cutoff_ms, ms):
            key = (_value(doc, "process.executable"), _value(doc, "process.command_line"))
            self.q1.setdefault(key, _Group()).add(doc, ms, label)
        agent = _value(doc, "agent.id")
        if agent in self.watch and ms > self.cutoff_ms \
                and like(index_name(doc), "logs-endpoint.events.process-*") and script_child(doc) is True:
            self.script_totals[agent] += 1
            rows = self.scripts[agent]
            if len(rows) < PIVOT_LIMIT:
                values = [iso(ms)] + [_value(doc, name) for name, _ in SCRIPT_COLUMNS[1:]]
                rows.append({"values": values, "label": label})

    def _query(self, groups: dict[tuple, _Group], columns, where: str) -> dict:
        rare = [(g.count, len({a for a, _ in g.agents}), key, g) for key, g in groups.items()
                if len({a for a, _ in g.agents}) <= 3]
        rare.sort(key=lambda r: (r[0], [("" if v is None else v) for v in r[2]]))
        if len(rare) > LIMIT:
            raise AssertionError(f"answer key: {where} has {len(rare)} rare rows; LIMIT {LIMIT} would cut ties")
        rows = []
        for cc, agent_count, key, group in rare:
            agents = sorted(([n, iso(first), iso(last), agent, host]
                             for (agent, host), (n, first, last) in group.agents.items()),
                            key=lambda r: (r[0], r[3]))
            rows.append({"values": [cc, agent_count, *key],
                         "label": row_label(group.labels, f"{where} row {key!r}"),
                         "pivot_agents": agents})
        return {"columns": [{"name": n, "type": t} for n, t in columns], "rows": rows,
                "order": "cc ascending; rows with equal cc may come in any order"}

    def result(self) -> dict:
        queries = [self._query(self.q0, Q0_COLUMNS, "query 0"), self._query(self.q1, Q1_COLUMNS, "query 1")]
        for number, query in enumerate(queries):
            query["index"] = number
        seen_agents = {row["pivot_agents"][i][3] for q in queries for row in q["rows"]
                       for i in range(len(row["pivot_agents"]))}
        missing = seen_agents - self.watch
        if missing:
            raise AssertionError(f"answer key: rare rows on unexpected agents {sorted(missing)}")
        script_pivot = {
            agent: {"row_count": self.script_totals[agent], "rows": self.scripts[agent]}
            for agent in sorted(seen_agents)
        }

        def cols(spec):
            return [{"name": n, "type": t} for n, t in spec]

        return {"queries": queries, "pivots": {
            "agents_for_file": {
                "columns": cols(AGENTS_COLUMNS),
                "results": "queries[0].rows[*].pivot_agents, with file_name = file.name and "
                           "process_executable = process.executable of that row"},
            "agents_for_command": {
                "columns": cols(AGENTS_COLUMNS),
                "results": "queries[1].rows[*].pivot_agents, with process_executable = process.executable "
                           "and process_command_line = process.command_line of that row"},
            "agent_script_commands": {
                "columns": cols(SCRIPT_COLUMNS),
                "results": f"by_agent[agent_id]: row_count before LIMIT {PIVOT_LIMIT}, rows = the first "
                           f"{PIVOT_LIMIT} by @timestamp ascending",
                "by_agent": script_pivot},
        }}
