"""Every key of the workbench in one table: bindings, the help screen and the command
palette are all made from it, so none of them can forget a key (Posting's idea of
bindings with ids and tooltips, and "category: action" palette entries)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding, BindingType


@dataclass(frozen=True)
class Key:
    key: str
    action: str
    short: str
    """Footer label."""
    description: str
    """Help screen, tooltip and palette help."""
    category: str
    """Palette category: ``pane``, ``case``, ``query``, ``view``, ``hunt``, ``app``."""
    show: bool = False
    display: str | None = None
    priority: bool = False

    @property
    def binding_id(self) -> str:
        return f"huntbench.{self.action}"

    def binding(self) -> Binding:
        return Binding(self.key, self.action, self.short, show=self.show, key_display=self.display,
                       priority=self.priority, tooltip=self.description, id=self.binding_id)


WORKBENCH_KEYS: tuple[Key, ...] = (
    Key("enter", "pivot", "Pivot", "Follow the selected cell: the hunt's declared pivot, else events where this field equals this value (on a Local scan row: the fleet agents that wrote that file name)", "pane", show=True, display="⏎"),
    Key("escape", "back", "Back", "Cancel the running query, else clear the filter, else go back one pivot step (selection restored)", "pane", show=True, display="esc"),
    Key("ctrl+c", "cancel", "Cancel", "Cancel the running query of this pane (also on the cluster)", "pane", priority=True),
    Key("t", "tag", "Tag", "Add a tag to the selected row, or the rows marked with space (in the Case pane: to the finding)", "case", show=True),
    Key("T", "replace_tags", "Replace tags", "In the Case pane: replace the selected finding's tags with one (t adds a tag)", "case", display="T"),
    Key("e", "export", "Export", "Export the case's findings to CSV (asks for the path; asks before overwriting)", "case", show=True),
    Key("space", "mark", "Mark", "Mark or unmark the selected row (for tagging several rows at once)", "case", display="space"),
    Key("slash", "filter", "Filter", "Show only rows containing a text (esc clears)", "pane", show=True, display="/"),
    Key("s", "sort", "Sort", "Sort by the selected column: ascending, descending, then the query's order", "pane"),
    Key("r", "rare_first", "Rare first", "Toggle rare-first: by the count column, else by how often the selected column's value occurs", "pane"),
    Key("tab", "next_pane", "Next pane", "Show the next pane", "view", priority=False),
    Key("shift+tab", "previous_pane", "Previous pane", "Show the previous pane", "view"),
    Key("1,2,3,4,5,6,7,8,9", "pane_number", "Pane N", "Show pane number N (as numbered in the pane bar)", "view", display="1-9"),
    Key("c", "case_pane", "Case", "Show the Case pane (findings, their tags and notes)", "case"),
    Key("x,delete", "untag", "Untag", "In the Case pane: remove a tag from the selected finding", "case", display="x"),
    Key("n", "note", "Note", "In the Case pane: add a note to the selected finding", "case"),
    Key("d", "toggle_detail", "Detail", "Resize the detail pane (row in full): normal, large, hidden", "view"),
    Key("y", "copy_cell", "Copy cell", "Copy the selected cell (escaped text) to the terminal clipboard (OSC 52)", "pane"),
    Key("Y", "copy_row", "Copy row", "Copy the selected row as JSON to the terminal clipboard (OSC 52)", "pane", display="Y"),
    Key("v", "edit_query", "Query", "Show and edit this pane's query, re-run it (ctrl+r in the editor)", "query"),
    Key("R", "rerun", "Re-run", "Run this pane's query again", "query", display="R"),
    Key("m", "show_script", "Script", "On a Local scan row that is a maintainer script: show its content (first 64 KiB, escaped)", "pane"),
    Key("full_stop", "show_dotfiles", "Dotfiles", "In the Local scan pane: list the dotfiles its LIKE patterns skip (same query with directory = ...)", "pane", display="."),
    Key("h", "pick_hunt", "Hunts", "Pick another hunt (name, MITRE, description and notes)", "hunt"),
    Key("i", "hunt_info", "Hunt info", "Show the open hunt's description, notes and MITRE ids", "hunt"),
    Key("question_mark", "help", "Help", "List every key", "app", show=True, display="?"),
    Key("q", "quit", "Quit", "Quit huntbench", "app", show=True),
)

NAVIGATION_KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓ ← →", "move the cell cursor"),
    ("pgup pgdn home end", "scroll the table"),
    ("ctrl+p", "command palette (every action as \"category: action\")"),
    ("ctrl+q", "quit from anywhere"),
)

DIALOG_KEYS: tuple[tuple[str, str], ...] = (
    ("↑ ↓ enter", "tag dialog: choose malicious / suspicious / benign / needs-review, then a note (optional) and enter"),
    ("1-4", "tag dialog: choose a fixed tag at once"),
    ("text + enter", "tag dialog: a tag of your own (in the second field)"),
    ("ctrl+r f5", "query editor: run the edited query; an error shows its line:col"),
    ("esc", "any dialog: close without doing anything"),
)


def bindings(keys: tuple[Key, ...] = WORKBENCH_KEYS) -> list[BindingType]:
    """Textual bindings; ``pane_number`` becomes one binding per digit with its argument."""
    out: list[BindingType] = []
    for k in keys:
        if k.action == "pane_number":
            out += [Binding(d, f"pane_number({d})", k.short, show=False, tooltip=k.description,
                            id=f"{k.binding_id}.{d}") for d in k.key.split(",")]
        else:
            out.append(k.binding())
    return out
