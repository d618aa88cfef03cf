"""A wheel install (not the editable checkout) finds its hunts and sample data from anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.shared import REPO

SEED_UUID = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A temporary venv with huntbench installed from a freshly built wheel.

    The dependencies are borrowed from the running environment through a .pth file (paths
    listed there are added without processing their own .pth files, so an editable
    checkout in the running environment cannot leak in).
    """
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(root / "dist"), str(REPO)],
        check=True, capture_output=True,
    )
    wheel = next((root / "dist").glob("huntbench-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip())
    (purelib / "borrowed_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
         # --ignore-installed: the borrowed environment may hold huntbench itself (CI's
         # non-editable install); this venv must get its own copy from the wheel.
         "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
        check=True, capture_output=True,
    )
    return venv


def run_installed(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env["XDG_CONFIG_HOME"] = str(cwd / "config")
    return subprocess.run([str(venv / "bin" / "huntbench"), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_wheel_lists_the_seed_hunt_from_another_directory(installed: Path, tmp_path: Path):
    result = run_installed(installed, "hunt", "list", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    seed = next(h for h in json.loads(result.stdout) if h["uuid"] == SEED_UUID)
    languages = [q["language"] for q in seed["queries"]]
    assert languages.count("ES|QL") == 2 and languages.count("osquery SQL") == 1
    assert Path(seed["path"]).is_relative_to(installed), "hunts must come from the installed wheel"


def test_wheel_carries_the_sample_data(installed: Path, tmp_path: Path):
    probe = subprocess.run(
        [str(installed / "bin" / "python"), "-c",
         "import sample_data, json; print(json.dumps([str(p) for p in sample_data.data_files()]));"
         "print(sample_data.capture_time().isoformat())"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    )
    files_line, capture_line = probe.stdout.splitlines()
    files = [Path(p) for p in json.loads(files_line)]
    assert files and all(p.is_relative_to(installed) and p.stat().st_size > 0 for p in files)
    assert capture_line.startswith("20")
