"""Package installs as Defend sees them: dpkg/apt and rpm/dnf file and process events.

One function per package manager turns "this host installs these packages at this time"
into events, for routine upgrades and planted intrusions alike, so both look the same:

* dpkg unpacks control files into ``/var/lib/dpkg/tmp.ci/`` and renames them into
  ``/var/lib/dpkg/info/<pkg>.<file>``; ``<pkg>.list`` is written as ``<pkg>.list-new`` then
  renamed; the old ``prerm``/``postrm`` and the new ``postinst`` run from ``info/`` as
  ``/bin/sh /var/lib/dpkg/info/<pkg>.<script> <action> <version>`` (a new package's
  ``preinst`` runs from ``tmp.ci/``, which the hunt does not look at); ``postinst configure``
  gets an empty version for a fresh install.
* rpm writes each scriptlet to ``/var/tmp/rpm-tmp.XXXXXX`` and runs
  ``/bin/sh /var/tmp/rpm-tmp.XXXXXX <instances>``; the database lives in ``/var/lib/rpm``
  (``rpmdb.sqlite*`` on EL9, Berkeley DB ``__db.00N`` and ``Packages`` on EL8).
* Scripts fork and exec their commands: a ``fork`` event (the script's copy), the ``exec``
  event (parent = the script), and an ``end`` event.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from sample_data.defend import Proc, file_event, process_end, process_start
from sample_data.fleet import Host

Event = tuple[int, dict, str]  # (timestamp ms, document, label)

BENIGN = "benign"

# Where each command lives (merged /usr, as on current Debian, Ubuntu and EL).
EXE = {
    "adduser": "/usr/sbin/adduser", "base64": "/usr/bin/base64", "bash": "/usr/bin/bash",
    "ca-legacy": "/usr/bin/ca-legacy", "chmod": "/usr/bin/chmod", "chown": "/usr/bin/chown",
    "cp": "/usr/bin/cp", "curl": "/usr/bin/curl", "deb-systemd-helper": "/usr/bin/deb-systemd-helper",
    "deb-systemd-invoke": "/usr/bin/deb-systemd-invoke", "dpkg": "/usr/bin/dpkg",
    "echo": "/usr/bin/echo", "getent": "/usr/bin/getent", "install": "/usr/bin/install",
    "journalctl": "/usr/bin/journalctl", "kernel-install": "/usr/bin/kernel-install",
    "ldconfig": "/usr/sbin/ldconfig", "ln": "/usr/bin/ln", "logger": "/usr/bin/logger",
    "mkdir": "/usr/bin/mkdir", "mv": "/usr/bin/mv", "printf": "/usr/bin/printf",
    "py3clean": "/usr/bin/py3clean", "py3compile": "/usr/bin/py3compile",
    "python3": "/usr/bin/python3.11", "restorecon": "/usr/sbin/restorecon",
    "run-parts": "/usr/bin/run-parts", "semodule": "/usr/sbin/semodule", "setsid": "/usr/bin/setsid",
    "systemctl": "/usr/bin/systemctl", "systemd-sysusers": "/usr/bin/systemd-sysusers",
    "systemd-tmpfiles": "/usr/bin/systemd-tmpfiles", "touch": "/usr/bin/touch",
    "update-ca-certificates": "/usr/sbin/update-ca-certificates",
    "update-ca-trust": "/usr/bin/update-ca-trust", "useradd": "/usr/sbin/useradd",
}


@dataclass(frozen=True)
class Cmd:
    """A command a maintainer script runs; ``writes`` are files it creates."""

    argv: tuple[str, ...]
    exe: str = ""
    writes: tuple[str, ...] = ()
    label: str = BENIGN

    def executable(self, packaging: str) -> str:
        if self.exe:
            return self.exe
        if self.argv[0] == "sh":
            return "/usr/bin/dash" if packaging == "deb" else "/usr/bin/bash"
        return EXE.get(self.argv[0], f"/usr/bin/{self.argv[0]}")


def cmd(*argv: str, exe: str = "", writes: tuple[str, ...] = (), label: str = BENIGN) -> Cmd:
    return Cmd(tuple(argv), exe, writes, label)


@dataclass(frozen=True)
class Package:
    """A .deb or .rpm: control files (deb) and the commands each script runs."""

    name: str
    version: str
    control: tuple[str, ...] = ()
    scripts: dict[str, tuple[Cmd, ...]] = field(default_factory=dict)
    label: str = BENIGN  # label of the package's own file events


class Clock:
    """Advances a host's time by small realistic gaps."""

    def __init__(self, start_ms: int, rng: random.Random) -> None:
        self.ms = start_ms
        self.rng = rng

    def tick(self, low: int = 2, high: int = 180) -> int:
        self.ms += self.rng.randint(low, high)
        return self.ms


