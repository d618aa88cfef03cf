"""Where DuckDB spills big loads: a private folder per user and per process.

Spill files hold host names and command lines, so they must never land in a shared,
predictable place (another user could plant a symlink there, read the files, or own the
folder and make our loads fail). The folder is ``spill/`` inside the user's cache folder,
created 0700 and checked to be a real directory we own; each process spills into its own
``spill/<pid>`` so that folders left by killed loads (up to hundreds of MB) can be told
apart from live ones and removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from collectors.offline import cache
from collectors.private import private_dir


def spill_root() -> Path:
    return cache.cache_dir() / "spill"


def spill_dir() -> Path:
    """This process's private spill folder (created 0700); stale siblings are removed."""
    root = spill_root()
    try:
        private_dir(root)
        _sweep(root)
        mine = root / str(os.getpid())
        private_dir(mine)
        return mine
    except OSError:
        # The cache folder is unusable (read-only home, foreign owner): a fresh private
        # folder from mkdtemp (0700, unpredictable name) is still safe.
        return Path(tempfile.mkdtemp(prefix="huntbench-spill-"))


def _sweep(root: Path) -> None:
    """Remove the spill folders of processes that no longer run (killed loads)."""
    for entry in root.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid() or _alive(int(entry.name)):
            continue
        shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
