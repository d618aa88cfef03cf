"""Hostile or broken exports: where spill files go, stale caches, unreadable subfolders,
oversized and invalid lines. Each answer must be complete or say what it left out."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from collectors.offline import spill
from collectors.offline.catalog import Catalog
from collectors.offline.sql import ident
from collectors.sources import DataSpec, OfflineSource


def write(path: Path, lines: list[str | dict]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


def values(cat: Catalog, index: str, col: str) -> list:
    return [r[0] for r in cat.con.execute(f"SELECT {ident(col)} FROM {cat.table(index)} ORDER BY 1").fetchall()]


# -- spill folder ---------------------------------------------------------------------------
def test_spill_folder_is_private_and_under_the_users_cache(tmp_path, cache_dir):
    cat = Catalog.load([DataSpec(write(tmp_path / "a.ndjson", [{"n": 1}]))], {})
    folder = Path(cat.con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    cat.close()
    assert folder.is_relative_to(cache_dir)
    assert not folder.is_relative_to(Path(tempfile.gettempdir()) / "huntbench-duckdb")
    for part in (folder, folder.parent):
        st = os.lstat(part)
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.getuid()


def test_spill_files_left_by_a_killed_load_are_removed(tmp_path, cache_dir):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    stale = spill.spill_root() / dead.stdout.strip()
    stale.mkdir(parents=True)
    (stale / "duckdb_temp_storage-0.tmp").write_bytes(b"\0" * 4096)
    Catalog.load([DataSpec(write(tmp_path / "a.ndjson", [{"n": 1}]))], {}).close()
    assert not stale.exists()


def test_a_loads_copy_of_the_export_lives_in_the_private_spill_folder(tmp_path, cache_dir, monkeypatch):
    """The sampled route copies the export (to steer type detection): a load killed mid-way
    must not leave that copy in the shared temp folder, where nothing would ever remove it."""
    from collectors.offline import build

    monkeypatch.setattr(build, "SAMPLED_MIN_BYTES", 0)
    copies: list[Path] = []
    original = build._primed_copy

    def spy(source, primer, tmp):
        copies.append(original(source, primer, tmp))
        return copies[-1]

    monkeypatch.setattr(build, "_primed_copy", spy)
    cat = Catalog.load([DataSpec(write(tmp_path / "a.ndjson", [{"n": i} for i in range(50)]))], {})
    folder = Path(cat.con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    cat.close()
    assert copies and all(c.is_relative_to(folder) for c in copies)
    assert not any(c.exists() for c in copies)  # and gone once loaded


def test_a_symlink_planted_as_the_spill_folder_is_not_followed(tmp_path, cache_dir):
    target = tmp_path / "attacker"
    target.mkdir()
    cache_dir.mkdir(parents=True)
    os.symlink(target, spill.spill_root())
    cat = Catalog.load([DataSpec(write(tmp_path / "a.ndjson", [{"n": 1}]))], {})
    folder = Path(cat.con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    cat.close()
    assert not folder.resolve().is_relative_to(target.resolve())
    assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700
    assert list(target.iterdir()) == []


# -- stale cache ------------------------------------------------------------------------------
def test_same_size_edit_with_mtime_put_back_is_not_answered_from_the_cache(tmp_path, cache_dir):
    f = write(tmp_path / "big.ndjson", [{"user": "alice"}, {"user": "bobby"}])
    first = Catalog.load([DataSpec(f)], {})
    first.wait_cached()
    assert values(first, "big", "user") == ["alice", "bobby"]
    first.close()
    before = f.stat()
    write(f, [{"user": "alice"}, {"user": "eve!!"}])  # same size
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))  # touch -r: mtime put back
    assert f.stat().st_size == before.st_size and f.stat().st_mtime_ns == before.st_mtime_ns

    second = Catalog.load([DataSpec(f)], {})
    assert values(second, "big", "user") == ["alice", "eve!!"]
    assert f"{f}: cache rebuilt (the files changed since it was written)" in second.problems
    second.close()


def test_unchanged_file_still_hits_the_cache_without_a_notice(tmp_path, cache_dir):
    f = write(tmp_path / "big.ndjson", [{"user": "alice"}])
    Catalog.load([DataSpec(f)], {}).close()
    again = Catalog.load([DataSpec(f)], {})
    assert again.problems == []
    again.close()


# -- unreadable subfolder ---------------------------------------------------------------------
def _nobody_can_run_python() -> bool:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return False
    probe = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                            sys.executable, "-c", "import duckdb"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _nobody_can_run_python(), reason="needs root and setpriv to act as another user")
def test_unreadable_subfolder_is_skipped_with_a_warning():
    top = Path(tempfile.mkdtemp(prefix="hb-unreadable-"))
    try:
        top.chmod(0o755)
        data = top / "data"
        (data / "open").mkdir(parents=True)
        (data / "closed").mkdir()
        write(data / "open" / "logs.ndjson", [{"n": 1}, {"n": 2}])
        write(data / "closed" / "logs.ndjson", [{"n": 3}, {"n": 4}])
        for p in [data, data / "open", data / "open" / "logs.ndjson"]:
            p.chmod(0o755)
        (data / "closed").chmod(0o700)  # root's: the user running the query cannot enter it
        cache_home = top / "cache"
        cache_home.mkdir(mode=0o777)
        cache_home.chmod(0o777)
        env = {**os.environ, "HUNTBENCH_CACHE_DIR": str(cache_home / "c"), "HOME": str(top)}
        out = subprocess.run(
            ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
             sys.executable, "-m", "cli.main", "esql", "--data", str(data), "--format", "json",
             "from logs | stats n = count()"],
            capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parent.parent, check=False,
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["values"] == [[2]]
        assert f"warning: skipped {data / 'closed'}: permission denied" in out.stderr.splitlines()
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_unreadable_subfolder_warning_reaches_the_query_result(tmp_path, monkeypatch):
    """The same warning rides along with every answer (the workbench shows it in the pane)."""
    from collectors.offline import inputs

    data = tmp_path / "data"
    (data / "closed").mkdir(parents=True)
    write(data / "logs.ndjson", [{"n": 1}])
    real_walk = os.walk

    def walk(top, onerror=None, **kw):  # the kernel's answer for a folder we may not enter
        for folder, dirs, names in real_walk(top, onerror=onerror, **kw):
            if "closed" in dirs:
                dirs.remove("closed")
                onerror(PermissionError(13, "Permission denied", str(Path(folder) / "closed")))
            yield folder, dirs, names

    monkeypatch.setattr(inputs.os, "walk", walk)
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    result = OfflineSource([DataSpec(data)]).esql("from logs | stats n = count()")
    assert result.values == [[1]]
    assert f"skipped {data / 'closed'}: permission denied" in result.warnings


# -- oversized, invalid and all-malformed lines -------------------------------------------------
def test_one_oversized_line_is_skipped_and_named_the_rest_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "app.ndjson"
    with open(f, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"n": 1}) + "\n")
        fh.write(json.dumps({"n": 2, "blob": "x" * (40 << 20)}) + "\n")
        fh.write(json.dumps({"n": 3}) + "\n")
        fh.write("not json\n")
    cat = Catalog.load([DataSpec(f)], {})
    assert values(cat, "app", "n") == [1, 3]
    assert cat.problems == [
        f"{f}: skipped line 2: longer than 16 MiB",
        f"{f}: skipped 1 malformed line (first at line 4)",
    ]
    cat.close()


def test_invalid_utf8_line_is_reported_at_its_own_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    f = tmp_path / "app.ndjson"
    f.write_bytes(b'{"n": 1}\n{"n": 2}\n{"n": "\xff\xfe"}\n{"n": 4}\n{"n": 5}\n')
    cat = Catalog.load([DataSpec(f)], {})
    assert values(cat, "app", "n") == [1, 2, 4, 5]
    assert cat.problems == [f"{f}: skipped 1 malformed line (first at line 3)"]
    cat.close()


def test_file_of_only_malformed_lines_says_so_instead_of_unknown_index(tmp_path, monkeypatch):
    from collectors.interface import QueryError

    monkeypatch.setenv("HUNTBENCH_CACHE_DIR", str(tmp_path / "cache"))
    f = write(tmp_path / "junk.ndjson", ["garbage", "{broken", "[1]"])
    with pytest.raises(QueryError) as caught:
        OfflineSource([DataSpec(f)]).esql("from junk | limit 1")
    assert str(caught.value) == (
        f"line 1:1: Unknown index [junk] ({f}: no line is a JSON object (3 malformed lines, "
        "first at line 1); nothing loaded from it)"
    )
