"""The detail pane's list of a wide row's fields, drawn only where it is on screen.

A ``Static`` lays out and renders every line of its text on each update: for a row of
10,000 fields that is seconds per arrow key. :class:`FieldLines` holds one ``Text`` per
field and folds each at the pane's width itself, so its height is known without
rendering, and Textual asks it only for the lines the detail pane shows (Textual's line
API). Long values are folded at the width (no word wrapping) so a line's height is
arithmetic, not layout.
"""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate

from rich.cells import chop_cells
from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget


def fold_points(text: str, width: int) -> list[int]:
    """Character offsets where ``text`` is cut to lines of at most ``width`` cells."""
    if width <= 0:
        return []
    if text.isascii():
        return list(range(width, len(text), width))
    points, at = [], 0
    for piece in chop_cells(text, width)[:-1]:
        at += len(piece)
        points.append(at)
    return points


def line_count(text: str, width: int) -> int:
    """Lines ``text`` takes when folded at ``width`` cells (at least one)."""
    if width <= 0:
        return 1
    if text.isascii():
        return max(1, -(-len(text) // width))
    return len(fold_points(text, width)) + 1


class FieldLines(Widget):
    """Lines of text (already escaped ``Text``), folded at the widget's width; only the
    lines in sight are rendered."""

    DEFAULT_CSS = """
    FieldLines { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: list[Text] = []
        self._width = -1
        self._ends: list[int] = []

    def show(self, lines: list[Text]) -> None:
        """Replace the lines (the row's fields) and redraw."""
        self.lines = lines
        self._width = -1
        self.refresh(layout=True)

    def _layout(self, width: int) -> list[int]:
        """Cumulative line counts per field at ``width`` (cached until the lines change)."""
        if width != self._width:
            self._ends = list(accumulate(line_count(t.plain, width) for t in self.lines))
            self._width = width
        return self._ends

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        ends = self._layout(width)
        return ends[-1] if ends else 0

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        ends = self._layout(width)
        if not ends or y >= ends[-1] or width <= 0:
            return Strip.blank(width, self.rich_style)
        field = bisect_right(ends, y)
        part = y - (ends[field - 1] if field else 0)
        text = self.lines[field]
        pieces = text.divide(fold_points(text.plain, width))
        piece = pieces[part] if part < len(pieces) else Text("")
        segments = [Segment(s.text, s.style) for s in piece.render(self.app.console) if s.text != "\n"]
        return Strip(segments).extend_cell_length(width).crop(0, width).apply_style(self.rich_style)
