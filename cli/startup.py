"""What the workbench checks before its screen opens.

Once Textual owns the terminal, a mistake on the command line can only show up as a
notification in a screen the user did not mean to open (or, with no terminal at all, as a
process that hangs). So every option that names something on disk is checked here first,
and a bad one is one ``error:`` line with exit code 2, like any other usage error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from collectors.interface import UsageError


def _exists(option: str, given: str, path: Path, *, folder_ok: bool = True, file_ok: bool = True) -> None:
    if not path.exists():
        raise UsageError(f"{option} {given}: no such file or folder")
    if path.is_dir() and not folder_ok:
        raise UsageError(f"{option} {given}: is a folder, expected a file")
    if not path.is_dir() and not file_ok:
        raise UsageError(f"{option} {given}: is a file, expected a folder")


def check_paths(options: dict[str, Any]) -> None:
    """Every ``--data``, ``--mapping``, ``--ca-certs``, ``--hunts`` and ``--case`` the options name
    is usable; else UsageError naming the option and the path. Contradicting options are
    reported first, in the words every command uses."""
    from collectors.offline.source import DataSpec
    from collectors.sources import SourceOptions

    SourceOptions.take(dict(options)).check()

    for given in options.get("data") or ():
        _exists("--data", given, DataSpec.parse(given).path)
    for given in options.get("mappings") or ():
        index, sep, path = given.partition("=")
        if not sep or not index or not path:
            raise UsageError(f"--mapping {given}: expected INDEX=PATH")
        _exists("--mapping", given, Path(path).expanduser(), folder_ok=False)
    if options.get("ca_certs"):
        _exists("--ca-certs", options["ca_certs"], Path(options["ca_certs"]).expanduser(), folder_ok=False)
    for given in options.get("hunt_dirs") or ():
        _exists("--hunts", given, Path(given).expanduser())
    case = options.get("case_path")
    if case:
        path = Path(case).expanduser()
        if path.is_dir():
            raise UsageError(f"--case {case}: is a folder, expected a case file")
        if not path.parent.is_dir():
            raise UsageError(f"--case {case}: folder {path.parent} does not exist")


def require_terminal(stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
    """The workbench draws on a terminal and reads keys from one: without both it would
    wait forever for keys that never come."""
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    missing = [name for name, stream in (("stdin", stdin), ("stdout", stdout))
               if stream is None or not stream.isatty()]
    if missing:
        raise UsageError(f"the workbench needs a terminal, and {' and '.join(missing)} "
                         f"{'is' if len(missing) == 1 else 'are'} not one; without a screen use "
                         "huntbench hunt run, esql, scan or case (see huntbench --help)")
