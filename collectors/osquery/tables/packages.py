"""``deb_packages``, ``deb_package_files`` and ``rpm_packages`` from the package databases.

Columns follow specs/linux/deb_packages.table, deb_package_files.table and
rpm_packages.table. dpkg's database is read as text (``ADMINDIR/status`` and
``ADMINDIR/info/*.list``) rather than through libdpkg, matching what osquery's
osquery/utils/linux/dpkg/dpkgquery.cpp reports: packages whose status is
``not-installed`` are left out, ``size`` is dpkg's ``Installed-Size`` as written (KiB),
``revision`` is the Debian revision (after the last ``-`` of the version), ``status`` is
"want eflag status", rows are sorted by package name as libdpkg's package array is. RPM packages
come from ``rpmdb.sqlite`` (see :mod:`rpmdb`); ``sha1`` is the header's SHA1HEADER.
"""

from __future__ import annotations

import posixpath
from typing import Any, Iterable, Sequence

from collectors.osquery.fsroot import display
from collectors.osquery.tables import rpmdb
from collectors.osquery.vtable import Col, Constraints, QueryContext, Table

DEFAULT_ADMINDIR = "/var/lib/dpkg"


def parse_control(text: str) -> list[dict[str, str]]:
    """Paragraphs of a deb822 file (``status``): field -> value, continuations joined."""
    paragraphs: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                paragraphs.append(current)
            current, last = {}, None
        elif line[0] in " \t" and last:
            current[last] += "\n" + line.strip()
        else:
            key, _, value = line.partition(":")
            last = key.strip()
            current[last] = value.strip()
    if current:
        paragraphs.append(current)
    return paragraphs


def dpkg_status(ctx: QueryContext, admindir: str) -> list[dict[str, str]]:
    key = "dpkg:" + admindir
    if key not in ctx.cache:
        text = ctx.fs.read_text(posixpath.join(admindir, "status")) or ""
        ctx.cache[key] = parse_control(text)
    return ctx.cache[key]


def _admindirs(constraints: Constraints) -> list[str]:
    return constraints.equals("admindir") or [DEFAULT_ADMINDIR]


class DebPackagesTable(Table):
    name = "deb_packages"
    description = "The installed DEB package database."
    columns = (
        Col("name", "TEXT"), Col("version", "TEXT"), Col("source", "TEXT"),
        Col("size", "BIGINT"), Col("arch", "TEXT"), Col("revision", "TEXT"),
        Col("status", "TEXT"), Col("maintainer", "TEXT"), Col("section", "TEXT"),
        Col("priority", "TEXT"), Col("admindir", "TEXT", additional=True),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        for admindir in _admindirs(constraints):
            packages = sorted(dpkg_status(self.ctx, admindir),
                              key=lambda p: (p.get("Package", ""), p.get("Architecture", "")))
            for pkg in packages:
                status = pkg.get("Status", "")
                if not pkg.get("Package") or status.endswith("not-installed"):
                    continue
                version = pkg.get("Version", "")
                revision = version.rpartition("-")[2] if "-" in version else ""
                size = pkg.get("Installed-Size", "")
                yield (
                    pkg["Package"], version, pkg.get("Source", ""),
                    int(size) if size.isdigit() else None, pkg.get("Architecture", ""),
                    revision, status, pkg.get("Maintainer", ""), pkg.get("Section", ""),
                    pkg.get("Priority", ""), admindir,
                )


class DebPackageFilesTable(Table):
    name = "deb_package_files"
    description = "Installed files from DEB packages that are currently installed on the system."
    columns = (
        Col("package", "TEXT", index=True),
        Col("path", "TEXT", index=True),
        Col("admindir", "TEXT", additional=True),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        wanted = set(constraints.equals("package"))
        for admindir in _admindirs(constraints):
            info = posixpath.join(admindir, "info")
            try:
                with self.fs.scandir(info) as entries:
                    lists = sorted(e.name for e in entries if e.name.endswith(".list"))
            except PermissionError:
                self.fs.skip()
                continue
            except OSError:
                continue
            for name in lists:
                package = name[:-5].split(":")[0]
                if wanted and package not in wanted:
                    continue
                text = self.fs.read_text(posixpath.join(info, name)) or ""
                for line in text.splitlines():
                    if line and line != "/.":
                        yield (package, display(line), admindir)


class RpmPackagesTable(Table):
    name = "rpm_packages"
    description = "RPM packages that are currently installed on the host system."
    columns = (
        Col("name", "TEXT", index=True), Col("version", "TEXT", index=True),
        Col("release", "TEXT", index=True), Col("source", "TEXT"), Col("size", "BIGINT"),
        Col("sha1", "TEXT"), Col("arch", "TEXT", index=True), Col("epoch", "INTEGER", index=True),
        Col("install_time", "INTEGER"), Col("vendor", "TEXT"), Col("package_group", "TEXT"),
    )

    def generate(self, constraints: Constraints) -> Iterable[Sequence[Any]]:
        rows = []
        for tags in rpm_headers(self.ctx):
            name = rpmdb.first(tags, rpmdb.TAG_NAME)
            if not name:
                continue
            size = rpmdb.first(tags, rpmdb.TAG_LONGSIZE)
            if size is None:
                size = rpmdb.first(tags, rpmdb.TAG_SIZE)
            rows.append((
                name, rpmdb.first(tags, rpmdb.TAG_VERSION) or "",
                rpmdb.first(tags, rpmdb.TAG_RELEASE) or "",
                rpmdb.first(tags, rpmdb.TAG_SOURCERPM) or "", size,
                rpmdb.first(tags, rpmdb.TAG_SHA1HEADER) or "",
                rpmdb.first(tags, rpmdb.TAG_ARCH) or "",
                rpmdb.first(tags, rpmdb.TAG_EPOCH),
                rpmdb.first(tags, rpmdb.TAG_INSTALLTIME),
                rpmdb.first(tags, rpmdb.TAG_VENDOR) or "",
                rpmdb.first(tags, rpmdb.TAG_GROUP) or "",
            ))
        return rows


def rpm_headers(ctx: QueryContext) -> list[dict[int, Any]]:
    """Installed RPM headers (cached per query); notes a database it cannot read."""
    if "rpm" in ctx.cache:
        return ctx.cache["rpm"]
    path = rpmdb.locate_rpmdb(ctx.fs)
    headers: list[dict[int, Any]] = []
    if path:
        headers = rpmdb.read_headers(ctx.fs, path)
        ctx.cache["rpmdb_path"] = path
    else:
        legacy = rpmdb.legacy_rpmdb(ctx.fs)
        if legacy:
            ctx.notice(f"rpm database {legacy} is Berkeley DB/ndb, not rpmdb.sqlite: RPM packages not read")
    ctx.cache["rpm"] = headers
    return headers


def nevra(tags: dict[int, Any]) -> str:
    """name-[epoch:]version-release.arch, how rpm names an installed package."""
    epoch = rpmdb.first(tags, rpmdb.TAG_EPOCH)
    version = rpmdb.first(tags, rpmdb.TAG_VERSION) or ""
    return (f"{rpmdb.first(tags, rpmdb.TAG_NAME)}-{f'{epoch}:' if epoch else ''}{version}-"
            f"{rpmdb.first(tags, rpmdb.TAG_RELEASE) or ''}.{rpmdb.first(tags, rpmdb.TAG_ARCH) or ''}")
