"""Warnings about the hunt library, shown once rather than on every command.

Elastic's hunting library carries the same flaws for months (two macOS hunts sharing a
uuid, a file that is not valid TOML). Repeating them before every ``hunt run`` or workbench
start teaches responders to skip stderr, so each distinct warning is shown the first time
it comes up and remembered (a digest of its text, which names the file) in the cache
folder; ``huntbench hunt list --check`` lists them all again. A cache that cannot be read or
written only means the warnings are shown again: never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import platformdirs

from hunts.library import HuntLibrary

_KEEP = 4096
"""Digests remembered at most (the oldest are forgotten first)."""


def seen_file() -> Path:
    """``<cache>/hunt-warnings-seen.json`` (``$HUNTBENCH_CACHE_DIR`` if set)."""
    root = os.environ.get("HUNTBENCH_CACHE_DIR") or platformdirs.user_cache_dir("huntbench")
    return Path(root) / "hunt-warnings-seen.json"


def _digest(message: str) -> str:
    return hashlib.sha256(message.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _load(path: Path) -> list[str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [d for d in data if isinstance(d, str)] if isinstance(data, list) else []


def first_time(library: HuntLibrary) -> list[str]:
    """The library's warnings not shown before (now recorded as shown)."""
    messages = library.messages()
    if not messages:
        return []
    path = seen_file()
    known = _load(path)
    known_set = set(known)
    new = [m for m in messages if _digest(m) not in known_set]
    if new:
        known = (known + [_digest(m) for m in new])[-_KEEP:]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(known), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass
    return new
