"""The sample fleet: about 40 Linux hosts (Debian/Ubuntu and RHEL-like) plus a few Windows
and macOS hosts, each with the ``host.*`` and ``agent.*`` values Elastic Defend reports.

Host and agent ids come from the seed, so a different seed is a different fleet with the
same shape.  ``host.os`` follows what Defend writes on each platform (Linux: ``name``
"Linux", ``platform``/``family`` from os-release ``ID``; macOS: "macOS"/"darwin";
Windows: "Windows"/"windows"), as seen in Elastic's endpoint-package docs and sample events.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

AGENT_VERSION = "8.15.3"


@dataclass(frozen=True)
class OsRelease:
    """One operating system release as Defend reports it in ``host.os``."""

    key: str  # upgrade group: hosts sharing package versions ("ubuntu22", "el9", ...)
    os_type: str  # host.os.type
    name: str
    family: str
    platform: str
    version: str
    full: str
    kernel: str
    variant: str
    packaging: str | None  # "deb", "rpm" or None


RELEASES = {
    "ubuntu22": OsRelease("ubuntu22", "linux", "Linux", "ubuntu", "ubuntu", "22.04.5",
                          "Ubuntu 22.04.5", "5.15.0-125-generic #135-Ubuntu SMP", "Ubuntu", "deb"),
    "ubuntu24": OsRelease("ubuntu24", "linux", "Linux", "ubuntu", "ubuntu", "24.04.1",
                          "Ubuntu 24.04.1", "6.8.0-49-generic #49-Ubuntu SMP", "Ubuntu", "deb"),
    "debian12": OsRelease("debian12", "linux", "Linux", "debian", "debian", "12",
                          "Debian 12", "6.1.0-27-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1",
                          "Debian", "deb"),
    "rhel9": OsRelease("el9", "linux", "Linux", "rhel", "rhel", "9.4",
                       "Red Hat Enterprise Linux 9.4", "5.14.0-427.42.1.el9_4.x86_64 #1 SMP PREEMPT_DYNAMIC",
                       "RHEL", "rpm"),
    "rocky9": OsRelease("el9", "linux", "Linux", "rocky", "rocky", "9.4",
                        "Rocky Linux 9.4", "5.14.0-427.42.1.el9_4.x86_64 #1 SMP PREEMPT_DYNAMIC",
                        "Rocky Linux", "rpm"),
    "alma8": OsRelease("el8", "linux", "Linux", "almalinux", "almalinux", "8.10",
                       "AlmaLinux 8.10", "4.18.0-553.27.1.el8_10.x86_64 #1 SMP",
                       "AlmaLinux", "rpm"),
    "win2022": OsRelease("windows", "windows", "Windows", "windows", "windows", "21H2",
                         "Windows Server 2022 Datacenter 21H2 (10.0.20348.2849)",
                         "21H2 (10.0.20348.2849)", "Windows Server 2022 Datacenter", None),
    "win11": OsRelease("windows", "windows", "Windows", "windows", "windows", "23H2",
                       "Windows 11 Enterprise 23H2 (10.0.22631.4460)", "23H2 (10.0.22631.4460)",
                       "Windows 11 Enterprise", None),
    "macos14": OsRelease("macos", "macos", "macOS", "darwin", "darwin", "14.7.1",
                         "macOS 14.7.1", "23.6.0", "Darwin", None),
}

# (host name prefix, release, count).  Upgrade groups must hold at least 4 hosts so a
# routine upgrade always touches more than 3 agents (the hunt's rarity threshold).
LAYOUT = [
    ("web", "ubuntu22", 6), ("api", "ubuntu22", 4), ("ci-runner", "ubuntu24", 4),
    ("dev-sandbox", "ubuntu24", 2), ("mon", "debian12", 3), ("build-deb", "debian12", 3),
    ("db", "rhel9", 4), ("app", "rhel9", 3), ("k8s-node", "rocky9", 5),
    ("legacy-erp", "alma8", 3), ("mail", "alma8", 3),
    ("win-dc", "win2022", 2), ("win-desk", "win11", 1), ("mac-build", "macos14", 2),
]


@dataclass
class Host:
    """A fleet member; ``doc`` is the shared ``host`` object of its events."""

    name: str
    release: OsRelease
    agent_id: str
    host_id: str
    ip: str
    mac: str
    doc: dict = field(default_factory=dict)
    agent_doc: dict = field(default_factory=dict)
    elastic_doc: dict = field(default_factory=dict)

    @property
    def group(self) -> str:
        return self.release.key

    @property
    def os_type(self) -> str:
        return self.release.os_type


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_fleet(seed: int) -> list[Host]:
    """All hosts, in a fixed order, with ids drawn from ``seed``."""
    rng = random.Random(f"fleet:{seed}")
    hosts: list[Host] = []
    for prefix, release_key, count in LAYOUT:
        release = RELEASES[release_key]
        for number in range(1, count + 1):
            name = f"{prefix}-{number:02d}"
            host = Host(
                name=name,
                release=release,
                agent_id=_uuid(rng),
                host_id=f"{rng.getrandbits(128):032x}",
                ip=f"10.{20 + len(hosts) // 50}.{len(hosts) % 50 + 10}.{rng.randrange(10, 250)}",
                mac="-".join(f"{rng.randrange(256):02x}" for _ in range(6)),
            )
            if release.os_type == "windows":
                host.host_id = _uuid(rng)
            host.doc = {
                "architecture": "arm64" if release.os_type == "macos" else "x86_64",
                "hostname": name,
                "id": host.host_id,
                "ip": [host.ip],
                "mac": [host.mac],
                "name": name,
                "os": {
                    "Ext": {"variant": release.variant},
                    "family": release.family,
                    "full": release.full,
                    "kernel": release.kernel,
                    "name": release.name,
                    "platform": release.platform,
                    "type": release.os_type,
                    "version": release.version,
                },
            }
            host.agent_doc = {"id": host.agent_id, "type": "endpoint", "version": AGENT_VERSION}
            host.elastic_doc = {"agent": {"id": host.agent_id}}
            hosts.append(host)
    return hosts


def by_name(hosts: list[Host]) -> dict[str, Host]:
    return {host.name: host for host in hosts}


def upgrade_groups(hosts: list[Host]) -> dict[str, list[Host]]:
    """Linux hosts by package-version group, in fleet order."""
    groups: dict[str, list[Host]] = {}
    for host in hosts:
        if host.release.packaging:
            groups.setdefault(host.group, []).append(host)
    return groups
