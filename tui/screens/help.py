"""``?``: every key of the workbench, from the same table the bindings are made of."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.keys import DIALOG_KEYS, NAVIGATION_KEYS, WORKBENCH_KEYS, Key


def key_label(key: Key) -> str:
    if key.display:
        return key.display
    return " ".join(k.replace("question_mark", "?").replace("slash", "/") for k in key.key.split(","))


def help_table() -> Table:
    """Two columns, key and what it does; the descriptions wrap under themselves."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", max_width=14)
    table.add_column()
    table.add_row(Text("Workbench", style="bold underline"), Text(""))
    for key in WORKBENCH_KEYS:
        table.add_row(Text(key_label(key)), Text(key.description))
    table.add_row(Text(""), Text(""))
    table.add_row(Text("Moving", style="bold underline"), Text(""))
    for keys, what in NAVIGATION_KEYS:
        table.add_row(Text(keys), Text(what))
    table.add_row(Text(""), Text(""))
    table.add_row(Text("Dialogs", style="bold underline"), Text(""))
    for keys, what in DIALOG_KEYS:
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
