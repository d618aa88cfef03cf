"""Export tagged findings: CSV for people and Timesketch, JSONL with the full rows.

CSV (RFC 4180: CRLF line ends, fields with ``,`` ``"`` CR or LF quoted, UTF-8 without BOM),
one row per tagged finding in the order the findings were first tagged, columns
:data:`CSV_COLUMNS` in that order:

* ``finding_id, tags, notes, hunt, mitre, host.name, agent.id, first_seen, last_seen``
* ``pivot_path``: the steps that led to the row (``Q1 file.name=x > Agents that wrote
  this file agent.id=y > ...``), values exactly as they were passed to each query
* ``hunt_uuid, query, source_kind, source, id_basis, tagged, tagged_by, updated``
* the key ECS fields ``file.path, file.name, process.executable, process.command_line,
  process.parent.executable, process.parent.command_line``
* ``row``: the full original row as compact JSON
* ``message, datetime, timestamp_desc``: what Timesketch's CSV import requires
  (timesketch/lib/utils.py, ``TIMESKETCH_FIELDS``; rows with an empty ``datetime`` are
  dropped there, so ``datetime`` is always filled: the first time the events behind the
  finding were seen -- ``First seen``, ``Event time`` or ``File modified`` in
  ``timestamp_desc`` -- and only when nothing tells that, the time it was tagged, with
  ``timestamp_desc`` ``Tagged in case``). ``message`` is one sentence: tags, what (command
  line, file, executable) and its value, on which hosts, from which hunt.
* ``tag``: the tags as a JSON array (``["malicious","T1543.002"]``), the form
  Timesketch's importer turns into event tags (``_parse_tag_field`` in
  timesketch/lib/utils.py: a ``[...]`` cell is read as JSON; a plain cell would be split
  at commas without trimming).

Several hosts or agents are one cell joined by ``, ``. Tags and MITRE ids are joined by
``|``; notes by a line break, each ``TIME AUTHOR: text``; times are ISO-8601 UTC
(``2026-11-20T12:00:00.000Z``).

JSONL: one object per finding with the same keys, ``tags``/``tag``/``mitre``/
``host.name``/``agent.id`` as lists, ``pivot_steps`` with the pivot path as
``{label, query, on}`` objects, ``notes`` as a list of ``{author, created, text}`` and
``row`` as the original object (NUL and undecodable bytes kept exactly, as JSON escapes).
Never neutralised.

Findings with no tag left (all removed) are not exported; :func:`export_case` says how many.

Formula neutralisation (OWASP "CSV Injection"): a cell starting with ``=`` ``+`` ``-``
``@``, tab or CR is run as a formula by Excel/LibreOffice/Sheets -- and these cells hold
attacker-written file names and command lines. Such cells get a leading ``'`` so the
spreadsheet shows them as text; ``--raw`` turns this off for tools that are not
spreadsheets. (Columns in SAFE_START_COLUMNS cannot start with those characters.)
The neutralisation runs inside SQLite, so the export stays close to the
speed of ``sqlite3 -csv`` (see benchmarks/bench_case.py).

The file is written beside the target under a temporary name and renamed over it only
when complete: a failed export (full disk, interrupted) never leaves a partial file, and
an older export at that path survives.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import secrets
import sqlite3
import sys
from pathlib import Path
from typing import IO, Sequence

from casefile.errors import CaseError
from casefile.schema import KEY_FIELDS
from casefile.values import dumps

FORMATS = ("csv", "jsonl")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_LEAD_KEYS = ("host.name", "agent.id")
_OTHER_KEYS = tuple(k for k in KEY_FIELDS if k not in _LEAD_KEYS)

# (CSV column, SQL expression over findings f)
_TAGS_SQL = ("(SELECT group_concat(label, '|') FROM (SELECT coalesce(label, tag) AS label FROM tags "
             "WHERE finding_id = f.id ORDER BY tag))")
_TAG_JSON_SQL = ("(SELECT json_group_array(label) FROM (SELECT coalesce(label, tag) AS label FROM tags "
                 "WHERE finding_id = f.id ORDER BY tag))")
# What the finding is about, for the message: the first key field that is set.
_WHAT = (("process_command_line", "command line"), ("file_path", "file"), ("file_name", "file"),
         ("process_executable", "executable"))
_MESSAGE_SQL = (
    f"{_TAGS_SQL.replace(chr(39) + '|' + chr(39), chr(39) + ', ' + chr(39))} || ' ' || "
    "CASE " + " ".join(f"WHEN f.{c} IS NOT NULL THEN '{what}: ' || f.{c}" for c, what in _WHAT)
    + " ELSE coalesce(f.summary, '') END"
    " || coalesce(' on ' || f.host_name, '')"
    " || ' (' || coalesce('hunt ' || f.hunt_name, 'huntbench') || coalesce(', ' || nullif(f.pivot_path, ''), '') || ')'"
)
_CSV_SQL: tuple[tuple[str, str], ...] = (
    ("finding_id", "f.id"),
    ("tags", _TAGS_SQL),
    ("notes", "(SELECT group_concat(line, char(10)) FROM (SELECT created || ' ' || coalesce(author, '') || ': ' "
              "|| text AS line FROM notes WHERE finding_id = f.id ORDER BY id))"),
    ("hunt", "f.hunt_name"),
    ("mitre", "(SELECT group_concat(value, '|') FROM json_each(f.mitre))"),
    *((k, f"f.{KEY_FIELDS[k]}") for k in _LEAD_KEYS),
    ("first_seen", "f.first_seen"),
    ("last_seen", "f.last_seen"),
    ("pivot_path", "coalesce(f.pivot_path, '')"),
    ("hunt_uuid", "f.hunt_uuid"),
    ("query", "f.query"),
    ("source_kind", "f.source_kind"),
    ("source", "f.source"),
    ("id_basis", "f.id_basis"),
    ("tagged", "f.created"),
    ("tagged_by", "f.created_by"),
    ("updated", "f.updated"),
    *((k, f"f.{KEY_FIELDS[k]}") for k in _OTHER_KEYS),
    ("tag", _TAG_JSON_SQL),
    ("row", "f.row_json"),
    ("message", _MESSAGE_SQL),
    ("datetime", "coalesce(f.first_seen, f.created)"),
    ("timestamp_desc", "CASE WHEN f.first_seen IS NULL THEN 'Tagged in case' ELSE coalesce(f.time_desc, 'First seen') END"),
)
_JSONL_EXTRA: tuple[tuple[str, str], ...] = (
    ("pivot_steps", "coalesce(f.pivot_steps, '[]')"),
    ("hosts", "coalesce(f.hosts, '[]')"),
    ("agents", "coalesce(f.agents, '[]')"),
)
CSV_COLUMNS: tuple[str, ...] = tuple(name for name, _ in _CSV_SQL)
SAFE_START_COLUMNS = frozenset({
    "finding_id", "tags", "notes", "first_seen", "last_seen", "source_kind", "id_basis", "tagged", "updated",
    "row", "datetime", "timestamp_desc", "tag", "message",
})
"""Cells whose first character huntbench writes itself, never a formula start: hex ids,
times (a digit), tags (validated to start with a letter or digit; ``tag`` starts with
``[``; ``message`` with a tag), notes (each line starts with its time), ``row`` (``{``),
our own enumerations. Checking them would only slow the
export: SQLite would evaluate their tag/note subqueries twice."""


def _where(tags: Sequence[str]) -> tuple[str, list[str]]:
    """Only tagged findings; with ``tags`` (compared by key, without case), those having any."""
    if tags:
        marks = ", ".join("?" * len(tags))
        return (f"WHERE EXISTS (SELECT 1 FROM tags t WHERE t.finding_id = f.id AND t.tag IN ({marks}))",
                [t.casefold() for t in tags])
    return "WHERE EXISTS (SELECT 1 FROM tags t WHERE t.finding_id = f.id)", []


_NOTES_JSON = ("(SELECT json_group_array(json_object('author', author, 'created', created, 'text', text)) "
               "FROM (SELECT * FROM notes WHERE finding_id = f.id ORDER BY id))")


def _neutralised(cell: str, name: str) -> str:
    """SQL: ``cell`` with a leading ``'`` when it starts with a formula character."""
    starts = ", ".join(f"char({ord(ch)})" for ch in FORMULA_STARTS)
    quote = "''''"  # SQL for the one-character string '
    return f'CASE WHEN substr({cell}, 1, 1) IN ({starts}) THEN {quote} || {cell} ELSE {cell} END AS "{name}"'


def csv_select_sql(tags: Sequence[str] = (), *, raw: bool = False, jsonl: bool = False) -> tuple[str, list[str]]:
    """The one SELECT that yields the CSV's cells (also used by the benchmark's sqlite3 run).

    ``jsonl`` replaces the notes cell by a JSON array of {author, created, text}.
    """
    where, args = _where(tags)
    columns = _CSV_SQL + (_JSONL_EXTRA if jsonl else ())
    exprs = [(_NOTES_JSON if jsonl and name == "notes" else expr) for name, expr in columns]
    inner = ", ".join(f'{expr} AS "c{i}"' for i, expr in enumerate(exprs))
    inner_sql = f"SELECT {inner} FROM findings f {where} ORDER BY f.rowid"
    outer = ", ".join(
        f'"c{i}" AS "{name}"' if raw or name in SAFE_START_COLUMNS else _neutralised(f'"c{i}"', name)
        for i, (name, _) in enumerate(columns)
    )
    return f"SELECT {outer} FROM ({inner_sql})", args


def _write_csv(conn: sqlite3.Connection, handle: IO[str], tags: Sequence[str], raw: bool) -> int:
    sql, args = csv_select_sql(tags, raw=raw)
    writer = csv.writer(handle, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    count = 0
    cursor = conn.execute(sql, args)
    while True:
        chunk = cursor.fetchmany(2000)
        if not chunk:
            break
        writer.writerows(chunk)
        count += len(chunk)
    return count


def _write_jsonl(conn: sqlite3.Connection, handle: IO[str], tags: Sequence[str]) -> int:
    """One JSON object per finding: the CSV's fields as JSON types, and the full row."""
    sql, args = csv_select_sql(tags, raw=True, jsonl=True)
    names = CSV_COLUMNS + tuple(name for name, _ in _JSONL_EXTRA)
    count = 0
    for values in conn.execute(sql, args):
        record = dict(zip(names, values))
        record["tags"] = record["tags"].split("|") if record["tags"] else []
        record["tag"] = json.loads(record["tag"]) if record["tag"] else []
        record["mitre"] = record["mitre"].split("|") if record["mitre"] else []
        record["notes"] = json.loads(record["notes"]) if record["notes"] else []
        record["row"] = json.loads(record["row"])
        record["pivot_steps"] = json.loads(record["pivot_steps"])
        record["host.name"] = json.loads(record.pop("hosts"))
        record["agent.id"] = json.loads(record.pop("agents"))
        handle.write(dumps(record) + "\n")
        count += 1
    return count


def export_case(
    conn: sqlite3.Connection, case_path: Path, out: Path | str | IO[str], *, fmt: str = "csv",
    tags: Sequence[str] = (), raw: bool = False,
) -> int:
    """Write the export; the number of findings written. ``out`` ``-`` means stdout; an open
    stream (the CLI's terminal-escaping writer) is written as it is."""
    if fmt not in FORMATS:
        raise CaseError(f"export format {fmt!r} is not one of {', '.join(FORMATS)}")

    def write(handle: IO[str]) -> int:
        if fmt == "csv":
            return _write_csv(conn, handle, tags, raw)
        return _write_jsonl(conn, handle, tags)

    if not isinstance(out, (str, Path)):
        return write(out)
    if str(out) == "-":
        return write(sys.stdout)
    target = Path(out).expanduser().absolute()
    protected = {case_path.resolve(), *(Path(f"{case_path}{end}").resolve() for end in ("-wal", "-shm", "-journal"))}
    if target.resolve() in protected:
        raise CaseError(f"cannot export to {target}: that is the case file itself")
    return write_atomically(target, write)


def write_atomically(target: Path, write) -> int:
    """Call ``write(handle)`` on a temporary file beside ``target``, then rename it over.

    On any failure the temporary file is removed and ``target`` is left as it was.
    """
    target = target.absolute()
    if target.is_dir():
        raise CaseError(f"cannot export to {target}: it is a folder")
    folder = target.parent
    if not folder.is_dir():
        raise CaseError(f"cannot export to {target}: folder {folder} does not exist")
    temp = folder / f".{target.name}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise _os_error(target, exc) from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            count = write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException as exc:
        try:
            temp.unlink()
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise _os_error(target, exc) from None
        raise
    return count


def _os_error(target: Path, exc: OSError) -> CaseError:
    if exc.errno == errno.ENOSPC:
        why = "no space left on device"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"folder {target.parent} is not writable"
    else:
        why = exc.strerror or str(exc)
    return CaseError(f"cannot export to {target}: {why}; nothing was written")
