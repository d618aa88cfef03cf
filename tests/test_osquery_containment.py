"""Under --root nothing is read from outside the image: links and ``..`` are resolved inside
it on every path and every filesystem table; loops are skipped with a note; a file walk
streams, stops at LIMIT and at its deadline; one clock (--now) for SQLite and ``time``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from collectors.osquery import maintainer_scripts, run_osquery
from collectors.result import SourceError

HOST_PASSWD = Path("/etc/passwd")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def hostile(tmp_path):
    """An image whose links all point out of it: relative up, absolute, and a loop."""
    root = tmp_path / "img"
    (root / "d").mkdir(parents=True)
    (root / "d/up").symlink_to("../../../../../../../..")          # relative escape
    (root / "abs").symlink_to("/etc")                               # absolute: /etc *of the image*
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("imageuser:x:0:0::/root:/bin/sh\n")
    (root / "etc/group").write_text("imagegroup:x:0:\n")
    (root / "loop").symlink_to("loop2")
    (root / "loop2").symlink_to("loop")
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (info / "escape.postinst").symlink_to("../../../../../../../../etc/shadow")
    (info / "ok.postinst").write_text("#!/bin/sh\necho image\n")
    (root / "var/lib/dpkg/status").write_text("Package: ok\nStatus: install ok installed\nVersion: 1\n")
    (root / "cyc").mkdir()
    (root / "cyc/again").symlink_to("..")
    return root


def test_relative_directory_link_does_not_reach_host_files(hostile):
    # The tester's reproduction: /d/up -> ../../.. then /d/up/etc/passwd.
    inside = run_osquery("SELECT path, size, inode FROM file WHERE path = '/d/up/etc/passwd'",
                         backend="builtin", root=hostile)
    image_passwd = (hostile / "etc/passwd").stat()
    assert [r[2] for r in inside.values] == [image_passwd.st_ino]
    assert HOST_PASSWD.stat().st_ino != image_passwd.st_ino
    hashed = run_osquery("SELECT sha256 FROM hash WHERE path = '/d/up/etc/passwd'", backend="builtin", root=hostile)
    import hashlib
    assert hashed.values == [[hashlib.sha256((hostile / "etc/passwd").read_bytes()).hexdigest()]]


def test_absolute_links_and_dotdot_resolve_inside_the_image(hostile):
    via_abs = run_osquery("SELECT inode FROM file WHERE path = '/abs/passwd'", backend="builtin", root=hostile)
    dotdot = run_osquery("SELECT inode FROM file WHERE path = '/../../../etc/passwd'", backend="builtin", root=hostile)
    expected = [[(hostile / "etc/passwd").stat().st_ino]]
    assert via_abs.values == expected
    assert dotdot.values == expected
    listed = run_osquery("SELECT filename FROM file WHERE directory = '/d/up/etc'", backend="builtin", root=hostile)
    assert sorted(r[0] for r in listed.values) == ["group", "passwd"]
    pattern = run_osquery("SELECT path FROM file WHERE path LIKE '/d/up/etc/%'", backend="builtin", root=hostile)
    assert sorted(r[0] for r in pattern.values) == ["/d/up/etc/group", "/d/up/etc/passwd"]


def test_users_and_scripts_read_through_links_stay_in_the_image(hostile):
    (hostile / "etc/passwd").unlink()
    (hostile / "etc/passwd").symlink_to("../../../../../../../../etc/passwd")  # the image's own: missing
    users = run_osquery("SELECT username FROM users", backend="builtin", root=hostile)
    assert users.values == []
    scripts = maintainer_scripts(root=hostile)
    heads = {row[2]: row[6] for row in scripts.values}
    assert heads == {"/var/lib/dpkg/info/ok.postinst": "#!/bin/sh\necho image"}


def test_link_loop_is_skipped_with_a_note(hostile):
    result = run_osquery("SELECT path, type FROM file WHERE path = '/loop/x' OR path LIKE '/cyc/%%'",
                         backend="builtin", root=hostile)
    paths = sorted(r[0] for r in result.values)
    assert paths == ["/cyc/again/"]
    assert any("symbolic link loop" in n and "/loop" in n for n in result.notices)
    assert any("/cyc/again" in n for n in result.notices)


def test_limit_stops_the_walk_before_the_rest_of_the_tree(tmp_path):
    root = tmp_path / "big"
    for i in range(40):
        sub = root / f"d{i:02d}"
        sub.mkdir(parents=True)
        for j in range(50):
            (sub / f"f{j:02d}").write_text("x")
    (root / "zz").mkdir()
    (root / "zz/back").symlink_to("..")  # a loop, met only by a walk that gets that far
    first = run_osquery("SELECT path FROM file WHERE path LIKE '/%%' LIMIT 3", backend="builtin", root=root)
    assert [r[0] for r in first.values] == ["/d00/", "/d00/f00", "/d00/f01"]
    assert not any("loop" in n for n in first.notices)
    counted = run_osquery("SELECT count(*) FROM file WHERE path LIKE '/%%'", backend="builtin", root=root)
    assert counted.values == [[40 + 40 * 50 + 2]]
    assert any("/zz/back" in n for n in counted.notices)


def test_walk_past_its_deadline_stops_with_one_line(tmp_path):
    folder = tmp_path / "wide/d"
    folder.mkdir(parents=True)
    for i in range(3000):
        (folder / f"f{i:04d}").touch()
    with pytest.raises(SourceError, match="did not finish within its timeout"):
        run_osquery("SELECT count(*) FROM file WHERE path LIKE '/d/%'", backend="builtin", root=tmp_path / "wide",
                    timeout=0.0001)


def test_now_is_sqlite_clock_and_time_table(tmp_path):
    when = datetime(2026, 11, 16, 9, 0, tzinfo=timezone.utc)
    result = run_osquery("SELECT strftime('%s','now'), datetime('now'), (SELECT unix_time FROM time), "
                         "(SELECT iso_8601 FROM time)", backend="builtin", now=when)
    assert result.values == [[str(int(when.timestamp())), "2026-11-16 09:00:00", int(when.timestamp()),
                              "2026-11-16T09:00:00Z"]]


def test_scan_cli_now_finds_files_of_an_old_image(image):
    root, facts = image
    # The fixture's files are days old relative to now; a --now 30 days later finds none of them,
    # --now at the build time finds exactly the recent ones.
    built = datetime.fromtimestamp(facts["now"], timezone.utc)
    later = _cli("scan", "--root", str(root), "--now", (built.replace(year=built.year + 1)).isoformat(), "--format", "json")
    at_build = _cli("scan", "--root", str(root), "--now", built.isoformat(), "--format", "json")
    assert later.returncode == 0, later.stderr
    assert json.loads(later.stdout)["values"] == []
    paths = sorted(r[1] for r in json.loads(at_build.stdout)["values"])
    assert paths == sorted(facts["recent"])


def test_now_refused_for_osqueryi_backend():
    done = _cli("osquery", "SELECT 1", "--backend", "osqueryi", "--now", "2026-11-16T09:00:00Z")
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        "error: --now works only with the builtin backend, not osqueryi (osquery reads the real clock)")


def test_host_scan_keeps_host_semantics(tmp_path):
    # Without --root nothing changes: the host's own /etc/passwd is stat'ed.
    result = run_osquery("SELECT inode FROM file WHERE path = '/etc/passwd'", backend="builtin")
    assert result.values == [[os.stat("/etc/passwd").st_ino]]
