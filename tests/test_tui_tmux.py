"""The tmux walkthrough (tests/tmux_walkthrough.py) as a test: a real terminal at 80x24."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tmux_walkthrough import Walkthrough, find_huntbench

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_a_new_user_follows_the_chain_tags_and_exports_in_tmux(tmp_path: Path):
    outcome = Walkthrough(tmp_path, find_huntbench(), verbose=False).run()
    assert outcome["rows"] == 2
    assert Path(outcome["export"]).is_file()
