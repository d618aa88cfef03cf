"""A result pane: a table over the top view of a stack, filled by a worker thread.

Harlequin's idea, done our way: the pane never blocks the UI. Each run happens in a
``@work(thread=True, exclusive=True)`` worker (a new run in the same pane cancels the old
one), the worker posts a :class:`QueryFinished` message, and the pane drops any result
whose view or generation is no longer the one on screen (the user moved on).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static
from textual.widgets.data_table import RowKey

from collectors.interface import Cancelled, CancelToken, HuntbenchError, QueryError, QueryResult
from tui.escape import as_text, clip
from tui.fit import CELL_PADDING, DATE_TYPES, STAMP_WIDTH, cell_texts, fit_widths, natural_width
from tui.keys import TABLE_KEYS, bindings
from tui.landing import landing_row
from tui.model import View

if TYPE_CHECKING:
    from textual.timer import Timer

LOADING_DELAY = 0.15
"""Seconds a query runs before the pane shows a loading indicator."""

COUNT_WIDTH = 12
"""Rare-first's count column: ``n `` and the start of the column name it counts."""

Runner = Callable[[View, CancelToken, Callable[[str], None]], QueryResult]


def describe_error(exc: BaseException) -> str:
    """One line for any failure: ours as written, anything else with its type."""
    if isinstance(exc, HuntbenchError):
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ResultTable(DataTable):
    """The pane's table: cell cursor, zebra stripes, values only ever as ``Text``.

    Enter is re-declared here (DataTable hides its own) so the footer shows "⏎ Pivot".
    """

    BINDINGS = [
        Binding("enter", "select_cursor", "Pivot", key_display="⏎", id="huntbench.pivot",
                tooltip="Follow the selected cell (declared pivot, else events where field == value)"),
        *bindings(TABLE_KEYS),
    ]

    DEFAULT_CSS = """
    ResultTable { height: 1fr; }
    """

    def fill(self, columns: list[tuple[Text, str]], rows: list[tuple[str, list[Text]]]) -> None:
        """Replace the table's contents in one go, with column widths computed here.

        DataTable measures every new cell through the console (``measure``), about half a
        second for the 1,000 rows of a pivot. Our cells are plain ``Text`` already cut to
        their column's width (tui/fit.py) and never wrap, so a column's width is the longest cell's cell
        length (``rich.cells.cell_len``: wide characters count double), computed once;
        the columns get that as a fixed width and :meth:`_update_dimensions` skips the
        per-cell measuring.
        """
        widths = [cell_len(label.plain) for label, _key in columns]
        for _key, cells in rows:
            for j, cell in enumerate(cells):
                n = cell_len(cell.plain)
                if n > widths[j]:
                    widths[j] = n
        self.clear(columns=True)
        for (label, key), width in zip(columns, widths):
            self.add_column(label, key=key, width=width)
        for key, cells in rows:
            self.add_row(*cells, key=key)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Every column has a fixed width (fill) and every row height 1: measuring the
        # new rows' cells would change nothing but cost time.
        if all(not column.auto_width for column in self.columns.values()):
            new_rows = ()
        super()._update_dimensions(new_rows)


class QueryFinished(Message):
    """A worker's answer for one run of one view (bubbles to the app once applied)."""

    def __init__(self, pane: "ResultPane", view: View, generation: int,
                 result: QueryResult | None, error: BaseException | None, elapsed: float) -> None:
        super().__init__()
        self.pane = pane
        self.view = view
        self.generation = generation
        self.result = result
        self.error = error
        self.elapsed = elapsed
        self.applied = False
        self.tags: dict[int, list[str]] | None = None


class QueryProgress(Message):
    """A status line from a long query ("running 4.2 s", cluster progress)."""

    def __init__(self, pane: "ResultPane", view: View, generation: int, text: str) -> None:
        super().__init__()
        self.pane = pane
        self.view = view
        self.generation = generation
        self.text = text


