"""``processes`` from ``/proc`` (Linux), columns per specs/processes.table (osquery 5).

Like osquery's linux/processes.cpp: ``name`` from /proc/PID/status, ``path``/``cwd``/
``root`` are the readlink targets (empty when not permitted), ``cmdline`` is argv joined
by spaces, sizes are bytes, ``user_time``/``system_time`` milliseconds, ``start_time``
Unix seconds, ``on_disk`` 1/0/-1. A ``pid = N`` constraint reads only that process.
Under ``--root`` there are no live processes: the table is empty and the query says so.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

from collectors.osquery.vtable import Col, Constraints, Table

_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return None


def _link(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _boot_time() -> float:
    for line in (_read("/proc/stat") or "").splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0


def process_row(pid: int, boot: float) -> tuple | None:
    base = f"/proc/{pid}"
    stat_text = _read(f"{base}/stat")
    status_text = _read(f"{base}/status")
    if stat_text is None or status_text is None:
        return None
    # comm may hold spaces and parentheses: the fields start after the last ')'.
    fields = stat_text[stat_text.rfind(")") + 2:].split()
    status = {}
    for line in status_text.splitlines():
        key, _, value = line.partition(":")
        status[key] = value.strip()
    uids = (status.get("Uid", "") + " -1 -1 -1").split()
    gids = (status.get("Gid", "") + " -1 -1 -1").split()
    cmdline = (_read(f"{base}/cmdline") or "").replace("\x00", " ").strip()
    path = _link(f"{base}/exe")
    if not path:
        on_disk = -1
    elif path.endswith(" (deleted)"):
        on_disk = 0
    else:
        on_disk = 1 if os.path.exists(path) else 0
    io = {}
    for line in (_read(f"{base}/io") or "").splitlines():
        key, _, value = line.partition(":")
        io[key] = value.strip()
    cgroup = ""
    for line in (_read(f"{base}/cgroup") or "").splitlines():
        if line.startswith("0::"):
            cgroup = line[3:]

    def kb(key: str) -> int:
        value = status.get(key, "0 kB").split()[0]
        return int(value) * 1024 if value.isdigit() else 0

    def field(i: int) -> int:
        try:
            return int(fields[i])
        except (IndexError, ValueError):
            return -1

    return (
        pid, status.get("Name", ""), path, cmdline, fields[0] if fields else "",
        _link(f"{base}/cwd"), _link(f"{base}/root"),
        int(uids[0]), int(gids[0]), int(uids[1]), int(gids[1]), int(uids[2]), int(gids[2]),
        on_disk, 0, kb("VmRSS"), kb("VmSize"),
        field(11) * 1000 // _CLK_TCK, field(12) * 1000 // _CLK_TCK,
        int(io.get("read_bytes", -1)), int(io.get("write_bytes", -1)),
        int(boot + field(19) / _CLK_TCK) if boot else -1,
        field(1), field(2), field(17), field(16), cgroup,
    )


class ProcessesTable(Table):
    name = "processes"
    description = "All running processes on the host system."
    columns = (
        Col("pid", "BIGINT", index=True),
        Col("name", "TEXT"), Col("path", "TEXT"), Col("cmdline", "TEXT"), Col("state", "TEXT"),
        Col("cwd", "TEXT"), Col("root", "TEXT"),
        Col("uid", "BIGINT"), Col("gid", "BIGINT"), Col("euid", "BIGINT"), Col("egid", "BIGINT"),
        Col("suid", "BIGINT"), Col("sgid", "BIGINT"),
        Col("on_disk", "INTEGER"), Col("wired_size", "BIGINT"), Col("resident_size", "BIGINT"),
        Col("total_size", "BIGINT"), Col("user_time", "BIGINT"), Col("system_time", "BIGINT"),
        Col("disk_bytes_read", "BIGINT"), Col("disk_bytes_written", "BIGINT"),
        Col("start_time", "BIGINT"), Col("parent", "BIGINT"), Col("pgroup", "BIGINT"),
        Col("threads", "INTEGER"), Col("nice", "INTEGER"), Col("cgroup_path", "TEXT"),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        if self.fs.root is not None:
            self.ctx.notice("processes: no live processes on an image given with --root; the table is empty")
            return []
        wanted = constraints.equals("pid")
        if wanted:
            pids = sorted({int(p) for p in wanted if p.lstrip("-").isdigit()})
        else:
            try:
                pids = sorted(int(n) for n in os.listdir("/proc") if n.isdigit())
            except OSError:
                return []
        boot = _boot_time()
        rows = []
        for pid in pids:
            row = process_row(pid, boot)
            if row is not None:
                rows.append(row)
        return rows
