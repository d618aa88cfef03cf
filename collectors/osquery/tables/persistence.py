"""``crontab``, ``authorized_keys``, ``suid_bin``, ``systemd_units``: common persistence spots.

Columns follow specs/posix/crontab.table, authorized_keys.table, suid_bin.table and
specs/linux/systemd_units.table. Where osquery asks a running service (systemd over
D-Bus) huntbench reads what is on disk, which also works on an image: ``systemd_units``
lists unit files under the standard unit directories, with ``fragment_path`` and
``source_path`` set, ``unit_file_state`` ``enabled`` when a ``*.wants``/``*.requires``
link names the unit (``masked`` for a link to /dev/null), and the run-time columns
(``active_state``...) empty because nothing is running on an image.
"""

from __future__ import annotations

import posixpath
import stat as stat_mod
from typing import Any, Iterable, Sequence

from collectors.osquery.fsroot import display
from collectors.osquery.tables.accounts import name_maps, read_passwd
from collectors.osquery.tables.file import join_dir
from collectors.osquery.vtable import Col, Constraints, Table

SYSTEM_CRONTABS = ("/etc/crontab",)
CRON_DIRS = ("/etc/cron.d", "/var/spool/cron/crontabs", "/var/spool/cron")
SUID_DIRS = ("/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin",
             "/tmp", "/var/tmp")
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
             "/usr/lib/systemd/system", "/lib/systemd/system")
UNIT_SUFFIXES = (".service", ".socket", ".timer", ".target", ".path", ".mount",
                 ".automount", ".swap", ".slice", ".scope", ".device")


def _list(fs, directory: str) -> list[str]:
    try:
        with fs.scandir(directory) as entries:
            return sorted(e.name for e in entries)
    except PermissionError:
        fs.skip()
        return []
    except OSError:
        return []


class CrontabTable(Table):
    """Line-parsed cron tables; system files (/etc/crontab, /etc/cron.d) carry a user field."""

    name = "crontab"
    description = "Line parsed values from system and user cron/tab."
    columns = (
        Col("event", "TEXT"), Col("minute", "TEXT"), Col("hour", "TEXT"),
        Col("day_of_month", "TEXT"), Col("month", "TEXT"), Col("day_of_week", "TEXT"),
        Col("command", "TEXT"), Col("path", "TEXT"),
    )

    def _files(self) -> list[tuple[str, bool]]:
        fs = self.fs
        files = [(p, True) for p in SYSTEM_CRONTABS if fs.exists(p)]
        for directory in CRON_DIRS:
            system = directory == "/etc/cron.d"
            for name in _list(fs, directory):
                path = posixpath.join(directory, name)
                if name.startswith(".") or not fs.is_dir(directory) or fs.is_dir(path):
                    continue
                files.append((path, system))
        return files

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        for path, _system in self._files():
            for line in (self.fs.read_text(path) or "").splitlines():
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith("@"):
                    event, _, rest = line.partition(" ")
                    yield (event, "", "", "", "", "", rest.strip(), display(path))
                    continue
                parts = line.split(None, 5)
                if len(parts) < 6 or "=" in parts[0]:
                    continue
                # osquery keeps the user field of system crontabs inside ``command``.
                yield ("", parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], display(path))


