"""Quitting ends the program, whatever the network is doing.

Queries run in worker threads, and a thread blocked reading from a server cannot be
interrupted from outside. Left alone, such a thread keeps the process alive after ``q``:
asyncio waits for its executor's threads when the loop shuts down, and Python joins them
again at exit. So the app runs on a loop of its own (whose shutdown does not wait for the
executor), and once the app has given the terminal back, threads still running get a
short grace period and are then abandoned: the process exits without them (after the
functions registered with :mod:`atexit` have run, as at any exit). Nothing is lost by that: a case-file write is one SQLite transaction, committed or rolled back by
SQLite itself, and a cluster query abandoned mid-answer has no effect on the cluster
beyond its own (expiring) async search.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App

GRACE = 0.5
"""Seconds threads still running after the app ends get to finish by themselves."""


def run_until_quit(app: App) -> int:
    """Run ``app`` until the user quits; its return code."""
    loop = asyncio.new_event_loop()
    try:
        app.run(loop=loop)
    finally:
        code = app.return_code or 0
        leave_stuck_threads(code)
        loop.close()
    return code


def leave_stuck_threads(code: int, grace: float = GRACE) -> None:
    """Wait up to ``grace`` seconds for non-daemon threads; if any still runs, exit now
    with ``code`` instead of waiting for it (which can be forever)."""
    end = time.monotonic() + grace
    current = threading.current_thread()
    for thread in threading.enumerate():
        if thread is current or thread.daemon:
            continue
        thread.join(max(0.0, end - time.monotonic()))
    if any(t.is_alive() and not t.daemon and t is not current for t in threading.enumerate()):
        # What was registered to finish at exit (the offline cache's background write)
        # still finishes; only the threads blocked on the network are left behind.
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
