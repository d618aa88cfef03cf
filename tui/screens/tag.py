"""Choose a tag (one of the fixed four or typed) and an optional note."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from casefile import FIXED_TAGS, CaseError, normalise_tag
from tui.escape import as_text, visible


@dataclass
class TagChoice:
    tag: str
    note: str | None


class TagScreen(ModalScreen[TagChoice | None]):
    """1-4 tags at once with a fixed tag (the note can be added later from the Case pane);
    ↑↓ + enter picks one, or type one, then enter (optionally after a note)."""

    DEFAULT_CSS = """
    TagScreen { align: center middle; }
    TagScreen > Vertical { width: 64; max-width: 96%; height: auto; border: round $accent; background: $surface; padding: 0 1; }
    TagScreen OptionList { height: 6; }
    TagScreen Input { margin: 0; }
    TagScreen .hint { color: $text-muted; }
    TagScreen .error { color: $error; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="huntbench.tag.cancel", tooltip="Close without tagging"),
        *[Binding(str(i + 1), f"pick({i})", t, show=False, id=f"huntbench.tag.{t}", tooltip=f"Tag as {t}")
          for i, t in enumerate(FIXED_TAGS)],
    ]

    def __init__(self, what: str, current: list[str] | None = None, tags: tuple[str, ...] = FIXED_TAGS) -> None:
        super().__init__()
        self.what = what
        self.current = current or []
        self.tags = tags
        self.chosen: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(as_text(f"Tag {self.what}" + (f" (now: {', '.join(self.current)})" if self.current else "")), markup=False)
            yield OptionList(*[Option(as_text(f"{i + 1} {t}"), id=t) for i, t in enumerate(self.tags)], id="tag-options")
            yield Input(placeholder="or type a tag and press enter", id="tag-custom")
            yield Input(placeholder="note (optional), enter to tag", id="tag-note")
            yield Static("", classes="error", id="tag-error", markup=False)
            yield Static("1-4: tag at once · enter: choose, then a note · esc: cancel", classes="hint", markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def action_pick(self, index: int) -> None:
        if self.focused is not None and isinstance(self.focused, Input):
            return
        self.dismiss(TagChoice(self.tags[index], None))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(str(event.option.id))

    def _choose(self, tag: str) -> None:
        self.chosen = tag
        self.query_one("#tag-note", Input).placeholder = f"note for '{visible(tag)}' (optional), enter to tag"
        self.query_one("#tag-note", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "tag-custom":
            try:  # the case file's own rule, so a bad tag is refused here, not after
                tag = normalise_tag(event.value)
            except CaseError as exc:
                self.query_one("#tag-error", Static).update(as_text(str(exc)))
                return
            self._choose(tag)
            return
        if self.chosen is None:
            self.query_one("#tag-error", Static).update(as_text("choose a tag first"))
            self.query_one(OptionList).focus()
            return
        note = event.value.strip() or None
        self.dismiss(TagChoice(self.chosen, note))

    def action_cancel(self) -> None:
        self.dismiss(None)
