"""The one error the case file raises, and the translation of SQLite's errors into it.

SQLite reports a held lock, a full disk or a damaged file as ``sqlite3.OperationalError``
/ ``DatabaseError`` with terse texts; a responder needs one line that names the case file
and says what to do. Everything the package raises is a :class:`CaseError`.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from collectors.interface import HuntbenchError


class CaseError(HuntbenchError):
    """A case file problem, as one line naming the file (the CLI prints ``error: ...``)."""

    exit_code = 2


def translate(exc: BaseException, path: Path, busy_timeout: float) -> CaseError:
    """A one-line :class:`CaseError` for a sqlite3 (or OS) error on the case file ``path``."""
    text = str(exc).lower()
    name = str(path)
    if "locked" in text or "busy" in text:
        return CaseError(
            f"case file {name} is locked by another process (busy for {busy_timeout:g} s); try again"
        )
    if "disk is full" in text or "no space" in text:
        return CaseError(f"case file {name}: the disk is full; this action was not saved")
    if "readonly" in text or "read-only" in text or "permission denied" in text:
        return CaseError(
            f"case file {name} cannot be written (read-only file or folder; the folder must be "
            f"writable for {path.name}-wal and {path.name}-shm)"
        )
    if "unable to open" in text:
        return CaseError(
            f"cannot open case file {name} (missing folder, or a read-only folder: a case file "
            f"needs to write {path.name}-wal and {path.name}-shm beside it)"
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return CaseError(f"case file {name} is corrupted ({exc}); refusing to touch it")
    if "disk i/o" in text:
        return CaseError(f"case file {name}: disk I/O error; this action was not saved")
    return CaseError(f"case file {name}: {exc}")


@contextmanager
def sqlite_errors(path: Path, busy_timeout: float) -> Iterator[None]:
    """Run a block; any sqlite3 error leaves it as a :class:`CaseError`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, path, busy_timeout) from None
