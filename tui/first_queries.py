"""When a hunt's first queries reach their source: after the first frame, the pane in sight first.

The hunt's ES|QL panes start at mount, so the first frame already shows each one reading
its data. Two rules then decide when their worker threads call the source:

* not before the first frame is on the terminal: their imports (the engine, DuckDB) would
  take the interpreter from Textual while it draws the screen that shows their progress;
* the pane in sight before the others: an offline source loads one query's data at a time,
  and a hidden pane that won the race would keep the visible one waiting, with no bytes to
  show, for the whole of its own load. The others follow once it has answered (or failed,
  or was cancelled), and find its data loaded when their query needs no more.

Pivots and re-runs are not held: only the views handed to :meth:`FirstQueries.begin` are.
"""

from __future__ import annotations

import threading
from typing import Callable, TypeVar

from collectors.interface import CancelToken

T = TypeVar("T")

FIRST_FRAME_WAIT = 2.0
"""Most seconds a query waits for the first frame (a terminal that never draws does not
hold the queries back for longer)."""

POLL = 0.1
"""Seconds between looks at a held query's cancel token."""


class FirstQueries:
    """The order in which one screen's first queries reach their source."""

    def __init__(self) -> None:
        self.painted = threading.Event()
        """Set once the first frame (header, panes, the reading bars) is drawn."""
        self._lead: int | None = None
        self._lead_done = threading.Event()
        self._followers: set[int] = set()

    def begin(self, lead: int | None, followers: list[int]) -> None:
        """A new batch of first queries (a hunt opened): ``lead`` (a view's uid) runs first,
        ``followers`` once it has answered."""
        self._lead = lead
        self._lead_done = threading.Event()
        self._followers = set(followers)
        if lead is None:
            self._lead_done.set()

    def run(self, uid: int, token: CancelToken, call: Callable[[], T]) -> T:
        """Called in the worker thread of view ``uid``: wait for its turn, then ``call()``."""
        self.painted.wait(FIRST_FRAME_WAIT)
        done = self._lead_done
        if uid in self._followers:
            while not done.wait(POLL) and not token.cancelled:
                pass
        try:
            return call()
        finally:
            if uid == self._lead:
                done.set()
