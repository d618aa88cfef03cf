"""The query behind a pane: shown in a TextArea, edited, re-run; errors at line:col.

The edited text runs in a worker here, so a bad query never leaves the editor: its
``line L:C`` appears beside the text and the cursor moves there. A good one closes the
editor and the pane shows its rows as a new step (Esc goes back to the original).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea

from collectors.interface import CancelToken, QueryError, QueryResult
from tui.escape import as_text, visible


@dataclass
class EditedQuery:
    text: str
    result: QueryResult
    elapsed: float


class QueryScreen(ModalScreen[EditedQuery | None]):
    DEFAULT_CSS = """
    QueryScreen { align: center middle; }
    QueryScreen > Vertical { width: 98%; height: 94%; border: round $accent; background: $surface; }
    QueryScreen .title { height: 1; text-style: bold; padding: 0 1; }
    QueryScreen TextArea { height: 1fr; }
    QueryScreen #query-params { height: auto; max-height: 4; color: $text-muted; padding: 0 1; }
    QueryScreen #query-error { height: auto; max-height: 3; color: $error; padding: 0 1; }
    QueryScreen .hint { height: 1; color: $text-muted; padding: 0 1; }
    """
    BINDINGS = [
        Binding("ctrl+r,f5", "run", "Run", id="huntbench.query.run", tooltip="Run the edited query"),
        Binding("escape", "close", "Close", id="huntbench.query.close", tooltip="Close (cancels a running query)"),
    ]

    def __init__(self, title: str, text: str, params: dict, run: Callable[[str, CancelToken], QueryResult]) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.params = params
        self.run = run
        self.token: CancelToken | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(as_text(self.title_text), classes="title", markup=False)
            yield TextArea(self.text, id="query-text", show_line_numbers=True, soft_wrap=True)
            shown = ", ".join(f"?{k} = {visible(json.dumps(v, ensure_ascii=False))}" for k, v in self.params.items())
            yield Static(as_text(f"params: {shown}" if shown else ""), id="query-params", markup=False)
            yield Static("", id="query-error", markup=False)
            yield Static("ctrl+r/f5 run · esc close", classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_run(self) -> None:
        if self.token is not None:
            return
        self.token = CancelToken()
        self.query_one("#query-error", Static).update(as_text("running…"))
        self._work(self.query_one(TextArea).text, self.token)

    @work(thread=True, exclusive=True, group="edited-query")
    def _work(self, text: str, token: CancelToken) -> None:
        started = time.perf_counter()
        try:
            result = self.run(text, token)
        except BaseException as exc:  # noqa: BLE001 - shown next to the text
            self.app.call_from_thread(self._failed, exc, token)
            return
        self.app.call_from_thread(self._done, EditedQuery(text, result, time.perf_counter() - started), token)

    def _failed(self, exc: BaseException, token: CancelToken) -> None:
        if token is not self.token:
            return
        self.token = None
        from tui.pane import describe_error

        self.query_one("#query-error", Static).update(as_text(describe_error(exc)))
        if isinstance(exc, QueryError) and exc.line is not None:
            area = self.query_one(TextArea)
            area.cursor_location = (max(exc.line - 1, 0), max((exc.column or 1) - 1, 0))
            area.focus()

    def _done(self, edited: EditedQuery, token: CancelToken) -> None:
        if token is not self.token:
            return
        self.token = None
        self.dismiss(edited)

    def action_close(self) -> None:
        if self.token is not None:
            self.token.cancel()
            self.token = None
        self.dismiss(None)
