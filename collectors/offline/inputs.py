"""Finding the data files behind a ``--data PATH`` and telling their format apart.

Accepted: NDJSON (``.ndjson``, ``.jsonl``, ``.json``, each optionally ``.gz``), one document
or one Elasticsearch hit (``{"_index":..,"_source":{..}}``, as ``_search`` and elasticdump
write them) per line; or a whole JSON document: a ``_search`` response (``hits.hits``), an
``_msearch`` response (``responses[].hits.hits``) or a JSON array of documents/hits. The
big formats go to DuckDB's own JSON reader; only whole documents are parsed in Python.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path
from typing import Any, Iterator

from collectors.result import SourceError

SUFFIXES = (".ndjson", ".jsonl", ".json", ".ndjson.gz", ".jsonl.gz", ".json.gz")
SNIFF_BYTES = 1 << 16


def expand(path: Path, skipped: list[str] | None = None) -> list[Path]:
    """The data files of one ``--data`` path (a file, or a folder searched recursively).

    A subfolder that cannot be read is skipped, never silently: ``skipped PATH: permission
    denied`` is added to ``skipped`` (shown as a warning), since the answer then covers
    only part of the export."""
    try:
        if path.is_dir():
            files = sorted(_walk(path, skipped if skipped is not None else []))
            if not files:
                raise SourceError(f"{path}: folder holds no {', '.join(SUFFIXES)} files")
            for f in files:
                _check_readable(f)
            return files
        _check_readable(path)
    except PermissionError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror or 'permission denied'})") from None
    return [path]


def _walk(root: Path, skipped: list[str]) -> Iterator[Path]:
    def unreadable(exc: OSError) -> None:
        if exc.filename == str(root):
            raise exc  # the folder named by --data itself: an error, not a partial load
        reason = (exc.strerror or str(exc)).lower()
        skipped.append(f"skipped {exc.filename}: {reason}")

    for folder, dirs, names in os.walk(root, onerror=unreadable):
        dirs.sort()
        for name in names:
            p = Path(folder) / name
            if name.lower().endswith(SUFFIXES) and not name.startswith(".") and p.is_file():
                yield p


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if not path.is_file():
        raise SourceError(f"{path}: not a file")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{path}: cannot read (permission denied)")


def file_identity(path: Path) -> tuple[int, ...]:
    """What tells that a file is still the one read before: device, inode, size, mtime and
    ctime. Size and mtime alone are not enough: ``touch -r`` sets an edited file's mtime back,
    and a file replaced with its mtime kept (``cp -p``, ``rsync -t``) has another inode; no
    one can set the ctime back."""
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def stem(path: Path) -> str:
    """The file name without its extensions: ``app.ndjson.gz`` -> ``app``."""
    name = path.name
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or name
    return name.split(".", 1)[0] or name


def open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, "r", encoding="utf-8", errors="replace")


def sniff(path: Path) -> str:
    """``"ndjson"`` (one JSON value per line) or ``"document"`` (one JSON value in all)."""
    try:
        with open_text(path) as fh:
            head = fh.read(SNIFF_BYTES)
    except (OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"{path}: cannot read ({exc})") from None
    text = head.lstrip()
    if not text:
        return "ndjson"
    if text[0] == "[":
        return "document"
    if text[0] != "{":
        return "ndjson"
    first, newline, _ = text.partition("\n")
    try:
        value = json.loads(first)
    except ValueError:
        # A pretty-printed object spans lines; a broken NDJSON line does not parse either,
        # so only a file that parses whole is a document.
        return "document" if (newline or len(head) < SNIFF_BYTES) and _parses_whole(path) else "ndjson"
    if isinstance(value, dict) and (_is_search_response(value) or "responses" in value):
        return "document"
    return "ndjson"


def _parses_whole(path: Path) -> bool:
    try:
        with open_text(path) as fh:
            json.load(fh)
        return True
    except (ValueError, OSError, EOFError, zlib.error):
        return False


def _is_search_response(value: dict) -> bool:
    hits = value.get("hits")
    return isinstance(hits, dict) and isinstance(hits.get("hits"), list)


def document_records(path: Path) -> tuple[list[dict], int]:
    """The hits or documents of a whole-JSON file, and how many entries were not objects."""
    try:
        with open_text(path) as fh:
            value = json.load(fh)
    except (ValueError, OSError, EOFError, zlib.error) as exc:
        raise SourceError(f"{path}: not valid JSON ({exc})") from None
    records: list[dict] = []
    bad = 0
    for item in _records(value):
        if isinstance(item, dict):
            records.append(item)
        else:
            bad += 1
    return records, bad


def _records(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and _is_search_response(item):
                yield from item["hits"]["hits"]
            else:
                yield item
    elif isinstance(value, dict):
        if _is_search_response(value):
            yield from value["hits"]["hits"]
        elif isinstance(value.get("responses"), list):
            for response in value["responses"]:
                if isinstance(response, dict) and _is_search_response(response):
                    yield from response["hits"]["hits"]
        else:
            yield value
    else:
        yield value
