"""Everyday endpoint noise around the story: logins, cron, shells, services, temp files.

None of it touches ``/var/lib/dpkg/info/`` or ``/var/lib/rpm/``, nor runs under a dpkg/rpm
script, but some of it sits right next to them (``/var/lib/dpkg/status``,
``/var/lib/rpm-state/``, ``/var/cache/dnf``, apt's lists) so a filter that is too loose shows.
Events are spread evenly over the capture window with jitter, one per time slot, which keeps
the stream sorted without holding it in memory.

Half of all events are noise, so they are made fast: each (host, kind of activity) is built
once as a real document, checked to be invisible to the hunt, encoded, and then stamped per
event by replacing placeholders (time, ids, pid, random names) in its JSON text.
"""

from __future__ import annotations

import base64
import json
import random
import re
from typing import Iterator

from sample_data.answer_key import candidate
from sample_data.defend import TOP_KEYS, WINDOWS_SYSTEM, Proc, event_id, file_event, iso, process_start
from sample_data.fleet import Host

USERS = [{"id": "1000", "name": "deploy"}, {"id": "1001", "name": "alice"}, {"id": "1002", "name": "bob"}]

LINUX_COMMANDS = [
    ("/usr/bin/ls", ["ls", "-la", "/var/log"]),
    ("/usr/bin/cat", ["cat", "/etc/os-release"]),
    ("/usr/bin/git", ["git", "pull", "--ff-only"]),
    ("/usr/bin/docker", ["docker", "ps", "--format", "{{.Names}}"]),
    ("/usr/bin/python3.11", ["python3", "manage.py", "migrate", "--noinput"]),
    ("/usr/bin/grep", ["grep", "-r", "ERROR", "/var/log/app"]),
    ("/usr/bin/journalctl", ["journalctl", "-u", "nginx", "--since", "-1h"]),
    ("/usr/bin/ssh", ["ssh", "-o", "BatchMode=yes", "backup@10.20.0.5", "true"]),
    ("/usr/bin/apt-get", ["apt-get", "update", "-qq"]),
    ("/usr/bin/dnf", ["dnf", "-q", "check-update"]),
    ("/usr/bin/rpm", ["rpm", "-qa", "--last"]),
    ("/usr/bin/dpkg", ["dpkg", "-l"]),
    ("/usr/bin/vim", ["vim", "/etc/hosts"]),
    ("/usr/bin/sudo", ["sudo", "systemctl", "status", "sshd"]),
]

CRON_JOBS = [
    ("/usr/bin/dash", ["/bin/sh", "-c", "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.hourly; }"]),
    ("/usr/bin/bash", ["/bin/bash", "/usr/local/bin/backup.sh", "--incremental"]),
    ("/usr/bin/logrotate", ["/usr/sbin/logrotate", "/etc/logrotate.conf"]),
    ("/usr/bin/dash", ["/bin/sh", "-c", "command -v debian-sa1 > /dev/null && debian-sa1 1 1"]),
]

LINUX_FILES = [
    ("modification", "/var/log/syslog", "/usr/sbin/rsyslogd"),
    ("modification", "/var/log/auth.log", "/usr/sbin/rsyslogd"),
    ("creation", "/tmp/tmp{r}", "/usr/bin/python3.11"),
    ("deletion", "/tmp/tmp{r}", "/usr/bin/python3.11"),
    ("modification", "/home/deploy/.bash_history", "/usr/bin/bash"),
    ("creation", "/var/lib/apt/lists/partial/archive.ubuntu.com_ubuntu_dists_noble-updates_InRelease", "/usr/lib/apt/methods/http"),
    ("rename", "/var/lib/apt/lists/archive.ubuntu.com_ubuntu_dists_noble-updates_InRelease", "/usr/lib/apt/methods/http"),
    ("creation", "/var/cache/dnf/appstream-{r}.solv", "/usr/bin/dnf"),
    ("creation", "/var/lib/dpkg/lock-frontend", "/usr/bin/apt-get"),
    ("creation", "/var/lib/rpm-state/dnf-{r}.lock", "/usr/bin/dnf"),
    ("rename", "/var/lib/dpkg/status-old", "/usr/bin/dpkg"),
    ("creation", "/var/lib/dpkg/info", "/usr/bin/dpkg"),
    ("creation", "/var/lib/docker/overlay2/{r}/diff/app.log", "/usr/bin/dockerd"),
    ("modification", "/etc/passwd", "/usr/sbin/useradd"),
]

