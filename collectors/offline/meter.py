"""How far a load of an export has got: bytes read of the total, rate and time left.

DuckDB reads the files itself and reports no progress for JSON scans, so the meter counts
what the process has read from files (``rchar`` in ``/proc/self/io``, Linux): a load reads
each file about once, so bytes read over the export's size is a real measure of the work
done. Where ``/proc`` is missing, only the elapsed time is known.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable

_IO = Path("/proc/self/io")


def _rchar() -> int | None:
    try:
        for line in _IO.read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class LoadMeter:
    """One load's progress; :meth:`snapshot` may be called from any thread."""

    def __init__(self, total_bytes: int):
        self.total = max(total_bytes, 1)
        self._base = _rchar()
        self._start = time.monotonic()
        self.done = False
        self.pass_number = 1
        self._all_read = 0

    def snapshot(self) -> tuple[int | None, int, float]:
        """(bytes read in this pass or None when unknown, total bytes, seconds elapsed).

        A load may read the export more than once (a type sample that fell short, the copy
        that steers type detection, the data pass): each time the bytes read pass the
        export's size a new pass starts, counted in :attr:`pass_number`, and the bar
        starts again rather than standing at 99 % until the rows come."""
        elapsed = time.monotonic() - self._start
        now = _rchar()
        if self._base is None or now is None:
            return None, self.total, elapsed
        if self.done:
            return self.total, self.total, elapsed
        read = max(now - self._base, 0)
        number = read // self.total + 1
        self.pass_number = number
        self._all_read = read
        return min(read - (number - 1) * self.total, int(self.total * 0.99)), self.total, elapsed

    def status(self) -> str:
        """One line for a pane: a bar, MB read of total, rate, time left (of this pass)."""
        read, total, elapsed = self.snapshot()
        if read is None:
            return f"loading data {elapsed:.1f} s"
        width = 20
        filled = int(width * read / total)
        rate = (self._all_read if not self.done else read) / elapsed if elapsed > 0 else 0.0  # over every pass
        left = f"{(total - read) / rate:.0f} s left" if rate > 0 else "time left unknown"
        bar = "█" * filled + "░" * (width - filled)
        again = f" · pass {self.pass_number}" if self.pass_number > 1 and not self.done else ""
        return (f"loading {bar} {read / 1e6:.1f} of {total / 1e6:.1f} MB · "
                f"{rate / 1e6:.0f} MB/s · {left}{again}")


class Ticker:
    """Calls ``tick`` every ``interval`` seconds in a thread until stopped (a context manager)."""

    def __init__(self, tick: Callable[[], None], interval: float = 0.25):
        self._tick = tick
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="huntbench-load-progress", daemon=True)

    def __enter__(self) -> "Ticker":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:  # a first tick at once: the pane shows the load as soon as it starts
            try:
                self._tick()
            except Exception:  # progress is a courtesy: never break the load over it
                pass
            if self._stop.wait(self._interval):
                return
