"""Reading query results back in: the ``{"columns": [..], "values": [..]}`` JSON shape.

What ``huntbench esql|osquery --format json`` print (one object, Elasticsearch's
``_query`` response shape) and ``huntbench hunt run --format json`` prints (a list of them,
each with its ``"query"`` number). Several JSON documents one after another (NDJSON) are
read too. Input must be UTF-8 JSON (RFC 8259); bytes that are not UTF-8 -- a file name an
attacker made invalid on purpose -- are kept as ``\\udcXX`` escapes (Python's
``surrogateescape``) rather than refused, and reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from collectors.interface import HuntbenchError


@dataclass
class ResultRows:
    """One result's rows, as column -> value dicts, and the query number it carried."""

    rows: list[dict[str, Any]]
    query: int | str | None
    language: str | None = None
    """``"ES|QL"`` or ``"osquery SQL"`` when the result says (``hunt run``/``scan`` lists)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """The result's other keys (``hunt``, ``label``, ``source``, ``now``, ...): where the
    rows came from, as the producing command tells it; unchecked here (cli/provenance.py)."""


@dataclass
class Parsed:
    results: list[ResultRows]
    invalid_utf8_bytes: int


def _decode(data: bytes) -> tuple[str, int]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="surrogateescape")
        return text, sum(1 for ch in text if 0xDC80 <= ord(ch) <= 0xDCFF)


def _documents(text: str, name: str) -> list[Any]:
    decoder = json.JSONDecoder()
    docs, pos = [], 0
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos >= len(text):
            break
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise HuntbenchError(f"{name}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        docs.append(doc)
    if not docs:
        raise HuntbenchError(f"{name}: no JSON in it (expected a {{\"columns\", \"values\"}} result)")
    return docs


def _result(obj: Any, name: str, where: str) -> ResultRows:
    if not isinstance(obj, dict) or "columns" not in obj:
        raise HuntbenchError(f'{name}: {where} is not a {{"columns": [..], "values": [..]}} result')
    columns = obj["columns"]
    if not isinstance(columns, list):
        raise HuntbenchError(f"{name}: {where}: \"columns\" must be a list")
    names: list[str] = []
    for i, col in enumerate(columns):
        label = col.get("name") if isinstance(col, dict) else col
        if not isinstance(label, str) or not label:
            raise HuntbenchError(f"{name}: {where}: column {i} has no name")
        names.append(label)
    values = obj.get("values", [])
    if not isinstance(values, list):
        raise HuntbenchError(f"{name}: {where}: \"values\" must be a list of rows")
    rows = []
    for r, row in enumerate(values):
        if not isinstance(row, list) or len(row) != len(names):
            got = len(row) if isinstance(row, list) else type(row).__name__
            raise HuntbenchError(f"{name}: {where}, row {r}: {got} values for {len(names)} columns")
        rows.append(dict(zip(names, row)))
    query = obj.get("query")
    if query is not None and not isinstance(query, (int, str)) or isinstance(query, bool):
        query = None
    language = obj.get("language")
    extra = {k: v for k, v in obj.items() if k not in ("columns", "values", "query", "language")}
    return ResultRows(rows, query, language if isinstance(language, str) else None, extra)


def parse_results(data: bytes, name: str) -> Parsed:
    """Every result in ``data`` (bytes of a file or stdin called ``name``)."""
    text, bad = _decode(data)
    docs = _documents(text, name)
    items = [item for doc in docs for item in (doc if isinstance(doc, list) else [doc])]
    single = len(docs) == 1 and not isinstance(docs[0], list)
    results = [_result(item, name, "the input" if single else f"result {i}") for i, item in enumerate(items)]
    return Parsed(results, bad)
