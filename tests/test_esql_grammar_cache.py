"""The ES|QL grammar's parse tables are kept between runs, only where no one else can plant them.

lark loads its table cache with pickle: a file another user could write would run their code
in the responder's process. So the tables live in a private folder of the user's cache
(0700, ours, a real directory); anything else is not used, and parsing still works.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
QUERY = "FROM logs-* | WHERE file.name LIKE \"*.postinst\" | STATS c = count() BY host.name | SORT c | LIMIT 5"
PARSE = f"from collectors.esql.parser import parse; print(repr(parse({QUERY!r})))"


def parse_in_fresh_process(cache_home: Path) -> str:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    out = subprocess.run([sys.executable, "-c", PARSE], capture_output=True, text=True, env=env, cwd=REPO, check=True)
    assert out.stderr == ""  # a cache problem is never the responder's
    return out.stdout


def test_tables_are_kept_in_a_private_folder_and_reused(tmp_path):
    first = parse_in_fresh_process(tmp_path)
    tables = tmp_path / "huntbench" / "esql" / "grammar-tables"
    assert tables.is_file()
    assert stat.S_IMODE(os.lstat(tables.parent).st_mode) == 0o700
    written = tables.stat().st_mtime_ns
    assert parse_in_fresh_process(tmp_path) == first  # read back, same syntax tree
    assert tables.stat().st_mtime_ns == written  # loaded, not rebuilt


def test_a_planted_symlink_folder_is_not_used(tmp_path):
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir(mode=0o777)
    (tmp_path / "huntbench").mkdir()
    (tmp_path / "huntbench" / "esql").symlink_to(elsewhere)
    assert "Query" in parse_in_fresh_process(tmp_path)
    assert list(elsewhere.iterdir()) == []


def test_a_damaged_tables_file_is_rebuilt(tmp_path):
    first = parse_in_fresh_process(tmp_path)
    tables = tmp_path / "huntbench" / "esql" / "grammar-tables"
    tables.write_bytes(tables.read_bytes()[:200])
    assert parse_in_fresh_process(tmp_path) == first
