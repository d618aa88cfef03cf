"""The workbench app: panes for a hunt's queries, the local scan and the case, linked by pivots.

The app owns the things that outlive a pane (source, hunt library, case file); the
:class:`WorkbenchScreen` owns the panes and every key. Bindings live on the screen, not the
app, so that a dialog on top never triggers workbench keys.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from collectors.interface import CancelToken, Language, QueryResult, Source, SourceKind
from collectors.sources import SourceRouter, open_scan, sample_source, warm_source
from hunts.library import ESQL, OSQUERY, Hunt, HuntLibrary, HuntQuery
from tui.case_gateway import CASE_WIDTHS, CaseGateway, findings_result, tags_of
from tui.escape import as_text, clip, visible
from tui.finding_context import (
    local_scan_host,
    local_scan_source,
    pivot_steps,
    resolve_rows,
)
from tui.keys import WORKBENCH_KEYS, bindings
from tui.local_scan import (
    DOTFILES,
    SCRIPT_LIMIT,
    dotfile_query,
    fleet_pivot,
    is_script,
    run_local_scan,
    script_text,
)
from tui.local_scan import scan_label as local_scan_label
from tui.model import View
from tui.pane import QueryFinished, ResultPane, describe_error
from tui.pivots import PivotUnavailable, choose_pivot
from tui.screens.help import HelpScreen
from tui.screens.hunts import HuntPickerScreen, hunt_text
from tui.screens.prompt import PromptScreen
from tui.screens.query import EditedQuery, QueryScreen
from tui.screens.tag import TagChoice, TagScreen
from tui.screens.text import TextScreen
from tui.window import carry_window, find_window

CASE_LANGUAGE = "case"
# Values that identify "the same thing" across panes: a row sharing one of these with a
# tagged finding gets the ○ marker wherever it appears.
RELATED_FIELDS = ("file.name", "file.path", "process.command_line", "filename", "path")


def pane_label(view: View, number: int) -> str:
    """Short tab name: ``1 Q1 file-*``, ``3 Scan``, ``4 Case``."""
    if view.language == CASE_LANGUAGE:
        return f"{number} Case"
    if view.language == OSQUERY:
        return f"{number} Local scan"
    pattern = view.index_patterns[0].split(".")[-1] if view.index_patterns else ""
    index = view.case_query if isinstance(view.case_query, int) else 0
    return f"{number} Q{index + 1} {pattern}".rstrip()


class WorkbenchScreen(Screen):
    """Header, pane bar, breadcrumb, the panes, the detail pane, the filter line, the footer."""

    BINDINGS = bindings()
    DEFAULT_CSS = """
    WorkbenchScreen { layout: vertical; }
    #header { height: 1; background: $primary; color: $text; padding: 0 1; text-style: bold; }
    #panebar { height: 1; padding: 0 1; background: $boost; }
    #crumbs { height: 1; padding: 0 1; color: $accent; }
    #panes { height: 1fr; }
    #detail { height: 28%; min-height: 7; border-top: solid $accent; padding: 0 1; }
    #detail.-large { height: 60%; }
    #detail.-hidden { display: none; }
    #filter { display: none; height: 1; border: none; padding: 0 1; }
    #filter.-shown { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.panes: list[ResultPane] = []
        self.current = 0
        self.local_names: set[Any] = set()
        self.remote_names: set[Any] = set()
        self.related: dict[str, set[Any]] = {}
        self.deferred: list[ResultPane] = []

    @property
    def bench(self) -> "HuntbenchApp":
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield Static("", id="header", markup=False)
        yield Static("", id="panebar", markup=False)
        yield Static("", id="crumbs", markup=False)
        yield Container(id="panes")
        with VerticalScroll(id="detail"):
            yield Static("", id="detail-text", markup=False)
        yield Input(placeholder="filter rows (enter keeps it, esc clears)", id="filter")
        yield Footer()

    async def on_mount(self) -> None:
        self.draw_header()
        await self.load_hunt(self.bench.hunt)
        if self.bench.startup_notice:
            self.bench.notify_line(self.bench.startup_notice, severity="warning")

    def draw_header(self) -> None:
        app = self.bench
        hunt = app.hunt.name if app.hunt else "no hunt"
        text = f"huntbench │ {app.source.describe()} │ case {app.case_display()} │ {hunt} │ {app.scan_label}"
        self.query_one("#header", Static).update(as_text(text))

    @property
    def pane(self) -> ResultPane:
        return self.panes[self.current]

    # ------------------------------------------------------------------ panes
    def views_for(self, hunt: Hunt | None) -> list[View]:
        kind = self.bench.source.kind
        views: list[View] = []
        for q in hunt.queries if hunt else []:
            views.append(self.root_view(q, kind))
            if q.language == OSQUERY:  # the pane says which machine it read
                views[-1].title += f" · {self.bench.scan_label}"
        views.append(View(name="case", title="Case findings", query="(the case file's findings)",
                          language=CASE_LANGUAGE, source_kind="case", column_widths=dict(CASE_WIDTHS)))
        return views

    @staticmethod
    def root_view(q: HuntQuery, kind: str) -> View:
        if q.language == ESQL:
            return View(name=f"query:{q.index}", title=q.title, query=q.text, source_kind=kind,
                        case_query=q.index, index_patterns=q.index_patterns)
        if q.language == OSQUERY:
            return View(name="scan", title=f"Q{q.index + 1} local osquery scan", query=q.text,
                        language=OSQUERY, source_kind=SourceKind.OSQUERY, case_query=q.index)
        return View(name=f"query:{q.index}", title=q.title, query=None, language=q.language,
                    case_query=q.index, error=f"query {q.index} is {q.language}: not supported")

    async def load_hunt(self, hunt: Hunt | None) -> None:
        """Replace the panes with the hunt's (queries, local scan, case) and run them all."""
        for pane in self.panes:
            for view in pane.stack:
                pane.cancel(view)
        switcher = self.query_one("#panes", Container)
        await switcher.remove_children()
        self.bench.hunt = hunt
        self.local_names.clear()
        self.remote_names.clear()
        self.panes = []
        for number, view in enumerate(self.views_for(hunt), start=1):
            pane = ResultPane(view, self.bench.run_view_query, label=pane_label(view, number), id=f"pane{number}")
            pane.markers = self.markers
            pane.annotate = self.bench.tags_for_result
            pane.display = number == 1
            self.panes.append(pane)
        await switcher.mount_all(self.panes)
        self.current = 0
        self.draw_header()
        self.draw_bars()
        await self.refresh_related()
        # ES|QL panes first: the local scan walks the disk in Python and would compete for
        # the GIL with loading the data, so it starts once the hunt's queries have answered.
        for pane in self.panes:
            if pane.view.language == ESQL:
                pane.run_view()
        self.deferred = [p for p in self.panes if p.view.language != ESQL]
        if not any(p.view.loading for p in self.panes):
            self.start_deferred()
        self.pane.table.focus()

    def start_deferred(self) -> None:
        deferred, self.deferred = self.deferred, []
        for pane in deferred:
            pane.run_view()

    def show_pane(self, index: int) -> None:
        if not self.panes:
            return
        self.pane.remember_cursor()
        self.pane.display = False
        self.current = index % len(self.panes)
        self.pane.display = True
        self.pane.table.focus()
        self.draw_bars()
        self.draw_detail()

    def draw_bars(self) -> None:
        bar = Text(no_wrap=True, overflow="ellipsis", end="")
        for i, pane in enumerate(self.panes):
            style = "reverse bold" if i == self.current else ""
            bar.append(f" {visible(pane.label)} ", style=style)
            bar.append(" ")
        self.query_one("#panebar", Static).update(bar)
        if not self.panes:
            return
        first = self.pane.label.split(" ", 1)[-1]
        if self.pane.stack[0].language == OSQUERY:  # which machine the scan read, always in sight
            first += f" · {self.bench.scan_label}"
        steps = [first] + [v.crumb or v.title for v in self.pane.stack[1:]]
        crumbs = " › ".join(visible(s) for s in steps)
        # The time window in force for this pane and step, always in sight at the right.
        window = self.bench.window_in_force(self.pane.view)
        tail = f"  ⏱ {window}" if window else ""
        width = max(self.size.width - 2 - len(tail), 20)
        if len(crumbs) > width:
            crumbs = "…" + crumbs[-(width - 1):]
        self.query_one("#crumbs", Static).update(as_text(crumbs.ljust(width) + tail))

    def draw_detail(self) -> None:
        """The whole selected row: every column, values complete and wrapped."""
        detail = self.query_one("#detail-text", Static)
        if not self.panes:
            return
        pane = self.pane
        view = pane.view
        if view.error and not view.loading:
            detail.update(as_text(f"{view.title}: {view.error}", keep_newlines=True, style="red"))
            return
        index = pane.selected_index() if pane.is_mounted and view.result and not view.loading else None
        if index is None:
            detail.update(as_text(view.title if view.loading else ""))
            return
        text = Text(end="")
        tags = view.tags.get(index)
        if tags:
            text.append("tags: ", style="bold red")
            text.append(visible(", ".join(tags)) + "\n", style="red")
        row = view.row_dict(index)
        first = pane.selected_column()
        for name in ([first] if first in row else []) + [n for n in row if n != first]:
            text.append(visible(name), style="bold reverse" if name == first else "bold")
            text.append(": ")
            text.append(visible(row[name]) + "\n")
        text.rstrip()
        detail.update(text)

    # ------------------------------------------------------------------ markers
    def markers(self, view: View, index: int) -> Text:
        """● tagged, ○ related to a tagged row, + marked, ⌂ also on this host."""
        text = Text(end="")
        row = view.row_dict(index)
        tags = view.tags.get(index)
        if tags:
            bad = any(t.casefold() in ("malicious", "suspicious") for t in tags)
            text.append("●", style="bold red" if bad else "bold yellow")
        elif any(row.get(f) is not None and _hashable(row.get(f)) in self.related.get(f, ()) for f in RELATED_FIELDS):
            text.append("○", style="yellow")
        if index in view.marked:
            text.append("+", style="bold cyan")
        if view.language == OSQUERY:
            if _hashable(row.get("filename")) in self.remote_names:
                text.append("⌂", style="magenta")
        elif _hashable(row.get("file.name")) in self.local_names:
            text.append("⌂", style="magenta")
        return text

    async def refresh_related(self) -> None:
        """Values of tagged findings, for the ○ marker (one case read)."""
        try:
            findings = await self.bench.case.call(lambda c: c.findings(tagged_only=True))
        except Exception as exc:  # noqa: BLE001 - a broken case file must not stop the panes
            self.bench.notify_line(f"case file: {describe_error(exc)}", severity="error")
            return
        related: dict[str, set[Any]] = {f: set() for f in RELATED_FIELDS}
        for finding in findings:
            row = getattr(finding, "row", {}) or {}
            for f in RELATED_FIELDS:
                if row.get(f) is not None:
                    related[f].add(_hashable(row[f]))
        self.related = related

    async def refresh_tags(self, view: View) -> None:
        """Look up this view's rows in the case file (for ● markers)."""
        if view.result is None or view.language == CASE_LANGUAGE:
            return
        ids = self.bench.finding_ids(view)
        try:
            found = await self.bench.case.call(lambda c: c.tags_by_finding(ids))
        except Exception as exc:  # noqa: BLE001
            self.bench.notify_line(f"case file: {describe_error(exc)}", severity="error")
            return
        view.tags = {i: sorted(found[fid]) for i, fid in enumerate(ids) if found.get(fid)}

    async def refresh_all_markers(self) -> None:
        await self.refresh_related()
        for pane in self.panes:
            await self.refresh_tags(pane.view)
            pane.refresh_markers()
        self.draw_detail()

    def update_crosslinks(self) -> None:
        local: set[Any] = set()
        remote: set[Any] = set()
        for pane in self.panes:
            for view in pane.stack:
                if view.result is None:
                    continue
                if view.language == OSQUERY and "filename" in view.column_names:
                    col = view.column_names.index("filename")
                    local.update(_hashable(r[col]) for r in view.result.values if r[col] is not None)
                elif view.language == ESQL and "file.name" in view.column_names:
                    col = view.column_names.index("file.name")
                    remote.update(_hashable(r[col]) for r in view.result.values if r[col] is not None)
        changed = local != self.local_names or remote != self.remote_names
        self.local_names, self.remote_names = local, remote
        if changed:
            for pane in self.panes:
                pane.refresh_markers()

    # ------------------------------------------------------------------ results
    async def on_query_finished(self, message: QueryFinished) -> None:
        if not message.applied:
            return
        view, pane = message.view, message.pane
        if self.deferred and not any(p.view.loading for p in self.panes if p.view.language == ESQL):
            self.start_deferred()
        if view.error and view.error != "cancelled":
            self.bench.notify_line(f"{pane.label}: {view.error}", severity="error")
        if view.result is not None and not view.error:
            if message.tags is None:  # else the worker found them and the first drawing has them
                await self.refresh_tags(view)
                if view is pane.view:
                    pane.refresh_markers()
            self.update_crosslinks()  # redraws the markers of every pane if the links changed
        if pane is self.pane:
            self.draw_detail()
            self.draw_bars()

    @on(DataTable.CellHighlighted)
    def _highlighted(self, event: DataTable.CellHighlighted) -> None:
        if self.panes and event.data_table is self.pane.table:
            self.draw_detail()

    @on(DataTable.CellSelected)
    def _selected(self, event: DataTable.CellSelected) -> None:
        if self.panes and event.data_table is self.pane.table:
            event.stop()
            self.action_pivot()

    # ------------------------------------------------------------------ actions
    def action_pivot(self) -> None:
        pane = self.pane
        view = pane.view
        row = pane.selected_row()
        if view.loading or row is None:
            return
        if view.language == CASE_LANGUAGE:
            self.show_finding(row)
            return
        column = pane.selected_column() or ""
        try:
            if view.language == OSQUERY:  # back to the fleet, over the scan's time window
                request = fleet_pivot(self.bench.hunt, view.query, row)
            else:
                request = choose_pivot(self.bench.hunt, view.name, row, column, view.index_patterns)
        except PivotUnavailable as exc:
            self.bench.notify_line(str(exc), severity="warning")
            return
        query = carry_window(request.query, view.query) if view.language == ESQL else request.query
        kind = self.bench.source.kind if view.language == OSQUERY else view.source_kind
        new = View(name=request.name, title=request.title, query=query, params=request.params,
                   source_kind=kind, case_query=request.case_query, crumb=request.crumb,
                   index_patterns=HuntQuery(0, request.query, ESQL).index_patterns, via=dict(request.via))
        pane.push(new)
        self.draw_bars()
        self.draw_detail()

    def show_finding(self, row: dict) -> None:
        finding_id = row.get("finding")
        self.run_worker(self._show_finding(finding_id), exclusive=True, group="finding")

    async def _show_finding(self, finding_id: Any) -> None:
        """The finding's stored record in the text viewer (``finding_id`` as the row holds it)."""
        try:
            finding = await self.bench.case.call(lambda c: c.finding(finding_id))
        except Exception as exc:  # noqa: BLE001
            self.bench.notify_line(f"case file: {describe_error(exc)}", severity="error")
            return
        body = json.dumps({"id": finding.id, "tags": list(finding.tags),
                           "notes": [str(getattr(n, "text", n)) for n in getattr(finding, "notes", [])],
                           "hunt": getattr(finding, "hunt_name", None), "host.name": finding.hosts,
                           "agent.id": finding.agents, "first_seen": finding.first_seen,
                           "last_seen": finding.last_seen, "pivot_path": finding.pivot_path,
                           "source": finding.source, "row": finding.row},
                          indent=2, ensure_ascii=False, default=str)
        self.app.push_screen(TextScreen(f"finding {finding_id}", body))

    def action_show_script(self) -> None:
        row = self.pane.selected_row() if self.pane.view.language == OSQUERY else None
        if row is None or not is_script(row.get("path")):
            self.bench.notify_line("m shows a maintainer script of a Local scan row; this row has none", severity="warning")
            return
        self._read_script(row["path"])

    @work(thread=True, exclusive=True, group="script")
    def _read_script(self, path: str) -> None:
        """Read a maintainer script (bounded) from the scanned host or image, for the viewer."""
        try:
            data = self.bench.sources.for_language(OSQUERY).read_file(path, SCRIPT_LIMIT)  # type: ignore[attr-defined]
        except OSError as exc:
            self.app.call_from_thread(self.bench.notify_line, f"{path}: {exc.strerror or exc}", "error")
            return
        self.app.call_from_thread(self.app.push_screen, TextScreen(f"maintainer script {path} ({self.bench.scan_label})",
                                                                   script_text(data)))

    def action_show_dotfiles(self) -> None:
        view = self.pane.view
        query = dotfile_query(view.query) if view.language == OSQUERY and view.name == "scan" else None
        if query is None:
            self.bench.notify_line(". lists the dotfiles the Local scan's LIKE patterns skip (in that pane)",
                                   severity="warning")
            return
        self.pane.push(View(name=view.name, title="dotfiles the LIKE skips", crumb=DOTFILES, query=query,
                            language=OSQUERY, source_kind=view.source_kind, case_query=view.case_query))
        self.draw_bars()
        self.draw_detail()

    def action_back(self) -> None:
        filt = self.query_one("#filter", Input)
        if self.focused is filt:
            self.close_filter(clear=True)
            return
        pane = self.pane
        if pane.view.loading:
            self.action_cancel()
        elif pane.view.filter_text:
            pane.reorder(lambda v: setattr(v, "filter_text", ""))
        elif pane.pop():
            self.draw_bars()
            self.draw_detail()
            self.run_worker(self._refresh_view_markers(pane), group="markers")

    async def _refresh_view_markers(self, pane: ResultPane) -> None:
        await self.refresh_related()
        await self.refresh_tags(pane.view)
        pane.refresh_markers()
        self.draw_detail()

    def action_cancel(self) -> None:
        if self.pane.cancel():
            self.bench.notify_line(f"{self.pane.label}: query cancelled", severity="warning")
            self.draw_detail()

    def action_filter(self) -> None:
        filt = self.query_one("#filter", Input)
        filt.add_class("-shown")
        filt.value = self.pane.view.filter_text
        filt.focus()

    def close_filter(self, clear: bool) -> None:
        filt = self.query_one("#filter", Input)
        if clear:
            self.pane.reorder(lambda v: setattr(v, "filter_text", ""))
        filt.remove_class("-shown")
        self.pane.table.focus()
        self.draw_detail()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.pane.reorder(lambda v: setattr(v, "filter_text", event.value))

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.close_filter(clear=False)

    def action_sort(self) -> None:
        column = self.pane.selected_column()
        if column is None:
            return
        self.pane.reorder(lambda v: v.toggle_sort(column))
        self.draw_detail()

    def action_rare_first(self) -> None:
        view = self.pane.view
        if view.result is None:
            return
        column = self.pane.selected_column()

        def toggle(v: View) -> None:
            v.rare_first, v.rare_column = not v.rare_first, column

        self.pane.reorder(toggle)
        self.draw_detail()

    def action_mark(self) -> None:
        pane = self.pane
        index = pane.selected_index()
        if index is None:
            return
        pane.view.marked ^= {index}
        pane.refresh_markers()
        pane._draw_status()
        if pane.table.cursor_row < pane.table.row_count - 1:
            pane.table.move_cursor(row=pane.table.cursor_row + 1, animate=False)

    def action_next_pane(self) -> None:
        self.show_pane(self.current + 1)

    def action_previous_pane(self) -> None:
        self.show_pane(self.current - 1)

    def action_pane_number(self, number: int) -> None:
        if 1 <= number <= len(self.panes):
            self.show_pane(number - 1)

    def action_case_pane(self) -> None:
        self.show_pane(len(self.panes) - 1)
        self.pane.run_view()

    def action_toggle_detail(self) -> None:
        detail = self.query_one("#detail")
        if detail.has_class("-hidden"):
            detail.remove_class("-hidden")
        elif detail.has_class("-large"):
            detail.remove_class("-large")
            detail.add_class("-hidden")
        else:
            detail.add_class("-large")
        self.draw_detail()

    def action_copy_cell(self) -> None:
        row, column = self.pane.selected_row(), self.pane.selected_column()
        if row is None or column is None:
            return
        text = visible(row.get(column))
        self.app.copy_to_clipboard(text)
        self.bench.notify_line(f"copied {column} ({len(text)} characters)")

    def action_copy_row(self) -> None:
        row = self.pane.selected_row()
        if row is None:
            return
        text = json.dumps(row, ensure_ascii=True, default=str)
        self.app.copy_to_clipboard(text)
        self.bench.notify_line(f"copied the row as JSON ({len(text)} characters)")

    def action_rerun(self) -> None:
        self.pane.run_view()

    def action_edit_query(self) -> None:
        view = self.pane.view
        if view.query is None or view.language not in (ESQL, OSQUERY):
            self.bench.notify_line("this pane has no query to edit", severity="warning")
            return

        def run(text: str, token: CancelToken) -> QueryResult:
            probe = View(name=view.name, title=view.title, query=text, params=dict(view.params),
                         language=view.language, source_kind=view.source_kind)
            return self.bench.run_view_query(probe, token, lambda _t: None)

        def done(edited: EditedQuery | None) -> None:
            if edited is None:
                return
            pane = self.pane
            pane.remember_cursor()
            new = View(name=view.name, title="edited query", crumb="edited query", query=edited.text, params=dict(view.params),
                       language=view.language, source_kind=view.source_kind, case_query=view.case_query,
                       index_patterns=HuntQuery(0, edited.text, view.language).index_patterns,
                       result=edited.result, elapsed=edited.elapsed)
            pane.stack.append(new)
            pane.redraw()
            self.update_crosslinks()
            self.draw_bars()
            self.draw_detail()
            self.run_worker(self._refresh_view_markers(pane), group="markers")

        title = f"{self.pane.label} · {view.title} ({view.language})"
        self.app.push_screen(QueryScreen(title, view.query, view.params, run), done)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_hunt_info(self) -> None:
        if self.bench.hunt:
            self.app.push_screen(TextScreen(self.bench.hunt.name, hunt_text(self.bench.hunt)))

    def action_pick_hunt(self) -> None:
        def done(hunt: Hunt | None) -> None:
            if hunt is not None:
                self.run_worker(self.load_hunt(hunt), exclusive=True, group="load-hunt")

        self.app.push_screen(HuntPickerScreen(self.bench.library.hunts if self.bench.library else [], self.bench.hunt), done)

    def action_quit(self) -> None:
        self.app.exit()

    # ------------------------------------------------------------------ case
    def action_tag(self) -> None:
        pane = self.pane
        view = pane.view
        if view.result is None or view.loading:
            return
        if view.language == CASE_LANGUAGE:
            self.retag_finding()
            return
        selected = pane.selected_index()
        indices = sorted(view.marked) or ([selected] if selected is not None else [])
        if not indices:
            return
        what = f"{len(indices)} marked rows" if view.marked else "the selected row"

        def done(choice: TagChoice | None) -> None:
            if choice is not None:
                self.run_worker(self._tag(pane, view, indices, choice), group="tag")

        self.app.push_screen(TagScreen(what), done)

    async def _tag(self, pane: ResultPane, view: View, indices: list[int], choice: TagChoice) -> None:
        app = self.bench
        rows = [view.row_dict(i) for i in indices]
        hunt = app.hunt
        depth = next((i for i, v in enumerate(pane.stack) if v is view), None)
        stack = pane.stack[: depth + 1] if depth is not None else [view]
        steps = pivot_steps(stack)
        if len(rows) >= 5 and view.language == ESQL:
            app.notify_line(f"tagging {len(rows)} rows: looking up the hosts behind them…")
        resolved, notices = await app.resolve_context(view, rows, steps)
        default_hosts = [h for h in [app.local_scan_host()] if h] if view.language == OSQUERY else []
        try:
            outcome = await app.case.call(lambda c: c.tag_rows(
                rows, [choice.tag], note=choice.note, source_kind=view.source_kind,
                source=app.source_label(view), hunt_uuid=hunt.uuid if hunt else None,
                hunt_name=hunt.name if hunt else None, mitre=list(hunt.mitre) if hunt else [],
                query=view.case_query, params=view.params or None, pivot_path=steps,
                resolved=resolved, default_hosts=default_hosts))
        except Exception as exc:  # noqa: BLE001 - locked / foreign case file: one line, nothing lost
            app.notify_line(f"not tagged: {describe_error(exc)}", severity="error")
            return
        view.marked.clear()
        app.notify_line(f"tagged {len(rows)} row{'s' if len(rows) != 1 else ''} {choice.tag} in {app.case_display()}"
                        f" ({getattr(outcome, 'created', 0)} new)")
        for notice in notices[:2]:
            app.notify_line(notice, severity="warning")
        await self.refresh_all_markers()
        pane._draw_status()
        self.panes[-1].run_view()

    def retag_finding(self, replace: bool = False) -> None:
        """``t`` in the Case pane adds a tag (those there stay); ``T`` replaces them all."""
        row = self.pane.selected_row()
        if row is None:
            return
        finding_id, current = row["finding"], tags_of(row)
        what = f"finding {finding_id}: replace all its tags with" if replace else f"finding {finding_id}: add a tag"

        def done(choice: TagChoice | None) -> None:
            if choice is not None:
                self.run_worker(self._retag(finding_id, choice, replace), group="tag")

        self.app.push_screen(TagScreen(what, current), done)

    def action_replace_tags(self) -> None:
        if self.pane.view.language != CASE_LANGUAGE or self.pane.selected_row() is None:
            self.bench.notify_line("T replaces a finding's tags in the Case pane (c shows it)", severity="warning")
            return
        self.retag_finding(replace=True)

    async def _retag(self, finding_id: str, choice: TagChoice, replace: bool) -> None:
        def change(case) -> list[str]:
            if replace:
                case.replace_tags(finding_id, [choice.tag], choice.note)
                return [choice.tag]
            return case.add_tags(finding_id, [choice.tag], choice.note)

        try:
            added = await self.bench.case.call(change)
        except Exception as exc:  # noqa: BLE001
            self.bench.notify_line(f"not changed: {describe_error(exc)}", severity="error")
            return
        if replace:
            self.bench.notify_line(f"finding {finding_id} is now {choice.tag} only")
        elif added:
            self.bench.notify_line(f"added {choice.tag} to finding {finding_id}")
        else:
            self.bench.notify_line(f"finding {finding_id} already has {choice.tag}"
                                   + (" (note added)" if choice.note else ""))
        await self.refresh_all_markers()
        self.panes[-1].run_view()

    def action_untag(self) -> None:
        view = self.pane.view
        row = self.pane.selected_row()
        if view.language != CASE_LANGUAGE or row is None:
            self.bench.notify_line("x removes a tag in the Case pane (c shows it)", severity="warning")
            return
        tags = tags_of(row)
        if not tags:
            return
        finding_id = row["finding"]
        if len(tags) == 1:
            self.run_worker(self._untag(finding_id, tags[0]), group="tag")
            return

        def done(choice: TagChoice | None) -> None:
            if choice is not None:
                self.run_worker(self._untag(finding_id, choice.tag), group="tag")

        self.app.push_screen(TagScreen(f"finding {finding_id}: remove which tag?", tags, tuple(tags[:4])), done)

    async def _untag(self, finding_id: str, tag: str) -> None:
        try:
            await self.bench.case.call(lambda c: c.untag(finding_id, tag))
        except Exception as exc:  # noqa: BLE001
            self.bench.notify_line(f"not removed: {describe_error(exc)}", severity="error")
            return
        self.bench.notify_line(f"removed {tag} from finding {finding_id}")
        await self.refresh_all_markers()
        self.panes[-1].run_view()

    def action_note(self) -> None:
        row = self.pane.selected_row()
        if self.pane.view.language != CASE_LANGUAGE or row is None:
            self.bench.notify_line("n adds a note in the Case pane (c shows it)", severity="warning")
            return
        finding_id = row["finding"]

        def done(text: str | None) -> None:
            if text:
                self.run_worker(self._note(finding_id, text), group="tag")

        self.app.push_screen(PromptScreen(f"note for finding {finding_id}:"), done)

    async def _note(self, finding_id: str, text: str) -> None:
        try:
            await self.bench.case.call(lambda c: c.add_note(finding_id, text))
        except Exception as exc:  # noqa: BLE001
            self.bench.notify_line(f"note not saved: {describe_error(exc)}", severity="error")
            return
        self.bench.notify_line(f"note added to finding {finding_id}")
        self.panes[-1].run_view()

    def action_export(self) -> None:
        default = str(self.bench.default_export_path())

        def done(path: str | None) -> None:
            if not path:
                return
            target = Path(path).expanduser()
            if target.exists() and not target.is_dir():
                def confirmed(answer: str | None) -> None:
                    if (answer or "").strip().lower() in ("y", "yes"):
                        self.run_worker(self._export(path), group="export")
                    else:
                        self.bench.notify_line(f"not exported: {target} kept as it was", severity="warning")

                self.app.push_screen(PromptScreen(f"{visible(str(target))} exists. Overwrite it? (y/n)", "n",
                                                  "y + enter overwrites · esc: cancel"), confirmed)
                return
            self.run_worker(self._export(path), group="export")

        self.app.push_screen(PromptScreen("export the case's findings to CSV file:", default), done)

    async def _export(self, path: str) -> None:
        target = Path(path).expanduser()
        try:
            count, untagged = await self.bench.case.call(lambda c: (c.export(target, fmt="csv"), c.count_untagged()))
        except Exception as exc:  # noqa: BLE001
            self.bench.notify_line(f"not exported: {describe_error(exc)}", severity="error")
            return
        self.bench.last_export = (target, count)
        left_out = f" ({untagged} untagged finding{'s' if untagged != 1 else ''} left out)" if untagged else ""
        self.bench.notify_line(f"exported {count} finding{'s' if count != 1 else ''} to {target}{left_out}")


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


