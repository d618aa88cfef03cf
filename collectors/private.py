"""Private folders under the user's cache: created 0700, accepted only when they are ours.

What huntbench keeps on disk between runs (spill files holding host names and command lines,
the ES|QL grammar's parse tables, which are loaded with pickle) must never sit in a place
another user could plant, read or own: a folder is used only if it is a real directory,
owned by the current user, and it is made 0700.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import platformdirs


def user_cache_root() -> Path:
    """``$XDG_CACHE_HOME/huntbench`` (or the platform's equivalent)."""
    return Path(platformdirs.user_cache_dir("huntbench"))


def private_dir(path: Path) -> Path:
    """Create ``path`` 0700 (parents too), or accept it only if it is our own real folder.

    Raises OSError (PermissionError when the folder exists but is not ours)."""
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
    return path
