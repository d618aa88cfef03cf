"""Helpers for the TUI tests: what the screen shows as text, and waiting for panes."""

from __future__ import annotations

import io
import time

from rich.console import Console


def screen_text(app) -> str:
    """The current screen as plain text, exactly the cells a terminal would show."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


async def wait_for(pilot, predicate, timeout: float = 30.0, what: str = "condition") -> None:
    """Let the app run until ``predicate()`` holds (queries run in worker threads)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if predicate():
            await pilot.pause()
            return
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


async def wait_idle(pilot, app, timeout: float = 60.0) -> None:
    """Until every pane has answered (none loading, none waiting to start), twice in a row
    (a finished query can start the deferred local scan)."""
    bench = app.workbench

    def idle() -> bool:
        return bool(bench.panes) and not bench.deferred and not any(
            p.view.loading or (p.view.result is None and p.view.error is None and p.view.query is not None
                               and p.runner is not None) for p in bench.panes)

    await wait_for(pilot, idle, timeout, "panes to load")
    await wait_for(pilot, idle, timeout, "panes to stay loaded")


def terminal_output(app) -> tuple[str, list[str]]:
    """What the app would write to the terminal for the current screen, and the printable
    text of every segment in it (Textual's own render path, ``render_segments``)."""
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    sequence = update.render_segments(console)
    texts = [seg.text for seg in console.render(update) if not seg.control]
    return sequence, texts


_CONTROL = set(range(0x00, 0x20)) | {0x7F} | set(range(0x80, 0xA0)) | {0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}


def control_characters(texts: list[str]) -> list[str]:
    """Control / bidi characters found in displayed text (there must be none)."""
    return sorted({f"U+{ord(c):04X}" for t in texts for c in t if ord(c) in _CONTROL and c != "\n"})


def answer_key() -> dict:
    """The sample's answer key (queries, pivots), wherever the manifest keeps it."""
    import sample_data

    manifest = sample_data.manifest()
    for candidate in (manifest.get("answer_key"), manifest.get("key"), manifest):
        if isinstance(candidate, dict) and "queries" in candidate:
            return candidate
    raise AssertionError(f"no answer key in the sample manifest (keys: {sorted(manifest)})")


def planted_chain(label_prefix: str = "planted:", name_suffix: str = "", key: dict | None = None,
                  most_agents: bool = False) -> dict:
    """From the answer key: the rarest planted query-0 row, an agent that wrote the file and
    the planted command line its package script spawned on that agent.

    Returns the row's columns plus ``agent.id``, ``host.name``, ``process.command_line`` and
    ``label``: the values the workbench must show at each step of the chain.
    """
    key = key or answer_key()  # another generated sample's answer key when given
    q0 = key["queries"][0]
    names = [c["name"] for c in q0["columns"]]
    scripts = key["pivots"]["agent_script_commands"]["by_agent"]
    script_names = [c["name"] for c in key["pivots"]["agent_script_commands"]["columns"]]
    ordered = sorted(q0["rows"], key=lambda r: -len(r["pivot_agents"])) if most_agents else q0["rows"]
    for row in ordered:
        if not row["label"].startswith(label_prefix) or not str(row["values"][names.index("file.name")]).endswith(name_suffix):
            continue
        for agent in row["pivot_agents"]:
            agent_id, host = agent[3], agent[4]
            planted = [dict(zip(script_names, r["values"])) for r in scripts.get(agent_id, {}).get("rows", [])
                       if r["label"] == row["label"]]
            planted = [r for r in planted if r.get("process.command_line")]
            if not planted:
                continue
            # The most telling line a responder would stop at: a download, a shell, a key.
            def telling(r: dict) -> tuple:
                line = r["process.command_line"]
                loud = any(w in line for w in ("http", "/dev/tcp", "authorized_keys", "base64"))
                return (not loud, len(line) > 200, len(line))

            chosen = min(planted, key=telling)
            return {**dict(zip(names, row["values"])), "agent.id": agent_id, "host.name": host,
                    "process.command_line": chosen["process.command_line"], "label": row["label"],
                    "script_row": chosen, "pivot_agents": row["pivot_agents"]}
    raise AssertionError("the answer key has no planted query-0 row with planted script commands")


def hostile_rows(query: int = 0) -> list[dict]:
    """Rows of a hunt query the answer key labels hostile (attacker-written strings)."""
    q = answer_key()["queries"][query]
    names = [c["name"] for c in q["columns"]]
    return [dict(zip(names, r["values"])) for r in q["rows"] if r["label"] == "hostile"]
