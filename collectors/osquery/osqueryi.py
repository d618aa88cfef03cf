"""The ``osqueryi`` backend: the real osquery shell as a subprocess.

What osqueryi prints is read from osquery/devtools/shell.cpp:

* ``--json`` builds each row as a ``std::map`` (keys sorted, duplicates merged, NULL
  printed as ``nullvalue``), so it loses the SELECT's column order and NULL; it is not
  used. CSV mode keeps both: the header is in SELECT order, and ``output_csv`` quotes
  every value holding a space, quote, control or non-ASCII byte *and every empty
  string* (its quote test loop never runs for ``""``), while NULL is printed bare as
  ``nullvalue`` (empty). So an unquoted empty field is NULL and ``""`` is ''.
* ``--csv`` on the command line is overridden by the default ``--separator '|'``, so the
  mode is set with the ``.mode csv`` meta-command instead (which sets ``,``).
* Column types come from ``.types SQL`` (osquery's getQueryColumns, printed as a
  ``name,type`` table before the rows); a ``.print`` marker separates the two outputs.
  If the types are missing (an old osqueryi) they are inferred from the values.
* Errors go to stderr as ``Error: near line N: MESSAGE`` (statements read from stdin),
  preceded by glog warnings (``W1127 12:00:00.000000 1234 virtual_table.cpp:1018]
  Table file was queried without a required column in the WHERE clause``); the exit
  code is 1. They become one QueryError line: ``MESSAGE (WARNING; WARNING)``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time

from collectors.osquery.result import (
    OsqueryResult,
    es_type,
    infer_text_type,
    make_result,
    split_statement,
    typed_value,
)
from collectors.osquery.vtable import effective_user
from collectors.result import QueryError, SourceError

TYPES_END = "__HUNTBENCH_END_OF_TYPES__"
_GLOG = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+\s+[^\]]+\]\s?(.*)$")
_ERROR = re.compile(r"^Error:(?: near line \d+:)?\s*(.*)$")


class OsqueryiMissing(SourceError):
    """No osqueryi on PATH (auto moves on to the next backend)."""


def find_osqueryi() -> str | None:
    return shutil.which("osqueryi")


def build_script(sql: str) -> str:
    """What osqueryi reads on stdin: CSV mode, the types, a marker, then the statement."""
    import apsw

    text = sql.strip()
    if not apsw.complete(text):
        text += "\n;"
    return f'.mode csv\n.headers on\n.nullvalue ""\n.types {text}\n.print {TYPES_END}\n{text}\n'


def run_osqueryi(sql: str, *, timeout: float = 30.0, executable: str | None = None) -> OsqueryResult:
    """Run one statement through osqueryi; raises OsqueryiMissing, QueryError, SourceError."""
    text = split_statement(sql)
    binary = executable or find_osqueryi()
    if not binary:
        raise OsqueryiMissing("osqueryi not found on PATH")
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [binary], input=build_script(text).encode("utf-8"), capture_output=True,
            timeout=timeout, env={**os.environ, "TERM": "dumb"},
        )
    except subprocess.TimeoutExpired:
        raise SourceError(f"osqueryi did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise SourceError(f"osqueryi could not be started: {exc.strerror or exc}") from None
    stdout = proc.stdout.decode("utf-8", "replace")
    stderr = proc.stderr.decode("utf-8", "replace")
    error = parse_error(stderr)
    if proc.returncode != 0 or error:
        if error:
            raise QueryError(error)
        raise SourceError(f"osqueryi exited with code {proc.returncode}: {_last_line(stderr) or 'no message'}")
    result = parse_output(stdout)
    result.took = int((time.monotonic() - started) * 1000)
    euid, user = effective_user()
    if euid != 0:
        result.notices.append(f"running as uid {euid} ({user}), not root: results may be partial")
    return result


def parse_error(stderr: str) -> str | None:
    """``MESSAGE (warning; warning)`` from osqueryi's stderr, or None if it holds no error."""
    warnings, error = [], None
    for line in stderr.splitlines():
        line = line.rstrip()
        glog = _GLOG.match(line)
        if glog:
            if line[0] in "WEF":
                warnings.append(glog.group(1))
            continue
        match = _ERROR.match(line)
        if match:
            error = match.group(1)
    if error is None:
        return None
    return f"{error} ({'; '.join(warnings)})" if warnings else error


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def parse_csv(text: str) -> list[list[str | None]]:
    """osqueryi's CSV: quoted fields may hold newlines; a bare empty field is NULL."""
    records: list[list[str | None]] = []
    record: list[str | None] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            i += 1
            chunk = []
            while i < n:
                ch = text[i]
                if ch == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        chunk.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                chunk.append(ch)
                i += 1
            record.append("".join(chunk))
        else:
            j = i
            while j < n and text[j] not in ",\n":
                j += 1
            value = text[i:j]
            record.append(value if value != "" else None)
            i = j
        if i < n and text[i] == ",":
            i += 1
            if i == n or text[i] == "\n":
                record.append(None)
        if i < n and text[i] == "\n":
            records.append(record)
            record = []
            i += 1
    if record:
        records.append(record)
    return records


def parse_output(stdout: str) -> OsqueryResult:
    """Columns (SELECT order, osquery's types) and typed rows from osqueryi's stdout."""
    types_part, marker, rows_part = stdout.partition(TYPES_END + "\n")
    if not marker:
        types_part, rows_part = "", stdout
    declared: list[tuple[str, str]] = []
    type_records = parse_csv(types_part)
    if type_records and type_records[0] == ["name", "type"]:
        declared = [(r[0] or "", r[1] or "") for r in type_records[1:] if len(r) >= 2]
    records = parse_csv(rows_part)
    if records:
        names = [n or "" for n in records[0]]
        data = records[1:]
    else:
        names = [name for name, _ in declared]
        data = []
    decl_by_position = [t for _, t in declared] if len(declared) == len(names) else [None] * len(names)
    types = []
    for i, decl in enumerate(decl_by_position):
        es = es_type(decl)
        types.append(es or infer_text_type([row[i] if i < len(row) else None for row in data]))
    rows = [[typed_value(row[i] if i < len(row) else None, types[i]) for i in range(len(names))]
            for row in data]
    return make_result(names, types, rows, backend="osqueryi")
