"""The workbench screen: header, pane bar, breadcrumb, the panes, the detail pane, the keys.

Bindings live on this screen, not on the app, so a dialog on top never triggers workbench
keys. The screen lays out and navigates; what a row's marker says is :mod:`tui.markers`,
what the case keys do is :mod:`tui.case_actions`, and every query reaches its source
through the app (:meth:`HuntbenchApp.run_view_query`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Callable

from rich.text import Span, Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from collectors.interface import CancelToken, QueryResult, SourceKind
from collectors.sources import reading_plan
from hunts.library import ESQL, OSQUERY, Hunt, HuntQuery
from tui import fit
from tui.case_actions import CaseActions
from tui.case_gateway import CASE_WIDTHS, tags_by_row
from tui.detail import FieldLines
from tui.escape import as_text, visible
from tui.first_queries import FirstQueries
from tui.keys import bindings
from tui.local_scan import DOTFILES, SCRIPT_LIMIT, dotfile_query, fleet_pivot, is_script, script_text
from tui.markers import RowMarkers
from tui.model import CASE_LANGUAGE, TABLE_COLUMNS, View
from tui.pane import QueryFinished, ResultPane, describe_error
from tui.pivots import PivotUnavailable, choose_pivot
from tui.screens.help import HelpScreen
from tui.screens.hunts import HuntPickerScreen, hunt_text
from tui.screens.query import EditedQuery, QueryScreen
from tui.screens.text import TextScreen
from tui.window import carry_window

if TYPE_CHECKING:
    from tui.app import HuntbenchApp


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
        self.row_markers = RowMarkers()
        self.case_actions = CaseActions(self)
        self.deferred: list[ResultPane] = []
        self.first_queries = FirstQueries()

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
            fields = FieldLines(id="detail-fields")
            fields.display = False
            yield fields
        yield Input(placeholder="filter rows (enter keeps it, esc clears)", id="filter")
        yield Footer()

    async def on_mount(self) -> None:
        self.call_after_refresh(self.first_queries.painted.set)
        self.draw_header()
        await self.load_hunt(self.bench.hunt)
        if self.bench.startup_notice:
            self.bench.notify_line(self.bench.startup_notice, severity="warning")

    def draw_header(self) -> None:
        app = self.bench
        hunt = app.hunt.name if app.hunt else "no hunt"
        text = fit.header(app.source.describe(), app.case_display(), hunt, (self.size.width or app.size.width) - 2,
                          scan=app.scan_label)
        self.query_one("#header", Static).update(as_text(text))

    @property
    def pane(self) -> ResultPane:
        return self.panes[self.current]

    @property
    def case_pane(self) -> ResultPane:
        """The pane that lists the case file's findings (every hunt has one)."""
        return next(p for p in self.panes if p.view.language == CASE_LANGUAGE)

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
        self.row_markers.forget_links()
        self.panes = []
        for number, view in enumerate(self.views_for(hunt), start=1):
            pane = ResultPane(view, self.run_view_query, label=pane_label(view, number), id=f"pane{number}")
            pane.markers = self.row_markers.marker
            pane.annotate = self.bench.tags_for_result
            pane.display = number == 1
            self.panes.append(pane)
        await switcher.mount_all(self.panes)
        self.current = 0
        self.draw_header()
        self.draw_bars()
        await self.refresh_related()
        reading = reading_plan(self.bench.source) or ""  # what the first runs read, shown at once
        first = [pane.view for pane in self.panes if pane.view.language == ESQL]
        self.first_queries.begin(first[0].uid if first else None, [v.uid for v in first[1:]])
        # ES|QL panes first: the local scan walks the disk in Python and would compete for
        # the GIL with loading the data, so it starts once the hunt's queries have answered.
        for pane in self.panes:
            if pane.view.language == ESQL:
                pane.view.reading = reading
                pane.run_view()
        self.deferred = [p for p in self.panes if p.view.language != ESQL]
        if not any(p.view.loading for p in self.panes):
            self.start_deferred()
        self.pane.table.focus()

    def run_view_query(self, view: View, token: CancelToken, progress: Callable[[str], None]) -> QueryResult:
        """A pane's worker: the app runs the query when its turn comes (see tui/first_queries.py)."""
        return self.first_queries.run(view.uid, token, lambda: self.bench.run_view_query(view, token, progress))

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
        # The time window in force for this pane and step, always in sight at the right.
        window = self.bench.window_in_force(self.pane.view)
        tail = f"  ⏱ {window}" if window else ""
        self.query_one("#crumbs", Static).update(as_text(fit.breadcrumb(steps, tail, self.size.width - 2)))

    def on_resize(self) -> None:
        self.draw_header()
        self.draw_bars()

    def draw_detail(self) -> None:
        """The whole selected row: every column, values complete and wrapped."""
        detail = self.query_one("#detail-text", Static)
        if not self.panes:
            return
        pane = self.pane
        view = pane.view
        if view.error and not view.loading:
            self._detail_lines(None)
            detail.update(as_text(f"{view.title}: {view.error}", keep_newlines=True, style="red"))
            return
        index = pane.selected_index() if pane.is_mounted and view.result and not view.loading else None
        if index is None:
            self._detail_lines(None)
            detail.update(as_text(view.title if view.loading else ""))
            return
        lines = []
        tags = view.tags.get(index)
        if tags:
            lines.append(Text.assemble(("tags: ", "bold red"), (visible(", ".join(tags)), "red"), end=""))
        row = view.row_dict(index)
        first = pane.selected_column()
        for name in ([first] if first in row else []) + [n for n in row if n != first]:
            shown = visible(name)  # one Text per field, built directly: a wide row has thousands
            lines.append(Text(f"{shown}: {visible(row[name])}", end="",
                              spans=[Span(0, len(shown), "bold reverse" if name == first else "bold")]))
        if len(row) > TABLE_COLUMNS:  # a wide row: only the lines in sight are drawn
            detail.display = False
            self._detail_lines(lines)
            return
        self._detail_lines(None)
        text = Text("\n", end="").join(lines)
        text.rstrip()
        detail.update(text)

    def _detail_lines(self, lines: list[Text] | None) -> None:
        """Show a wide row's fields in the line-by-line list (None: hide it and show the
        detail text instead)."""
        fields = self.query_one("#detail-fields", FieldLines)
        fields.display = lines is not None
        self.query_one("#detail-text", Static).display = lines is None
        fields.show(lines or [])

    # ------------------------------------------------------------------ markers
    async def refresh_related(self) -> None:
        """Values of tagged findings, for the ○ marker (one case read)."""
        try:
            findings = await self.bench.case.call(lambda c: c.findings(tagged_only=True))
        except Exception as exc:  # noqa: BLE001 - a broken case file must not stop the panes
            self.bench.notify_line(f"case file: {describe_error(exc)}", severity="error")
            return
        self.row_markers.remember_tagged(getattr(finding, "row", {}) or {} for finding in findings)

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
        view.tags = tags_by_row(ids, found)

    async def refresh_all_markers(self) -> None:
        await self.refresh_related()
        for pane in self.panes:
            await self.refresh_tags(pane.view)
            pane.refresh_markers()
        self.draw_detail()

    def update_crosslinks(self) -> None:
        """The ⌂ links between the fleet's and the local scan's file names, redrawn if changed."""
        if self.row_markers.link(view for pane in self.panes for view in pane.stack):
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
            self.case_actions.show(row)
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
        # the pivot looks at the same time window
        query = carry_window(request.query, view.query) if view.language == ESQL else request.query
        kind = self.bench.source.kind if view.language == OSQUERY else view.source_kind
        new = View(name=request.name, title=request.title, query=query, params=request.params,
                   source_kind=kind, case_query=request.case_query, crumb=request.crumb,
                   index_patterns=HuntQuery(0, request.query, ESQL).index_patterns, via=dict(request.via),
                   origin={**view.origin, **row})
        pane.push(new)
        self.draw_bars()
        self.draw_detail()

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
        pane.draw_status()
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
        self.show_pane(self.panes.index(self.case_pane))
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
        self.case_actions.tag()

    def action_replace_tags(self) -> None:
        self.case_actions.retag(replace=True)

    def action_untag(self) -> None:
        self.case_actions.untag()

    def action_note(self) -> None:
        self.case_actions.note()

    def action_export(self) -> None:
        self.case_actions.export()