def _pid(rng: random.Random) -> int:
    return rng.randint(1200, 4_190_000)


def run_commands(script: Proc, commands: tuple[Cmd, ...], packaging: str, clock: Clock,
                 rng: random.Random, out: list[Event]) -> None:
    """The script forks and execs each command; the command writes its files and ends."""
    for cmd_ in commands:
        if any("{script}" in a for a in cmd_.argv + cmd_.writes):
            here = script.args[1]
            cmd_ = Cmd(tuple(a.replace("{script}", here) for a in cmd_.argv), cmd_.exe,
                       tuple(w.replace("{script}", here) for w in cmd_.writes), cmd_.label)
        pid = _pid(rng)
        start = clock.tick()
        fork = Proc(script.host, pid, script.executable, list(script.args), start,
                    parent=script, name=script.name)
        out.append((start, process_start(start, fork, rng, action="fork"), cmd_.label))
        exec_ms = clock.tick(1, 4)
        child = Proc(script.host, pid, cmd_.executable(packaging), list(cmd_.argv), exec_ms,
                     parent=script, entity_id=fork.entity_id)
        out.append((exec_ms, process_start(exec_ms, child, rng), cmd_.label))
        for path in cmd_.writes:
            ms = clock.tick(1, 40)
            out.append((ms, file_event(ms, "creation", path, child, rng, size=rng.randint(90, 40_000)),
                        cmd_.label))
        end = clock.tick(3, 900)
        out.append((end, process_end(end, child, rng), cmd_.label))


def _script(parent: Proc, executable: str, args: list[str], clock: Clock, rng: random.Random,
            label: str, out: list[Event]) -> Proc:
    ms = clock.tick()
    proc = Proc(parent.host, _pid(rng), executable, args, ms, parent=parent)
    out.append((ms, process_start(ms, proc, rng), label))
    return proc


def _finish(proc: Proc, clock: Clock, rng: random.Random, label: str, out: list[Event]) -> None:
    ms = clock.tick(1, 30)
    out.append((ms, process_end(ms, proc, rng), label))


