"""Generate the bundled sample (or a bigger one for benchmarks), its manifest and answer key.

    python -m sample_data.generate                       # rewrite the bundled files, byte for byte
    python -m sample_data.generate --events 1000000 --out /tmp/big [--plain]

Deterministic: every random choice comes from ``--seed``; the capture time is fixed; no
wall clock, hash order or dict-order dependence; JSON keys are sorted; gzip is written with
mtime 0 and no file name.  Streaming: routine upgrade waves and the story are planned up
front (a few numbers each), then expanded one episode at a time and merged by timestamp
with the evenly spread background noise, so memory stays flat at millions of events.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import heapq
import io
import json
import os
import random
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from sample_data import story
from sample_data.answer_key import AnswerKey
from sample_data.background import Prebuilt, background
from sample_data.defend import iso, parse_iso, to_json
from sample_data.fleet import Host, build_fleet, by_name, upgrade_groups
from sample_data.packages import (
    BENIGN,
    DEB_CATALOG,
    RPM_CATALOG,
    Event,
    deb_event_count,
    deb_transaction,
    rpm_event_count,
    rpm_transaction,
    versioned,
)

CAPTURE_TIME = "2026-11-16T09:00:00.000Z"
DEFAULT_EVENTS = 12_000
DEFAULT_SEED = 7
DATA_NAME = "endpoint-events.ndjson"
WINDOW_DAYS = 10
WAVE_SHARE = 0.3  # share of events from routine package upgrades
WAVE_SPREAD_MS = 90 * 60_000  # hosts of one wave upgrade within 90 minutes
HUNT_UUID = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"
HUNT_NAME = "Persistence via DPKG/RPM Package"
GENERATOR_VERSION = 1

Episode = tuple[int, str, Callable[[random.Random, list[Event]], object], int | None]
Wave = tuple[int, str, Callable[[random.Random, list[Event]], object], int]


def _wave(hosts: list[Host], group: str, start: int, packages: list, rng_seed: str) -> Wave:
    """One routine upgrade: the same packages on several hosts of one release group."""

    def build(rng: random.Random, out: list[Event]) -> None:
        for host in hosts:
            at = start + rng.randrange(WAVE_SPREAD_MS)
            if group in ("el8", "el9"):
                rpm_transaction(host, at, packages, ("/usr/bin/dnf", ["dnf", "-y", "upgrade", "--refresh"]), rng, out)
            else:
                deb_transaction(host, at, packages,
                                ("/usr/bin/unattended-upgrade", ["/usr/bin/python3", "/usr/bin/unattended-upgrade"]),
                                rng, out)

    if group in ("el8", "el9"):
        count = len(hosts) * rpm_event_count(packages, group == "el8")
    else:
        count = len(hosts) * deb_event_count(packages)
    return start, f"wave:{rng_seed}", build, count


def _expand(episode: Episode, seed: int) -> list[Event]:
    start, name, build, planned = episode
    out: list[Event] = []
    build(random.Random(f"{seed}:{name}"), out)
    if planned is not None and len(out) != planned:
        raise AssertionError(f"{name}: planned {planned} events, built {len(out)}")
    return out


def plan_waves(hosts: list[Host], capture_ms: int, budget: int, seed: int) -> tuple[list[Episode], int]:
    """Routine upgrade waves until about ``budget`` events; returns them and their exact count.

    Every wave touches at least 4 hosts of one group and never straddles the 7-day cutoff, so
    no routine file or command is ever "rare" (3 agents or fewer) inside the hunt's window.
    """
    rng = random.Random(f"waves:{seed}")
    groups = upgrade_groups(hosts)
    names = sorted(groups)
    weights = [len(groups[n]) for n in names]
    start_min = capture_ms - WINDOW_DAYS * story.DAY + story.HOUR
    start_max = capture_ms - 3 * story.HOUR - WAVE_SPREAD_MS
    cutoff = capture_ms - 7 * story.DAY
    specs: list[tuple[int, str, list[int], list[Host]]] = []
    total = 0
    while total < budget:
        if len(specs) < len(names):  # every release group upgrades at least once in the window
            group = names[len(specs)]
            start = rng.randrange(cutoff + story.HOUR, start_max)
        else:
            group = rng.choices(names, weights)[0]
            start = rng.randrange(start_min, start_max)
        if cutoff - WAVE_SPREAD_MS - 10 * story.MINUTE <= start <= cutoff:
            continue
        catalog = RPM_CATALOG if group in ("el8", "el9") else DEB_CATALOG
        chosen = sorted(rng.sample(range(len(catalog)), rng.randint(1, 3)))
        members = groups[group]
        size = rng.randint(max(4, (len(members) * 3) // 5), len(members))
        picked = [members[i] for i in sorted(rng.sample(range(len(members)), size))]
        packages = [(catalog[i], "") for i in chosen]  # versions do not change the event count
        total += _wave(picked, group, start, packages, "")[3]
        specs.append((start, group, chosen, picked))
    # Versions go up with time: number each package's updates in start order.
    updates: dict[tuple[str, str], int] = {}
    waves: list[Episode] = []
    for number, (start, group, chosen, picked) in sorted(enumerate(specs), key=lambda s: (s[1][0], s[0])):
        catalog = RPM_CATALOG if group in ("el8", "el9") else DEB_CATALOG
        packages = []
        for index in chosen:
            pkg = catalog[index]
            k = updates[(group, pkg.name)] = updates.get((group, pkg.name), 1) + 1
            packages.append(versioned(pkg, group, k))
        waves.append(_wave(picked, group, start, packages, f"{number}:{group}"))
    return waves, total


def _episode_stream(episodes: list[Episode], seed: int) -> Iterator[tuple[int, int, int, dict, str]]:
    """Events of all episodes in timestamp order, holding only overlapping episodes in memory."""
    ordered = sorted(enumerate(episodes), key=lambda item: (item[1][0], item[0]))
    heap: list[tuple[int, int, int, dict, str]] = []
    for number, episode in ordered:
        while heap and heap[0][0] < episode[0]:
            yield heapq.heappop(heap)
        for seq, (ms, doc, label) in enumerate(_expand(episode, seed)):
            if ms < episode[0]:
                raise AssertionError(f"episode {episode[1]} has an event before its start")
            heapq.heappush(heap, (ms, number, seq, doc, label))
    while heap:
        yield heapq.heappop(heap)


def events(n_events: int, seed: int, capture_ms: int) -> tuple[Iterator[tuple[int, dict, str]], dict]:
    """All events in time order, and the plan facts the manifest reports."""
    hosts = build_fleet(seed)
    named = by_name(hosts)
    story_eps: list[Episode] = [(*e, None) for e in story.episodes(named, capture_ms)]
    story_count = sum(len(_expand(e, seed)) for e in story_eps)
    wave_budget = max(1, int(n_events * WAVE_SHARE))
    waves, wave_count = plan_waves(hosts, capture_ms, wave_budget, seed)
    if story_count + wave_count > n_events:
        raise ValueError(f"--events {n_events} is too small: the story and one upgrade wave alone "
                         f"take {story_count + wave_count} events")
    noise = n_events - story_count - wave_count
    start = capture_ms - WINDOW_DAYS * story.DAY
    first = _episode_stream(story_eps + waves, seed)
    second = ((ms, 1 << 30, seq, doc, BENIGN) for seq, (ms, doc) in
              enumerate(background(hosts, start, capture_ms - 60_000, noise, seed)))
    merged: Iterator[tuple[int, int, int, Any, str]] = heapq.merge(first, second, key=lambda e: (e[0], e[1], e[2]))
    plan = {"hosts": hosts, "story_events": story_count, "wave_events": wave_count,
            "background_events": noise, "waves": len(waves)}
    return ((ms, doc, label) for ms, _, _, doc, label in merged), plan


def _story_agents(hosts: list[Host]) -> set[str]:
    named = by_name(hosts)
    names = {"dev-sandbox-01", "dev-sandbox-02", "mon-01", "mon-02", "web-06", "mac-build-01"}
    for intrusion in story.INTRUSIONS:
        names.update(intrusion.hosts)
    return {named[n].agent_id for n in names}


def write(out_dir: Path, n_events: int = DEFAULT_EVENTS, seed: int = DEFAULT_SEED, *,
          plain: bool = False, capture_time: str = CAPTURE_TIME, command: str | None = None) -> dict:
    """Write the NDJSON (gzip unless ``plain``), ``manifest.json`` and ``MANIFEST.md``.

    Returns the manifest.  Files are staged as ``*.partial`` and renamed only when all are
    complete, so a failed run leaves the previous sample untouched.
    """
    try:
        return _write(out_dir, n_events, seed, plain, capture_time, command)
    finally:
        if out_dir.is_dir():
            for leftover in out_dir.glob("*.partial"):
                leftover.unlink()


def _write(out_dir: Path, n_events: int, seed: int, plain: bool, capture_time: str,
           command: str | None) -> dict:
    from sample_data.render import manifest_markdown

    capture_ms = parse_iso(capture_time)
    out_dir.mkdir(parents=True, exist_ok=True)
    stream, plan = events(n_events, seed, capture_ms)
    hosts = plan.pop("hosts")
    key = AnswerKey(capture_ms, _story_agents(hosts))
    data_path = out_dir / (DATA_NAME if plain else DATA_NAME + ".gz")
    # Write beside the targets and rename at the end: a failed run leaves the old files intact.
    staged = data_path.with_name(data_path.name + ".partial")
    digest = hashlib.sha256()
    counts: dict[str, dict[str, int]] = {"data_stream": {}, "host.os.type": {}, "event.action": {}}
    total = 0
    first_ms = last_ms = None
    with open(staged, "wb") as raw:
        sink = (gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6)
                if not plain else raw)
        buffer = io.BufferedWriter(sink, buffer_size=1 << 20) if not plain else sink
        for ms, doc, label in stream:
            if type(doc) is Prebuilt:  # background noise, proven invisible to the hunt
                line = (doc.line + "\n").encode("utf-8")
                doc = doc.doc
            else:
                line = (to_json(doc) + "\n").encode("utf-8")
                key.add(ms, doc, label)
            digest.update(line)
            buffer.write(line)
            total += 1
            first_ms = ms if first_ms is None else first_ms
            last_ms = ms
            for field, value in (("data_stream", doc["data_stream"]["dataset"]),
                                 ("host.os.type", doc["host"]["os"]["type"]),
                                 ("event.action", doc["event"]["action"])):
                counts[field][value] = counts[field].get(value, 0) + 1
        buffer.flush()
        if not plain:
            sink.close()
    answer = key.result()
    named = by_name(hosts)
    intrusions = []
    for intrusion in story.INTRUSIONS:
        label = story.planted(intrusion.id)
        q0 = [r for r in answer["queries"][0]["rows"] if r["label"] == label]
        q1 = [r for r in answer["queries"][1]["rows"] if r["label"] == label]
        agents = sorted({(a[3], a[4]) for r in q0 + q1 for a in r["pivot_agents"]}, key=lambda a: a[1])
        expected = sorted((named[n].agent_id, n) for n in intrusion.hosts)
        if sorted(agents) != expected:
            raise AssertionError(f"answer key: {intrusion.id} found on {agents}, planted on {expected}")
        intrusions.append({
            "id": intrusion.id, "label": label, "title": intrusion.title,
            "description": intrusion.description, "mitre": list(intrusion.mitre),
            "agents": [{"agent.id": a, "host.name": h} for a, h in agents],
            "files": [{"file.name": r["values"][2], "process.executable": r["values"][3]} for r in q0],
            "command_lines": [{"process.executable": r["values"][2], "process.command_line": r["values"][3]}
                              for r in q1],
        })
    manifest = {
        "name": "huntbench sample: Elastic Defend Linux fleet with planted DPKG/RPM persistence",
        "capture_time": capture_time,
        "window": {"start": iso(capture_ms - WINDOW_DAYS * story.DAY), "end": capture_time,
                   "first_event": iso(first_ms) if first_ms is not None else None,
                   "last_event": iso(last_ms) if last_ms is not None else None},
        "generator": {
            "module": "sample_data.generate", "version": GENERATOR_VERSION,
            "command": command or f"python -m sample_data.generate --events {n_events} --seed {seed}",
            "seed": seed, "events_requested": n_events,
        },
        "files": [{"path": data_path.name, "format": "ndjson" if plain else "ndjson+gzip",
                   "events": total, "sha256_uncompressed": digest.hexdigest()}],
        "counts": {"events": total, **{k: dict(sorted(v.items())) for k, v in counts.items()},
                   "hosts": {"total": len(hosts),
                             **{t: sum(1 for h in hosts if h.os_type == t) for t in ("linux", "windows", "macos")}},
                   **plan},
        "hosts": [{"host.name": h.name, "agent.id": h.agent_id, "host.os.type": h.os_type,
                   "host.os.full": h.release.full} for h in hosts],
        "answer_key": {
            "hunt": {"uuid": HUNT_UUID, "name": HUNT_NAME},
            "now": capture_time,
            "labels": {
                "planted:<id>": "part of a planted intrusion (see intrusions)",
                "hostile": "hostile strings aimed at the analyst's tools, not an intrusion",
                "benign": "rare but legitimate",
            },
            **answer,
            "intrusions": intrusions,
            "decoys": [
                {"label": story.STALE, "what": "planted-looking installs older than 7 days (web-06, build-deb-02)"},
                {"label": story.BOUNDARY, "what": "one dpkg rename on web-06 exactly 7 days before capture: "
                 "@timestamp > now() - 7 days excludes it"},
                {"label": story.NON_LINUX, "what": "dpkg/rpm-looking events on macOS host mac-build-01 "
                 "that host.os.type == \"linux\" excludes"},
                {"label": "benign", "what": "acdb-backup matches SQL LIKE '__db%.%' but not ES|QL "
                 "LIKE \"__db*.*\" (in ES|QL '_' is literal), so its files are in query 0's result"},
            ],
        },
    }
    texts = {"manifest.json": json.dumps(manifest, indent=1, ensure_ascii=True) + "\n",
             "MANIFEST.md": manifest_markdown(manifest)}
    for name, text in texts.items():
        (out_dir / (name + ".partial")).write_text(text, encoding="utf-8")
    os.replace(staged, data_path)
    for name in texts:
        os.replace(out_dir / (name + ".partial"), out_dir / name)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_data.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS, help="about how many events (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: the bundled sample_data folder)")
    parser.add_argument("--plain", action="store_true", help="write uncompressed .ndjson")
    args = parser.parse_args(argv)
    if args.events < 1:
        print("error: --events must be a positive number of events", file=sys.stderr)
        return 2
    out = args.out or Path(__file__).resolve().parent
    parts = ["python -m sample_data.generate", f"--events {args.events}", f"--seed {args.seed}"]
    if args.plain:
        parts.append("--plain")
    try:
        manifest = write(out, args.events, args.seed, plain=args.plain, command=" ".join(parts))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {manifest['counts']['events']} events to {out / manifest['files'][0]['path']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
