"""The case file, used from one dedicated thread.

SQLite connections belong to the thread that opened them, and a case file locked by
another process makes a write wait (up to the case helper's busy timeout). So every case
operation runs on one single-thread executor: the UI awaits a future and never freezes, and
the connection is only ever touched from its own thread. The file is opened on first use,
so a locked or foreign case file is an error in a notification, not a failed start.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from collectors.interface import Column, QueryResult
from tui.escape import visible

if TYPE_CHECKING:
    from casefile import Case

T = TypeVar("T")


class CaseGateway:
    """The one way the TUI reaches the case file: every call runs on the case thread."""

    def __init__(self, path: str | Path | None) -> None:
        from casefile import resolve_case_path

        self.path: Path = resolve_case_path(path)
        self._case: Case | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="huntbench-case")

    def _get(self) -> Case:
        if self._case is None:
            from casefile import open_case

            self._case = open_case(self.path)
        return self._case

    async def call(self, fn: Callable[[Case], T]) -> T:
        """Run ``fn(case)`` on the case thread and await its answer (errors re-raised)."""
        return await asyncio.wrap_future(self._pool.submit(lambda: fn(self._get())))

    def call_sync(self, fn: Callable[[Case], T]) -> T:
        """For worker threads (and the benchmark): block on the case thread."""
        return self._pool.submit(lambda: fn(self._get())).result()

    def close(self) -> None:
        def _close() -> None:
            if self._case is not None:
                self._case.close()
                self._case = None

        try:
            self._pool.submit(_close).result(timeout=5)
        except Exception:
            pass
        self._pool.shutdown(wait=False)


CASE_COLUMNS = [
    Column("tags", "keyword"),
    Column("hosts", "keyword"),
    Column("what", "keyword"),
    Column("first seen", "keyword"),
    Column("note", "keyword"),
    Column("finding", "keyword"),
]
"""What a responder scans first: the verdict, the machines, the thing itself, when, the
note; the finding id (for the CLI) last."""

CASE_WIDTHS = {"tags": 12, "hosts": 14, "what": 26, "first seen": 16, "note": 24, "finding": 20}
"""Cell widths that put tags, hosts, the key value and first seen inside 80 columns (the
detail pane and Enter show everything in full)."""

KEY_ORDER = ("process.command_line", "file.path", "file.name", "process.executable", "process.parent.command_line")


def key_value(finding: Any) -> str:
    """The value the finding is about: its command line, file path or name, executable."""
    key = getattr(finding, "key", {}) or {}
    for name in KEY_ORDER:
        if key.get(name):
            return str(key[name])
    row = getattr(finding, "row", {}) or {}
    return getattr(finding, "summary", "") or " ".join(f"{k}={visible(v)}" for k, v in row.items() if v is not None)


def short_time(iso: str | None) -> str:
    """``2026-11-12T02:00:00.449Z`` -> ``2026-11-12 02:00`` (UTC, as the case file stores it)."""
    return f"{iso[:10]} {iso[11:16]}" if iso and len(iso) >= 16 else (iso or "")


def tags_of(row: dict) -> list[str]:
    """The tags of a Case pane row (shown joined by ``, ``; a tag never holds a comma)."""
    text = row.get("tags") or ""
    return [t for t in str(text).split(", ") if t]


def tags_by_row(ids: list[str], found: dict[str, Any]) -> dict[int, list[str]]:
    """Row index -> sorted tags, for the rows of ``ids`` the case file has tags for."""
    return {i: sorted(found[fid]) for i, fid in enumerate(ids) if found.get(fid)}


def findings_result(findings: list[Any]) -> QueryResult:
    """The Case pane's table: one row per finding, in :data:`CASE_COLUMNS` order."""
    values = []
    for f in findings:
        notes = getattr(f, "notes", []) or []
        note_texts = [str(getattr(n, "text", n)) for n in notes]
        hosts = list(getattr(f, "hosts", []) or [])
        values.append([
            ", ".join(getattr(f, "tags", []) or []),
            ", ".join(hosts),
            key_value(f),
            short_time(getattr(f, "first_seen", None)),
            " | ".join(reversed(note_texts)),
            f.id,
        ])
    return QueryResult(columns=list(CASE_COLUMNS), values=values)