def deb_transaction(host: Host, start_ms: int, packages: list[tuple[Package, str | None]],
                    frontend: tuple[str, list[str]], rng: random.Random, out: list[Event], *,
                    frontend_label: str = BENIGN) -> int:
    """apt/dpkg installs ``packages`` ((package, previous version or None for fresh));
    ``frontend`` is the (executable, args) of the apt process that drives dpkg."""
    clock = Clock(start_ms, rng)
    info = "/var/lib/dpkg/info/"
    front = Proc(host, _pid(rng), frontend[0], frontend[1], clock.ms,
                 parent=Proc(host, 1, "/usr/lib/systemd/systemd", ["/sbin/init"], 0))
    out.append((clock.ms, process_start(clock.ms, front, rng), frontend_label))
    for pkg, old in packages:
        label = pkg.label
        deb = f"/var/cache/apt/archives/{pkg.name.split(':')[0]}_{pkg.version.replace(':', '%3a')}_amd64.deb"
        dpkg = _script(front, "/usr/bin/dpkg",
                       ["/usr/bin/dpkg", "--status-fd", "43", "--no-triggers", "--unpack",
                        "--auto-deconfigure", deb], clock, rng, label, out)
        if old is not None and "prerm" in pkg.scripts:
            script = _script(dpkg, info + pkg.name + ".prerm",
                             ["/bin/sh", info + pkg.name + ".prerm", "upgrade", pkg.version],
                             clock, rng, label, out)
            run_commands(script, pkg.scripts["prerm"], "deb", clock, rng, out)
            _finish(script, clock, rng, label, out)
        if "preinst" in pkg.scripts:
            script = _script(dpkg, "/var/lib/dpkg/tmp.ci/preinst",
                             ["/bin/sh", "/var/lib/dpkg/tmp.ci/preinst",
                              "upgrade" if old else "install"] + ([old] if old else []),
                             clock, rng, label, out)
            run_commands(script, pkg.scripts["preinst"], "deb", clock, rng, out)
            _finish(script, clock, rng, label, out)
        ms = clock.tick()
        out.append((ms, file_event(ms, "creation", info + pkg.name + ".list-new", dpkg, rng,
                                   size=rng.randint(200, 9000)), label))
        for control in ("md5sums",) + pkg.control:
            ms = clock.tick(1, 20)
            out.append((ms, file_event(ms, "rename", info + pkg.name + "." + control, dpkg, rng,
                                       original_path="/var/lib/dpkg/tmp.ci/" + control,
                                       size=rng.randint(60, 12_000)), label))
        ms = clock.tick(1, 20)
        out.append((ms, file_event(ms, "rename", info + pkg.name + ".list", dpkg, rng,
                                   original_path=info + pkg.name + ".list-new"), label))
        if old is not None and "postrm" in pkg.scripts:
            script = _script(dpkg, info + pkg.name + ".postrm",
                             ["/bin/sh", info + pkg.name + ".postrm", "upgrade", pkg.version],
                             clock, rng, label, out)
            run_commands(script, pkg.scripts["postrm"], "deb", clock, rng, out)
            _finish(script, clock, rng, label, out)
        ms = clock.tick()
        out.append((ms, file_event(ms, "creation", "/var/lib/dpkg/status-new", dpkg, rng), label))
        ms = clock.tick(1, 10)
        out.append((ms, file_event(ms, "rename", "/var/lib/dpkg/status", dpkg, rng,
                                   original_path="/var/lib/dpkg/status-new"), label))
        _finish(dpkg, clock, rng, label, out)
    configure = _script(front, "/usr/bin/dpkg",
                        ["/usr/bin/dpkg", "--status-fd", "43", "--configure", "--pending"],
                        clock, rng, frontend_label, out)
    for pkg, old in packages:
        if "postinst" in pkg.scripts:
            script = _script(configure, info + pkg.name + ".postinst",
                             ["/bin/sh", info + pkg.name + ".postinst", "configure", old or ""],
                             clock, rng, pkg.label, out)
            run_commands(script, pkg.scripts["postinst"], "deb", clock, rng, out)
            _finish(script, clock, rng, pkg.label, out)
    _finish(configure, clock, rng, frontend_label, out)
    _finish(front, clock, rng, frontend_label, out)
    return clock.ms


_TMP_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def rpm_tmp(rng: random.Random) -> str:
    return "/var/tmp/rpm-tmp." + "".join(rng.choice(_TMP_CHARS) for _ in range(6))


def rpm_transaction(host: Host, start_ms: int, packages: list[tuple[Package, str | None]],
                    installer_cmd: tuple[str, list[str]], rng: random.Random, out: list[Event], *,
                    installer_label: str = BENIGN) -> int:
    """dnf or rpm ((executable, args) in ``installer_cmd``) installs ``packages`` in one
    transaction."""
    clock = Clock(start_ms, rng)
    installer = Proc(host, _pid(rng), installer_cmd[0], installer_cmd[1], clock.ms,
                     parent=Proc(host, _pid(rng), "/usr/bin/bash", ["-bash"], 0))
    label = installer_label
    out.append((clock.ms, process_start(clock.ms, installer, rng), label))
    el8 = host.group == "el8"
    db_files = ([("creation", ".rpm.lock"), ("creation", ".dbenv.lock"), ("creation", "__db.001"),
                 ("creation", "__db.002"), ("creation", "__db.003")] if el8 else
                [("creation", ".rpm.lock"), ("creation", "rpmdb.sqlite-shm"),
                 ("creation", "rpmdb.sqlite-wal")])
    for action, name in db_files:
        ms = clock.tick(1, 15)
        out.append((ms, file_event(ms, action, "/var/lib/rpm/" + name, installer, rng), label))
    instances = {"pre": "2", "post": "2", "preun": "1", "postun": "1", "posttrans": "0"}
    for pkg, old in packages:
        for phase in ("pre", "post", "preun", "postun", "posttrans"):
            if phase not in pkg.scripts or (phase in ("preun", "postun") and old is None):
                continue
            tmp = rpm_tmp(rng)
            ms = clock.tick()
            out.append((ms, file_event(ms, "creation", tmp, installer, rng, size=rng.randint(80, 900)),
                        pkg.label))
            count = instances[phase] if old is not None else ("1" if phase in ("pre", "post") else "0")
            script = _script(installer, "/usr/bin/bash", ["/bin/sh", tmp, count], clock, rng,
                             pkg.label, out)
            run_commands(script, pkg.scripts[phase], "rpm", clock, rng, out)
            _finish(script, clock, rng, pkg.label, out)
            ms = clock.tick(1, 10)
            out.append((ms, file_event(ms, "deletion", tmp, installer, rng), pkg.label))
        ms = clock.tick()
        out.append((ms, file_event(ms, "modification", "/var/lib/rpm/" + ("Packages" if el8 else "rpmdb.sqlite"),
                                   installer, rng), pkg.label))
    _finish(installer, clock, rng, label, out)
    return clock.ms


