"""The documentation stays true: the CLI reference is what ``--help`` prints, README.md is
a short front page that starts with the two commands, and every local link resolves."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _reference_module():
    spec = importlib.util.spec_from_file_location("make_cli_reference", ROOT / "docs" / "make_cli_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_what_help_prints():
    reference = _reference_module()
    assert reference.current() == reference.render(), "run: python docs/make_cli_reference.py"


def test_cli_reference_covers_every_command():
    reference = _reference_module()
    documented = set(re.findall(r"^### `(huntbench[^`]*)`$", (ROOT / "docs" / "cli.md").read_text(), re.M))
    commands = {" ".join(("huntbench", *path)) for path in reference.command_paths()}
    assert {"huntbench", "huntbench esql", "huntbench case export", "huntbench es check"} <= commands
    assert documented == commands


def test_readme_is_a_front_page_starting_with_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert len(lines) <= 250
    first_block = re.search(r"^```sh\n(.*?)^```$", text, re.M | re.S)
    assert first_block is not None and text.index(first_block.group(0)) < text.index("\n## ")
    install, test = first_block.group(1).splitlines()[:2]
    assert "pip install '.[test]'" in install and install.endswith("huntbench --sample")
    assert test.split()[:3] == [".venv/bin/python", "-m", "pytest"]
    assert "(docs/screenshot.svg)" in text


def test_every_local_link_in_the_docs_resolves():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert broken == []
