"""stratus.cloud.floating_ip for real: the outside reaches a guest by its floating IP."""

import pytest

from tests.helpers.ansible import run_module
from tests.integration.network.l3_fixtures import (  # noqa: F401 (lab_fixture: fixture)
    Topology,
    count_sources,
    in_ns,
    lab_fixture,
    nft_counter,
    ping,
)

pytestmark = [pytest.mark.network]
FIP = "203.0.113.20"


def test_floating_ip_in_and_out_then_moved_and_released(lab):
    t = Topology(lab)
    router = run_module("router", t.router_args())
    assert router.changed and not router.failed, router.msg
    args = {"router_id": t.router_id, "floating_ip": FIP, "fixed_ip": "10.51.1.5"}
    # the outside takes in gratuitous ARP, so the announcement is visible there
    in_ns(t.ext, "sysctl", "-qw", "net.ipv4.conf.eth0.arp_accept=1")
    assert not ping(t.ext, FIP)

    planned = run_module("floating_ip", args, check=True)
    assert planned.changed and not planned.failed, planned.msg
    assert "stratus_fip_203_0_113_20" not in in_ns(t.namespace, "nft", "list", "tables").stdout

    made = run_module("floating_ip", args)
    assert made.changed and not made.failed, made.msg
    assert made["diff"]["before"] == {} and made["floating_ip"] == planned["floating_ip"]
    assert "dnat to 10.51.1.5" in made["floating_ip"]["nat"]
    assert not run_module("floating_ip", args).changed
    # the router leaves the floating IP on its gateway device alone
    assert not run_module("router", t.router_args()).changed

    neigh = in_ns(t.ext, "ip", "neigh", "show", FIP).stdout
    assert "fa:16:3e:51:0e:0a" in neigh  # gratuitous ARP from qg-

    # in: the outside pings the floating IP and reaches guest A (seen from outside's IP)
    seen_in = count_sources(t.guest_a, "203.0.113.1")
    assert ping(t.ext, FIP)
    assert nft_counter(t.guest_a, seen_in) >= 1
    # out: guest A leaves as the floating IP, guest B (no floating IP) as the router
    seen_fip = count_sources(t.ext, FIP)
    seen_gw = count_sources(t.ext, "203.0.113.10")
    assert ping(t.guest_a, "203.0.113.1")
    assert nft_counter(t.ext, seen_fip) >= 1 and nft_counter(t.ext, seen_gw) == 0
    assert ping(t.guest_b, "203.0.113.1")
    assert nft_counter(t.ext, seen_gw) >= 1

    # moved to guest B's port: one atomic table replacement
    moved = run_module("floating_ip", {**args, "fixed_ip": "10.51.2.5"})
    assert moved.changed
    assert "dnat to 10.51.1.5" in moved["diff"]["before"]["nat"]
    assert "dnat to 10.51.2.5" in moved["diff"]["after"]["nat"]
    seen_b = count_sources(t.guest_b, "203.0.113.1")
    assert ping(t.ext, FIP)
    assert nft_counter(t.guest_b, seen_b) >= 1

    released = run_module("floating_ip", {**args, "state": "absent"})
    assert released.changed and released["floating_ip"] == {}
    assert "stratus_fip" not in in_ns(t.namespace, "nft", "list", "tables").stdout
    assert FIP not in in_ns(t.namespace, "ip", "-o", "addr").stdout
    assert not ping(t.ext, FIP)
    assert not run_module("floating_ip", {**args, "state": "absent"}).changed


def test_floating_ip_needs_a_router_gateway_and_a_reachable_fixed_ip(lab):
    t = Topology(lab)
    args = {"router_id": t.router_id, "floating_ip": FIP, "fixed_ip": "10.51.1.5"}
    result = run_module("floating_ip", args)
    assert result.failed and "create it first" in result.msg

    assert not run_module("router", {"router_id": t.router_id,
                                     "interfaces": [t.interface("a")]}).failed
    result = run_module("floating_ip", args)
    assert result.failed and "no external gateway" in result.msg

    assert not run_module("router", t.router_args()).failed
    result = run_module("floating_ip", {**args, "fixed_ip": "10.77.0.5"})
    assert result.failed and "on none of router" in result.msg
    result = run_module("floating_ip", {**args, "floating_ip": "203.0.113.10"})
    assert result.failed and "own gateway IP" in result.msg
    assert "stratus_fip" not in in_ns(t.namespace, "nft", "list", "tables").stdout
