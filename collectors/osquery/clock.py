"""One clock for a query: SQLite's ``'now'`` at the instant ``--now`` names.

The seed's osquery SQL asks ``mtime > strftime('%s', 'now') - 7 * 86400``; on an image taken
weeks ago that must mean "7 days before the incident", exactly as ES|QL's ``now()`` does
offline. SQLite reads the time through its VFS (``xCurrentTimeInt64``, falling back to
``xCurrentTime``) for every ``'now'`` in ``date()``, ``datetime()``, ``strftime()``...; apsw
lets Python supply a VFS, so the query text runs verbatim and only the clock differs. The
VFS inherits everything else (files, randomness) from SQLite's default one.
"""

from __future__ import annotations

import threading
from datetime import datetime

import apsw

_UNIX_EPOCH_JULIAN_MS = 210_866_760_000_000
"""The Unix epoch as a Julian Day Number times 86,400,000 (JD 2440587.5)."""

_lock = threading.Lock()
_registered: dict[int, "_FixedClockVFS"] = {}


class _FixedClockVFS(apsw.VFS):
    """The default VFS with a stopped clock."""

    def __init__(self, name: str, julian_ms: int) -> None:
        self.julian_ms = julian_ms
        super().__init__(name, base="")

    def xCurrentTimeInt64(self) -> int:  # noqa: N802 - SQLite's name
        return self.julian_ms

    def xCurrentTime(self) -> float:  # noqa: N802 - SQLite's name
        return self.julian_ms / 86_400_000.0


def vfs_for(now: datetime) -> str:
    """The name of a VFS whose clock reads ``now`` (registered once per instant)."""
    unix_ms = round(now.timestamp() * 1000)
    with _lock:
        vfs = _registered.get(unix_ms)
        if vfs is None:
            vfs = _registered[unix_ms] = _FixedClockVFS(f"huntbench-now-{unix_ms}",
                                                        unix_ms + _UNIX_EPOCH_JULIAN_MS)
        return f"huntbench-now-{unix_ms}"
