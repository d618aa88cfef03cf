"""The workbench against a cluster that answers badly: the pane says what was wrong, and
``q`` ends the program even while a request hangs on a server that never finishes."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from hunts import load_library
from tests.es_standin import StandIn, canned
from tests.tui_support import screen_text, wait_idle
from tui.app import HuntbenchApp

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def server():
    with StandIn(answer=canned([("file.name", "keyword")], [[".rpm-check"]])) as es:
        yield es


async def test_a_malformed_answer_is_one_line_in_the_pane(server, tmp_path, monkeypatch, clean_env):
    from collectors.elastic import connect_source

    server.inject("/_query", raw=json.dumps({"is_running": False, "columns": "nope", "values": []}).encode(),
                  times=None)
    monkeypatch.chdir(tmp_path)
    library = load_library(include_user_dir=False)
    app = HuntbenchApp(source=connect_source(es_url=server.url, warn=lambda t: None), library=library,
                       hunt=library.default, case_path=tmp_path / "case.db", scan_root=tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_idle(pilot, app)
        says = f'{server.url} sent a malformed answer to the ES|QL query: "columns" is text (nope), not a list'
        error = app.workbench.panes[0].view.error
        assert error == says
        assert says in screen_text(app)


class Terminal:
    """huntbench in its own process on a pseudo-terminal, as a responder runs it."""

    def __init__(self, args: list[str], env: dict[str, str], cwd: Path):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.master = master
        self.output = bytearray()
        self.proc = subprocess.Popen([sys.executable, "-m", "cli.main", *args], stdin=slave, stdout=slave,
                                     stderr=slave, cwd=cwd, env=env, start_new_session=True)
        os.close(slave)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            self.output += data

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_for(self, predicate, what: str, timeout: float = 60.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if predicate():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"huntbench ended before {what}: {bytes(self.output[-2000:])!r}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def test_q_quits_while_a_request_hangs_on_a_trickling_server(server, tmp_path):
    # A whole, valid answer, one byte a second, and a request timeout far longer than the
    # test: only the quit path can end the program.
    server.inject("/_query", trickle=1.0, times=None,
                  body={"is_running": False, "columns": [{"name": "file.name", "type": "keyword"}],
                        "values": [[".rpm-check"]]})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELASTIC", "HUNTBENCH_ES"))}
    env.update(TERM="xterm-256color", PYTHONPATH=str(REPO), HUNTBENCH_ES_TIMEOUT="900",
               HUNTBENCH_CONFIG=str(tmp_path / "no-config.toml"))
    term = Terminal(["--es-url", server.url, "--case", str(tmp_path / "case.db")], env, tmp_path)
    try:
        term.wait_for(lambda: server.requests_to("/_query") and b"huntbench" in term.output,
                      "the workbench to send its query")
        time.sleep(1.0)  # the query is now hanging on the trickle
        term.send("\x1b")  # Esc cancels the query ...
        time.sleep(0.5)
        term.send("q")  # ... and q quits, whatever the network does
        try:
            term.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("huntbench was still running 20 s after q")
        assert term.proc.returncode == 0
        term._reader.join(5)
        assert b"\x1b[?1049l" in term.output  # the terminal was given back (alternate screen left)
        assert all(f.sent < f.total for f in server.faults)  # the answer never completed
    finally:
        term.close()
