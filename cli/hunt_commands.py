"""``huntbench hunt list|show|run`` and ``huntbench esql``."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import click

from cli.load_progress import load_progress
from cli.options import parse_params, source_from, source_options
from cli.output import echo, echo_json, emit_warnings, format_result, message, stdout_is_terminal
from collectors.interface import HuntbenchError, Language, SourceError
from hunts import Hunt, load_library

FORMATS = click.Choice(["json", "csv", "tsv", "txt"])


def hunts_option(func):
    return click.option("--hunts", "hunt_dirs", multiple=True, metavar="DIR",
                        help="Folder of hunting TOML files, searched recursively (repeatable).")(func)


def find_hunt(key: str | None, hunt_dirs) -> Hunt:
    library = load_library(hunt_dirs)
    for problem in library.problems:
        message("warning", f"skipped {problem}")
    if key is None:
        return library.default
    try:
        return library.find(key)
    except KeyError as exc:
        raise HuntbenchError(exc.args[0]) from None
    except ValueError as exc:
        raise HuntbenchError(f"{key}: {exc}") from None


@click.group()
def hunt() -> None:
    """List, show and run hunts (Elastic hunting TOML)."""


@hunt.command("list")
@hunts_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def hunt_list(hunt_dirs, fmt: str) -> None:
    """List the bundled hunts, your hunts folder's, and those under --hunts."""
    library = load_library(hunt_dirs)
    for problem in library.problems:
        message("warning", f"skipped {problem}")
    if fmt == "json":
        echo_json([h.to_summary() for h in library.hunts], indent=2)
        return
    from tui.escape import visible

    # Every field of a hunt file is data (a hunts folder can come from anywhere): escaped.
    for h in sorted(library.hunts, key=lambda h: (not h.bundled, h.name.lower())):
        langs = ",".join(
            q.language if q.supported else f"{q.language}(unsupported)" for q in h.queries
        )
        mitre = ",".join(h.mitre) or "-"
        echo(f"{visible(h.uuid)}  {visible(h.name)}  [{visible(mitre)}]  {visible(langs)}")
    echo(f"{len(library.hunts)} hunts" + (f", {len(library.problems)} skipped" if library.problems else ""))


@hunt.command("show")
@click.argument("key", metavar="UUID|NAME|PATH")
@hunts_option
def hunt_show(key: str, hunt_dirs) -> None:
    """Show a hunt: description, notes, MITRE, queries and pivots."""
    from tui.escape import visible

    h = find_hunt(key, hunt_dirs)
    out = [f"{visible(h.name)}", f"uuid: {visible(h.uuid)}", f"path: {visible(h.path)}",
           f"mitre: {visible(', '.join(h.mitre) or '-')}",
           f"integration: {visible(', '.join(h.integration) or '-')}",
           "", textwrap.fill(visible(h.description), 88)]
    if h.notes:
        out += ["", "notes:"] + [textwrap.fill(visible(n), 88, initial_indent="  - ", subsequent_indent="    ") for n in h.notes]
    for q in h.queries:
        support = "" if q.supported else " (not supported)"
        out += ["", f"query {q.index} [{visible(q.language)}{support}]:",
                textwrap.indent(visible(q.text, keep_newlines=True), "  ")]
    for p in h.pivots:
        binds = ", ".join(f"?{k} <- {v}" for k, v in p.params.items())
        out += ["", f"pivot {visible(p.id)}: {visible(p.label)}",
                f"  from {visible(', '.join(p.sources))}; {visible(binds)}"]
    echo("\n".join(out))


@hunt.command("run")
@click.argument("key", metavar="HUNT", required=False)
@hunts_option
@source_options
@click.option("--format", "fmt", type=FORMATS, default="txt", show_default=True)
def hunt_run(key: str | None, hunt_dirs, fmt: str, **source_kwargs) -> None:
    """Run a hunt's ES|QL queries (default: the DPKG/RPM hunt) offline or on a cluster.

    With --format json: a list with one object per query, {"query": N, "language":
    "ES|QL", "columns": .., "values": ..}.
    """
    from tui.escape import visible

    h = find_hunt(key, hunt_dirs)
    source = source_from(source_kwargs)
    terminal = stdout_is_terminal()
    outputs: list[Any] = []
    for q in h.esql_queries:
        with load_progress(source):
            result = source.run(q.text)
        emit_warnings([f"query {q.index}: {w}" for w in result.warnings])
        if fmt == "json":
            outputs.append({"query": q.index, "language": q.language, **result.to_json()})
        else:
            outputs.append(f"# query {q.index}: {visible(q.title)}\n{format_result(result, fmt, terminal=terminal)}")
    skipped = [q for q in h.queries if q.language != Language.ESQL]
    for q in skipped:
        hint = " (run it with: huntbench scan)" if q.supported else " (not supported)"
        message("note", f"query {q.index} is {q.language}{hint}")
    if fmt == "json":
        echo_json(outputs)
    else:
        echo("\n\n".join(outputs))


@click.command()
@click.argument("query")
@source_options
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="Query parameter for ?NAME (repeatable; JSON values allowed).")
@click.option("--format", "fmt", type=FORMATS, default="txt", show_default=True)
def esql(query: str, params, fmt: str, **source_kwargs) -> None:
    """Run one ES|QL QUERY, offline (--data, --sample) or on a cluster (--es-url).

    QUERY may be @FILE to read it from a file, or - for standard input.
    """
    if query == "-":
        query = click.get_text_stream("stdin").read()  # type: ignore[operator]  # click 8.5 types get_*_stream as object
    elif query.startswith("@"):
        try:
            query = Path(query[1:]).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SourceError(f"cannot read query file {query[1:]}: {getattr(exc, 'strerror', None) or exc}") from None
    source = source_from(source_kwargs)
    with load_progress(source):
        result = source.run(query, parse_params(params))
    emit_warnings(result.warnings)
    echo(format_result(result, fmt, terminal=stdout_is_terminal()))
