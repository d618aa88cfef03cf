"""The ``--format`` names every query command accepts, and output of several queries.

``table`` and ``txt`` are one format (Elasticsearch calls its padded text ``txt``; people and
``case list`` say ``table``), accepted wherever either is. A hunt has several queries; a CSV
or TSV holding them must still be one table a spreadsheet or VisiData reads from its first
line, so several results become one table with a leading ``query`` column (the union of
their columns), or one file per query with ``--out-dir``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Callable

import click

from cli.output import NUMERIC_TYPES, cell_text, format_result, spreadsheet_safe
from collectors.interface import QueryResult
from tui.escape import visible

QUERY_FORMATS = click.Choice(["txt", "table", "json", "csv", "tsv"])
"""``--format`` of ``hunt run``, ``esql``, ``scan`` and ``osquery``."""

ALIASES = {"table": "txt"}


def canonical(fmt: str) -> str:
    """``table`` -> ``txt``; every other name as it is."""
    return ALIASES.get(fmt, fmt)


def format_option(default: str = "txt") -> Callable:
    return click.option("--format", "fmt", type=QUERY_FORMATS, default=default, show_default=True,
                        help="txt and table are the same padded text; csv/tsv neutralise formula cells.")


def out_dir_option(func: Callable) -> Callable:
    return click.option("--out-dir", "out_dir", metavar="DIR",
                        type=click.Path(file_okay=False, dir_okay=True, writable=True),
                        help="Write one file per query into DIR (query-N.csv, ...) instead of stdout.")(func)


def combined_table(results: list[tuple[int, QueryResult]], fmt: str, terminal: bool = False) -> str:
    """Several results as one CSV/TSV table: ``query`` first, then every column of every
    result in order of first appearance; a cell a query has no column for is empty. Cells
    and column names are neutralised as :func:`cli.output.format_result` does, and escaped
    on a terminal."""
    shown: Callable[[str], str] = visible if terminal else str
    names: list[str] = []
    numeric: dict[str, bool] = {}
    for _index, result in results:
        for column in result.columns:
            if column.name not in numeric:
                names.append(column.name)
                numeric[column.name] = column.type in NUMERIC_TYPES
            elif column.type not in NUMERIC_TYPES:
                numeric[column.name] = False
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
    writer.writerow(["query", *(shown(spreadsheet_safe(n)) for n in names)])
    for index, result in results:
        positions = {c.name: i for i, c in enumerate(result.columns)}
        for row in result.values:
            cells = [str(index)]
            for name in names:
                text = cell_text(row[positions[name]]) if name in positions else ""
                cells.append(shown(text if numeric[name] else spreadsheet_safe(text)))
            writer.writerow(cells)
    return buf.getvalue().rstrip("\n")


def write_per_query(results: list[tuple[int, QueryResult]], fmt: str, out_dir: str) -> list[Path]:
    """One file per query, ``query-N.<fmt>``, in ``out_dir`` (created if needed)."""
    folder = Path(out_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = canonical(fmt)
    written = []
    for index, result in results:
        path = folder / f"query-{index}.{suffix}"
        path.write_text(format_result(result, suffix) + "\n", encoding="utf-8")
        written.append(path)
    return written


def several(results: list[tuple[int, str, QueryResult]], fmt: str, terminal: bool = False) -> str:
    """Several queries' results on stdout in a non-JSON format.

    txt keeps a ``# query N: title`` heading before each table (for reading); csv/tsv give
    one table with a ``query`` column, and say so on stderr with the way to separate files.
    """
    fmt = canonical(fmt)
    if len(results) == 1:
        return format_result(results[0][2], fmt, terminal=terminal)
    if fmt in ("csv", "tsv"):
        click.echo(f"note: {len(results)} queries in one table, told apart by its first column "
                   "'query'; --out-dir DIR writes one file per query", err=True)
        return combined_table([(i, r) for i, _t, r in results], fmt, terminal)
    return "\n\n".join(f"# query {i}: {title}\n{format_result(r, fmt, terminal=terminal)}"
                        for i, title, r in results)
