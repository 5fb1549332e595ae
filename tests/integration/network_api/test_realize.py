"""The network service realized on a host through the controller: a network with a DHCP
subnet gets dnsmasq in ``qdhcp-<id>`` on the network host (a lease a DHCP client really
gets), a port bound there (admin ``binding:host_id``) is plugged as a tap with its lease
in dnsmasq, and deleting everything leaves no bridge, VXLAN device, namespace, nft rule
or dnsmasq behind.

The host is this machine inside a network namespace registered as compute + network
(its modules run there through an interpreter wrapper), so its bridges and VXLAN
devices never meet other tests' on the shared machine. Measured: the time from the
converge to dnsmasq serving, and from the port's create to ACTIVE (printed)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

import stratus.db.models  # noqa: F401 - registers every table
from stratus.db.models.jobs import FINAL, Job
from stratus.db.session import Database
from tests.integration.network.l3_fixtures import Lab
from tests.integration.pipeline.conftest import controller_factory, interpreter, sync_hosts  # noqa: F401

pytestmark = [pytest.mark.network, pytest.mark.api]

HOST = "node1"
STATE = Path("/var/lib/stratus/dhcp")


def sh(*argv: str, check: bool = True) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 or not check, (argv, proc.stderr)
    return proc.stdout


class Node:
    """This machine's network stack in a namespace, registered as ``node1``; its
    finalizer removes whatever a failed test left (namespaces, dnsmasq, state)."""

    def __init__(self, tmp: Path) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns, self.guest, self.tmp = f"st-rl-{tag}", f"st-rg-{tag}", tmp
        self.networks: list[str] = []
        sh("ip", "netns", "add", self.ns)
        self.sh("ip", "link", "set", "lo", "up")

    def sh(self, *argv: str, check: bool = True) -> str:
        return sh("ip", "netns", "exec", self.ns, *argv, check=check)

    def vars(self) -> dict[str, dict]:
        return {HOST: {"ansible_connection": "local",
                       "stratus_physical_interface_mappings": {"physnet1": "ext0"},
                       # nsenter, not ip netns exec: no mount namespace of its own, so the
                       # qdhcp- namespaces a module mounts stay there for the next module
                       "ansible_python_interpreter": interpreter(self.tmp / "py",
                                                                 ["nsenter", f"--net=/run/netns/{self.ns}"]),
                       "stratus_tunnel_ip": "127.0.0.1"}}

    def links(self) -> dict[str, dict]:
        return {ln["ifname"]: ln for ln in json.loads(self.sh("ip", "-j", "-d", "link", "show"))}

    def nft(self) -> str:
        return self.sh("nft", "list", "ruleset")

    def dnsmasq(self, net_id: str) -> int | None:
        """The pid of the network's dnsmasq when it runs."""
        try:
            pid = int((STATE / net_id / "pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if Path(f"/proc/{pid}").exists() else None

    def lease(self, bridge: str, mac: str) -> dict:
        """A DHCP client with ``mac`` on ``bridge`` (a guest namespace): what it got."""
        sh("ip", "netns", "add", self.guest)
        self.sh("ip", "link", "add", "guest0", "type", "veth", "peer", "name", "eth0", "netns", self.guest)
        self.sh("ip", "link", "set", "guest0", "master", bridge, "up")
        sh("ip", "netns", "exec", self.guest, "ip", "link", "set", "eth0", "address", mac, "up")
        try:
            return Lab(self.tmp).udhcpc(self.guest)
        finally:
            sh("ip", "netns", "del", self.guest, check=False)
            self.sh("ip", "link", "del", "guest0", check=False)

    def cleanup(self) -> None:
        for net_id in self.networks:
            pid = self.dnsmasq(net_id)
            if pid:
                os.kill(pid, 15)
            sh("ip", "netns", "del", f"qdhcp-{net_id}", check=False)
            sh("rm", "-rf", str(STATE / net_id), check=False)
        sh("ip", "netns", "del", self.guest, check=False)
        sh("ip", "netns", "del", self.ns, check=False)


@pytest.fixture
def node(tmp_path):
    n = Node(tmp_path)
    yield n
    n.cleanup()


def until(what, predicate, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not {what} after {timeout}s")


def unfinished(db: Database) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Job).where(Job.status.not_in(FINAL)))


def test_dhcp_and_a_bound_port_are_realized_and_removed(controller_factory, node, tmp_path):  # noqa: F811
    ctl = controller_factory("sqlite")
    sync_hosts(ctl, tmp_path, node.vars(), ["compute", "network"])
    db = Database(ctl.database_url)
    admin = ctl.conn()

    # a VXLAN network with a DHCP subnet: dnsmasq on the network host
    net = admin.network.create_network(name="realize")
    net_id = net.id
    node.networks.append(net_id)
    assert net.provider_network_type == "vxlan" and net.status == "ACTIVE"
    started = time.monotonic()
    subnet = admin.network.create_subnet(network_id=net_id, ip_version=4, cidr="10.77.0.0/24",
                                         dns_nameservers=["10.77.0.53"])
    subnet_id = subnet.id
    assert subnet.allocation_pools == [{"start": "10.77.0.2", "end": "10.77.0.254"}]
    until("dnsmasq running", lambda: node.dnsmasq(net_id))
    dhcp_s = time.monotonic() - started
    bridge, vxlan, qdhcp = "brq" + net_id[:11], f"vxlan-{net.provider_segmentation_id}", f"qdhcp-{net_id}"
    (dport,) = admin.network.ports(network_id=net_id, device_owner="network:dhcp")
    assert dport.binding_host_id == HOST and dport.fixed_ips == [{"subnet_id": subnet_id, "ip_address": "10.77.0.2"}]
    links = node.links()
    assert links[bridge]["linkinfo"]["info_kind"] == "bridge"
    assert links[vxlan]["master"] == bridge and links[vxlan]["linkinfo"]["info_data"]["local"] == "127.0.0.1"
    assert qdhcp in sh("ip", "netns", "list")
    assert "10.77.0.2/24" in sh("ip", "netns", "exec", qdhcp, "ip", "-o", "addr")  # the DHCP port

    # a port bound to the host: its tap on the bridge, its lease in dnsmasq
    started = time.monotonic()
    port = admin.network.create_port(network_id=net_id, binding_host_id=HOST, name="vm-nic")
    ip = port.fixed_ips[0]["ip_address"]
    until("the port ACTIVE", lambda: admin.network.get_port(port.id).status == "ACTIVE")
    port_s = time.monotonic() - started
    tap = "tap" + port.id[:11]
    assert node.links()[tap]["master"] == bridge
    assert port.mac_address in (STATE / net_id / "host").read_text()
    assert tap in node.nft()  # its port security rules
    got = node.lease(bridge, port.mac_address)  # a client with the port's MAC gets its address
    assert got["ip"] == ip and got["router"] == "10.77.0.1" and got["dns"] == "10.77.0.53"
    assert got["mtu"] == "1450"

    # the port deleted: unplugged, its lease gone, dnsmasq stays for the network
    admin.network.delete_port(port.id)
    until("the tap gone", lambda: tap not in node.links())
    until("the lease gone", lambda: port.mac_address not in (STATE / net_id / "host").read_text())
    assert tap not in node.nft() and node.dnsmasq(net_id)

    # the network deleted with its subnet: DHCP, its port and namespace, the segment gone
    # from the hosts its resource kept (its records are gone before the job is planned)
    admin.network.delete_network(net_id)
    until("dnsmasq stopped", lambda: not node.dnsmasq(net_id))
    until("the segment gone", lambda: bridge not in node.links())
    assert list(admin.network.ports(network_id=net_id)) == []  # the DHCP port too
    until("every job done", lambda: not unfinished(db))
    assert vxlan not in node.links() and qdhcp not in sh("ip", "netns", "list")
    assert not (STATE / net_id).exists()
    assert "tap" not in node.nft() and not [n for n in node.links() if n.startswith(("brq", "tap", "vxlan"))]
    print(f"\nrealize: DHCP served {dhcp_s:.1f}s after the subnet; port ACTIVE {port_s:.1f}s after create")
    db.dispose()


def test_a_flat_network_takes_the_hosts_mapped_interface_and_leaves_it(controller_factory, node, tmp_path):  # noqa: F811
    ctl = controller_factory("sqlite")
    sync_hosts(ctl, tmp_path, node.vars(), ["compute"])
    node.sh("ip", "link", "add", "ext0", "type", "veth", "peer", "name", "ext0p")  # no dummy module here
    admin = ctl.conn()
    net = admin.network.create_network(name="flat", provider_network_type="flat",
                                       provider_physical_network="physnet1")
    node.networks.append(net.id)
    bridge = "brq" + net.id[:11]
    port = admin.network.create_port(network_id=net.id, binding_host_id=HOST)
    until("the port ACTIVE", lambda: admin.network.get_port(port.id).status == "ACTIVE")
    links = node.links()
    assert links["ext0"]["master"] == bridge and links["tap" + port.id[:11]]["master"] == bridge
    assert not [n for n in links if n.startswith("vxlan")]
    admin.network.delete_port(port.id)
    until("the segment gone", lambda: bridge not in node.links())
    assert "master" not in node.links()["ext0"]  # the host's interface stays, out of the bridge
    admin.network.delete_network(net.id)
