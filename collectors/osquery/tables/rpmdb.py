"""Reading installed RPM headers from ``rpmdb.sqlite`` without librpm.

rpm >= 4.16 keeps its database as SQLite: table ``Packages(hnum, blob)``, one header
blob per installed package. A blob is rpm's on-disk header without the 8-byte magic
(rpm's lib/header.c, ``headerImport``): big-endian ``il`` (index entries) and ``dl``
(data bytes), ``il`` 16-byte entries ``(tag, type, offset, count)``, then the data.
Only what the tables need is decoded: strings, string arrays, integers.

The database is opened read-only and ``immutable`` so an evidence image is never written
(no ``-shm``/``-wal`` files). Older Berkeley DB (``Packages``) and ``ndb`` databases are
not read; the query says so.
"""

from __future__ import annotations

import sqlite3
import struct
import urllib.parse
from typing import Any

from collectors.osquery.fsroot import FsRoot

RPMDB_PATHS = ("/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite")
LEGACY_PATHS = ("/var/lib/rpm/Packages", "/var/lib/rpm/Packages.db",
                "/usr/lib/sysimage/rpm/Packages", "/usr/lib/sysimage/rpm/Packages.db")

TAG_SHA1HEADER = 269
TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH = 1000, 1001, 1002, 1003
TAG_INSTALLTIME, TAG_SIZE, TAG_VENDOR, TAG_GROUP = 1008, 1009, 1011, 1016
TAG_ARCH, TAG_SOURCERPM, TAG_LONGSIZE = 1022, 1044, 5009
SCRIPTLET_TAGS = {
    1151: "%pretrans", 1023: "%pre", 1024: "%post", 1025: "%preun", 1026: "%postun",
    1152: "%posttrans", 1079: "%verifyscript",
}
TAG_TRIGGERSCRIPTS = 1065

_CHAR, _INT8, _INT16, _INT32, _INT64, _STRING, _BIN, _STRING_ARRAY, _I18N = range(1, 10)
_INT_FORMATS = {_CHAR: "B", _INT8: "B", _INT16: "h", _INT32: "i", _INT64: "q"}


class HeaderError(ValueError):
    """A blob that is not an rpm header."""


def parse_header(blob: bytes) -> dict[int, Any]:
    """Tag -> value (str, list[str], list[int] or bytes) of one header blob."""
    if len(blob) < 8:
        raise HeaderError("header shorter than 8 bytes")
    il, dl = struct.unpack_from(">ii", blob, 0)
    start = 8 + 16 * il
    if il < 0 or dl < 0 or il > 0xFFFF or start + dl > len(blob):
        raise HeaderError("header index does not fit the blob")
    data = blob[start:start + dl]
    tags: dict[int, Any] = {}
    for i in range(il):
        tag, kind, offset, count = struct.unpack_from(">iiii", blob, 8 + 16 * i)
        if offset < 0 or offset > dl:
            continue
        if kind in (_STRING, _I18N):
            end = data.find(b"\0", offset)
            tags[tag] = data[offset:end if end >= 0 else dl].decode("utf-8", "replace")
        elif kind == _STRING_ARRAY:
            values, pos = [], offset
            for _ in range(count):
                end = data.find(b"\0", pos)
                if end < 0:
                    break
                values.append(data[pos:end].decode("utf-8", "replace"))
                pos = end + 1
            tags[tag] = values
        elif kind in _INT_FORMATS:
            fmt = ">" + _INT_FORMATS[kind] * count
            if offset + struct.calcsize(fmt) <= dl:
                tags[tag] = list(struct.unpack_from(fmt, data, offset))
        elif kind == _BIN:
            tags[tag] = bytes(data[offset:offset + count])
    return tags


def first(tags: dict[int, Any], tag: int) -> Any:
    value = tags.get(tag)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def locate_rpmdb(fs: FsRoot) -> str | None:
    """The image path of rpmdb.sqlite, or None (with a notice for legacy formats)."""
    for path in RPMDB_PATHS:
        if fs.exists(path):
            return path
    return None


def legacy_rpmdb(fs: FsRoot) -> str | None:
    for path in LEGACY_PATHS:
        if fs.exists(path):
            return path
    return None


def read_headers(fs: FsRoot, path: str) -> list[dict[int, Any]]:
    """Every parseable header in the database (unparseable blobs are skipped)."""
    host = fs.resolve(path) if fs.root else path
    uri = "file:" + urllib.parse.quote(host) + "?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
    except sqlite3.Error:
        return []
    try:
        blobs = [row[0] for row in con.execute("SELECT blob FROM Packages ORDER BY hnum")]
    except sqlite3.DatabaseError as exc:
        if "unable to open" in str(exc) or "authorization" in str(exc):
            fs.skip()
        return []
    finally:
        con.close()
    headers = []
    for blob in blobs:
        try:
            headers.append(parse_header(bytes(blob)))
        except (HeaderError, struct.error):
            continue
    return headers
