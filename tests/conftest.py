"""Keep the test run away from the developer's own machine state.

Caches, config (hunts folder, cluster profiles) and case-file defaults go to a temporary
home for the whole run, and cluster settings from the environment are dropped, so a test
can neither read a developer's config nor litter ``~/.cache``. Subprocesses inherit this.
The opt-in real-cluster test's own variables (HUNTBENCH_ES_URL, ELASTIC_API_KEY) are kept.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from collectors.offline import build, cache
from tests.es_standin import CLUSTER_ENV
from tests.osquery_image import build_image

_DROPPED = ("ELASTICSEARCH_URL", "ELASTIC_CLOUD_ID", "ELASTIC_USERNAME", "ELASTIC_PASSWORD",
            "HUNTBENCH_CASE", "HUNTBENCH_ES_TIMEOUT")
_home: str | None = None


def pytest_configure(config) -> None:
    global _home
    _home = tempfile.mkdtemp(prefix="huntbench-tests-")
    for name in _DROPPED:
        os.environ.pop(name, None)
    os.environ["XDG_CONFIG_HOME"] = os.path.join(_home, "config")
    os.environ["XDG_CACHE_HOME"] = os.path.join(_home, "cache")
    os.environ["HUNTBENCH_CACHE_DIR"] = os.path.join(_home, "cache", "huntbench")


def pytest_unconfigure(config) -> None:
    if _home:
        shutil.rmtree(_home, ignore_errors=True)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No cluster settings leak in from the developer's shell or config dir."""
    for name in CLUSTER_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUNTBENCH_CONFIG", str(tmp_path / "no-config.toml"))
    return monkeypatch


@pytest.fixture
def image(tmp_path):
    """A fresh fixture image (see tests/osquery_image.py) and the facts it was built with."""
    root = tmp_path / "image"
    root.mkdir()
    facts = build_image(root)
    return root, facts


def pytest_terminal_summary(terminalreporter) -> None:
    """The ES|QL conformance share (passed / known differences / refused) when it ran."""
    import sys

    module = sys.modules.get("tests.test_esql_conformance")
    if module is not None:
        for line in module.summary_lines(terminalreporter.stats):
            terminalreporter.write_line(line)


# The offline loader's test fixtures: a private cache folder that caches even tiny files,
# and the list of files the loader really parsed (a cache hit or a narrow load parses fewer).
@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(folder))
    monkeypatch.setattr(cache, "CACHE_MIN_BYTES", 0)  # cache even tiny test files
    return folder


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """The files the loader actually parsed (a cache hit parses none)."""
    seen: list[Path] = []
    original = build.Builder.add_file

    def spy(self, path, forced, label=None):
        seen.append(path)
        return original(self, path, forced, label)

    monkeypatch.setattr(build.Builder, "add_file", spy)
    return seen
