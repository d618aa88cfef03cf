"""The Local scan pane's own logic: what it scanned, what its LIKE cannot see, and the way
back to the fleet.

* :func:`scan_label` says which machine the scan read, for the header and the pane:
  ``local: this host (vm, Debian GNU/Linux 13)`` or ``image: /mnt/evidence (api-01)``.
* :func:`run_local_scan` runs the scan and counts the dotfiles its ``path LIKE 'DIR/%'``
  patterns skip (osquery's glob never matches a name starting with ``.``, so an attacker's
  ``/var/lib/rpm/.rpm-check`` is invisible to the hunt); :func:`dotfile_query` is the same
  query with ``directory = 'DIR'``, which lists them.
* :func:`fleet_pivot` is Enter on a local row: the hunt's declared pivot from ``scan`` (the
  fleet agents that wrote a file of that name), over the scan's time window, the file name
  passed as a query parameter.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Any

from collectors.interface import CancelToken, Progress, QueryResult
from collectors.sources import SourceRouter
from hunts.library import OSQUERY, Hunt
from tui.finding_context import local_scan_host
from tui.pivots import PivotRequest, PivotUnavailable, declared_pivot
from tui.window import carry_window

SCAN_PANE = "scan"
DOTFILES = "dotfiles"
SCRIPT_DIRS = ("/var/lib/dpkg/info/", "/var/lib/rpm/", "/var/tmp/rpm-tmp")
SCRIPT_LIMIT = 64 * 1024
"""Bytes of a maintainer script shown by ``m`` (more is cut, and the viewer says so)."""

# ``f.path LIKE '/var/lib/dpkg/info/%'``: a directory's entries, as a pattern (no dotfiles).
_DIR_LIKE = re.compile(r"(\b[A-Za-z_]\w*\.)?\bpath\s+LIKE\s+'(/[^'%*?\[\]{}]*?)/%'", re.IGNORECASE)


def host_description() -> str:
    """``vm, Debian GNU/Linux 13``: this machine's name and its os-release name."""
    parts = [socket.gethostname()]
    try:
        fields = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines()
                      if "=" in line)
    except OSError:
        fields = {}
    name = " ".join(v.strip().strip('"') for v in (fields.get("NAME", ""), fields.get("VERSION_ID", "")) if v)
    parts.append(name)
    return ", ".join(p for p in parts if p)


def scan_label(root: str | Path | None, sample: bool = False) -> str:
    """What the Local scan pane read (plain text; the caller escapes it)."""
    if root is None:
        return f"local: this host ({host_description()})"
    host = local_scan_host(root) or Path(root).name
    if sample:  # the cache path means nothing to the reader; the sample is named as such
        return f"sample image ({host})"
    return f"image: {root} ({host})"


def dotfile_query(query: str | None) -> str | None:
    """``query`` with each ``path LIKE 'DIR/%'`` replaced by ``directory = 'DIR'`` restricted
    to names starting with ``.``: the entries the pattern cannot match. None when the query
    has no such pattern."""
    if not query or not _DIR_LIKE.search(query):
        return None

    def listing(match: re.Match) -> str:
        alias = match.group(1) or ""
        return f"({alias}directory = '{match.group(2)}' AND {alias}filename LIKE '.%')"

    return _DIR_LIKE.sub(listing, query)


def run_local_scan(sources: SourceRouter, name: str, query: str, *, cancel: CancelToken | None = None,
                   progress: Progress | None = None) -> QueryResult:
    """The scan's result; for the hunt's scan, with the count of dotfiles its LIKE skipped
    first among its notices (a failure to count is itself a notice, never an error)."""
    result = sources.run(OSQUERY, query, None, cancel=cancel, progress=progress)
    dots = dotfile_query(query) if name == SCAN_PANE else None
    if dots is None:
        return result
    try:
        skipped = len(sources.run(OSQUERY, dots, None, cancel=cancel).values)
    except Exception as exc:  # noqa: BLE001 - the scan itself succeeded; say why the count is missing
        note = f"dotfiles not counted: {exc}"
    else:
        note = (f"{skipped} dotfile{'s' if skipped != 1 else ''} the LIKE skips (. shows)" if skipped
                else "no dotfiles skipped by the LIKE")
    notices = getattr(result, "notices", None)
    (notices if isinstance(notices, list) else result.warnings).insert(0, note)
    return result


def fleet_pivot(hunt: Hunt | None, query: str | None, row: dict[str, Any]) -> PivotRequest:
    """Enter on a local row: the hunt's declared pivot from the scan, over the scan's window."""
    pivots = hunt.pivots_from(SCAN_PANE) if hunt else []
    if not pivots:
        raise PivotUnavailable('this hunt declares no pivot from the local scan (from = ["scan"])')
    request = declared_pivot(pivots[0], row)
    request.query = carry_window(request.query, query, OSQUERY)
    return request


def is_script(path: Any) -> bool:
    return isinstance(path, str) and any(path.startswith(d) for d in SCRIPT_DIRS)


def script_text(data: bytes) -> str:
    """A script's bytes for the viewer (escaped there), cut at SCRIPT_LIMIT with a note."""
    text = data[:SCRIPT_LIMIT].decode("utf-8", errors="replace")
    if len(data) > SCRIPT_LIMIT:
        text += f"\n… (cut at {SCRIPT_LIMIT // 1024} KiB)"
    return text
