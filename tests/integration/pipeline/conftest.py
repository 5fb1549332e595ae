"""Hosts for pipeline tests: registry rows whose Ansible runs on this machine but
inside another host's namespaces (a network namespace for a network host; the mount
namespace of a second libvirtd for a compute host), through an interpreter wrapper."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from stratus.db.models.hosts import Host
from tests.unit.jobs.conftest import (  # noqa: F401 - shared fixtures
    db,
    make_worker,
    postgres,
    pytest_generate_tests,
)


def interpreter(path: Path, prefix: list[str]) -> str:
    """An interpreter that runs Ansible's modules under ``prefix`` (ip netns exec …)."""
    path.write_text("#!/bin/sh\nexec " + " ".join(prefix) + ' /usr/bin/python3 "$@"\n')
    path.chmod(0o755)
    return str(path)


class NetHosts:
    """Two "hosts" as network namespaces joined by a veth underlay (10.99.x.1/.2)."""

    def __init__(self, tmp: Path) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns = {"netA": f"st-ha-{tag}", "netB": f"st-hb-{tag}"}
        self.ip = {"netA": "10.99.7.1", "netB": "10.99.7.2"}
        self.tmp = tmp
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "add", ns], check=True)
        a, b = self.ns["netA"], self.ns["netB"]
        subprocess.run(["ip", "link", "add", f"ul{tag}a", "netns", a, "type", "veth", "peer",
                        "name", f"ul{tag}b", "netns", b], check=True)
        for host, dev in (("netA", f"ul{tag}a"), ("netB", f"ul{tag}b")):
            self.sh(host, "ip", "addr", "add", f"{self.ip[host]}/24", "dev", dev)
            self.sh(host, "ip", "link", "set", dev, "up")
            self.sh(host, "ip", "link", "set", "lo", "up")

    def sh(self, host: str, *argv: str) -> str:
        return subprocess.run(["ip", "netns", "exec", self.ns[host], *argv], check=True,
                              capture_output=True, text=True).stdout

    def links(self, host: str) -> set[str]:
        return {line.split()[0].split("@")[0] for line in self.sh(host, "ip", "-br", "link").splitlines()}

    def register(self, s) -> None:
        for host, ns in self.ns.items():
            s.add(Host(name=host, groups=["network", "compute"], capacity={}, vars={
                "ansible_connection": "local",
                "ansible_python_interpreter": interpreter(self.tmp / f"py-{host}",
                                                          ["ip", "netns", "exec", ns]),
                "stratus_tunnel_ip": self.ip[host],
            }))

    def cleanup(self) -> None:
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], check=False)


@pytest.fixture
def net_hosts(tmp_path):
    hosts = NetHosts(tmp_path)
    yield hosts
    hosts.cleanup()
