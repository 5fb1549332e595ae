"""stratus.cloud.router for real: routing between two subnets and SNAT to an outside."""

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import tap_name
from tests.helpers.ansible import run_module
from tests.integration.network.l3_fixtures import (  # noqa: F401 (lab_fixture: fixture)
    Topology,
    count_sources,
    in_ns,
    lab_fixture,
    links,
    namespaces,
    nft_counter,
    ping,
)

pytestmark = [pytest.mark.network]


def test_router_routes_snats_and_is_removed_cleanly(lab):
    t = Topology(lab)
    args = t.router_args(routes=[{"destination": "172.16.0.0/16", "nexthop": "10.51.1.254"}])

    planned = run_module("router", args, check=True)
    assert planned.changed and not planned.failed, planned.msg
    assert t.namespace not in namespaces()

    made = run_module("router", args)
    assert made.changed and not made.failed, made.msg
    assert made["diff"]["before"] == {}
    assert made["router"] == planned["router"]  # check mode planned exactly this
    assert not run_module("router", args).changed

    # guest A reaches guest B through the router
    assert ping(t.guest_a, "10.51.2.5")
    # out to the external network: the outside sees the router's gateway IP
    seen = count_sources(t.ext, "203.0.113.10")
    assert ping(t.guest_b, "203.0.113.1")
    assert nft_counter(t.ext, seen) >= 1
    snat = in_ns(t.namespace, "nft", "list", "table", "ip", "stratus_snat").stdout
    assert "snat to 203.0.113.10" in snat and "10.51.1.0/24" in snat
    routes = in_ns(t.namespace, "ip", "route").stdout
    assert "172.16.0.0/16 via 10.51.1.254" in routes and "default via 203.0.113.1" in routes
    assert in_ns(t.namespace, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"

    # without SNAT the outside cannot answer (it has no route to the tenant subnets)
    no_snat = {**args, "external_gateway": t.gateway(enable_snat=False)}
    changed = run_module("router", no_snat)
    assert changed.changed and changed["diff"]["after"]["snat"] == ""
    assert "snat to" in changed["diff"]["before"]["snat"]
    assert not ping(t.guest_b, "203.0.113.1")

    # detach B and drop the static route: only that goes
    smaller = {**args, "interfaces": [t.interface("a")], "routes": []}
    shrunk = run_module("router", smaller)
    assert shrunk.changed
    assert [r["destination"] for r in shrunk["diff"]["before"]["routes"]] == [
        "0.0.0.0/0", "172.16.0.0/16"]
    assert [r["destination"] for r in shrunk["router"]["routes"]] == ["0.0.0.0/0"]
    assert tap_name(t.ports["b"]) not in links()
    assert not ping(t.guest_a, "10.51.2.5")
    assert ping(t.guest_a, "203.0.113.1")
    assert not run_module("router", smaller).changed

    assert run_module("router", {"router_id": t.router_id, "state": "absent"}, check=True).changed
    assert t.namespace in namespaces()
    gone = run_module("router", {"router_id": t.router_id, "state": "absent"})
    assert gone.changed and gone["router"] == {}
    assert t.namespace not in namespaces()
    assert not {tap_name(p) for p in t.ports.values()} & links()
    assert not run_module("router", {"router_id": t.router_id, "state": "absent"}).changed


def test_bad_router_requests_fail_clearly_and_change_nothing(lab):
    t = Topology(lab)
    overlap = t.interface("b") | {"cidr": "10.51.1.0/25", "ip": "10.51.1.100"}
    result = run_module("router", t.router_args(interfaces=[t.interface("a"), overlap]))
    assert result.failed and "overlap" in result.msg and "10.51.1.0/25" in result.msg

    outside = t.interface("b") | {"ip": "10.99.0.1"}
    result = run_module("router", t.router_args(interfaces=[outside]))
    assert result.failed and "outside its subnet 10.51.2.0/24" in result.msg

    bad_gw = t.router_args(external_gateway=t.gateway(gateway_ip="198.51.100.1"))
    result = run_module("router", bad_gw)
    assert result.failed and "outside the external subnet" in result.msg

    hop = t.router_args(routes=[{"destination": "172.16.0.0/16", "nexthop": "192.0.2.9"}])
    result = run_module("router", hop)
    assert result.failed and "nexthop is on none" in result.msg

    missing = t.interface("a") | {"network_id": "no-such-network"}
    result = run_module("router", t.router_args(interfaces=[missing]))
    assert result.failed and "stratus.cloud.network first" in result.msg
    assert t.namespace not in namespaces()
