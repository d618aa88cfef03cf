"""The "done when" walkthrough in a real terminal: ``huntbench --sample`` under tmux at 80x24.

Runs the installed ``huntbench`` (not the test harness) in a detached tmux session, sends
the keys a responder would, captures the pane after each step and checks what a person
would read there. The terminal's raw output stream is recorded too (``tmux pipe-pane``) to
check that no hostile escape sequence from the sample data ever reached the terminal.

    python tests/tmux_walkthrough.py          # prints each screen, exits 1 on a failed check

``$HUNTBENCH_TMUX_SOCKET`` runs it on a private tmux server (``tmux -L NAME``).

``tests/test_tui_tmux.py`` runs it under pytest (skipped when tmux is absent).
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.tui_support import hostile_rows, planted_chain  # noqa: E402
from tui.escape import visible  # noqa: E402

WIDTH, HEIGHT = 80, 24


class Walkthrough:
    def __init__(self, workdir: Path, huntbench: str, verbose: bool = True) -> None:
        self.workdir = workdir
        self.session = f"huntbench-walk-{os.getpid()}"
        self.huntbench = huntbench
        self.verbose = verbose
        self.raw = workdir / "terminal-output.bin"
        self.case = workdir / "case.db"
        self.screens: list[tuple[str, str]] = []

    # ------------------------------------------------------------------ tmux
    def tmux(self, *args: str) -> str:
        return subprocess.run([*tmux_command(), *args], check=True, capture_output=True, text=True).stdout

    def start(self) -> None:
        env = f"cd {shlex(self.workdir)} && TERM=xterm-256color COLORTERM=truecolor exec {shlex(self.huntbench)} --sample --case {shlex(self.case)}"
        self.tmux("new-session", "-d", "-s", self.session, "-x", str(WIDTH), "-y", str(HEIGHT), env)
        self.tmux("pipe-pane", "-o", "-t", self.session, f"cat >> {shlex(self.raw)}")

    def stop(self) -> None:
        subprocess.run([*tmux_command(), "kill-session", "-t", self.session], capture_output=True)

    def keys(self, *keys: str, literal: bool = False) -> None:
        """Send keys, then pause as a person would before the next (a dialog or the filter
        line takes a frame to appear and take focus)."""
        args = ["send-keys", "-t", self.session] + (["-l"] if literal else []) + list(keys)
        self.tmux(*args)
        time.sleep(0.3)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait(self, what: str, predicate, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                time.sleep(0.15)
                text = self.screen()
                self.screens.append((what, text))
                if self.verbose:
                    print(f"--- {what}\n{text}")
                return text
            time.sleep(0.1)
        raise AssertionError(f"{what}: not on screen after {timeout} s; the screen was:\n{text}")

    # ------------------------------------------------------------------ the walk
    def run(self) -> dict:
        chain = planted_chain()
        file_name, agent_id, command_line = chain["file.name"], chain["agent.id"], chain["process.command_line"]
        self.start()
        try:
            first = self.wait("the workbench opens on the sample", lambda t: re.search(r"\d+ rows", t) is not None)
            assert "sample data" in first, "the header names the source"
            assert "case.db" in first, "the header names the case file"
            # Put the planted file on the first row (it is among the rarest), then follow it.
            self.keys("/")
            self.keys(file_name, literal=True)
            self.keys("Enter")
            filtered = self.wait("filtered to the planted file", lambda t: "filter:" in t and file_name[:30] in t)
            assert "7 days to 2026-11-16 09:00Z" in filtered.splitlines()[2], "the breadcrumb line shows the time window"
            # Tag the rare file itself: its hosts are resolved through the agents pivot.
            self.keys("t")
            self.wait("the tag dialog for the file", lambda t: "malicious" in t and "needs-review" in t)
            self.keys("2")  # a fixed tag at once
            self.wait("the file tagged", lambda t: "tagged 1 row suspicious" in t)
            self.keys("Enter")
            agents = self.wait("Enter: the agents that wrote it", lambda t: "Agents that wrote" in t and "row" in t)
            assert agent_id[:20] in agents, f"agent {agent_id} is listed"
            # Put the cursor on the planted agent's row.
            self.keys("/")
            self.keys(agent_id, literal=True)
            self.keys("Enter")
            self.wait("filtered to the agent", lambda t: "filter:" in t and agent_id[:20] in t)
            self.keys("Enter")
            self.wait("Enter: the command lines on that agent",
                      lambda t: "Command lines spawned" in t and "row" in t)
            self.keys("/")
            self.keys(command_line[:40], literal=True)
            self.keys("Enter")
            # The filter applies as it is typed: wait until the whole text is in and the line shows.
            wanted = " ".join(command_line[:60].split())
            self.wait("the malicious command line", lambda t: "filter:" in t and wanted in " ".join(t.split()))
            self.keys("t")
            self.wait("the tag dialog", lambda t: "malicious" in t and "needs-review" in t)
            self.keys("Enter")
            self.keys("Enter")
            self.wait("tagged", lambda t: "tagged 1 row malicious" in t)
            self.keys("e")
            prompt = self.wait("the export prompt", lambda t: "export the case" in t)
            assert "case-findings.csv" in prompt, "the prompt offers a default path beside the case file"
            self.keys("Enter")
            done = self.wait("exported", lambda t: "exported 2 findings" in t)
            assert "case-findings.csv" in done, "the export reports its path"
            self.keys("q")
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if subprocess.run([*tmux_command(), "has-session", "-t", self.session], capture_output=True).returncode:
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("q did not quit")
        finally:
            self.stop()
        exported = self.workdir / "case-findings.csv"
        with exported.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        assert any(command_line[:60] in " ".join(r.values()) for r in rows), "the CSV holds the command line"
        agents = chain["pivot_agents"]
        by_tag = {r["tags"]: r for r in rows}
        q1, command = by_tag["suspicious"], by_tag["malicious"]
        assert sorted(q1["agent.id"].split(", ")) == sorted(a[3] for a in agents), "the file's agents"
        assert sorted(q1["host.name"].split(", ")) == sorted(a[4] for a in agents), "the file's hosts"
        assert q1["datetime"] == min(a[1] for a in agents), "the file row's datetime is when it was first seen"
        assert (command["host.name"], command["agent.id"]) == (chain["host.name"], agent_id), "the command's host/agent"
        assert f"file.name={file_name}" in command["pivot_path"], "the path names the file the command came from"
        assert command["datetime"] < command["tagged"][:10], "the event time, not the tagging day"
        raw = self.raw.read_bytes()
        hostile = [b"\x1b]0;", b"\x1b]8;", b"\x1b]52;", b"\xe2\x80\xae"]
        leaked = [h for h in hostile if h in raw]
        assert not leaked, f"hostile sequences reached the terminal: {leaked}"
        # ... while the hostile rows were on screen, as text (the first screen lists them).
        shown = [r for r in hostile_rows(0) if visible(r["file.name"])[:15].encode() in raw]
        assert len(shown) >= 2, "the answer key's hostile file names were on screen, escaped"
        return {"export": str(exported), "rows": len(rows), "screens": len(self.screens), "raw_bytes": len(raw),
                "csv": rows}


def tmux_command() -> list[str]:
    socket = os.environ.get("HUNTBENCH_TMUX_SOCKET")
    return ["tmux", "-L", socket] if socket else ["tmux"]


def shlex(value) -> str:
    import shlex as _shlex

    return _shlex.quote(str(value))


def find_huntbench() -> str:
    beside = Path(sys.executable).with_name("huntbench")
    return str(beside) if beside.exists() else (shutil.which("huntbench") or "huntbench")


def main() -> int:
    if shutil.which("tmux") is None:
        print("tmux is not installed", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="huntbench-tmux-") as tmp:
        try:
            outcome = Walkthrough(Path(tmp), find_huntbench()).run()
        except AssertionError as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
    print(f"ok: { {k: v for k, v in outcome.items() if k != 'csv'} }")
    return 0


if __name__ == "__main__":
    sys.exit(main())
