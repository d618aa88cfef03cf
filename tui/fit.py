"""Fitting text to the terminal: column widths, the breadcrumb, the header.

A responder runs huntbench at whatever size the SSH window has, 80x24 to 200x50. What
matters most must stay readable at 80 columns, and a wide terminal must be used rather
than left empty:

* **Columns**: every column gets what it needs when all fit; when they do not, the others
  are held to a fifth of the screen and the *key* column (the command line or file name the
  cursor starts on) gets all the room that is left, so a long command line is cut only
  where the screen ends. Timestamps are shown as ``2026-11-16 08:58:12`` and never cut
  below date and time.
* **Breadcrumb**: cut in the middle (where the path starts and where it is now both stay).
* **Header**: the hunt name is what the responder is working on; when the line is too long
  the source (often a long URL or path) is shortened first, then the case path.

Plain functions over strings and numbers, no Textual: tested without a terminal.
"""

from __future__ import annotations

import re
from typing import Any, Sequence

from rich.cells import cell_len

from tui.escape import ELLIPSIS, clip, visible

OTHER_CAP = 28
"""Widest a column other than the key column is drawn when not everything fits (on a wide
screen; see :func:`other_cap`)."""

OTHER_MIN = 14
"""...and the least it is held to on a narrow one (``/usr/bin/dpkg`` still reads whole)."""

KEY_MIN = 24
"""The key column is never squeezed below this (the table scrolls instead)."""

MAX_CELL = 2000
"""Longest cell drawn at all (the detail pane shows the whole value)."""

STAMP_WIDTH = 19
"""``2026-11-16 08:58:12``: a timestamp keeps its time of day whatever the width."""

CELL_PADDING = 2
"""DataTable's padding around each cell (one on each side)."""

DATE_TYPES = frozenset({"date", "date_nanos", "datetime"})

_ISO = re.compile(r"\A(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?\Z")


def short_stamp(value: Any) -> str | None:
    """``2026-11-16T08:58:12.000Z`` -> ``2026-11-16 08:58:12``; None if not an ISO timestamp.

    Only the UTC designator is dropped (the whole workbench shows UTC, as the header says);
    a timestamp with another offset keeps it.
    """
    if not isinstance(value, str):
        return None
    match = _ISO.match(value)
    if not match:
        return None
    day, time, zone = match.groups()
    return f"{day} {time}" + ("" if zone in (None, "Z", "+00:00", "+0000") else zone)


def cell_texts(values: Sequence[Any], is_date: bool) -> list[str]:
    """One column's cells as shown: escaped, timestamps shortened."""
    if is_date:
        out = []
        for v in values:
            stamp = short_stamp(v)
            out.append(stamp if stamp is not None else visible(v))
        return out
    return [visible(v) for v in values]


def natural_width(header: str, cells: Sequence[str]) -> int:
    """What a column needs to show its header and every cell in full (capped)."""
    width = cell_len(header)
    for text in cells:
        n = cell_len(text) if not text.isascii() else len(text)
        if n > width:
            width = n
            if width >= MAX_CELL:
                return MAX_CELL
    return width