# ------------------------------------------------------------------ routine catalogue
# {s} is the release's version suffix, {k} the update number of this upgrade wave.
DEB_SUFFIX = {"ubuntu22": "ubuntu0.22.04.{k}", "ubuntu24": "ubuntu0.24.04.{k}", "debian12": "+deb12u{k}"}
RPM_SUFFIX = {"el9": ".el9_4.{k}", "el8": ".el8_10.{k}"}

DEB_CATALOG: list[Package] = [
    Package("openssh-server", "1:9.6p1-3{s}", ("conffiles", "config", "postinst", "postrm", "preinst", "prerm", "templates"), {
        "preinst": (), "prerm": (), "postrm": (cmd("deb-systemd-helper", "--quiet", "was-enabled", "ssh.service"),),
        "postinst": (cmd("deb-systemd-helper", "unmask", "ssh.service"),
                     cmd("deb-systemd-helper", "--quiet", "was-enabled", "ssh.service"),
                     cmd("deb-systemd-invoke", "restart", "ssh.service"))}),
    Package("libssl3:amd64", "3.0.13-0{s}", ("postinst", "shlibs", "symbols", "templates", "triggers"), {
        "postinst": (cmd("dpkg", "--compare-versions", "{old}", "lt-nl", "3.0.0-1"),)}),
    Package("libc-bin", "2.39-0{s}", ("conffiles", "postinst", "triggers"), {"postinst": (cmd("ldconfig"),)}),
    Package("tzdata", "2024b-0{s}", ("config", "postinst", "postrm", "templates"), {
        "postrm": (),
        "postinst": (cmd("ln", "-sf", "/usr/share/zoneinfo/Etc/UTC", "/etc/localtime.dpkg-new"),
                     cmd("mv", "-f", "/etc/localtime.dpkg-new", "/etc/localtime"))}),
    Package("ca-certificates", "20240203{s}", ("config", "postinst", "postrm", "templates", "triggers"), {
        "postrm": (), "postinst": (cmd("update-ca-certificates", "--fresh"),)}),
    Package("systemd", "255.4-1{s}", ("conffiles", "postinst", "postrm", "preinst", "prerm", "triggers"), {
        "preinst": (), "prerm": (), "postrm": (),
        "postinst": (cmd("systemctl", "daemon-reexec"), cmd("systemd-sysusers"),
                     cmd("systemd-tmpfiles", "--create", "--prefix", "/var/log/journal"))}),
    Package("linux-image-virtual", "6.8.0-49.49{s}", ("postinst", "postrm", "preinst", "prerm"), {
        "preinst": (), "prerm": (), "postrm": (),
        "postinst": (cmd("run-parts", "--report", "--exit-on-error", "--arg={version}",
                         "/etc/kernel/postinst.d"),)}),
    Package("python3-urllib3", "2.0.7-1{s}", ("postinst", "prerm"), {
        "prerm": (cmd("py3clean", "-p", "python3-urllib3"),),
        "postinst": (cmd("py3compile", "-p", "python3-urllib3"),)}),
    Package("sudo", "1.9.15p5-3{s}", ("conffiles", "postinst", "postrm", "preinst"), {
        "preinst": (), "postrm": (),
        "postinst": (cmd("chown", "root:root", "/etc/sudoers"), cmd("chmod", "0440", "/etc/sudoers"))}),
    Package("nginx-common", "1.24.0-2{s}", ("conffiles", "postinst", "postrm", "preinst", "prerm"), {
        "preinst": (), "prerm": (), "postrm": (),
        "postinst": (cmd("deb-systemd-invoke", "restart", "nginx.service"),)}),
    Package("apt", "2.7.14{s}", ("conffiles", "postinst", "postrm", "preinst", "prerm", "shlibs", "triggers"), {
        "preinst": (), "prerm": (), "postrm": (),
        "postinst": (cmd("deb-systemd-helper", "unmask", "apt-daily.timer"),
                     cmd("deb-systemd-helper", "--quiet", "was-enabled", "apt-daily-upgrade.timer"))}),
    Package("curl", "8.5.0-2{s}", (), {}),
    Package("libcurl4t64:amd64", "8.5.0-2{s}", ("shlibs", "symbols", "triggers"), {}),
]

