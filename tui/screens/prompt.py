"""A one-line question with a default answer (the export path)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.escape import as_text


class PromptScreen(ModalScreen[str | None]):
    """Enter answers with the input's text; esc answers None."""

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical { width: 90%; max-width: 100; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    PromptScreen .hint { color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="huntbench.prompt.cancel", tooltip="Close without doing anything")]

    def __init__(self, question: str, default: str = "", hint: str = "enter: ok · esc: cancel") -> None:
        super().__init__()
        self.question = question
        self.default = default
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(as_text(self.question), markup=False)
            yield Input(value=self.default, id="prompt-input")
            yield Static(as_text(self.hint), classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        self.dismiss(value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