def other_cap(available: int) -> int:
    """How wide the columns other than the key may be when not everything fits: a fifth of
    the screen, between :data:`OTHER_MIN` and :data:`OTHER_CAP`."""
    return max(OTHER_MIN, min(OTHER_CAP, available // 5))


def fit_widths(natural: Sequence[int], available: int, key: int | None,
               floors: Sequence[int] | None = None) -> list[int]:
    """Cell widths for columns needing ``natural`` cells, on ``available`` cells of screen
    (padding already taken off).

    All fit: each gets what it needs. Else every column but ``key`` is held to
    :func:`other_cap` (never below its floor: a timestamp's date and time) and the key column
    gets what is left, so every column stays in sight. When that would leave the key less
    than it needs and less than half the screen, the key takes the rest of the visible row
    instead and the columns after it are reached by scrolling (the detail pane shows them). Room the key does not
    need goes back to the columns that were cut, narrowest cut first.
    """
    count = len(natural)
    floors = list(floors) if floors is not None else [0] * count
    limits = list(natural)
    if sum(limits) <= available or count == 0:
        return limits
    if key is None:
        key = max(range(count), key=lambda i: limits[i])
    cap = other_cap(available)
    widths = [limits[i] if i == key else min(limits[i], max(cap, floors[i])) for i in range(count)]
    before = sum(widths[:key])
    rest = available - before - sum(widths[key + 1:])
    enough = min(limits[key], max(KEY_MIN, available // 2))
    widths[key] = min(limits[key], rest if rest >= enough else max(available - before, KEY_MIN))
    spare = available - sum(widths)
    for i in sorted((i for i in range(count) if widths[i] < limits[i]), key=lambda i: limits[i] - widths[i]):
        if spare <= 0:
            break
        grow = min(spare, limits[i] - widths[i])
        widths[i] += grow
        spare -= grow
    return widths


def cut_middle(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters by taking out its middle (``start…end``)."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return ELLIPSIS
    head = (width - 1) // 2
    tail = width - 1 - head
    return text[:head] + ELLIPSIS + (text[-tail:] if tail else "")


CRUMB_VALUE = 40
"""Longest a pivot value is shown in the breadcrumb (the detail pane shows it in full)."""


def crumb_for(via: dict[str, Any], row: dict[str, Any]) -> str:
    """The breadcrumb step of a pivot filtered on ``via`` (column -> value), from ``row``.

    Every field the pivot was filtered on is shown (``process.executable=/usr/bin/bash,
    process.command_line=bash -c …``), and an agent id comes with the host name the row
    gives for it, since a responder thinks in host names: ``agent.id=2213e004-… (k8s-node-03)``.
    """
    parts = []
    for column, value in via.items():
        part = f"{visible(column)}={clip(visible(value), CRUMB_VALUE)}"
        host = row.get("host.name") if column == "agent.id" else None
        if host is not None and column != "host.name" and "host.name" not in via:
            part += f" ({clip(visible(host), CRUMB_VALUE)})"
        parts.append(part)
    return ", ".join(parts)


def breadcrumb(steps: Sequence[str], tail: str, width: int) -> str:
    """The breadcrumb line: steps joined by ``›``, cut in the middle to fit beside ``tail``
    (the time window, kept whole at the right)."""
    crumbs = " › ".join(visible(s) for s in steps)
    room = max(width - len(tail), 20)
    return cut_middle(crumbs, room).ljust(room) + tail


def _kept_tail(label: str) -> int:
    """Length of a label's trailing ``(host)``, kept whole when the label is cut."""
    at = label.rfind(" (")
    return len(label) - at if at > 0 and label.endswith(")") else 0


def cut_keeping_tail(label: str, width: int) -> str:
    """``image: /mnt/evidence (api-01)`` cut to ``width`` keeping its ``(host)`` whole:
    ``image: /mn… (api-01)``."""
    tail = _kept_tail(label)
    if len(label) <= width or not tail or width <= tail + 1:
        return cut_middle(label, width)
    return label[: width - tail - 1] + ELLIPSIS + label[-tail:]


def header(source: str, case: str, hunt: str, width: int, scan: str | None = None) -> str:
    """``huntbench │ source │ case … │ hunt [│ scan]`` in ``width`` characters: the scan label
    (its middle: ``image: /mnt/ev…(api-01)`` keeps the host) and the source (its end: ``sample
    data (bu…``) are shortened first, then the case path (its middle); when that is not enough the scan label is left out (the Local scan pane's
    breadcrumb names it too), and the hunt name is cut only when nothing else is left."""
    sep = " │ "
    full = {"source": visible(source), "case": f"case {visible(case)}", "hunt": visible(hunt)}
    if scan:
        full["scan"] = visible(scan)

    def fitted(parts: dict[str, str]) -> dict[str, str]:
        parts = dict(parts)
        for name, least, cut in (("scan", _kept_tail(parts.get("scan", "")) + 9, cut_keeping_tail),
                                 ("source", 12, clip), ("case", 10, cut_middle),
                                 ("hunt", 12, clip)):
            over = len("huntbench") + sum(len(sep) + len(p) for p in parts.values()) - width
            if over > 0 and name in parts and (name != "hunt" or "scan" not in parts):
                parts[name] = cut(parts[name], max(len(parts[name]) - over, least))
        return parts

    parts = fitted(full)
    if "scan" in parts and len("huntbench") + sum(len(sep) + len(p) for p in parts.values()) > width:
        parts = fitted({k: v for k, v in full.items() if k != "scan"})
    return sep.join(["huntbench", *parts.values()])
