"""Printing results: the ``--format`` choices every query command shares."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

import click

from collectors.interface import QueryResult


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


def format_result(result: QueryResult, fmt: str) -> str:
    """json is Elasticsearch's ``_query`` shape; csv/tsv/txt are what ``?format=`` gives.

    In csv/tsv, text cells that start like a formula (``=``, ``+``, ``-``, ``@``, tab, CR) are
    neutralised: file names and command lines are attacker-written, and these files are
    opened in spreadsheets. Numbers, dates and booleans are left as they are.
    """
    if fmt == "json":
        return json_text(result.to_json())
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(result.column_names)
        textual = [c.type not in NUMERIC_TYPES for c in result.columns]
        for row in result.values:
            writer.writerow([spreadsheet_safe(cell_text(v)) if t else cell_text(v)
                             for v, t in zip(row, textual)])
        return buf.getvalue().rstrip("\n")
    return text_table(result)


def text_table(result: QueryResult) -> str:
    """Elasticsearch's ``format=txt``: padded columns, a dashed rule under the header.

    Control characters are escaped so attacker-written values cannot drive the terminal.
    """
    from tui.escape import visible

    names = result.column_names
    rows = [[visible(cell_text(v)) for v in row] for row in result.values]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    lines = ["|".join(n.ljust(w) for n, w in zip(names, widths)).rstrip()]
    lines.append("+".join("-" * w for w in widths))
    lines += ["|".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def json_text(obj: Any) -> str:
    """JSON for stdout: UTF-8 as is, but ASCII escapes when a value holds lone surrogates
    (undecodable bytes in a file name), which no UTF-8 stream can carry."""
    text = json.dumps(obj, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True)
    return text


def emit_warnings(warnings: list[str]) -> None:
    for text in warnings:
        click.echo(f"warning: {text}", err=True)


def echo(text: str) -> None:
    """Print to stdout; a closed pipe (``| head``) ends quietly."""
    try:
        click.echo(text)
    except BrokenPipeError:
        sys.stderr.close()
        raise SystemExit(0) from None