class HuntbenchApp(App):
    """``huntbench``: the workbench over one source, one hunt library and one case file."""

    TITLE = "huntbench"
    ENABLE_COMMAND_PALETTE = True
    show_timings = True
    """Elapsed times in status lines (off for snapshot tests, whose pictures must not move)."""

    def __init__(self, *, source: Source, library: HuntLibrary | None, hunt: Hunt | None,
                 case_path: str | Path | None = None, osquery_backend: str = "builtin",
                 scan_root: str | Path | None = None, startup_notice: str | None = None,
                 scan_now: datetime | None = None, scan_label: str | None = None) -> None:
        super().__init__()
        self.sources = SourceRouter(source, open_scan(backend=osquery_backend, root=scan_root, now=scan_now))
        """Every query reaches its source through here, chosen by the query's language."""
        self.library = library
        self.hunt = hunt
        self.case = CaseGateway(case_path)
        self.osquery_backend = osquery_backend
        self.scan_root = scan_root
        self.scan_label = scan_label or local_scan_label(scan_root)
        """``local: this host (...)`` / ``image: DIR (host)``: what the Local scan pane reads."""
        self.startup_notice = startup_notice
        self.last_export: tuple[Path, int] | None = None
        self.notifications_shown: list[str] = []

    @property
    def source(self) -> Source:
        """The workbench's ES|QL data: offline, the sample or a cluster."""
        return self.sources.for_language(Language.ESQL)

    @source.setter
    def source(self, source: Source) -> None:
        self.sources.use(source)

    def on_load(self) -> None:
        warm_source(self.source)

    def get_default_screen(self) -> Screen:
        return WorkbenchScreen()

    @property
    def workbench(self) -> WorkbenchScreen:
        return self.get_default_screen_instance()

    def get_default_screen_instance(self) -> WorkbenchScreen:
        for screen in self.screen_stack:
            if isinstance(screen, WorkbenchScreen):
                return screen
        raise LookupError("the workbench screen is not up")

    def on_unmount(self) -> None:
        """Cancel running queries (a cluster's async query is deleted) and close the case."""
        for screen in self.screen_stack:
            if isinstance(screen, WorkbenchScreen):
                for pane in screen.panes:
                    for token in list(pane.tokens.values()):
                        token.cancel()
        self.case.close()

    # ------------------------------------------------------------------ helpers
    def notify_line(self, message: str, severity: str = "information") -> None:
        """One escaped line, never markup (the message may quote attacker data)."""
        line = clip(visible(message), 300)
        self.notifications_shown.append(line)
        self.notify(line, severity=severity, markup=False, timeout=6 if severity != "error" else 10)  # type: ignore[arg-type]

    def case_display(self) -> str:
        try:
            return str(self.case.path.relative_to(Path.cwd()))
        except ValueError:
            return str(self.case.path)

    def source_label(self, view: View) -> str:
        source = self.sources.for_language(view.language)
        if view.language == OSQUERY:  # the host (or image) the scan read, whatever the source says
            return local_scan_source(source.describe(), getattr(source, "root", None))
        return source.describe()

    def local_scan_host(self) -> str | None:
        """The host the local scan reads (this machine, or the image's /etc/hostname)."""
        return local_scan_host(getattr(self.sources.for_language(OSQUERY), "root", None))

    def window_in_force(self, view: View) -> str | None:
        """``7 days to 2026-11-16 09:00Z``: the time window of ``view``'s query, if it has one."""
        window = find_window(view.query, view.language)
        if window is None:
            return None
        now = getattr(self.source, "effective_now", None)
        scan_now = getattr(self.sources.for_language(OSQUERY), "now", None) if view.language == OSQUERY else None
        end = now() if callable(now) and view.language == ESQL else scan_now or datetime.now(timezone.utc)
        return window.describe(end.astimezone(timezone.utc))

    async def resolve_context(self, view: View, rows: list[dict], steps: list[dict]) -> tuple[list, list[str]]:
        """Hosts/agents/times behind rows that name none (the hunt's declared pivot, run
        through this source in a worker thread); see tui/finding_context.py."""
        if view.language != ESQL:
            return [None] * len(rows), []

        def run(query: str, params) -> QueryResult:
            return self.sources.run(ESQL, query, dict(params))

        return await asyncio.to_thread(resolve_rows, self.hunt, view, rows, steps, run)

    def default_export_path(self) -> Path:
        """``<case>-findings.csv`` beside the case file, never over an existing file."""
        base = self.case.path.with_name(self.case.path.stem + "-findings")
        candidate = base.with_suffix(".csv")
        n = 2
        while candidate.exists():
            candidate = base.with_name(f"{base.name}-{n}.csv")
            n += 1
        try:
            return candidate.relative_to(Path.cwd())
        except ValueError:
            return candidate

    def finding_ids(self, view: View, result: QueryResult | None = None) -> list[str]:
        """The case file's ids of the rows of ``result`` (default: the view's) in this view."""
        from casefile import finding_id

        result = result or view.result
        if result is None or view.source_kind not in set(SourceKind):
            return []
        hunt = self.hunt.uuid if self.hunt else None
        names = result.column_names
        return [finding_id(view.source_kind, hunt, view.case_query, dict(zip(names, row)), view.params or None)
                for row in result.values]

    def tags_for_result(self, view: View, result: QueryResult) -> dict[int, list[str]]:
        """Called in the pane's worker thread: the tags of each row, for the first drawing."""
        ids = self.finding_ids(view, result)
        if not ids:
            return {}
        found = self.case.call_sync(lambda c: c.tags_by_finding(ids))
        return {i: sorted(found[fid]) for i, fid in enumerate(ids) if found.get(fid)}

    def run_view_query(self, view: View, token: CancelToken, progress: Callable[[str], None]) -> QueryResult:
        """Called in a worker thread: the one place a view's query reaches a source."""
        if view.language == CASE_LANGUAGE:
            return findings_result(self.case.call_sync(lambda c: c.findings()))
        if view.language == OSQUERY:
            return run_local_scan(self.sources, view.name, view.query or "", cancel=token, progress=progress)
        return self.sources.run(view.language, view.query or "", view.params or None, cancel=token,
                                progress=progress)

    def switch_to_sample(self) -> None:
        self.source = sample_source()
        self.workbench.run_worker(self.workbench.load_hunt(self.hunt), exclusive=True, group="load-hunt")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Palette entries as ``category: action``; each runs the same action as its key."""
        for command in super().get_system_commands(screen):  # Textual's own: theme, keys, quit...
            yield command._replace(title=f"app: {command.title[:1].lower()}{command.title[1:]}")
        if not isinstance(screen, WorkbenchScreen):
            return
        for key in WORKBENCH_KEYS:
            if key.action in ("pane_number", "quit"):
                continue
            yield SystemCommand(f"{key.category}: {key.short.lower()}", key.description,
                                partial(screen.run_action, key.action))
        yield SystemCommand("source: open the bundled sample data",
                            "Leave the current source and open the sample data offline", self.switch_to_sample)
