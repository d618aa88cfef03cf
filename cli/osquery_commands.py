"""``huntbench scan`` (a hunt's osquery SQL) and ``huntbench osquery`` (any osquery SQL).

Both run through :func:`collectors.osquery.run_osquery`: osqueryi, a running osqueryd's
extensions socket, or the built-in tables (``--backend auto`` tries them in that order;
``--root`` always uses the built-in tables). Notices (not root, unreadable paths, the
backend that answered) go to stderr as ``note: ...``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.hunt_commands import find_hunt, hunts_option
from cli.output import echo, echo_json, format_result, message, stdout_is_terminal
from collectors.interface import HuntbenchError

FORMATS = click.Choice(["table", "json", "csv", "tsv", "txt"])


def osquery_options(func):
    """``--root``, ``--backend``, ``--osquery-socket``, ``--timeout``, ``--format``."""
    options = [
        click.option("--root", "root", metavar="DIR",
                     type=click.Path(exists=True, file_okay=False, dir_okay=True),
                     help="Evaluate on a mounted image at DIR instead of / (built-in tables; "
                          "paths are shown as on the image)."),
        click.option("--backend", type=click.Choice(["auto", "osqueryi", "socket", "builtin"]),
                     default="auto", show_default=True,
                     help="auto tries osqueryi, then osqueryd's socket, then the built-in tables."),
        click.option("--osquery-socket", "socket", metavar="PATH",
                     help="osqueryd extensions socket (default /var/osquery/osquery.em, "
                          "/opt/orbit/orbit-osquery.em)."),
        click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
                     help="Seconds before a query is given up."),
        click.option("--now", metavar="TIMESTAMP",
                     help="What SQLite's 'now' and the time table read (ISO-8601; built-in tables), "
                          "e.g. the moment an image was taken."),
        click.option("--format", "fmt", type=FORMATS, default="table", show_default=True),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run(sql: str, root, backend: str, socket, timeout: float, now: str | None = None):
    from collectors.sources import open_scan, parse_now

    result = open_scan(backend=backend, root=root, socket=socket, timeout=timeout,
                       now=parse_now(now)).run(sql)
    for notice in result.notices:
        message("note", notice)
    return result


def _render(result, fmt: str) -> str:
    return format_result(result, "txt" if fmt == "table" else fmt, terminal=stdout_is_terminal())


@click.command()
@click.argument("hunt_key", metavar="[HUNT]", required=False)
@hunts_option
@osquery_options
def scan(hunt_key: str | None, hunt_dirs, root, backend: str, socket, timeout: float, now: str | None,
         fmt: str) -> None:
    """Run a hunt's osquery SQL (default hunt: DPKG/RPM persistence) on this host or --root DIR.

    With --format json, one osquery query prints one object {"query": N, "language":
    "osquery SQL", "columns", "values"} (what `case tag --from-json` reads); several print
    a list of them, like hunt run.
    """
    from tui.escape import visible

    hunt = find_hunt(hunt_key, hunt_dirs)
    queries = hunt.osquery_queries
    if not queries:
        raise HuntbenchError(f"hunt {hunt.name!r} has no osquery SQL query (try: huntbench hunt run)")
    outputs: list[Any] = []
    backend_used = None
    for query in queries:
        result = _run(query.text, root, backend, socket, timeout, now)
        backend_used = result.backend
        if fmt == "json":
            outputs.append({"query": query.index, "language": query.language, **result.to_json()})
        elif len(queries) == 1:
            outputs.append(_render(result, fmt))
        else:
            outputs.append(f"# query {query.index}: {visible(query.title)}\n{_render(result, fmt)}")
    message("note", f"answered by {backend_used}" + (f" on --root {root}" if root else ""))
    if fmt == "json":
        echo_json(outputs[0] if len(outputs) == 1 else outputs)
    else:
        echo("\n\n".join(outputs))


@click.command()
@click.argument("sql")
@osquery_options
def osquery(sql: str, root, backend: str, socket, timeout: float, now: str | None, fmt: str) -> None:
    """Run one osquery SQL statement on this host or --root DIR.

    SQL may be @FILE to read it from a file, or - for standard input. With --format json
    it prints {"columns": [{"name", "type"}], "values": [[...]]}.
    """
    if sql == "-":
        sql = click.get_text_stream("stdin").read()  # type: ignore[operator]  # click 8.5 types get_*_stream as object
    elif sql.startswith("@"):
        path = Path(sql[1:])
        try:
            sql = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise HuntbenchError(f"{path}: cannot read SQL file ({exc.strerror or exc})") from None
    result = _run(sql, root, backend, socket, timeout, now)
    echo(_render(result, fmt))