WINDOWS = [
    ("C:\\Windows\\System32\\svchost.exe", ["C:\\Windows\\system32\\svchost.exe", "-k", "netsvcs", "-p"]),
    ("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     ["powershell.exe", "-NoProfile", "-Command", "Get-Service"]),
    ("C:\\Windows\\System32\\taskhostw.exe", ["taskhostw.exe"]),
]
WINDOWS_FILES = ["C:\\Windows\\Temp\\{r}.tmp", "C:\\Windows\\Prefetch\\SVCHOST.EXE-{r}.pf",
                 "C:\\ProgramData\\Microsoft\\Windows Defender\\Scans\\History\\{r}.bin"]
MAC = [
    ("/usr/libexec/xpcproxy", ["xpcproxy", "com.apple.mdworker.shared"]),
    ("/usr/bin/git", ["git", "fetch", "--all"]),
    ("/opt/homebrew/bin/brew", ["brew", "update"]),
]
MAC_FILES = ["/Users/builder/Library/Caches/com.apple.Safari/{r}", "/private/var/folders/xy/{r}/T/tmp.log"]


class Prebuilt:
    """A finished NDJSON line and the template document it was stamped from (whose fields the
    hunt looks at are the same as the line's)."""

    __slots__ = ("line", "doc")

    def __init__(self, line: str, doc: dict) -> None:
        self.line = line
        self.doc = doc


_TS, _ID, _SEQ, _PID, _EID, _R, _SIZE = ("@@TS@@", "@@ID@@", "@@SEQ@@", "@@PID@@", "@@EID@@", "@@R@@",
                                        "@@SIZE@@")
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class Template:
    """One kind of noise on one host, as JSON text with placeholders."""

    def __init__(self, doc: dict, per_event_process: bool, start_offset: int) -> None:
        if candidate(doc):
            raise AssertionError(f"background template would reach the hunt: {doc}")
        doc["@timestamp"] = _TS
        doc["event"] = {**doc["event"], "created": _TS, "id": _ID, "sequence": _SEQ}
        if per_event_process:
            doc["process"] = {**doc["process"], "entity_id": _EID, "pid": _PID}
        if "file" in doc and "size" in doc["file"]:
            doc["file"] = {**doc["file"], "size": _SIZE}
        self.doc = doc
        line = _encode({key: doc[key] for key in TOP_KEYS if key in doc})
        # Literal chunks and placeholder slots: each event is one join.
        pieces = _SLOT.split(line)
        self.parts: list[str] = []
        self.slots: list[tuple[int, str]] = []
        for i in range(0, len(pieces), 3):
            self.parts.append(pieces[i])
            if i + 1 < len(pieces):
                self.slots.append((len(self.parts), pieces[i + 1] or pieces[i + 2]))
                self.parts.append("")
        self.agent = doc["agent"]["id"]
        self.offset = start_offset

    def stamp(self, ms: int, pid: int, rng: random.Random) -> Prebuilt:
        start = ms + self.offset
        raw = f"{self.agent}-{pid}-{start // 1000}.{start % 1000:03d}"
        values = {"TS": iso(ms), "ID": event_id(rng), "SEQ": str(rng.getrandbits(24)), "PID": str(pid),
                  "EID": base64.b64encode(raw.encode()).decode(), "R": f"{rng.getrandbits(40):010x}",
                  "SIZE": str(100 + pid % 90_000)}
        parts = self.parts[:]
        for index, name in self.slots:
            parts[index] = values[name]
        return Prebuilt("".join(parts), self.doc)


_SLOT = re.compile(r'"@@(SEQ|PID|SIZE)@@"|@@(TS|ID|EID|R)@@')


def background(hosts: list[Host], start_ms: int, end_ms: int, count: int, seed: int) -> Iterator[tuple[int, Prebuilt]]:
    """``count`` noise events in time order between ``start_ms`` and ``end_ms``."""
    rng = random.Random(f"background:{seed}")
    span = end_ms - start_ms
    parents: dict[tuple, Proc] = {}  # long-lived parents (cron, launchd, login shells) per host
    templates: dict[tuple, Template] = {}
    for k in range(count):
        ms = start_ms + (k * span + rng.randrange(span)) // count
        bits = rng.getrandbits(64)
        host_index, bits = bits % len(hosts), bits // len(hosts)
        roll, bits = bits % 100, bits // 100
        pick, bits = bits % 840, bits // 840  # 840 is a multiple of every template list length
        pid = 300 + bits % 4_000_000
        host = hosts[host_index]
        kind = _kind(host, roll)
        key = (host_index, kind, pick % _SIZES[kind])
        template = templates.get(key)
        if template is None:
            template = templates[key] = _template(host, kind, key[2], parents)
        yield ms, template.stamp(ms, pid, rng)


def _parent(parents: dict[tuple, Proc], key: tuple, make) -> Proc:
    proc = parents.get(key)
    if proc is None:
        proc = parents[key] = make()
    return proc


def _kind(host: Host, roll: int) -> str:
    if host.os_type == "windows":
        return "win-process" if roll < 50 else "win-file"
    if host.os_type == "macos":
        return "mac-process" if roll < 50 else "mac-file"
    return "shell" if roll < 30 else "cron" if roll < 50 else "file"


MAC_USER = {"id": "501", "name": "builder"}


def _template(host: Host, kind: str, pick: int, parents: dict[tuple, Proc]) -> Template:
    """Build one real document for ``kind`` on ``host`` (time 0, pid 1) and template it."""
    rng = random.Random(0)
    boot = -86_400_000
    if kind.startswith("win"):
        services = _parent(parents, (host.name, "services"), lambda: Proc(
            host, 712, "C:\\Windows\\System32\\services.exe", ["C:\\Windows\\system32\\services.exe"],
            boot, user=WINDOWS_SYSTEM))
        if kind == "win-process":
            exe, args = WINDOWS[pick]
            return Template(process_start(0, Proc(host, 1, exe, list(args), 0, user=WINDOWS_SYSTEM,
                                                  working_directory="C:\\Windows\\system32\\", parent=services), rng),
                            True, 0)
        path = WINDOWS_FILES[pick].format(r=_R)
        return Template(file_event(0, "creation", path, services, rng, size=1), False, 0)
    if kind.startswith("mac"):
        launchd = _parent(parents, (host.name, "launchd"),
                          lambda: Proc(host, 1, "/sbin/launchd", ["/sbin/launchd"], 0, user=MAC_USER))
        if kind == "mac-process":
            exe, args = MAC[pick]
            return Template(process_start(0, Proc(host, 1, exe, list(args), 0, user=MAC_USER, parent=launchd), rng),
                            True, 0)
        return Template(file_event(0, "creation", MAC_FILES[pick].format(r=_R), launchd, rng, size=1), False, 0)
    if kind == "shell":
        user = USERS[pick % len(USERS)]
        shell = _parent(parents, (host.name, "shell", user["name"]), lambda: Proc(
            host, 2000 + 7 * len(parents), "/usr/bin/bash", ["-bash"], boot, user=user,
            working_directory=f"/home/{user['name']}"))
        exe, args = LINUX_COMMANDS[pick]
        return Template(process_start(0, Proc(host, 1, exe, list(args), 0, user=user, parent=shell,
                                              working_directory=shell.working_directory), rng), True, 0)
    if kind == "cron":
        cron = _parent(parents, (host.name, "cron"),
                       lambda: Proc(host, 300 + len(parents), "/usr/sbin/cron", ["/usr/sbin/cron", "-f", "-P"], boot))
        exe, args = CRON_JOBS[pick]
        return Template(process_start(0, Proc(host, 1, exe, list(args), 0, parent=cron), rng), True, 0)
    action, template, exe = LINUX_FILES[pick]
    writer = Proc(host, 1, exe, [exe], -5)
    path = template.format(r=_R)
    original = None
    if action == "rename":
        original = "/var/lib/dpkg/status" if path.endswith("status-old") else path.replace("/lists/", "/lists/partial/")
    return Template(file_event(0, action, path, writer, rng, original_path=original), True, -5)


_SIZES = {"win-process": len(WINDOWS), "win-file": len(WINDOWS_FILES), "mac-process": len(MAC),
          "mac-file": len(MAC_FILES), "shell": len(LINUX_COMMANDS), "cron": len(CRON_JOBS),
          "file": len(LINUX_FILES)}
