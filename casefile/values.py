"""Turning row values into what the case file stores: exact JSON, display text, UTC times.

Rows are attacker data and may hold anything a file name can: NUL, control characters,
and bytes that are not UTF-8 (arriving as lone surrogates, Python's ``surrogateescape``).
SQLite TEXT must be UTF-8, so:

* the full row is stored as JSON in which lone surrogates are written as ``\\udcXX``
  escapes -- it reads back to exactly the same Python string (nothing is lost);
* the key columns (``host.name``, ``file.path`` ...) and so the CSV hold *display text*:
  NUL and lone surrogates become U+FFFD, since spreadsheets, ``csv`` readers and
  Timesketch's pandas stop at NUL and cannot encode a surrogate.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPLACEMENT = "\ufffd"
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def display_text(value: Any) -> str | None:
    """A value as one line of storable text: lists joined by ``,``, NUL/surrogates as U+FFFD."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        parts = [display_text(v) for v in value]
        text = ",".join(p for p in parts if p is not None)
    elif isinstance(value, dict):
        text = dumps(value)
    else:
        text = str(value)
    return _BAD_TEXT.sub(REPLACEMENT, text)


def clean_text(text: str) -> str:
    """Text the user typed (notes, case name) made storable the same way."""
    return _BAD_TEXT.sub(REPLACEMENT, text)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
_ES_DATE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8-storable, that ``json.loads`` turns back into exactly ``value``."""
    text = _ENCODER.encode(value)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


def iso_utc(moment: datetime) -> str:
    """``2026-11-20T12:00:00.000Z``: Elasticsearch's own date rendering, always UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso_utc(datetime.now(timezone.utc))


def parse_time(value: Any, *, epoch_unit: str = "ms") -> str | None:
    """A timestamp from a row as ISO-8601 UTC, or None if it is not one.

    Strings: ISO-8601 with ``Z``, an offset, or none (naive means UTC, as ES|QL and
    osquery's ``datetime()`` write). Numbers: epoch in ``epoch_unit`` (Elasticsearch dates
    as longs are milliseconds; osquery's mtime is seconds).
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = value / 1000 if epoch_unit == "ms" else float(value)
        try:
            return iso_utc(datetime.fromtimestamp(seconds, timezone.utc))
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, list):
        times = [t for t in (parse_time(v, epoch_unit=epoch_unit) for v in value) if t]
        return min(times) if times else None
    if not isinstance(value, str):
        return None
    if _ES_DATE.fullmatch(value):  # already in the stored form: the common case, made cheap
        return value
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return iso_utc(datetime.fromisoformat(text))
    except ValueError:
        return None


_USERINFO_NO_SCHEME = re.compile(r"^[^/@\s]+(:[^/@\s]*)?@(?=[^@\s]+$)")


def clean_source(source: str | None) -> str:
    """Where the rows came from, without credentials.

    A URL keeps scheme, host, port and path only: ``https://elastic:pw@es:9200/?api_key=x``
    becomes ``https://es:9200/`` (userinfo, query and fragment can all carry secrets).
    """
    if not source:
        return ""
    text = clean_text(source.strip())
    if "://" in text:
        try:
            parts = urlsplit(text)
            host = parts.hostname or ""
            if ":" in host:
                host = f"[{host}]"
            netloc = host + (f":{parts.port}" if parts.port else "")
            return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        except ValueError:
            return text.split("://", 1)[0] + "://(unparseable URL removed)"
    return _USERINFO_NO_SCHEME.sub("", text)
