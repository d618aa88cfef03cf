"""Printing results: the ``--format`` choices every query command shares.

Values, column names, hunt fields and server messages are data, and data can be written by
an intruder. What reaches a terminal goes through :func:`tui.escape.visible` (or its JSON
form), so no escape sequence, C1 control or bidi override in it is ever obeyed. The choice
is made per stream: to a pipe or a file, CSV, TSV and JSON carry the data exactly (formula
neutralisation aside), because scripts and spreadsheets need the real values; on a
terminal the same formats are escaped. Messages on stderr (``error:``, ``warning:``,
``note:``) are for people and are always escaped.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import IO, Any, Callable

import click

from collectors.interface import QueryResult
from tui.escape import visible, visible_json


def is_terminal(stream: IO[Any] | None) -> bool:
    """True when ``stream`` is a terminal (the escaping decision, made per stream)."""
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # a closed or fake stream is not a terminal
        return False


def stdout_is_terminal() -> bool:
    return is_terminal(sys.stdout)


def cell_text(value: Any) -> str:
    """A value as text for csv/tsv/txt: multi-values joined by a comma, null as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(cell_text(v) for v in value)
    return str(value)


NUMERIC_TYPES = frozenset({"long", "integer", "double", "unsigned_long", "counter_long",
                           "counter_integer", "counter_double", "boolean", "date", "date_nanos"})


def spreadsheet_safe(text: str) -> str:
    """A text cell a spreadsheet would run as a formula gets a leading ``'`` (OWASP's advice
    for CSV injection); the same rule as the case file's CSV export."""
    from casefile.export import FORMULA_STARTS

    return "'" + text if text.startswith(FORMULA_STARTS) else text


def format_result(result: QueryResult, fmt: str, *, terminal: bool = False) -> str:
    """json is Elasticsearch's ``_query`` shape; csv/tsv/txt are what ``?format=`` gives.

    In csv/tsv, every cell that starts like a formula (``=``, ``+``, ``-``, ``@``, tab, CR)
    is neutralised, the header's column names included: file names, command lines and field
    names are attacker-written, and these files are opened in spreadsheets. Numbers, dates
    and booleans are left as they are. With ``terminal``, every cell is also escaped for the
    screen; txt is always escaped (it is only ever for people).
    """
    if fmt == "json":
        text = json_text(result.to_json())
        return visible_json(text) if terminal else text
    if fmt in ("csv", "tsv"):
        shown: Callable[[str], str] = visible if terminal else str
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow([shown(spreadsheet_safe(name)) for name in result.column_names])
        textual = [c.type not in NUMERIC_TYPES for c in result.columns]
        for row in result.values:
            writer.writerow([shown(spreadsheet_safe(cell_text(v)) if t else cell_text(v))
                             for v, t in zip(row, textual)])
        return buf.getvalue().rstrip("\n")
    return text_table(result)


def text_table(result: QueryResult) -> str:
    """Elasticsearch's ``format=txt``: padded columns, a dashed rule under the header.

    Column names and values are escaped: both come from data, so neither may drive the
    terminal.
    """
    names = [visible(n) for n in result.column_names]
    rows = [[visible(cell_text(v)) for v in row] for row in result.values]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    lines = ["|".join(n.ljust(w) for n, w in zip(names, widths)).rstrip()]
    lines.append("+".join("-" * w for w in widths))
    lines += ["|".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def json_text(obj: Any, *, indent: int | None = None) -> str:
    """JSON for stdout: UTF-8 as is, but ASCII escapes when a value holds lone surrogates
    (undecodable bytes in a file name), which no UTF-8 stream can carry."""
    text = json.dumps(obj, ensure_ascii=False, indent=indent)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, indent=indent)
    return text


def echo_json(obj: Any, *, indent: int | None = None) -> None:
    """Print ``obj`` as JSON: exact to a pipe or file, terminal-safe escapes on a terminal."""
    text = json_text(obj, indent=indent)
    echo(visible_json(text) if stdout_is_terminal() else text)


def message(prefix: str, text: Any) -> None:
    """One ``prefix: text`` line on stderr, escaped (it may quote data or a server)."""
    click.echo(f"{prefix}: {visible(text)}", err=True)


def emit_warnings(warnings: list[str]) -> None:
    for text in warnings:
        message("warning", text)


def echo(text: str) -> None:
    """Print to stdout; a closed pipe (``| head``) ends quietly.

    ``color=True`` because click otherwise strips what looks like ANSI colour codes when
    stdout is not a terminal, which would silently alter data bound for a pipe or a file
    (what reaches a terminal is already escaped).
    """
    try:
        click.echo(text, color=True)
    except BrokenPipeError:
        sys.stderr.close()
        raise SystemExit(0) from None


class TerminalWriter(io.TextIOBase):
    """A text stream that escapes what is written before it reaches a terminal.

    For writers that take a stream (the case export): ``json`` keeps JSON valid
    (:func:`visible_json`); otherwise each line is shown with :func:`visible`, keeping line
    breaks (a CSV row's CRLF is shown as a plain line end).
    """

    def __init__(self, target: IO[str], *, json_lines: bool):
        super().__init__()
        self._target = target
        self._json = json_lines

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._json:
            shown = visible_json(text)
        else:
            shown = visible(text.replace("\r\n", "\n"), keep_newlines=True)
        self._target.write(shown)
        return len(text)

    def flush(self) -> None:
        self._target.flush()
