"""What the workbench's case keys do: tag, add/replace/remove tags, note, show, export.

Every action is the same four steps: ask (a dialog), change the case file on its own
thread, say in one line what happened (or why nothing did, with nothing lost), then redraw
what the change affects (markers everywhere, the Case pane). :meth:`CaseActions._apply`
does the last three once, so each action reads as what it asks and what it changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from hunts.library import ESQL, OSQUERY
from tui.case_gateway import tags_of
from tui.escape import visible
from tui.finding_context import pivot_steps
from tui.model import CASE_LANGUAGE, View
from tui.pane import ResultPane, describe_error
from tui.screens.prompt import PromptScreen
from tui.screens.tag import TagChoice, TagScreen
from tui.screens.text import TextScreen

if TYPE_CHECKING:
    from casefile import Case
    from tui.app import HuntbenchApp
    from tui.workbench import WorkbenchScreen

T = TypeVar("T")


class CaseActions:
    """The case keys of one workbench screen."""

    def __init__(self, screen: WorkbenchScreen) -> None:
        self.screen = screen

    @property
    def app(self) -> HuntbenchApp:
        return self.screen.bench

    # ------------------------------------------------------------------ plumbing
    async def _apply(self, change: Callable[[Case], T], *, failed: str, done: Callable[[T], str | None],
                     refresh: bool = True) -> bool:
        """Run ``change`` on the case thread; one line for the outcome; redraw what it touched.

        A locked or foreign case file costs one error line and leaves every pane as it was.
        """
        try:
            result = await self.app.case.call(change)
        except Exception as exc:  # noqa: BLE001 - any case failure is one line, nothing lost
            self.app.notify_line(f"{failed}: {describe_error(exc)}", severity="error")
            return False
        message = done(result)
        if message:
            self.app.notify_line(message)
        if refresh:
            await self.screen.refresh_all_markers()
            self.screen.case_pane.run_view()
        return True

    def _in_case_pane(self, key: str, what: str) -> dict[str, Any] | None:
        """The selected finding, or a hint that ``key`` works in the Case pane."""
        row = self.screen.pane.selected_row()
        if self.screen.pane.view.language != CASE_LANGUAGE or row is None:
            self.app.notify_line(f"{key} {what} in the Case pane (c shows it)", severity="warning")
            return None
        return row

    # ------------------------------------------------------------------ tag rows
    def tag(self) -> None:
        """``t``: tag the selected row (or the marked rows); in the Case pane, add a tag."""
        pane = self.screen.pane
        view = pane.view
        if view.result is None or view.loading:
            return
        if view.language == CASE_LANGUAGE:
            self.retag()
            return
        selected = pane.selected_index()
        indices = sorted(view.marked) or ([selected] if selected is not None else [])
        if not indices:
            return
        what = f"{len(indices)} marked rows" if view.marked else "the selected row"

        def done(choice: TagChoice | None) -> None:
            if choice is not None:
                self.screen.run_worker(self._tag(pane, view, indices, choice), group="tag")

        self.app.push_screen(TagScreen(what), done)

    async def _tag(self, pane: ResultPane, view: View, indices: list[int], choice: TagChoice) -> None:
        """Record the rows with where (hosts, agents), when (event times) and how (pivot path)."""
        app = self.app
        rows = [view.row_dict(i) for i in indices]
        hunt = app.hunt
        depth = next((i for i, v in enumerate(pane.stack) if v is view), None)
        stack = pane.stack[: depth + 1] if depth is not None else [view]
        steps = pivot_steps(stack)
        if len(rows) >= 5 and view.language == ESQL:
            app.notify_line(f"tagging {len(rows)} rows: looking up the hosts behind them…")
        resolved, notices = await app.resolve_context(view, rows, steps)
        default_hosts = [h for h in [app.local_scan_host()] if h] if view.language == OSQUERY else []

        def tagged(outcome: Any) -> str:
            view.marked.clear()
            return (f"tagged {len(rows)} row{'s' if len(rows) != 1 else ''} {choice.tag} in {app.case_display()}"
                    f" ({getattr(outcome, 'created', 0)} new)")

        ok = await self._apply(
            lambda c: c.tag_rows(rows, [choice.tag], note=choice.note, source_kind=view.source_kind,
                                 source=app.source_label(view), hunt_uuid=hunt.uuid if hunt else None,
                                 hunt_name=hunt.name if hunt else None, mitre=list(hunt.mitre) if hunt else [],
                                 query=view.case_query, params=view.params or None, pivot_path=steps,
                                 resolved=resolved, default_hosts=default_hosts),
            failed="not tagged", done=tagged)
        if ok:
            for notice in notices[:2]:
                app.notify_line(notice, severity="warning")
            pane.draw_status()

    # ------------------------------------------------------------------ findings
    def retag(self, replace: bool = False) -> None:
        """``t`` in the Case pane adds a tag (those there stay); ``T`` replaces them all."""
        row = self._in_case_pane("T", "replaces a finding's tags") if replace else self.screen.pane.selected_row()
        if row is None:
            return
        finding_id, current = row["finding"], tags_of(row)
        what = f"finding {finding_id}: replace all its tags with" if replace else f"finding {finding_id}: add a tag"

        def done(choice: TagChoice | None) -> None:
            if choice is not None:
                self.screen.run_worker(self._retag(finding_id, choice, replace), group="tag")

        self.app.push_screen(TagScreen(what, current), done)

    async def _retag(self, finding_id: str, choice: TagChoice, replace: bool) -> None:
        def change(case: Case) -> list[str]:
            if replace:
                case.replace_tags(finding_id, [choice.tag], choice.note)
                return [choice.tag]
            return case.add_tags(finding_id, [choice.tag], choice.note)

        def done(added: list[str]) -> str:
            if replace:
                return f"finding {finding_id} is now {choice.tag} only"
            if added:
                return f"added {choice.tag} to finding {finding_id}"
            return f"finding {finding_id} already has {choice.tag}" + (" (note added)" if choice.note else "")

        await self._apply(change, failed="not changed", done=done)

    def untag(self) -> None:
        """``x``: remove a tag (asks which when the finding has several)."""
        row = self._in_case_pane("x", "removes a tag")
        if row is None:
            return
        tags = tags_of(row)
        if not tags:
            return
        finding_id = row["finding"]
        if len(tags) == 1:
            self.screen.run_worker(self._untag(finding_id, tags[0]), group="tag")
            return

        def done(choice: TagChoice | None) -> None:
            if choice is not None:
                self.screen.run_worker(self._untag(finding_id, choice.tag), group="tag")

        self.app.push_screen(TagScreen(f"finding {finding_id}: remove which tag?", tags, tuple(tags[:4])), done)

    async def _untag(self, finding_id: str, tag: str) -> None:
        await self._apply(lambda c: c.untag(finding_id, tag), failed="not removed",
                          done=lambda _: f"removed {tag} from finding {finding_id}")

    def note(self) -> None:
        """``n``: add a note to the selected finding."""
        row = self._in_case_pane("n", "adds a note")
        if row is None:
            return
        finding_id = row["finding"]

        def done(text: str | None) -> None:
            if text:
                self.screen.run_worker(self._apply(lambda c: c.add_note(finding_id, text), failed="note not saved",
                                                   done=lambda _: f"note added to finding {finding_id}"),
                                       group="tag")

        self.app.push_screen(PromptScreen(f"note for finding {finding_id}:"), done)

    def show(self, row: dict[str, Any]) -> None:
        """Enter in the Case pane: the finding's stored record in the text viewer."""
        finding_id = row.get("finding")
        self.screen.run_worker(self._show(finding_id), exclusive=True, group="finding")

    async def _show(self, finding_id: Any) -> None:
        def shown(finding: Any) -> None:
            body = json.dumps({"id": finding.id, "tags": list(finding.tags),
                               "notes": [str(getattr(n, "text", n)) for n in getattr(finding, "notes", [])],
                               "hunt": getattr(finding, "hunt_name", None), "host.name": finding.hosts,
                               "agent.id": finding.agents, "first_seen": finding.first_seen,
                               "last_seen": finding.last_seen, "pivot_path": finding.pivot_path,
                               "source": finding.source, "row": finding.row},
                              indent=2, ensure_ascii=False, default=str)
            self.app.push_screen(TextScreen(f"finding {finding_id}", body))

        await self._apply(lambda c: c.finding(finding_id), failed="case file", done=shown, refresh=False)

    # ------------------------------------------------------------------ export
    def export(self) -> None:
        """``e``: export to CSV; asks for the path, and before overwriting a file."""
        default = str(self.app.default_export_path())

        def done(path: str | None) -> None:
            if not path:
                return
            target = Path(path).expanduser()
            if target.exists() and not target.is_dir():
                def confirmed(answer: str | None) -> None:
                    if (answer or "").strip().lower() in ("y", "yes"):
                        self.screen.run_worker(self._export(target), group="export")
                    else:
                        self.app.notify_line(f"not exported: {target} kept as it was", severity="warning")

                self.app.push_screen(PromptScreen(f"{visible(str(target))} exists. Overwrite it? (y/n)", "n",
                                                  "y + enter overwrites · esc: cancel"), confirmed)
                return
            self.screen.run_worker(self._export(target), group="export")

        self.app.push_screen(PromptScreen("export the case's findings to CSV file:", default), done)

    async def _export(self, target: Path) -> None:
        def exported(counts: tuple[int, int]) -> str:
            count, untagged = counts
            self.app.last_export = (target, count)
            left_out = f" ({untagged} untagged finding{'s' if untagged != 1 else ''} left out)" if untagged else ""
            return f"exported {count} finding{'s' if count != 1 else ''} to {target}{left_out}"

        await self._apply(lambda c: (c.export(target, fmt="csv"), c.count_untagged()), failed="not exported",
                          done=exported, refresh=False)
