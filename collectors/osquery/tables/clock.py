"""osquery's ``time`` table (specs/time.table), read from the query's clock.

With ``--now`` it answers that instant, like SQLite's ``'now'`` in the same query, so a hunt
that asks ``(SELECT unix_time FROM time)`` runs as of the incident on an image. Values are
UTC as osquery's are (``timezone`` is always ``UTC``; ``local_timezone`` this machine's).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from collectors.osquery.vtable import Col, Constraints, Table


class TimeTable(Table):
    name = "time"
    description = "Track current date and time in UTC."
    columns = (
        Col("weekday", "TEXT"), Col("year", "INTEGER"), Col("month", "INTEGER"),
        Col("day", "INTEGER"), Col("hour", "INTEGER"), Col("minutes", "INTEGER"),
        Col("seconds", "INTEGER"), Col("timezone", "TEXT"), Col("local_timezone", "TEXT"),
        Col("unix_time", "INTEGER"), Col("timestamp", "TEXT"), Col("datetime", "TEXT"),
        Col("iso_8601", "TEXT"), Col("win_timestamp", "BIGINT", hidden=True),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        seconds = int(self.ctx.now if self.ctx.now is not None else time.time())
        at = datetime.fromtimestamp(seconds, timezone.utc)
        stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        yield (at.strftime("%A"), at.year, at.month, at.day, at.hour, at.minute, at.second,
               "UTC", time.strftime("%Z") or "UTC", seconds,
               at.strftime("%a %b %e %H:%M:%S %Y UTC"), stamp, stamp,
               (seconds + 11_644_473_600) * 10_000_000)