RPM_CATALOG: list[Package] = [
    Package("openssh-server", "8.7p1-38{s}", scripts={
        "pre": (cmd("getent", "group", "sshd"),),
        "post": (cmd("systemctl", "--no-reload", "preset", "sshd.service", "sshd.socket"),),
        "postun": (cmd("systemctl", "try-restart", "sshd.service"),)}),
    Package("libgcc", "11.4.1-3{s}", scripts={"post": (cmd("ldconfig"),)}),
    Package("ca-certificates", "2024.2.69_v8.0.303-91.4{s}", scripts={
        "post": (cmd("ca-legacy", "install"), cmd("update-ca-trust", "extract"))}),
    Package("kernel-core", "5.14.0-427.42.1{s}", scripts={
        "posttrans": (cmd("kernel-install", "add", "{version}.x86_64", "/lib/modules/{version}.x86_64/vmlinuz"),)}),
    Package("systemd", "252-32{s}", scripts={
        "post": (cmd("systemctl", "daemon-reexec"), cmd("journalctl", "--update-catalog"),
                 cmd("systemd-tmpfiles", "--create")),
        "postun": (cmd("systemctl", "daemon-reload"),)}),
    Package("selinux-policy-targeted", "38.1.35-2{s}", scripts={
        "post": (cmd("semodule", "-nB"), cmd("restorecon", "-R", "/etc/selinux/targeted"))}),
    Package("nginx", "1.20.1-14{s}", scripts={
        "post": (cmd("systemctl", "--no-reload", "preset", "nginx.service"),),
        "postun": (cmd("systemctl", "try-restart", "nginx.service"),)}),
    Package("tzdata", "2024b-2{s}"),
    Package("sudo", "1.9.5p2-10{s}"),
    Package("python3-urllib3", "1.26.5-5{s}"),
]


def versioned(pkg: Package, group: str, k: int) -> tuple[Package, str]:
    """The package at update ``k`` for ``group``, and the version it replaces."""
    suffix = (DEB_SUFFIX if group in DEB_SUFFIX else RPM_SUFFIX)[group]
    new = pkg.version.format(s=suffix.format(k=k))
    old = pkg.version.format(s=suffix.format(k=k - 1))
    kernel_version = new.split(":")[-1].split("{")[0]

    def fill(c: Cmd) -> Cmd:
        argv = tuple(a.replace("{old}", old).replace("{version}", kernel_version) for a in c.argv)
        return Cmd(argv, c.exe, c.writes, c.label)

    scripts = {phase: tuple(fill(c) for c in cmds) for phase, cmds in pkg.scripts.items()}
    return Package(pkg.name, new, pkg.control, scripts, pkg.label), old


def _commands_events(cmds: tuple[Cmd, ...]) -> int:
    return sum(3 + len(c.writes) for c in cmds)  # fork, exec, writes, end


def deb_event_count(packages: list[tuple[Package, str | None]]) -> int:
    """How many events :func:`deb_transaction` writes (plans exact totals without building them)."""
    n = 1 + 1 + 2  # frontend start; configure start; configure end, frontend end
    for pkg, old in packages:
        n += 1 + 1 + (1 + len(pkg.control)) + 1 + 2 + 1  # dpkg, list-new, renames, list, status, end
        for phase in ("prerm", "preinst", "postrm", "postinst"):
            if phase in pkg.scripts and (old is not None or phase in ("preinst", "postinst")):
                n += 2 + _commands_events(pkg.scripts[phase])
    return n


def rpm_event_count(packages: list[tuple[Package, str | None]], el8: bool) -> int:
    """How many events :func:`rpm_transaction` writes."""
    n = 1 + (5 if el8 else 3) + 1  # installer start, rpmdb files, installer end
    for pkg, old in packages:
        n += 1  # rpmdb modification
        for phase in ("pre", "post", "preun", "postun", "posttrans"):
            if phase in pkg.scripts and not (phase in ("preun", "postun") and old is None):
                n += 4 + _commands_events(pkg.scripts[phase])  # tmp file, start, end, delete
    return n
