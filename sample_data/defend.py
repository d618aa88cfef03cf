"""Elastic Defend event documents: the nested ECS shape the endpoint writes.

Field sets follow Elastic's endpoint-package documentation
(``custom_documentation/doc/endpoint/file/linux/linux_file_create.md``,
``linux_file_rename.md`` and ``process/linux/linux_process_exec.md`` in
github.com/elastic/endpoint-package): ``event.category``/``event.type`` are arrays,
``data_stream.{type,dataset,namespace}`` name the index (``logs-endpoint.events.file-default``),
file events carry only the acting process's ``entity_id/executable/name/pid``, and process
events carry ``process.args``/``command_line`` plus the ``process.parent.*`` copy.
Defend joins ``process.args`` with single spaces, without quoting, to make ``command_line``.
(Defend also puts ``process.parent.entity_id`` on file events; huntbench's sample leaves
parent fields to process events only, as its spec asks.)
"""

from __future__ import annotations

import base64
import json
import random
import time
from dataclasses import dataclass, field
from functools import lru_cache

from sample_data.fleet import Host

ECS_VERSION = "8.11.0"
NAMESPACE = "default"

ROOT = {"id": "0", "name": "root"}
WINDOWS_SYSTEM = {"domain": "NT AUTHORITY", "id": "S-1-5-18", "name": "SYSTEM"}


