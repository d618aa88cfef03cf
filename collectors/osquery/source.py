"""The local scan as a :class:`~collectors.interface.Source`: osquery SQL on this host.

The backends live in :mod:`collectors.osquery`; this adapter fixes which one (and which root
or socket) the workbench uses, so the UI runs a scan the way it runs any other query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from collectors.interface import CancelToken, Language, Params, Progress, SourceKind

if TYPE_CHECKING:
    from collectors.osquery.result import OsqueryResult


@dataclass
class OsquerySource:
    """osquery SQL through ``backend`` (auto, osqueryi, socket, builtin), optionally on an image."""

    backend: str = "builtin"
    root: str | Path | None = None
    socket: str | Path | None = None
    timeout: float = 30.0
    now: datetime | None = None
    """``--now``: the instant SQLite's ``'now'`` reads (None: the real clock)."""
    kind: SourceKind = SourceKind.OSQUERY
    language: Language = Language.OSQUERY

    def describe(self) -> str:
        if self.root is not None:
            return f"osquery ({self.backend}) on image {Path(self.root).absolute()}"
        return f"osquery ({self.backend}) on this host"

    def warm(self) -> None:
        """Nothing to prepare: each scan starts its backend afresh."""

    def run(self, query: str, params: Params = None, *, cancel: CancelToken | None = None,
            progress: Progress | None = None) -> OsqueryResult:
        """One osquery SQL statement; osquery has no parameters and a scan is not cancellable
        midway (its own ``timeout`` bounds it), so those arguments are accepted and unused."""
        from collectors.osquery import run_osquery

        return run_osquery(query, backend=self.backend, root=self.root, socket=self.socket,
                           timeout=self.timeout, now=self.now)

    def read_file(self, path: str, limit: int) -> bytes:
        """Up to ``limit + 1`` bytes of a file on the scanned host or image (the workbench
        shows maintainer scripts with it); under ``root`` every link is resolved inside the
        image, as for the tables. Raises OSError."""
        from collectors.osquery.fsroot import FsRoot

        with FsRoot(self.root).open(path) as handle:
            return handle.read(limit + 1)
