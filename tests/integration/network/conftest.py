"""Namespaces that stand in for hosts and guests, each uniquely named and always removed."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import IPWrapper


def sh(*argv: str, check: bool = True, timeout: float = 20, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check,
                          timeout=timeout, **kw)


def in_ns(ns: str, *argv: str, check: bool = True, timeout: float = 20):
    return sh("ip", "netns", "exec", ns, *argv, check=check, timeout=timeout)


def new_id() -> str:
    return str(uuid.uuid4())


class Namespaces:
    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:6]
        self.made: list[str] = []

    def __call__(self, role: str) -> str:
        name = f"st-{role}-{self.tag}"
        IPWrapper().netns.add(name)
        self.made.append(name)
        return name

    def cleanup(self) -> None:
        ip = IPWrapper()
        for name in reversed(self.made):
            ip.netns.ensure_absent(name)


@pytest.fixture
def netns():
    """netns("hosta") -> a fresh namespace name with lo up; all removed afterwards."""
    spaces = Namespaces()
    yield spaces
    spaces.cleanup()
    assert not [n for n in IPWrapper().netns.list() if n.endswith(spaces.tag)]


def vlan_supported() -> bool:
    """Can this kernel make VLAN (8021q) devices? Tried in a throwaway namespace."""
    probe = f"st-vlanprobe-{uuid.uuid4().hex[:6]}"
    sh("ip", "netns", "add", probe)
    try:
        sh("ip", "-n", probe, "link", "add", "vp0", "type", "veth", "peer", "name", "vp1")
        made = sh("ip", "-n", probe, "link", "add", "link", "vp0", "name", "vp0.5",
                  "type", "vlan", "id", "5", check=False)
        return made.returncode == 0
    finally:
        sh("ip", "netns", "delete", probe)


def two_hosts(netns) -> tuple[str, str]:
    """Two 'hosts' joined by a veth underlay und0 (192.0.2.1 <-> 192.0.2.2)."""
    a, b = netns("hosta"), netns("hostb")
    da, db = IPWrapper(a).add_veth("und0", "und0", peer_namespace=b)
    for dev, cidr in ((da, "192.0.2.1/24"), (db, "192.0.2.2/24")):
        dev.addr.add(cidr)
        dev.link.set_up()
    return a, b


def network_direct(args: dict):
    """What stratus.cloud.network does, without Ansible's seconds per run (for the
    second host of a test: the module itself is run on the first)."""
    from ansible_collections.stratus.cloud.plugins.module_utils.net.bridge import (
        LinuxBridgeNetwork,
        segment_from_params,
    )

    driver = LinuxBridgeNetwork(IPWrapper(args.get("namespace")))
    if args.get("state") == "absent":
        return driver.ensure_absent(args["network_id"])
    return driver.ensure_present(segment_from_params(args))


def port_direct(args: dict):
    """stratus.cloud.port's driver, run in-process (see network_direct)."""
    from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import Nft
    from ansible_collections.stratus.cloud.plugins.module_utils.net.port import (
        PortDriver,
        PortRequest,
    )

    driver = PortDriver(IPWrapper(args.get("namespace")), Nft(namespace=args.get("namespace")))
    if args.get("state") == "absent":
        return driver.ensure_absent(args["port_id"], args["network_id"])
    return driver.ensure_present(PortRequest.from_params(args))