def iso(ms: int) -> str:
    """Milliseconds since the epoch as Elasticsearch's ``strict_date_optional_time`` in UTC."""
    seconds, millis = divmod(ms, 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


@lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    t = time.gmtime(seconds)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"


def parse_iso(text: str) -> int:
    """The inverse of :func:`iso` (only that exact format)."""
    import calendar

    head, millis = text.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(millis)


def event_id(rng: random.Random) -> str:
    """A Defend-style ``event.id`` (24 base64 characters)."""
    return base64.b64encode(rng.getrandbits(144).to_bytes(18, "big")).decode()


@dataclass
class Proc:
    """A process as Defend describes it; ``parent`` is only used for process events."""

    host: Host
    pid: int
    executable: str
    args: list[str]
    start_ms: int
    user: dict = field(default_factory=lambda: ROOT)
    working_directory: str = "/"
    parent: "Proc | None" = None
    name: str = ""
    entity_id: str = ""
    _summary: dict | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            self.name = self.executable.replace("\\", "/").rsplit("/", 1)[-1]
        if not self.entity_id:
            raw = f"{self.host.agent_id}-{self.pid}-{self.start_ms // 1000}.{self.start_ms % 1000:03d}"
            self.entity_id = base64.b64encode(raw.encode()).decode()

    @property
    def command_line(self) -> str:
        return " ".join(self.args)

    def summary(self) -> dict:
        """The ``process.parent`` object Defend copies from the parent process (built once)."""
        if self._summary is None:
            self._summary = self._build_summary()
        return self._summary

    def _build_summary(self) -> dict:
        return {
            "args": list(self.args),
            "args_count": len(self.args),
            "command_line": self.command_line,
            "entity_id": self.entity_id,
            "executable": self.executable,
            "name": self.name,
            "pid": self.pid,
        }


_DATA_STREAMS = {ds: {"dataset": ds, "namespace": NAMESPACE, "type": "logs"}
                 for ds in ("endpoint.events.file", "endpoint.events.process")}
_ECS = {"version": ECS_VERSION}


def _base(host: Host, ms: int, dataset: str, action: str, category: str, types: list[str],
          rng: random.Random, message: str) -> dict:
    stamp = iso(ms)
    return {
        "@timestamp": stamp,
        "agent": host.agent_doc,
        "data_stream": _DATA_STREAMS[dataset],
        "ecs": _ECS,
        "elastic": host.elastic_doc,
        "event": {
            "action": action,
            "category": [category],
            "created": stamp,
            "dataset": dataset,
            "id": event_id(rng),
            "kind": "event",
            "module": "endpoint",
            "outcome": "success",
            "sequence": rng.getrandbits(24),
            "type": types,
        },
        "host": host.doc,
        "message": message,
    }


FILE_TYPES = {
    "creation": ["creation"],
    "rename": ["change"],
    "modification": ["change"],
    "overwrite": ["change"],
    "deletion": ["deletion"],
}


def file_event(ms: int, action: str, path: str, proc: Proc, rng: random.Random, *,
               original_path: str | None = None, size: int | None = None) -> dict:
    """A file event written by ``proc`` (``event.action`` creation/rename/modification/deletion)."""
    doc = _base(proc.host, ms, "endpoint.events.file", action, "file", FILE_TYPES[action], rng,
                "Endpoint file event")
    sep = "\\" if proc.host.os_type == "windows" else "/"
    name = path.rsplit(sep, 1)[-1]
    file: dict = {}
    if original_path is not None:
        original_name = original_path.rsplit(sep, 1)[-1]
        original: dict = {"name": original_name, "path": original_path}
        if "." in original_name.lstrip("."):
            original = {"extension": original_name.rsplit(".", 1)[-1], **original}
        file["Ext"] = {"original": original}
    if "." in name.lstrip("."):
        file["extension"] = name.rsplit(".", 1)[-1]
    file["name"] = name
    file["path"] = path
    if size is not None:
        file["size"] = size
    doc["file"] = file
    doc["group"] = _group(proc)
    doc["process"] = {"entity_id": proc.entity_id, "executable": proc.executable,
                      "name": proc.name, "pid": proc.pid}
    doc["user"] = proc.user
    return doc


_WINDOWS_GROUP = {"id": "S-1-5-18", "name": "SYSTEM"}
_groups: dict[tuple[str, str], dict] = {}


def _group(proc: Proc) -> dict:
    """The user's primary group (same id and name as the user on these hosts); shared."""
    if proc.host.os_type == "windows":
        return _WINDOWS_GROUP
    key = (proc.user["id"], proc.user["name"])
    group = _groups.get(key)
    if group is None:
        group = _groups[key] = {"id": key[0], "name": key[1]}
    return group


def _process_doc(proc: Proc) -> dict:
    doc = {
        "args": list(proc.args),
        "args_count": len(proc.args),
        "command_line": proc.command_line,
        "entity_id": proc.entity_id,
        "executable": proc.executable,
        "name": proc.name,
    }
    if proc.parent is not None:
        doc["parent"] = proc.parent.summary()
    doc["pid"] = proc.pid
    doc["working_directory"] = proc.working_directory
    return doc


def process_start(ms: int, proc: Proc, rng: random.Random, *, action: str | None = None) -> dict:
    """A process start: ``exec`` on Linux/macOS (``fork`` when asked), ``start`` on Windows."""
    if action is None:
        action = "start" if proc.host.os_type == "windows" else "exec"
    doc = _base(proc.host, ms, "endpoint.events.process", action, "process", ["start"], rng,
                "Endpoint process event")
    doc["group"] = _group(proc)
    doc["process"] = _process_doc(proc)
    doc["user"] = proc.user
    return doc


def process_end(ms: int, proc: Proc, rng: random.Random, exit_code: int = 0) -> dict:
    """A process end event (``event.type`` ["end"])."""
    doc = _base(proc.host, ms, "endpoint.events.process", "end", "process", ["end"], rng,
                "Endpoint process event")
    doc["group"] = _group(proc)
    process = _process_doc(proc)
    process["end"] = iso(ms)
    process["exit_code"] = exit_code
    doc["process"] = dict(sorted(process.items()))
    doc["user"] = proc.user
    return doc


TOP_KEYS = ("@timestamp", "agent", "data_stream", "ecs", "elastic", "event", "file", "group",
            "host", "message", "process", "user")
# Objects shared between many events (per host, per user, constants): encoded once.
_SHARED = frozenset(("agent", "data_stream", "ecs", "elastic", "group", "host", "message", "user"))
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_cache: dict[int, tuple[object, str]] = {}
_EVENT_KEYS = ["action", "category", "created", "dataset", "id", "kind", "module", "outcome",
               "sequence", "type"]


def _cached(value: object) -> str:
    hit = _cache.get(id(value))
    if hit is None or hit[0] is not value:
        if len(_cache) > 4096:
            _cache.clear()
        hit = _cache[id(value)] = (value, _encode(value))
    return hit[1]


def _event_json(event: dict) -> str:
    """``event`` holds only generator-chosen ASCII words, so it is formatted directly."""
    if list(event) != _EVENT_KEYS or len(event["category"]) != 1 or len(event["type"]) != 1:
        return _encode(event)
    return (f'{{"action":"{event["action"]}","category":["{event["category"][0]}"],'
            f'"created":"{event["created"]}","dataset":"{event["dataset"]}","id":"{event["id"]}",'
            f'"kind":"{event["kind"]}","module":"{event["module"]}","outcome":"{event["outcome"]}",'
            f'"sequence":{event["sequence"]:d},"type":["{event["type"][0]}"]}}')


def _process_json(process: dict) -> str:
    """``process`` with its ``parent`` object spliced in from the cache (parents are shared
    by all their children's events)."""
    parent = process.get("parent")
    if parent is None:
        return _encode(process)
    head = {}
    tail = {}
    for key, value in process.items():
        if key < "parent":
            head[key] = value
        elif key > "parent":
            tail[key] = value
    text = _encode(head)[:-1] + ',"parent":' + _cached(parent)
    return text + ("," + _encode(tail)[1:] if tail else "}")


def to_json(doc: dict) -> str:
    """One NDJSON line (without newline) with keys in sorted order at every level.

    Every builder above creates nested objects with their keys already in sorted order, so
    only the top level is ordered here.  Shared objects are encoded once and ``event`` is
    formatted directly, which keeps millions of events fast; the tests parse every line
    and check the key order.
    """
    parts = [f'"@timestamp":"{doc["@timestamp"]}"']
    for key in TOP_KEYS[1:]:
        if key not in doc:
            continue
        value = doc[key]
        if key in _SHARED:
            text = _cached(value)
        elif key == "event":
            text = _event_json(value)
        elif key == "process":
            text = _process_json(value)
        else:
            text = _encode(value)
        parts.append(f'"{key}":{text}')
    return "{" + ",".join(parts) + "}"
