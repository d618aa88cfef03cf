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
import stat
import tempfile
from pathlib import Path

from collectors.offline import cache


def spill_root() -> Path:
    return cache.cache_dir() / "spill"


def spill_dir() -> Path:
    """This process's private spill folder (created 0700); stale siblings are removed."""
    root = spill_root()
    try:
        _private_dir(root)
        _sweep(root)
        mine = root / str(os.getpid())
        _private_dir(mine)
        return mine
    except OSError:
        # The cache folder is unusable (read-only home, foreign owner): a fresh private
        # folder from mkdtemp (0700, unpredictable name) is still safe.
        return Path(tempfile.mkdtemp(prefix="huntbench-spill-"))


def _private_dir(path: Path) -> None:
    """Create ``path`` 0700 (parents too), or accept it only if it is our own real folder."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise PermissionError(f"{path}: not a folder of ours")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)


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
