"""``huntbench_maintainer_scripts``: every dpkg/rpm maintainer script, with its first lines.

huntbench's own table (named so it is never taken for an osquery one). dpkg keeps each
package's scripts as ``/var/lib/dpkg/info/PKG[:ARCH].KIND`` (deb-maintscripts(5)) with
KIND one of preinst, postinst, prerm, postrm, config, triggers; rpm keeps scriptlets
inside the package header (``%pre``, ``%post``, ``%preun``, ``%postun``, ``%pretrans``,
``%posttrans``, ``%verifyscript``, ``%trigger``). For rpm there is no file: ``path`` names
the database and the package (``/var/lib/rpm/rpmdb.sqlite:NEVRA:%post``, triggers
numbered ``:%trigger:1``), ``size`` is the
script's length and ``mtime`` the package's install time.

``head`` is the script's first lines (``head_lines``, at most 8 KiB), decoded as UTF-8
with replacement; a script holding NUL bytes is shown as ``(binary, N bytes)``.
"""

from __future__ import annotations

import hashlib
import posixpath
from typing import Any, Iterable, Sequence

from collectors.osquery.fsroot import display
from collectors.osquery.tables import rpmdb
from collectors.osquery.tables.packages import DEFAULT_ADMINDIR, nevra, rpm_headers
from collectors.osquery.vtable import Col, Constraints, Table

DPKG_KINDS = ("preinst", "postinst", "prerm", "postrm", "config", "triggers")
HEAD_BYTES = 8192
READ_MAX = 50 * 1024 * 1024


def head_of(data: bytes, lines: int) -> str:
    """The first ``lines`` lines of a script, bounded to HEAD_BYTES."""
    if b"\0" in data[:HEAD_BYTES]:
        return f"(binary, {len(data)} bytes)"
    text = data[:HEAD_BYTES].decode("utf-8", "replace")
    kept = text.splitlines()[:max(lines, 0)]
    return "\n".join(kept)


class MaintainerScriptsTable(Table):
    name = "huntbench_maintainer_scripts"
    description = "dpkg and rpm maintainer scripts with their first lines (huntbench's own)."
    columns = (
        Col("package", "TEXT", index=True),
        Col("kind", "TEXT"),
        Col("path", "TEXT"),
        Col("size", "BIGINT"),
        Col("mtime", "BIGINT"),
        Col("sha256", "TEXT"),
        Col("head", "TEXT"),
        Col("manager", "TEXT"),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        wanted = set(constraints.equals("package"))
        rows = list(self._dpkg(wanted)) + list(self._rpm(wanted))
        return rows

    def _dpkg(self, wanted: set[str]):
        fs = self.fs
        info = posixpath.join(DEFAULT_ADMINDIR, "info")
        try:
            with fs.scandir(info) as entries:
                names = sorted(e.name for e in entries)
        except PermissionError:
            fs.skip()
            return
        except OSError:
            return
        for name in names:
            stem, dot, kind = name.rpartition(".")
            if not dot or kind not in DPKG_KINDS:
                continue
            package = stem
            if wanted and package not in wanted and package.split(":")[0] not in wanted:
                continue
            path = posixpath.join(info, name)
            fs.check_deadline()
            try:
                st = fs.stat(path)
                with fs.open(path) as handle:
                    data = handle.read(READ_MAX + 1)
            except PermissionError:
                fs.skip()
                continue
            except OSError:
                continue
            digest = hashlib.sha256(data).hexdigest() if len(data) <= READ_MAX else None
            yield (display(package), kind, display(path), st.st_size, int(st.st_mtime),
                   digest, head_of(data, self.ctx.head_lines), "dpkg")

    def _rpm(self, wanted: set[str]):
        headers = rpm_headers(self.ctx)
        where = self.ctx.cache.get("rpmdb_path", rpmdb.RPMDB_PATHS[0])
        for tags in headers:
            name = rpmdb.first(tags, rpmdb.TAG_NAME)
            if not name or (wanted and name not in wanted):
                continue
            installed = rpmdb.first(tags, rpmdb.TAG_INSTALLTIME)
            scripts = [(kind, kind, tags.get(tag)) for tag, kind in rpmdb.SCRIPTLET_TAGS.items()]
            triggers = tags.get(rpmdb.TAG_TRIGGERSCRIPTS)
            if isinstance(triggers, list):
                scripts += [("%trigger", f"%trigger:{i}", t) for i, t in enumerate(triggers, 1)]
            full = nevra(tags)
            for kind, label, body in scripts:
                if not isinstance(body, str):
                    continue
                data = body.encode("utf-8")
                yield (name, kind, f"{where}:{full}:{label}", len(data), installed,
                       hashlib.sha256(data).hexdigest(), head_of(data, self.ctx.head_lines), "rpm")
