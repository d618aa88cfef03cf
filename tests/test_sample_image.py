"""The bundled sample image: written deterministically, consistent with the sample's events,
and what the seed's local scan finds in it is exactly its answer key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import sample_data
from collectors.sources import sample_source
from hunts import load_library
from sample_data.image import answer_key, build, sample_image


def _key() -> dict:
    return json.loads((sample_data.folder() / "image_answer_key.json").read_text(encoding="utf-8"))


def _tree(root: Path) -> dict[str, tuple]:
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        out[str(path.relative_to(root))] = (path.read_bytes() if path.is_file() else None, st.st_mtime_ns,
                                            st.st_mode, st.st_uid)
    return out


def test_generator_is_deterministic_and_the_key_is_current(tmp_path):
    build(tmp_path / "a")
    build(tmp_path / "b")
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")
    assert answer_key() == _key()


def test_scan_of_the_image_returns_exactly_the_answer_key():
    key = _key()
    root = sample_image()
    done = subprocess.run([sys.executable, "-m", "cli.main", "scan", "--root", str(root), "--now", key["capture_time"],
                           "--format", "json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    names = [c["name"] for c in result["columns"]]
    rows = [dict(zip(names, v)) for v in result["values"]]
    got = sorted((r["path"], r["filename"], r["file_owner"], r["group_owner"], r["file_last_modified_time"],
                  r["size_bytes"]) for r in rows)
    want = sorted((r["path"], r["filename"], r["file_owner"], r["group_owner"], r["file_last_modified_time"],
                   r["size_bytes"]) for r in key["rows"])
    assert got == want
    assert len(want) >= 20 and {r["role"] for r in key["rows"]} == {"planted", "benign"}


def test_image_is_consistent_with_the_sample_events():
    key = _key()
    window = sample_data.manifest()["window"]
    start, end = (datetime.fromisoformat(window[k].replace("Z", "+00:00")) for k in ("start", "end"))
    for row in key["rows"]:
        modified = datetime.strptime(row["file_last_modified_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        assert start <= modified <= end, row
    # The maintainer script's commands are what the host's events show it spawning, and the
    # rare ones among them are the command lines the seed's Q2 lists.
    commands = set(key["maintainer_script"]["commands"])
    source = sample_source()
    spawned = source.run("from logs-endpoint.events.process-* | where host.name == ?host and "
                         "process.parent.executable == ?script | keep process.command_line | limit 1000",
                         {"host": key["host"], "script": key["maintainer_script"]["path"]})
    assert commands == {r[0] for r in spawned.values if not r[0].startswith("/bin/sh ")}  # minus the script itself
    q2 = source.run(load_library([]).default.queries[1].text)
    lines = {r[q2.column_names.index("process.command_line")] for r in q2.values}
    assert len(commands & lines) >= 3
    script = (sample_image() / key["maintainer_script"]["path"].lstrip("/")).read_text()
    assert all(c in script for c in key["maintainer_script"]["commands"])
    # Owners come from the image's passwd/group; the host is named by its /etc/hostname.
    assert (sample_image() / "etc/hostname").read_text().strip() == key["host"]
    assert "deploy:x:1001" in (sample_image() / "etc/passwd").read_text()


def test_sample_image_is_written_once_into_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    first = sample_image()
    stamp = (first.parent / "complete").stat().st_mtime_ns
    second = sample_image()
    assert first == second and str(first).startswith(str(tmp_path / "cache"))
    assert (first.parent / "complete").stat().st_mtime_ns == stamp
    assert os.stat(tmp_path / "cache").st_mode & 0o077 == 0
