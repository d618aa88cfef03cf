"""Pick a hunt: name and MITRE ids in a table, description and notes of the highlighted one."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from hunts.library import Hunt
from tui.escape import as_text, visible


def hunt_text(hunt: Hunt) -> Text:
    """Description, MITRE ids, notes and queries of a hunt, escaped."""
    text = Text()
    text.append(visible(hunt.name), style="bold")
    text.append("\n" + visible(f"uuid {hunt.uuid} · MITRE {', '.join(hunt.mitre) or '-'}"), style="dim")
    text.append("\n\n" + visible(hunt.description))
    if hunt.notes:
        text.append("\n\nNotes", style="bold")
        for note in hunt.notes:
            text.append("\n  - " + visible(note))
    for q in hunt.queries:
        support = "" if q.supported else " (not supported)"
        text.append(f"\n\nquery {q.index} [{q.language}{support}]", style="bold")
        text.append("\n" + visible(q.text, keep_newlines=True))
    return text


class HuntPickerScreen(ModalScreen[Hunt | None]):
    """The filter has the focus from the start, so typing filters from the first key (as
    the hint says); ↑ ↓ move in the list meanwhile and enter opens the highlighted hunt."""

    DEFAULT_CSS = """
    HuntPickerScreen { align: center middle; }
    HuntPickerScreen > Vertical { width: 98%; height: 94%; border: round $accent; background: $surface; }
    HuntPickerScreen Input { margin: 0; }
    HuntPickerScreen DataTable { height: 1fr; }
    HuntPickerScreen VerticalScroll { height: 40%; border-top: solid $accent; padding: 0 1; }
    HuntPickerScreen .hint { height: 1; color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="huntbench.hunts.cancel", tooltip="Keep the current hunt"),
        Binding("down", "move(1)", "Next", show=False, id="huntbench.hunts.down"),
        Binding("up", "move(-1)", "Previous", show=False, id="huntbench.hunts.up"),
        Binding("pagedown", "move(10)", "Page down", show=False, id="huntbench.hunts.pagedown"),
        Binding("pageup", "move(-10)", "Page up", show=False, id="huntbench.hunts.pageup"),
    ]

    def __init__(self, hunts: list[Hunt], current: Hunt | None) -> None:
        super().__init__()
        self.hunts = sorted(hunts, key=lambda h: (not h.bundled, h.name.lower()))
        self.current = current
        self.shown: list[Hunt] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Input(placeholder="filter hunts by name, MITRE id or text", id="hunt-filter")
            yield DataTable(cursor_type="row", id="hunt-table")
            with VerticalScroll():
                yield Static("", id="hunt-detail", markup=False)
            yield Static("type to filter · ↑ ↓ choose · enter open · esc cancel", classes="hint", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column(as_text("hunt", style="bold"), key="name")
        table.add_column(as_text("MITRE", style="bold"), key="mitre")
        table.add_column(as_text("queries", style="bold"), key="queries")
        self._fill("")
        self.query_one(Input).focus()

    def _fill(self, needle: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        needle = needle.lower()
        self.shown = [h for h in self.hunts if not needle or needle in
                      " ".join([h.name, " ".join(h.mitre), h.description]).lower()]
        for i, hunt in enumerate(self.shown):
            langs = ", ".join(q.language if q.supported else f"{q.language}✗" for q in hunt.queries)
            table.add_row(as_text(hunt.name, width=60), as_text(", ".join(hunt.mitre), width=24),
                          as_text(langs, width=40), key=str(i))
        if self.current in self.shown:
            table.move_cursor(row=self.shown.index(self.current), animate=False)
        self._show(table.cursor_row)

    def _show(self, row: int) -> None:
        detail = self.query_one("#hunt-detail", Static)
        detail.update(hunt_text(self.shown[row]) if 0 <= row < len(self.shown) else Text(""))

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        row = self.query_one(DataTable).cursor_row
        if 0 <= row < len(self.shown):
            self.dismiss(self.shown[row])

    def action_move(self, rows: int) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.cursor_row + rows, table.row_count - 1)), animate=False)

    def on_key(self, event) -> None:
        """A printable key while the list has the focus (after a click) goes to the filter."""
        filt = self.query_one(Input)
        if self.focused is not filt and event.is_printable and event.character:
            filt.focus()
            filt.insert_text_at_cursor(event.character)
            event.stop()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if 0 <= event.cursor_row < len(self.shown):
            self.dismiss(self.shown[event.cursor_row])

    def action_cancel(self) -> None:
        self.dismiss(None)
