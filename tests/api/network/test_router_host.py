"""A router and a floating IP realised on this host through the Network API.

This host is the cloud's network host (``ansible_connection: local``). The "external"
world is a namespace behind a veth whose host end is the ``external`` physical
network's interface (the flat external network's uplink); the "guest" is a namespace
plugged into the tenant network's bridge with the MAC and address of its API port.
The external namespace has no route to the tenant subnet, so a reply only comes back
through the router's NAT. The networks are made and deleted through the API too.
"""

from __future__ import annotations

import random
import time

import pytest

from tests.integration.network.l3_fixtures import (
    Lab,
    count_sources,
    in_ns,
    links,
    namespaces,
    nft_counter,
    ping,
    sh,
)
from tests.integration.pipeline.conftest import sync_hosts

pytestmark = [pytest.mark.api, pytest.mark.network]

HOST = "net1"


def settle(ctl, timeout: float = 240) -> list[dict]:
    """Wait until no job is queued or running; every job succeeded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = ctl.request("GET", "/stratus/v1/jobs", params={"limit": 1000}).json()["jobs"]
        if all(j["status"] not in ("QUEUED", "RUNNING") for j in jobs):
            failed = [j for j in jobs if j["status"] != "SUCCEEDED"]
            assert not failed, failed
            return jobs
        time.sleep(0.5)
    raise AssertionError("jobs still running after {timeout}s")


def answers(ns: str, target: str, tries: int = 3) -> bool:
    """``target`` answers a ping from ``ns`` (a few tries: the machine is shared and busy)."""
    return any(ping(ns, target, count=2) for _ in range(tries))


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def test_floating_ip_answers_from_outside_snat_and_cleanup(controller_factory, tmp_path, lab):
    # the "external" world: a namespace holding the external subnet's gateway 203.0.113.1
    uplink = f"stx{lab.suffix}"
    ext_ns = lab.namespace("ext")
    sh("ip", "link", "add", uplink, "type", "veth", "peer", "name", "eth0", "netns", ext_ns)
    lab.devs.append(uplink)
    sh("ip", "link", "set", uplink, "up")
    in_ns(ext_ns, "ip", "link", "set", "eth0", "up")
    in_ns(ext_ns, "ip", "addr", "add", "203.0.113.1/24", "dev", "eth0")

    vni = random.randrange(100_000, 16_000_000)  # tests of other areas may hold low VNIs on this host
    ctl = controller_factory("sqlite", network_vni_ranges=[f"{vni}:{vni + 10}"])
    sync_hosts(ctl, tmp_path, {HOST: {"ansible_connection": "local", "stratus_tunnel_ip": "127.0.0.1",
                                      "stratus_physical_interface_mappings": {"external": uplink}}},
               ["network"])
    admin = ctl.conn()
    ext = admin.network.create_network(name="public", is_router_external=True, provider_network_type="flat",
                                       provider_physical_network="external")
    ext_net = ext.id
    admin.network.create_subnet(network_id=ext_net, cidr="203.0.113.0/24", ip_version=4,
                                gateway_ip="203.0.113.1", is_dhcp_enabled=False)
    creds = ctl.new_project_user("member", prefix="l3h")
    conn = ctl.conn(creds)
    net = conn.network.create_network(name="tenant").id
    sub = conn.network.create_subnet(network_id=net, cidr="10.60.0.0/24", ip_version=4,
                                     is_dhcp_enabled=False).id
    started = time.monotonic()
    router = conn.network.create_router(name="r", external_gateway_info={"network_id": ext_net})
    lab.cleanups.append(lambda: sh("ip", "netns", "delete", f"qrouter-{router.id}", check=False))
    gw_ip = router.external_gateway_info["external_fixed_ips"][0]["ip_address"]
    conn.network.add_interface_to_router(router, subnet_id=sub)
    settle(ctl)
    qrouter = f"qrouter-{router.id}"
    assert qrouter in namespaces()
    print(f"router with gateway and interface realised in {time.monotonic() - started:.1f}s")
    assert f"brq{ext_net[:11]}" in links() and f"brq{net[:11]}" in links()

    # the "guest": the port's MAC and address on the tenant bridge
    port = conn.network.create_port(network_id=net)
    fixed = port.fixed_ips[0]["ip_address"]
    vm = lab.guest("vm", f"brq{net[:11]}", port.mac_address, f"{fixed}/24", "10.60.0.1")

    # SNAT: the guest reaches the outside as the router's gateway address
    seen = count_sources(ext_ns, gw_ip)
    assert answers(vm, "203.0.113.1")
    assert nft_counter(ext_ns, seen) >= 1

    started = time.monotonic()
    fip = conn.network.create_ip(floating_network_id=ext_net, port_id=port.id)
    settle(ctl)
    assert conn.network.get_ip(fip.id).status == "ACTIVE"
    assert answers(ext_ns, fip.floating_ip_address)  # answered from outside
    print(f"floating IP created to answering ping: {time.monotonic() - started:.1f}s")
    seen_fip = count_sources(ext_ns, fip.floating_ip_address)
    assert answers(vm, "203.0.113.1")  # and the guest's own traffic leaves as its floating IP
    assert nft_counter(ext_ns, seen_fip) >= 1

    conn.network.update_ip(fip, port_id=None)
    settle(ctl)
    assert conn.network.get_ip(fip.id).status == "DOWN"
    assert not ping(ext_ns, fip.floating_ip_address)
    assert answers(vm, "203.0.113.1")  # SNAT again

    # everything deleted, in reverse: no namespace, bridge or rule is left
    conn.network.delete_ip(fip)
    sh("ip", "link", "delete", f"gvm{lab.suffix}")  # the guest leaves its network first
    conn.network.delete_port(port)
    conn.network.remove_interface_from_router(router, subnet_id=sub)
    conn.network.delete_router(router)
    conn.network.delete_network(net)
    admin.network.delete_network(ext_net)
    settle(ctl)
    assert qrouter not in namespaces()
    left = links()
    assert f"brq{ext_net[:11]}" not in left and f"brq{net[:11]}" not in left
    assert uplink in left  # the host's interface stays
    tables = sh("nft", "list", "tables").stdout
    assert router.id[:8] not in tables and "stratus_fip" not in tables and "stratus_snat" not in tables
