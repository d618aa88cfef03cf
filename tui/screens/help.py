"""``?``: every key of the workbench, from the same table the bindings are made of."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keys import key_rows


def help_table() -> Table:
    """Two columns, key and what it does (from tui/keys.py, as the docs' key table); the
    descriptions wrap under themselves."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", max_width=14)
    table.add_column()
    section = None
    for heading, keys, what in key_rows():
        if heading != section:
            if section is not None:
                table.add_row(Text(""), Text(""))
            table.add_row(Text(heading, style="bold underline"), Text(""))
            section = heading
        table.add_row(Text(keys), Text(what))
    table.add_row(Text(""), Text(""))
    table.add_row(Text("Markers", style="bold underline"),
                  Text("● tagged  ○ same file/command as a tagged row  + marked  ⌂ also on this host (local scan)"))
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 98%; max-width: 120; height: 94%; border: round $accent; background: $surface; }
    HelpScreen VerticalScroll { height: 1fr; padding: 0 1; }
    HelpScreen .hint { height: 1; color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="huntbench.help.close", tooltip="Close help")]

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll():
                yield Static(help_table(), id="help-text", markup=False)
            yield Static("↑ ↓ scroll · esc close", classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
