"""``huntbench case tag|untag|note|list|show|info|export``: the case file from the shell.

Every command names the case file it works on (``--case``, else ``$HUNTBENCH_CASE``,
else ``./huntbench-case.db``); errors are one line (``error: ...``), never a traceback.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from casefile import FIXED_TAGS, Case, open_case, resolve_case_path
from casefile.identity import SOURCE_KINDS
from casefile.ingest import parse_results
from casefile.tags import normalise_tags
from casefile.values import clean_source
from cli.output import TerminalWriter, echo, echo_json, message, stdout_is_terminal
from collectors.interface import HuntbenchError, Language, SourceKind
from tui.escape import clip, visible

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def case_option(func):
    return click.option(
        "--case", "case_path", metavar="PATH",
        help="Case file (default: $HUNTBENCH_CASE, else ./huntbench-case.db).",
    )(func)


def _case_path(ctx: click.Context, given: str | None) -> Path:
    """``--case`` here, else the root ``huntbench --case``, else env/default."""
    if not given:
        root = ctx.find_root()
        given = (root.params or {}).get("case_path") if root is not ctx else None
    return resolve_case_path(given)


def _open(ctx: click.Context, given: str | None, *, create: bool = False, readonly: bool = False) -> Case:
    """The case file; ``readonly`` for commands that only read, which then never write to
    it nor leave files beside it (another user's ``case list`` must not lock its owner out)."""
    return open_case(_case_path(ctx, given), create=create, readonly=readonly)


@click.group()
def case() -> None:
    """Tag findings into a SQLite case file; list, show, export them."""


@case.command("tag")
@case_option
@click.option("--tag", "tags", multiple=True, required=True, metavar="TAG",
              help=f"Tag to add (repeatable): {', '.join(FIXED_TAGS)}, or a free tag.")
@click.option("--note", metavar="TEXT", help="Note to add to every finding tagged.")
@click.option("--hunt", "hunt_key", metavar="UUID|NAME", help="The hunt the rows came from.")
@click.option("--hunts", "hunt_dirs", multiple=True, metavar="DIR", help="More hunting TOML folders to find --hunt in.")
@click.option("--query", "query", metavar="N", help="Hunt query number (or pivot pane name) of the rows.")
@click.option("--source", "source", metavar="TEXT", help="Where the rows came from (URL, dataset path, host); credentials are removed.")
@click.option("--source-kind", type=click.Choice(SOURCE_KINDS), help="offline, elastic or osquery (default: guessed from --source).")
@click.option("--from-json", "from_json", required=True, metavar="FILE|-",
              help='Result JSON ({"columns","values"}, or a list of them) from a file or stdin.')
@click.pass_context
def case_tag(ctx, case_path, tags, note, hunt_key, hunt_dirs, query, source, source_kind, from_json) -> None:
    """Make every row of a JSON result a finding (or update it) with the tags given.

    Reads what `huntbench esql|osquery|hunt run --format json` print. For `hunt run`'s
    list, each result's "query" number is used unless --query is given.
    """
    normalise_tags(tags)  # a bad tag is refused before any file is created or read
    name, data = _read_input(from_json)
    parsed = parse_results(data, name)
    if parsed.invalid_utf8_bytes:
        message("warning", f"{name}: {parsed.invalid_utf8_bytes} bytes are not UTF-8; kept exactly in the "
                "stored rows (as \\udcXX escapes), shown as U+FFFD")
    hunt_uuid, hunt_name, mitre = _hunt(hunt_key, hunt_dirs)
    kind = source_kind or _guess_kind(source, parsed.results)
    described = clean_source(source) if source else f"json: {name}"
    query_value: int | str | None = _query_value(query) if query is not None else None
    path = _case_path(ctx, case_path)
    created = updated = 0
    with open_case(path, create=True) as opened, opened.action():
        # One user action, one transaction: every result is saved, or none.
        for result in parsed.results:
            if not result.rows:
                continue
            outcome = opened.tag_rows(
                result.rows, list(tags), note=note, source_kind=kind, source=described,
                hunt_uuid=hunt_uuid, hunt_name=hunt_name, mitre=mitre,
                query=query_value if query is not None else result.query,
            )
            created += outcome.created
            updated += outcome.updated
    echo(f"case {visible(path)}: {created} findings created, {updated} updated")


def _read_input(from_json: str) -> tuple[str, bytes]:
    if from_json == "-":
        return "stdin", click.get_binary_stream("stdin").read()  # type: ignore[operator]  # click 8.5 types get_*_stream as object
    path = Path(from_json).expanduser()
    try:
        return str(path), path.read_bytes()
    except OSError as exc:
        raise HuntbenchError(f"cannot read {path}: {exc.strerror or exc}") from None


def _query_value(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.isdigit() else text


def _guess_kind(source: str | None, results) -> str:
    """``http(s)://`` is a cluster, ``osquery...`` or results saying "osquery SQL" are
    osquery, anything else offline data."""
    lowered = (source or "").strip().lower()
    if lowered.startswith(("http://", "https://")):
        return SourceKind.ELASTIC.value
    if lowered.startswith("osquery") or (results and all(r.language == Language.OSQUERY for r in results)):
        return SourceKind.OSQUERY.value
    return SourceKind.OFFLINE.value


def _hunt(key: str | None, hunt_dirs) -> tuple[str | None, str | None, list[str]]:
    """(uuid, name, mitre) of ``--hunt``; an unknown UUID is kept as given."""
    if not key:
        return None, None, []
    from hunts import load_library

    library = load_library(hunt_dirs)
    try:
        found = library.find(key)
    except (KeyError, ValueError) as exc:
        if _UUID.match(key.strip()):
            message("warning", f"hunt {key} is not in the hunt library; recorded by uuid only")
            return key.strip().lower(), None, []
        reason = exc.args[0] if exc.args else "not found"
        raise HuntbenchError(f"--hunt {key}: {reason}") from None
    return found.uuid, found.name, list(found.mitre)


@case.command("untag")
@case_option
@click.argument("finding_id", metavar="ID")
@click.option("--tag", "tags", multiple=True, required=True, metavar="TAG", help="Tag to remove (repeatable).")
@click.pass_context
def case_untag(ctx, case_path, finding_id, tags) -> None:
    """Remove tags from a finding (ID or a unique prefix of it)."""
    with _open(ctx, case_path) as opened:
        fid = opened.resolve_id(finding_id)
        for tag in tags:
            removed = opened.untag(fid, tag)
            echo(f"{fid}: {'removed' if removed else 'did not have'} tag {visible(tag)}")


@case.command("note")
@case_option
@click.argument("finding_id", metavar="ID")
@click.argument("text")
@click.pass_context
def case_note(ctx, case_path, finding_id, text) -> None:
    """Add a note to a finding (ID or a unique prefix of it); TEXT - reads stdin."""
    if text == "-":
        text = click.get_text_stream("stdin").read()  # type: ignore[operator]  # click 8.5 types get_*_stream as object
    with _open(ctx, case_path) as opened:
        fid = opened.resolve_id(finding_id)
        opened.add_note(fid, text)
        echo(f"{fid}: note added")


@case.command("list")
@case_option
@click.option("--tag", metavar="TAG", help="Only findings with this tag.")
@click.option("--search", metavar="TEXT",
              help="Only findings mentioning TEXT (no case): host names, agent ids, paths, command lines, "
                   "notes, pivot steps, tags, the row, the hunt.")
@click.option("--limit", type=int, metavar="N", help="At most N findings.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def case_list(ctx, case_path, tag, search, limit, fmt) -> None:
    """List findings, most recently changed first."""
    with _open(ctx, case_path, readonly=True) as opened:
        found = opened.findings(tag=tag, search=search, limit=limit)
        if fmt == "json":
            echo_json([_finding_json(f) for f in found])
            return
        click.echo(f"case {visible(opened.path)}", err=True)
        for f in found:
            echo(f"{f.id}  {visible(','.join(f.tags) or '-'):<24}  {clip(visible(', '.join(f.hosts) or '-'), 30):<30}  "
                 f"{visible(f.first_seen or '-'):<24}  {clip(visible(_query_label(f)), 60)}  {clip(visible(f.summary), 100)}")
        click.echo(f"{len(found)} findings", err=True)


def _query_label(f) -> str:
    """The query as the workbench labels it (``Q1``, ``Local scan``, a pivot's title)."""
    label = f.pivot_steps[-1]["label"] if f.pivot_steps else (f.query or "-")
    return f"{label} · {f.hunt_name or f.hunt_uuid or '-'}"


def _finding_json(f) -> dict[str, Any]:
    return {
        "id": f.id, "tags": f.tags, "hunt": f.hunt_name, "hunt_uuid": f.hunt_uuid, "mitre": f.mitre,
        "query": f.query, "source_kind": f.source_kind, "source": f.source, "first_seen": f.first_seen,
        "last_seen": f.last_seen, "id_basis": f.id_basis, "id_fields": f.id_fields, "key": f.key,
        "notes": [{"author": n.author, "created": n.created, "text": n.text} for n in f.notes],
        "created": f.created, "created_by": f.created_by, "updated": f.updated, "row": f.row,
        "host.name": f.hosts, "agent.id": f.agents, "pivot_path": f.pivot_path, "pivot_steps": f.pivot_steps,
    }


@case.command("show")
@case_option
@click.argument("finding_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def case_show(ctx, case_path, finding_id, fmt) -> None:
    """Show one finding (ID or a unique prefix): tags, notes, full row, history."""
    with _open(ctx, case_path, readonly=True) as opened:
        f = opened.finding(opened.resolve_id(finding_id))
        history = opened.history(f.id)
    if fmt == "json":
        out = _finding_json(f)
        out["history"] = [{"at": h.at, "who": h.who, "action": h.action, "detail": h.detail} for h in history]
        echo_json(out)
        return
    v = visible
    # Every field of a finding came from data or a hunt file (MITRE ids included): escaped.
    lines = [
        f"finding {f.id}", f"tags: {v(', '.join(f.tags) or '-')}",
        f"hunt: {v(f.hunt_name or '-')} ({v(f.hunt_uuid or 'no uuid')})  mitre: {v(', '.join(f.mitre) or '-')}",
        f"query: {v(_query_label(f))} ({v(f.query if f.query is not None else '-')})  source: {v(f.source_kind)} {v(f.source)}",
        f"hosts: {v(', '.join(f.hosts) or '-')}  agents: {v(', '.join(f.agents) or '-')}",
        f"pivot path: {v(f.pivot_path or '-')}",
        f"first seen: {v(f.first_seen or '-')}  last seen: {v(f.last_seen or '-')}"
        + (f" ({v(f.time_desc)})" if f.time_desc else ""),
        f"id from: {'the identifying fields ' + v(', '.join(f.id_fields)) if f.id_basis == 'fields' else 'the whole row (no identifying field)'}",
        f"tagged: {f.created} by {v(f.created_by or '-')}  updated: {f.updated}",
    ]
    if f.params:
        lines.append("pivot parameters: " + ", ".join(f"{v(k)}={v(val)}" for k, val in f.params.items()))
    lines.append("row:")
    lines += [f"  {v(k)}: {v(val)}" for k, val in f.row.items()]
    if f.notes:
        lines.append("notes:")
        lines += [f"  {n.created} {v(n.author)}: {v(n.text, keep_newlines=True)}" for n in f.notes]
    lines.append("history:")
    lines += [f"  {h.at} {v(h.who)} {v(h.action)} {v(json.dumps(h.detail, ensure_ascii=False))}" for h in history]
    echo("\n".join(lines))


@case.command("info")
@case_option
@click.option("--name", metavar="TEXT", help="Rename the case.")
@click.pass_context
def case_info(ctx, case_path, name) -> None:
    """Which case file is open, its schema and tool version, and counts."""
    with _open(ctx, case_path, create=bool(name), readonly=not name) as opened:
        if name:
            opened.set_name(name)
        info = opened.info()
    counts = info["counts"]
    lines = [
        f"case file: {visible(info['path'])}",
        f"name: {visible(info.get('name', '-'))}",
        f"created: {info.get('created', '-')} by {visible(info.get('created_by', '-'))} "
        f"(huntbench {info.get('tool_version', '?')})",
        f"schema version: {info.get('schema_version', '?')}  journal: {info['journal_mode']}",
        f"findings: {counts['findings']}  tags: {counts['tags']}  notes: {counts['notes']}  audit entries: {counts['audit']}",
    ]
    if info["tags"]:
        lines.append("by tag: " + ", ".join(f"{visible(t)} {n}" for t, n in info["tags"].items()))
    echo("\n".join(lines))


@case.command("export")
@case_option
@click.option("--out", required=True, metavar="FILE|-", help="Where to write (- for stdout).")
@click.option("--tag", "tags", multiple=True, metavar="TAG", help="Only findings with any of these tags (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--raw", is_flag=True, help="Do not neutralise spreadsheet formulas in CSV cells.")
@click.pass_context
def case_export(ctx, case_path, out, tags, fmt, raw) -> None:
    """Export tagged findings: CSV (Timesketch-ready, formulas neutralised) or JSONL."""
    with _open(ctx, case_path, readonly=True) as opened:
        try:
            target: Any = out
            if out == "-" and stdout_is_terminal():  # a terminal gets the export escaped
                target = TerminalWriter(sys.stdout, json_lines=fmt == "jsonl")
            count = opened.export(target, fmt=fmt, tags=list(tags), raw=raw)
            untagged = opened.count_untagged()
            sys.stdout.flush()
        except BrokenPipeError:  # `--out - | head`: the reader had enough
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SystemExit(0) from None
        where = "stdout" if out == "-" else str(Path(out).expanduser().absolute())
        left_out = f" ({untagged} untagged finding{'s' if untagged != 1 else ''} left out)" if untagged else ""
        click.echo(f"case {visible(opened.path)}: {count} findings exported to {visible(where)}{left_out}", err=True)
