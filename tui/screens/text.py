"""A read-only text viewer: a maintainer script, a hunt's description and notes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.escape import as_text


class TextScreen(ModalScreen[None]):
    """Shows escaped text with newlines kept; esc or q closes."""

    DEFAULT_CSS = """
    TextScreen { align: center middle; }
    TextScreen > Vertical { width: 96%; height: 92%; border: round $accent; background: $surface; }
    TextScreen .title { height: 1; text-style: bold; padding: 0 1; }
    TextScreen .hint { height: 1; color: $text-muted; padding: 0 1; }
    TextScreen VerticalScroll { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Close", id="huntbench.text.close", tooltip="Close this view"),
    ]

    def __init__(self, title: str, body: str | Text) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(as_text(self.title_text), classes="title", markup=False)
            with VerticalScroll():
                body = self.body if isinstance(self.body, Text) else as_text(self.body, keep_newlines=True)
                yield Static(body, id="text-body", markup=False)
            yield Static("↑ ↓ pgup pgdn scroll · esc close", classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
