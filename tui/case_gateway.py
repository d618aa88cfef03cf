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
    Column("finding", "keyword"),
    Column("tags", "keyword"),
    Column("notes", "keyword"),
    Column("hunt", "keyword"),
    Column("query", "keyword"),
    Column("row", "keyword"),
]


def findings_result(findings: list[Any]) -> QueryResult:
    """The Case pane's table: one row per finding, its tags, notes and a row summary."""
    values = []
    for f in findings:
        row = getattr(f, "row", {}) or {}
        summary = getattr(f, "summary", "") or " ".join(f"{k}={visible(v)}" for k, v in row.items() if v is not None)
        notes = getattr(f, "notes", []) or []
        note_texts = [getattr(n, "text", n) for n in notes]
        values.append([
            f.id,
            list(getattr(f, "tags", []) or []),
            " | ".join(str(n) for n in note_texts),
            getattr(f, "hunt_name", None) or "",
            str(getattr(f, "query", "") or ""),
            summary,
        ])
    return QueryResult(columns=list(CASE_COLUMNS), values=values)