class AuthorizedKeysTable(Table):
    """Keys in ~/.ssh/authorized_keys and authorized_keys2 of every user in /etc/passwd."""

    name = "authorized_keys"
    description = "A line-delimited authorized_keys table."
    columns = (
        Col("uid", "BIGINT", additional=True), Col("algorithm", "TEXT"), Col("key", "TEXT"),
        Col("options", "TEXT"), Col("comment", "TEXT"), Col("key_file", "TEXT"),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        wanted = {int(v) for v in constraints.equals("uid") if v.lstrip("-").isdigit()}
        seen = set()
        for user in read_passwd(self.ctx):
            uid, home = user[0], user[6]
            if (wanted and uid not in wanted) or not home:
                continue
            for name in ("authorized_keys", "authorized_keys2"):
                path = posixpath.join(home, ".ssh", name)
                if path in seen:
                    continue
                seen.add(path)
                for line in (self.fs.read_text(path) or "").splitlines():
                    parsed = _parse_key(line)
                    if parsed:
                        yield (uid,) + parsed + (display(path),)


_KEY_TYPES = ("ssh-", "ecdsa-", "sk-ssh-", "sk-ecdsa-")


def _parse_key(line: str) -> tuple[str, str, str, str] | None:
    """(algorithm, key, options, comment) of one authorized_keys line."""
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    tokens = line.split()
    for i, token in enumerate(tokens):
        if token.startswith(_KEY_TYPES) and i + 1 < len(tokens):
            options = " ".join(tokens[:i])
            return token, tokens[i + 1], options, " ".join(tokens[i + 2:])
    return None


class SuidBinTable(Table):
    """setuid/setgid files in the usual binary folders (osquery's kSuidBinPaths idea)."""

    name = "suid_bin"
    description = "suid binaries in common locations."
    columns = (
        Col("path", "TEXT"), Col("username", "TEXT"), Col("groupname", "TEXT"),
        Col("permissions", "TEXT"),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        fs = self.fs
        users, groups = name_maps(self.ctx)
        for directory in SUID_DIRS:
            for name in _list(fs, directory):
                path = join_dir(directory, name)
                try:
                    st = fs.lstat(path)
                except PermissionError:
                    fs.skip()
                    continue
                except OSError:
                    continue
                if not stat_mod.S_ISREG(st.st_mode) or not st.st_mode & (stat_mod.S_ISUID | stat_mod.S_ISGID):
                    continue
                perms = ("S" if st.st_mode & stat_mod.S_ISUID else "") + ("G" if st.st_mode & stat_mod.S_ISGID else "")
                yield (display(path), users.get(st.st_uid, str(st.st_uid)),
                       groups.get(st.st_gid, str(st.st_gid)), perms)


class SystemdUnitsTable(Table):
    name = "systemd_units"
    description = "systemd unit files found on disk."
    columns = (
        Col("id", "TEXT"), Col("description", "TEXT"), Col("load_state", "TEXT"),
        Col("active_state", "TEXT"), Col("sub_state", "TEXT"), Col("unit_file_state", "TEXT"),
        Col("following", "TEXT"), Col("object_path", "TEXT"), Col("job_id", "BIGINT"),
        Col("job_type", "TEXT"), Col("job_path", "TEXT"), Col("fragment_path", "TEXT"),
        Col("user", "TEXT"), Col("source_path", "TEXT"),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        fs = self.fs
        units: dict[str, str] = {}
        enabled: dict[str, str] = {}
        for directory in UNIT_DIRS:
            for name in _list(fs, directory):
                path = posixpath.join(directory, name)
                if name.endswith((".wants", ".requires")):
                    for linked in _list(fs, path):
                        enabled.setdefault(linked, "enabled")
                    continue
                if not name.endswith(UNIT_SUFFIXES) or name in units:
                    continue
                try:
                    target = fs.lstat(path)
                    if stat_mod.S_ISLNK(target.st_mode) and fs.resolve(path).endswith("/dev/null"):
                        enabled[name] = "masked"
                        continue
                except OSError:
                    continue
                units[name] = path
        for name, path in sorted(units.items()):
            text = self.fs.read_text(path) or ""
            description, user = "", ""
            for line in text.splitlines():
                key, _, value = line.partition("=")
                key = key.strip()
                if key == "Description" and not description:
                    description = value.strip()
                elif key == "User" and not user:
                    user = value.strip()
            state = enabled.get(name, "disabled" if "[Install]" in text else "static")
            yield (display(name), description, "loaded", "", "", state, "", "", None, "", "",
                   display(path), user, display(path))