class ResultPane(Vertical):
    """One pane: a stack of views, the top one drawn in a table with a status line."""

    DEFAULT_CSS = """
    ResultPane { height: 1fr; }
    ResultPane > .pane-status { height: 1; color: $text-muted; padding: 0 1; }
    ResultPane > .pane-status.-error { color: $error; }
    """

    def __init__(self, root: View, runner: Runner | None, *, label: str, id: str) -> None:
        super().__init__(id=id)
        self.label = label
        self.stack: list[View] = [root]
        self.runner = runner
        self.tokens: dict[int, CancelToken] = {}
        self._started: dict[int, float] = {}
        self._ticker: Timer | None = None
        self.markers: Callable[[View, int], Text] | None = None
        self.annotate: Callable[[View, QueryResult], dict[int, list[str]]] | None = None

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        # The marker column stays put when the table scrolls to a long command line.
        yield ResultTable(cursor_type="cell", zebra_stripes=True, fixed_columns=1, id=f"{self.id}-table")
        yield Static("", classes="pane-status", id=f"{self.id}-status", markup=False)

    @property
    def table(self) -> ResultTable:
        return self.query_one(ResultTable)

    @property
    def view(self) -> View:
        return self.stack[-1]

    # ------------------------------------------------------------------ running
    def run_view(self, view: View | None = None) -> None:
        """(Re-)run ``view`` (default: the top one); its older runs become stale."""
        view = view or self.view
        if self.runner is None or view.query is None:
            self.redraw()
            return
        self.cancel(view)
        view.generation += 1
        view.loading = True
        view.error = None
        view.progress = ""
        view.elapsed_running = 0.0
        token = CancelToken()
        self.tokens[view.uid] = token
        self._started[view.uid] = time.perf_counter()
        if self._ticker is None:
            self._ticker = self.set_interval(0.2, self._tick)
        # The table keeps the previous picture for LOADING_DELAY: a fast pivot then costs
        # one redraw, not two, and a slow one gets the empty table and spinner.
        self.draw_status()
        generation = view.generation
        self.set_timer(LOADING_DELAY, lambda: self._loading_frame(view, generation))
        self._work(view, view.generation, token)

    def _loading_frame(self, view: View, generation: int) -> None:
        if view is self.view and view.loading and view.generation == generation and self.is_mounted:
            self.redraw()

    @work(thread=True, exclusive=True, group="query")
    def _work(self, view: View, generation: int, token: CancelToken) -> None:
        """Runs in a thread: the only place a source is called from this pane."""
        started = time.perf_counter()

        def progress(text: str) -> None:
            self.post_message(QueryProgress(self, view, generation, str(text)))

        result: QueryResult | None = None
        error: BaseException | None = None
        try:
            assert self.runner is not None
            result = self.runner(view, token, progress)
            if token.cancelled:
                error = Cancelled("cancelled")
        except BaseException as exc:  # noqa: BLE001 - every failure becomes one line in the pane
            error = exc
        elapsed = time.perf_counter() - started
        tags = None
        if result is not None and error is None and self.annotate is not None:
            try:  # the case file's tags, looked up here so the first drawing has the markers
                tags = self.annotate(view, result)
            except Exception:  # noqa: BLE001 - the screen looks them up again and reports
                tags = None
        message = QueryFinished(self, view, generation, result, error, elapsed)
        message.tags = tags
        self.post_message(message)

    def cancel(self, view: View | None = None) -> bool:
        """Cancel the running query of ``view`` (default: the top one). True if one ran."""
        view = view or self.view
        token = self.tokens.pop(view.uid, None)
        if token is None or not view.loading:
            return False
        token.cancel()
        view.loading = False
        view.generation += 1  # whatever still arrives for the cancelled run is stale
        view.error = "cancelled"
        self.redraw()
        return True

    def on_query_progress(self, message: QueryProgress) -> None:
        if message.pane is self and message.generation == message.view.generation:
            message.view.progress = message.text
            self.draw_status()

    def on_query_finished(self, message: QueryFinished) -> None:
        if message.pane is self:
            message.applied = self.finish(message)

    def finish(self, message: QueryFinished) -> bool:
        """Apply a worker's answer unless it is stale. True when applied."""
        view = message.view
        if message.generation != view.generation or view not in self.stack:
            return False
        self.tokens.pop(view.uid, None)
        view.loading = False
        view.reading = ""  # read now: a re-run reports the source's own progress
        view.elapsed = message.elapsed
        if message.error is not None:
            view.error = describe_error(message.error)
            if isinstance(message.error, QueryError) and message.error.line is not None:
                view.error = f"line {message.error.line}:{message.error.column}: {message.error.reason}"
        else:
            view.result = message.result
            view.tags = message.tags or {}
            view.marked.clear()
            notices = getattr(message.result, "notices", None) or []
            view.notices = [str(n) for n in notices]
        if view is self.view:
            self.redraw()
        return True

    def _tick(self) -> None:
        if self.view.loading:
            started = self._started.get(self.view.uid)
            if started is not None:
                elapsed = time.perf_counter() - started
                self.view.elapsed_running = elapsed
            self.draw_status()

    # ------------------------------------------------------------------ stack
    def push(self, view: View) -> None:
        self.cancel()
        self.remember_cursor()
        self.stack.append(view)
        self.run_view(view)

    def pop(self) -> bool:
        """Back one step; the view we leave is cancelled if still running."""
        if len(self.stack) <= 1:
            return False
        leaving = self.stack.pop()
        self.cancel(leaving)
        self.tokens.pop(leaving.uid, None)
        self.redraw()
        return True

    def remember_cursor(self) -> None:
        if self.is_mounted and self.table.row_count:
            coord = self.table.cursor_coordinate
            self.view.cursor = (coord.row, coord.column)

    # ------------------------------------------------------------------ drawing
    def display_rows(self) -> list[int]:
        return self.view.visible_rows()

    def selected_index(self) -> int | None:
        """Index into ``result.values`` of the row under the cursor."""
        rows = self.display_rows()
        if not rows:
            return None
        row = self.table.cursor_coordinate.row
        return rows[row] if 0 <= row < len(rows) else None

    def lead_columns(self) -> int:
        """Table columns before the result's: the markers, and the rare-first count if shown."""
        return 1 if self.view.rare_counts() is None else 2

    def selected_column(self) -> str | None:
        names = self.view.display_names
        col = self.table.cursor_coordinate.column - self.lead_columns()  # markers (and count) first
        if 0 <= col < len(names):
            return names[col]
        return names[0] if names else None

    def column_position(self, name: str) -> int:
        """The table column (0 holds the markers) that shows the result column ``name``."""
        return self.view.display_names.index(name) + self.lead_columns()

    def selected_row(self) -> dict[str, Any] | None:
        index = self.selected_index()
        return None if index is None else self.view.row_dict(index)

    def redraw(self, keep_cursor: bool = False) -> None:
        """Draw the top view: its rows in display order, markers, cursor restored."""
        if not self.is_mounted:
            return
        view = self.view
        table = self.table
        if keep_cursor and table.row_count:
            coord = table.cursor_coordinate
            view.cursor = (coord.row, coord.column)
        table.loading = view.loading
        if view.result is None or view.loading or view.error:
            table.clear(columns=True)
        else:
            order = view.table_order()
            rows_shown = self.display_rows()
            names = [view.columns[i].name for i in order]
            dates = [view.columns[i].type in DATE_TYPES for i in order]
            values = view.result.values
            texts = [cell_texts([values[r][i] for r in rows_shown], d) for i, d in zip(order, dates)]
            counts = view.rare_counts()
            room = self.cell_room(len(order)) - (0 if counts is None else COUNT_WIDTH + CELL_PADDING)
            natural = [natural_width(n, t) for n, t in zip(names, texts)]
            if view.column_widths:  # a pane laid out by hand for 80 columns (the Case pane)
                widths = [min(w, view.column_widths.get(n, w)) for n, w in zip(names, natural)]
            else:
                widths = fit_widths(natural, room, key=view.preferred_column() if order else None,
                                    floors=[STAMP_WIDTH if d else 0 for d in dates])
            columns = [(Text("  "), "__marker__")]  # two cells at least: "●+"
            if counts is not None:  # what rare-first sorted by, beside the markers
                columns.append((as_text(f"n {view.rare_basis()}", width=COUNT_WIDTH, style="bold"), "__count__"))
            columns += [(as_text(n, width=w, style="bold"), f"c{i}") for n, i, w in zip(names, order, widths)]
            rows = []
            markers = self.markers
            for j, index in enumerate(rows_shown):
                marker = markers(view, index) if markers else Text("")
                front = [marker] if counts is None else [marker, Text(str(counts[index]), justify="right", end="")]
                rows.append((str(index), [*front, *(Text(clip(t[j], w), no_wrap=True, end="")
                                                  for t, w in zip(texts, widths))]))
            table.fixed_columns = len(columns) - len(names)
            table.fill(columns, rows)
            if table.row_count:
                first = view.cursor is None
                lead = self.lead_columns()
                row, col = view.cursor or (landing_row(view, rows_shown), view.preferred_column() + lead)
                table.move_cursor(row=min(row, table.row_count - 1),
                                  column=max(lead, min(col, len(order) + lead - 1)), animate=False)
                if first:  # the columns left of the cursor stay in sight when the cursor's fits
                    table.call_after_refresh(self._scroll_home_if_fits)
        self.draw_status()

    def cell_room(self, columns: int) -> int:
        """Cells of screen for ``columns`` data columns: the pane's width less the marker
        column, the padding around each cell and the vertical scrollbar. A hidden pane has
        no width yet; the screen's is what it will get."""
        width = self.size.width or self.app.size.width
        return max(width - (2 + CELL_PADDING) - CELL_PADDING * columns - 2, 20)

    def _scroll_home_if_fits(self) -> None:
        table = self.table
        if not table.row_count:
            return
        region = table._get_cell_region(table.cursor_coordinate)
        if region.right <= table.scrollable_content_region.width:
            table.scroll_to(x=0, animate=False)

    def on_resize(self) -> None:
        if self.view.result is not None and not self.view.loading:
            self.redraw(keep_cursor=True)

    def reorder(self, change: Callable[[View], None]) -> None:
        """Apply a filter/sort change and redraw with the same row still under the cursor."""
        index = self.selected_index() if self.is_mounted and self.table.row_count else None
        column = self.table.cursor_coordinate.column - self.lead_columns() if self.is_mounted else 0
        change(self.view)
        rows = self.display_rows()
        self.view.cursor = (rows.index(index) if index in rows else 0, column + self.lead_columns())
        self.redraw()

    def refresh_markers(self) -> None:
        """Redraw only the marker column (after tagging, marking, cross-links)."""
        view = self.view
        if not self.is_mounted or view.result is None or view.loading or view.error or not self.markers:
            return
        table = self.table
        if not table.row_count:
            return
        with self.app.batch_update():
            for index in self.display_rows():
                marker = self.markers(view, index)
                try:
                    if table.get_cell(str(index), "__marker__") != marker:  # most rows: unchanged
                        table.update_cell(str(index), "__marker__", marker)
                except Exception:  # the table was redrawn meanwhile
                    return

    def draw_status(self) -> None:
        if not self.is_mounted:
            return
        status = self.query_one(".pane-status", Static)
        view = self.view
        if view.error and not view.loading:
            status.add_class("-error")
            status.update(as_text(view.error))
        else:
            status.remove_class("-error")
            status.update(as_text(view.status(timings=getattr(self.app, "show_timings", True))))
