"""``users`` and ``groups`` from the (image's) ``/etc/passwd`` and ``/etc/group``.

Columns follow specs/users.table and specs/groups.table (Linux). osquery reads these
through getpwent/getgrent, so on a host with LDAP/SSSD it also lists directory users;
huntbench reads the files themselves, which is what an evidence image has.
``uid_signed``/``gid_signed`` are the 32-bit signed readings of the ids, as osquery
computes them.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from collectors.osquery.vtable import Col, Constraints, QueryContext, Table


def _signed32(value: int) -> int:
    return value - (1 << 32) if value >= (1 << 31) else value


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def read_passwd(ctx: QueryContext) -> list[tuple]:
    """Rows of /etc/passwd (cached for the query: the file table joins it per row)."""
    cached = ctx.cache.get("passwd")
    if cached is not None:
        return cached
    rows = []
    for line in (ctx.fs.read_text("/etc/passwd") or "").splitlines():
        if not line or line.startswith(("#", "+", "-")):
            continue
        fields = line.split(":")
        if len(fields) < 7:
            continue
        uid, gid = _int(fields[2]), _int(fields[3])
        if uid is None or gid is None:
            continue
        rows.append((uid, gid, _signed32(uid), _signed32(gid), fields[0], fields[4],
                     fields[5], fields[6], ""))
    ctx.cache["passwd"] = rows
    return rows


def read_group(ctx: QueryContext) -> list[tuple]:
    cached = ctx.cache.get("group")
    if cached is not None:
        return cached
    rows = []
    for line in (ctx.fs.read_text("/etc/group") or "").splitlines():
        if not line or line.startswith(("#", "+", "-")):
            continue
        fields = line.split(":")
        if len(fields) < 3:
            continue
        gid = _int(fields[2])
        if gid is None:
            continue
        rows.append((gid, _signed32(gid), fields[0]))
    ctx.cache["group"] = rows
    return rows


def name_maps(ctx: QueryContext) -> tuple[dict[int, str], dict[int, str]]:
    """uid -> user name and gid -> group name, first entry wins (like getpwuid)."""
    users: dict[int, str] = {}
    for row in read_passwd(ctx):
        users.setdefault(row[0], row[4])
    groups: dict[int, str] = {}
    for row in read_group(ctx):
        groups.setdefault(row[0], row[2])
    return users, groups


def _by_id(ctx: QueryContext, key: str, rows: list[tuple]) -> dict[int | None, list[tuple]]:
    """rows grouped by their id (column 0), built once per query: the file table's
    LEFT JOIN asks for one uid per file row."""
    index = ctx.cache.get(key)
    if index is None:
        index = {}
        for row in rows:
            index.setdefault(row[0], []).append(row)
        ctx.cache[key] = index
    return index


def _filter_ints(index: dict[int | None, list[tuple]], wanted: list[str]) -> list[tuple]:
    out: list[tuple] = []
    for value in dict.fromkeys(_int(v) for v in wanted):
        out.extend(index.get(value, ()))
    return out


class UsersTable(Table):
    name = "users"
    description = "Local user accounts."
    columns = (
        Col("uid", "BIGINT", index=True),
        Col("gid", "BIGINT"),
        Col("uid_signed", "BIGINT"),
        Col("gid_signed", "BIGINT"),
        Col("username", "TEXT", additional=True),
        Col("description", "TEXT"),
        Col("directory", "TEXT"),
        Col("shell", "TEXT"),
        Col("uuid", "TEXT"),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        rows = read_passwd(self.ctx)
        if constraints.equals("uid"):
            rows = _filter_ints(_by_id(self.ctx, "passwd_by_uid", rows), constraints.equals("uid"))
        if constraints.equals("username"):
            names = set(constraints.equals("username"))
            rows = [r for r in rows if r[4] in names]
        return rows


class GroupsTable(Table):
    name = "groups"
    description = "Local system groups."
    columns = (
        Col("gid", "BIGINT", index=True),
        Col("gid_signed", "BIGINT"),
        Col("groupname", "TEXT"),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        rows = read_group(self.ctx)
        if constraints.equals("gid"):
            rows = _filter_ints(_by_id(self.ctx, "group_by_gid", rows), constraints.equals("gid"))
        return rows
