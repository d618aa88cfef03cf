"""The built-in tables on a fixture image (``--root``): the seed query, file-table rules."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import time

import pytest

from collectors.osquery import run_osquery
from collectors.result import QueryError
from tests.osquery_image import DAY, IS_ROOT, OWNER_GID, build_rpmdb, seed_sql


def test_seed_query_on_root_lists_exactly_recent_files_with_owner_names(image):
    root, facts = image
    result = run_osquery(seed_sql(), backend="builtin", root=root)
    assert result.backend == "builtin"
    assert result.column_names == [
        "filename", "path", "file_owner", "group_owner", "file_last_access_time",
        "file_last_modified_time", "file_last_status_change_time", "file_created_time", "size_bytes",
    ]
    assert [c.type for c in result.columns][-1] == "long"
    rows = {r["path"]: r for r in result.rows_as_dicts()}
    assert set(rows) == set(facts["recent"])
    evil = rows["/var/lib/dpkg/info/evil.postinst"]
    assert evil["filename"] == "evil.postinst"
    assert (evil["file_owner"], evil["group_owner"]) == ("evidence-owner", "evidence-group")
    stamp = dt.datetime.fromtimestamp(int(facts["now"] - DAY), dt.timezone.utc)
    assert evil["file_last_modified_time"] == stamp.strftime("%Y-%m-%d %H:%M:%S")
    assert evil["file_created_time"] == "1970-01-01 00:00:00"  # osquery's btime on Linux is 0
    assert evil["size_bytes"] == (root / "var/lib/dpkg/info/evil.postinst").stat().st_size
    assert rows["/var/lib/rpm/rpm-tmp.backdoor"]["file_owner"] == "evidence-owner"
    assert rows["/var/lib/dpkg/info/subdir/"]["filename"] == "."


def test_file_without_path_or_directory_fails_with_osquery_message(image):
    root, _ = image
    with pytest.raises(QueryError) as err:
        run_osquery("SELECT * FROM file", backend="builtin", root=root)
    assert str(err.value) == (
        "constraint failed (Table file was queried without a required column in the WHERE "
        "clause; Please see the table documentation: https://osquery.io/schema/#file)"
    )
    with pytest.raises(QueryError, match="Table hash was queried without a required column"):
        run_osquery("SELECT * FROM hash WHERE md5 = 'x'", backend="builtin", root=root)


def test_missing_directory_gives_no_rows_and_no_error(image):
    root, _ = image
    result = run_osquery("SELECT path FROM file WHERE path LIKE '/nope/%' OR directory = '/nope'",
                         backend="builtin", root=root)
    assert result.values == []
    assert result.column_names == ["path"]


def test_percent_is_one_level_double_percent_recurses_and_dotfiles_are_left_out(image):
    root, _ = image
    one = run_osquery("SELECT path FROM file WHERE path LIKE '/var/lib/dpkg/info/%'", backend="builtin", root=root)
    one_paths = [r[0] for r in one.values]
    assert "/var/lib/dpkg/info/subdir/" in one_paths
    assert "/var/lib/dpkg/info/subdir/deep.postinst" not in one_paths
    assert not any("/." in p for p in one_paths)
    assert one_paths == sorted(one_paths)
    deep = run_osquery("SELECT path FROM file WHERE path LIKE '/var/lib/%%'", backend="builtin", root=root)
    deep_paths = {r[0] for r in deep.values}
    assert "/var/lib/dpkg/info/subdir/deep.postinst" in deep_paths
    assert "/var/lib/dpkg/info/.hidden.postinst" not in deep_paths
    named = run_osquery("SELECT path FROM file WHERE path = '/var/lib/dpkg/info/.hidden.postinst'",
                        backend="builtin", root=root)
    assert named.values == [["/var/lib/dpkg/info/.hidden.postinst"]]


def test_directory_listing_includes_dotfiles_and_links(image):
    root, _ = image
    (root / "var/lib/dpkg/info/evil.postinst").chmod(0o4750)
    result = run_osquery(
        "SELECT filename, symlink, type, mode FROM file WHERE directory = '/var/lib/dpkg/info'",
        backend="builtin", root=root)
    rows = {r[0]: r for r in result.values}
    assert ".hidden.postinst" in rows
    assert rows["link.postinst"][1:3] == [1, "regular"]
    assert rows["dangling.prerm"][1:3] == [1, "unknown"]
    assert rows["subdir"][2] == "directory"
    assert rows["evil.postinst"][3] == "4750"


def test_absolute_symlink_inside_image_resolves_inside_image(tmp_path):
    root = tmp_path / "img"
    (root / "etc").mkdir(parents=True)
    (root / "etc/hostname").write_text("x" * 77)
    (root / "etc/alias").symlink_to("/etc/hostname")
    result = run_osquery("SELECT size, symlink FROM file WHERE path = '/etc/alias'", backend="builtin", root=root)
    assert result.values == [[77, 1]]
    hashed = run_osquery("SELECT sha256 FROM hash WHERE path = '/etc/alias'", backend="builtin", root=root)
    assert hashed.values == [[hashlib.sha256(b"x" * 77).hexdigest()]]


def test_or_of_overlapping_constraints_lists_a_file_once(image):
    root, _ = image
    result = run_osquery(
        "SELECT path FROM file WHERE path = '/var/lib/rpm/rpm-tmp.backdoor' OR path LIKE '/var/lib/rpm/%'",
        backend="builtin", root=root)
    assert [r[0] for r in result.values].count("/var/lib/rpm/rpm-tmp.backdoor") == 1


def test_unreadable_paths_are_skipped_and_counted(image, monkeypatch):
    root, _ = image
    blocked = str(root / "var/lib/dpkg/info/evil.postinst")
    real_lstat = os.lstat

    def lstat(path, *args, **kwargs):
        if os.fspath(path) == blocked:
            raise PermissionError(13, "Permission denied", path)
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", lstat)
    result = run_osquery(seed_sql(), backend="builtin", root=root)
    paths = {r[1] for r in result.values}
    assert "/var/lib/dpkg/info/evil.postinst" not in paths
    assert "/var/lib/dpkg/info/evil.list" in paths
    assert any("1 unreadable path skipped" in n for n in result.notices)


@pytest.mark.skipif(IS_ROOT, reason="root reads files whatever their mode")
def test_unreadable_directory_for_a_normal_user(tmp_path):
    locked = tmp_path / "img/var/lib/dpkg/info"
    locked.mkdir(parents=True)
    (locked / "a.postinst").write_text("x")
    locked.chmod(0)
    try:
        result = run_osquery("SELECT path FROM file WHERE path LIKE '/var/lib/dpkg/info/%'",
                             backend="builtin", root=tmp_path / "img")
    finally:
        locked.chmod(0o755)
    assert result.values == []
    assert "not root" in result.notices[0] and "1 unreadable path skipped" in result.notices[0]


def test_users_groups_and_processes_under_root(image):
    root, _ = image
    users = run_osquery("SELECT uid, username, directory FROM users WHERE uid = 1000", backend="builtin", root=root)
    assert users.values == [[1000, "alice", "/home/alice"]]
    groups = run_osquery(f"SELECT groupname FROM groups WHERE gid = {OWNER_GID}", backend="builtin", root=root)
    assert groups.values == [["evidence-group"]]
    procs = run_osquery("SELECT pid FROM processes", backend="builtin", root=root)
    assert procs.values == []
    assert any("no live processes" in n for n in procs.notices)


def test_processes_on_this_host_include_this_process():
    result = run_osquery(f"SELECT pid, parent, cmdline FROM processes WHERE pid = {os.getpid()}", backend="builtin")
    assert result.values[0][0] == os.getpid()
    assert result.values[0][1] == os.getppid()
    assert "pytest" in result.values[0][2] or "python" in result.values[0][2]


def test_deb_packages_and_files_from_status(image):
    root, _ = image
    result = run_osquery("SELECT name, version, revision, size, arch, source, status FROM deb_packages",
                         backend="builtin", root=root)
    assert result.values == [
        ["evil", "1.0-3", "3", 12, "all", "", "install ok installed"],
        ["old", "0.9", "", 3, "amd64", "oldsrc", "install ok installed"],
    ]
    files = run_osquery("SELECT path FROM deb_package_files WHERE package = 'evil'", backend="builtin", root=root)
    assert files.values == [["/usr"], ["/usr/bin/evil"]]


def test_rpm_packages_from_rpmdb_sqlite(image):
    root, _ = image
    build_rpmdb(root)
    result = run_osquery(
        "SELECT name, version, release, arch, epoch, install_time, size, vendor, source, sha1 "
        "FROM rpm_packages ORDER BY name", backend="builtin", root=root)
    assert result.values == [
        ["bash", "5.1.8", "6.el9", "x86_64", None, 1_690_000_000, 7000, "", "", ""],
        ["openssh-server", "8.7p1", "10.el9", "x86_64", 0, 1_700_000_000, 1234567, "Rocky",
         "openssh-8.7p1-10.el9.src.rpm", "a" * 40],
    ]
    assert not list(root.glob("var/lib/rpm/rpmdb.sqlite-*")), "evidence database must not be written"


def test_hash_of_directory_skips_non_regular_files(image):
    root, _ = image
    result = run_osquery("SELECT path, sha256 FROM hash WHERE directory = '/var/lib/rpm'", backend="builtin", root=root)
    data = (root / "var/lib/rpm/rpm-tmp.backdoor").read_bytes()
    assert result.values == [["/var/lib/rpm/rpm-tmp.backdoor", hashlib.sha256(data).hexdigest()]]


def test_writes_and_attach_are_refused(image, tmp_path):
    root, _ = image
    with pytest.raises(QueryError, match="may only read"):
        run_osquery(f"ATTACH DATABASE '{tmp_path / 'x.db'}' AS x", backend="builtin", root=root)
    assert not (tmp_path / "x.db").exists()
    with pytest.raises(QueryError, match="one statement"):
        run_osquery("SELECT 1; SELECT 2", backend="builtin")


def test_root_must_be_a_directory(tmp_path):
    from collectors.result import SourceError

    with pytest.raises(SourceError, match="not a directory"):
        run_osquery("SELECT 1", backend="builtin", root=tmp_path / "missing")


def test_not_root_is_said_with_the_skip_count(image, monkeypatch):
    root, _ = image
    monkeypatch.setattr(os, "geteuid", lambda: 4321)
    result = run_osquery("SELECT path FROM file WHERE path = '/etc/hostname'", backend="builtin", root=root)
    assert result.notices[0].startswith("running as uid 4321 (")
    assert result.notices[0].endswith("not root: results may be partial; 0 unreadable paths skipped")


def test_runaway_query_stops_at_the_timeout():
    from collectors.result import SourceError

    started = time.monotonic()
    with pytest.raises(SourceError, match="did not finish within its timeout"):
        run_osquery("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
                    backend="builtin", timeout=0.5)
    assert time.monotonic() - started < 5


def test_names_that_are_not_utf8_are_stated_and_shown_escaped(tmp_path):
    info = tmp_path / "img/var/lib/dpkg/info"
    info.mkdir(parents=True)
    raw = os.fsencode(info) + b"/bad\xff.postinst"
    with open(raw, "wb") as handle:
        handle.write(b"#!/bin/sh\n")
    result = run_osquery("SELECT path, filename, size FROM file WHERE path LIKE '/var/lib/dpkg/info/%'",
                         backend="builtin", root=tmp_path / "img")
    assert result.values == [["/var/lib/dpkg/info/bad\\xff.postinst", "bad\\xff.postinst", 10]]


def test_braces_underscore_and_directory_like(tmp_path):
    root = tmp_path / "img"
    for rel in ("etc/cron.d/a_job", "etc/cron.d/aXjob", "etc/cron.daily/b", "etc/passwd", "etc/group"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    # glob(3) expands the braces, then SQLite's LIKE re-check (braces are literal there)
    # drops every path: osquery answers nothing, and so does huntbench.
    braces = run_osquery("SELECT path FROM file WHERE path LIKE '/etc/{passwd,group}'", backend="builtin", root=root)
    assert braces.values == []
    from collectors.osquery.fsroot import FsRoot
    from collectors.osquery.patterns import resolve_file_pattern
    # both alternatives, in the sorted order of the std::set the file table reads them into
    assert list(resolve_file_pattern(FsRoot(root), "/etc/{passwd,group}")) == ["/etc/group", "/etc/passwd"]
    # '_' is a literal in osquery's glob; SQLite's LIKE re-check would also accept aXjob
    underscore = run_osquery("SELECT path FROM file WHERE path LIKE '/etc/cron.d/a_job'", backend="builtin", root=root)
    assert underscore.values == [["/etc/cron.d/a_job"]]
    listed = run_osquery("SELECT directory, filename FROM file WHERE directory LIKE '/etc/cron.%'",
                         backend="builtin", root=root)
    assert sorted(map(tuple, listed.values)) == [
        ("/etc/cron.d/", "aXjob"), ("/etc/cron.d/", "a_job"), ("/etc/cron.daily/", "b")]


def test_numeric_comparisons_give_sqlites_answer(image):
    root, facts = image
    cutoff = int(facts["now"]) - 7 * DAY
    base = "SELECT count(*) FROM file WHERE directory = '/var/lib/dpkg/info' AND "
    recent = run_osquery(base + f"mtime > {cutoff}", backend="builtin", root=root).values[0][0]
    listing = run_osquery("SELECT mtime FROM file WHERE directory = '/var/lib/dpkg/info'",
                          backend="builtin", root=root).values
    assert recent == sum(1 for (m,) in listing if m > cutoff)
    # integer < text in SQLite, so this is false for every row; text values are not pre-filtered
    assert run_osquery(base + "mtime > 'abc'", backend="builtin", root=root).values == [[0]]
    assert run_osquery(base + "mtime < 'abc'", backend="builtin", root=root).values == [[len(listing)]]


def test_corrupt_rpm_headers_are_skipped_and_legacy_databases_named(image, tmp_path):
    root, _ = image
    db = build_rpmdb(root)
    con = sqlite3.connect(db)
    con.execute("INSERT INTO Packages(blob) VALUES (?)", (b"\x00\x00\xff\xff garbage",))
    con.commit()
    con.close()
    names = run_osquery("SELECT name FROM rpm_packages", backend="builtin", root=root).values
    assert sorted(n for (n,) in names) == ["bash", "openssh-server"]
    legacy = tmp_path / "legacy"
    (legacy / "var/lib/rpm").mkdir(parents=True)
    (legacy / "var/lib/rpm/Packages").write_bytes(b"\x00" * 64)
    result = run_osquery("SELECT name FROM rpm_packages", backend="builtin", root=legacy)
    assert result.values == []
    assert any("Berkeley DB/ndb" in n for n in result.notices)
