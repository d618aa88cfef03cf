"""The workbench app: one source router, one hunt library, one case file, one screen.

The app owns what outlives a pane (the sources, the hunt library, the case file) and is the
adapter between the screen and them: every query reaches a source through
:meth:`HuntbenchApp.run_view_query`, every case read or write through :attr:`case`. The
screen (:mod:`tui.workbench`) lays out and navigates; the keys that change the case are
:mod:`tui.case_actions`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Callable, Iterable

from textual.app import App, SystemCommand
from textual.screen import Screen

from collectors.interface import CancelToken, Language, QueryResult, Source, SourceKind
from collectors.sources import SourceRouter, open_scan, sample_source, warm_before_screen
from hunts.library import ESQL, OSQUERY, Hunt, HuntLibrary
from tui.case_gateway import CaseGateway, findings_result, tags_by_row
from tui.escape import clip, visible
from tui.finding_context import local_scan_host, local_scan_source, resolve_rows
from tui.keys import WORKBENCH_KEYS
from tui.local_scan import run_local_scan
from tui.local_scan import scan_label as local_scan_label
from tui.model import CASE_LANGUAGE, View
from tui.window import find_window
from tui.workbench import WorkbenchScreen

__all__ = ["HuntbenchApp", "WorkbenchScreen"]


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
        warm_before_screen(self.source, self.hunt.lead_esql if self.hunt else None)

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
        hunt = self.hunt.case_key if self.hunt else None
        names = result.column_names
        return [finding_id(view.source_kind, hunt, view.case_query, dict(zip(names, row)), view.params or None)
                for row in result.values]

    def tags_for_result(self, view: View, result: QueryResult) -> dict[int, list[str]]:
        """Called in the pane's worker thread: the tags of each row, for the first drawing."""
        ids = self.finding_ids(view, result)
        if not ids:
            return {}
        found = self.case.call_sync(lambda c: c.tags_by_finding(ids))
        return tags_by_row(ids, found)

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
