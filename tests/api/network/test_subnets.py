"""Subnets through the API (CLI, sdk, raw HTTP): IPv4 defaults and options, IPv6 modes,
updates, and refusals (overlaps, bad pools, gateway outside, another project's network,
in-use deletes) that leave nothing behind."""

from __future__ import annotations

import pytest

from stratus.db.models.jobs import Resource
from stratus.db.models.network import IPAllocation, Port, Subnet
from stratus.network import ipam
from tests.api.network.nets_helpers import (
    add_port,
    count,
    database,
    drop_port,
    error,
    name,
    neutron,
    ok,
)


@pytest.fixture(scope="module")
def alice(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="sa")


@pytest.fixture
def net(sqlite_controller, alice):
    c = sqlite_controller
    made = ok(neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": name("sn")}}), 201)["network"]
    yield made
    neutron(c, "DELETE", f"/networks/{made['id']}", creds=alice)


def _subnet(c, creds, **attrs):
    return neutron(c, "POST", "/subnets", creds=creds, json={"subnet": attrs})


def test_cli_subnet_create_with_pools_dns_and_routes(sqlite_controller, alice, net):
    c = sqlite_controller
    s = c.cli("subnet", "create", "--network", net["id"], "--subnet-range", "10.30.0.0/24",
              "--allocation-pool", "start=10.30.0.100,end=10.30.0.150", "--dns-nameserver", "10.30.0.53",
              "--host-route", "destination=172.16.0.0/16,gateway=10.30.0.9", name("s"), "-f", "json", creds=alice)
    assert s["cidr"] == "10.30.0.0/24" and s["gateway_ip"] == "10.30.0.1" and s["ip_version"] == 4
    shown = ok(neutron(c, "GET", f"/subnets/{s['id']}", creds=alice))["subnet"]
    assert shown["allocation_pools"] == [{"start": "10.30.0.100", "end": "10.30.0.150"}]
    assert shown["dns_nameservers"] == ["10.30.0.53"]
    assert shown["host_routes"] == [{"destination": "172.16.0.0/16", "nexthop": "10.30.0.9"}]
    assert shown["enable_dhcp"] is True and shown["project_id"] == alice.project_id
    assert ok(neutron(c, "GET", f"/networks/{net['id']}", creds=alice))["network"]["subnets"] == [s["id"]]
    with database(c).session() as db:  # its resource has the record's id
        assert db.get(Resource, s["id"]).type == "OS::Neutron::Subnet"
    # the first port gets the first address of the pool
    port = add_port(c, net["id"], alice.project_id)
    with database(c).session() as db:
        assert db.query(IPAllocation).filter_by(port_id=port).one().ip_address == "10.30.0.100"
    drop_port(c, port)


def test_ipv4_defaults_and_no_gateway(sqlite_controller, alice, net):
    c = sqlite_controller
    conn = c.conn(alice)
    s = conn.network.create_subnet(network_id=net["id"], cidr="10.31.0.0/28", ip_version=4)
    assert s.gateway_ip == "10.31.0.1"
    assert s.allocation_pools == [{"start": "10.31.0.2", "end": "10.31.0.14"}]
    none = ok(_subnet(c, alice, network_id=net["id"], cidr="10.32.0.0/29", ip_version=4, gateway_ip=None),
              201)["subnet"]
    assert none["gateway_ip"] is None
    assert none["allocation_pools"] == [{"start": "10.32.0.1", "end": "10.32.0.6"}]
    mid = ok(_subnet(c, alice, network_id=net["id"], cidr="10.33.0.0/29", ip_version=4, gateway_ip="10.33.0.4"),
             201)["subnet"]
    assert mid["allocation_pools"] == [{"start": "10.33.0.1", "end": "10.33.0.3"},
                                       {"start": "10.33.0.5", "end": "10.33.0.6"}]


def test_ipv6_modes(sqlite_controller, alice, net):
    c = sqlite_controller
    slaac = ok(_subnet(c, alice, network_id=net["id"], cidr="2001:db8:1::/64", ip_version=6,
                       ipv6_ra_mode="slaac", ipv6_address_mode="slaac"), 201)["subnet"]
    assert slaac["gateway_ip"] == "2001:db8:1::1" and slaac["ipv6_address_mode"] == "slaac"
    assert slaac["allocation_pools"] == [{"start": "2001:db8:1::2", "end": "2001:db8:1:0:ffff:ffff:ffff:ffff"}]
    stateful = ok(_subnet(c, alice, network_id=net["id"], cidr="2001:db8:2::/64", ip_version=6,
                          ipv6_address_mode="dhcpv6-stateful"), 201)["subnet"]
    cli = c.cli("subnet", "create", "--network", net["id"], "--ip-version", "6", "--subnet-range",
                "2001:db8:3::/64", "--ipv6-ra-mode", "dhcpv6-stateless", "--ipv6-address-mode",
                "dhcpv6-stateless", name("v6"), "-f", "json", creds=alice)
    assert cli["ipv6_ra_mode"] == "dhcpv6-stateless"
    # a port gets its EUI-64 address on the SLAAC subnets, one from the pool on the stateful one
    port = add_port(c, net["id"], alice.project_id)
    with database(c).session() as db:
        got = {a.subnet_id: a.ip_address for a in db.query(IPAllocation).filter_by(port_id=port)}
        mac = db.get(Port, port).mac_address
    assert got[stateful["id"]] == "2001:db8:2::2"
    assert got[slaac["id"]] == ipam.eui64("2001:db8:1::/64", mac)
    assert got[cli["id"]] == ipam.eui64("2001:db8:3::/64", mac)
    drop_port(c, port)
    before = count(c, Subnet, network_id=net["id"])
    for attrs, words in (
        ({"cidr": "2001:db8:4::/64", "ipv6_ra_mode": "slaac", "ipv6_address_mode": "dhcpv6-stateful"},
         "must be the same value"),
        ({"cidr": "2001:db8:5::/80", "ipv6_address_mode": "slaac"}, "requires the prefix to be /64"),
        ({"cidr": "2001:db8:6::/64", "ipv6_address_mode": "slaac", "enable_dhcp": False}, "enable_dhcp"),
        ({"cidr": "2001:db8:7::/64", "ipv6_address_mode": "bogus"}, "valid_values"),
    ):
        r = _subnet(c, alice, network_id=net["id"], ip_version=6, **attrs)
        assert words in error(r, 400, "InvalidInput")
    r = _subnet(c, alice, network_id=net["id"], ip_version=4, cidr="10.40.0.0/24", ipv6_address_mode="slaac")
    error(r, 400, "InvalidInput")
    assert count(c, Subnet, network_id=net["id"]) == before


def test_refusals_change_nothing(sqlite_controller, alice, net):
    c = sqlite_controller
    ok(_subnet(c, alice, network_id=net["id"], cidr="10.50.0.0/24", ip_version=4), 201)
    before = count(c, Subnet)
    cases = [
        ({"cidr": "10.50.0.128/25"}, 400, "InvalidInput", "overlaps with another subnet"),
        ({"cidr": "10.51.0.0/24", "allocation_pools": [{"start": "10.51.0.10", "end": "10.52.0.5"}]},
         400, "OutOfBoundsAllocationPool", "spans beyond the subnet cidr"),
        ({"cidr": "10.51.0.0/24", "allocation_pools": [{"start": "10.51.0.10", "end": "10.51.0.20"},
                                                       {"start": "10.51.0.15", "end": "10.51.0.30"}]},
         409, "OverlappingAllocationPools", "overlapping allocation pools"),
        ({"cidr": "10.51.0.0/24", "gateway_ip": "10.51.0.15",
          "allocation_pools": [{"start": "10.51.0.10", "end": "10.51.0.20"}]},
         409, "GatewayConflictWithAllocationPools", "10.51.0.15"),
        ({"cidr": "10.51.0.0/24", "gateway_ip": "10.99.0.1"}, 400, "InvalidInput", "10.99.0.1"),
        ({"cidr": "10.51.0.7/24"}, 400, "InvalidInput", "'10.51.0.0/24' is recommended"),
        ({"cidr": "10.51.0.0/24", "ip_version": 6}, 400, "InvalidInput", "do not match"),
        ({"cidr": "10.51.0.0/24", "dns_nameservers": ["10.0.0.1", "10.0.0.1"]}, 400, "InvalidInput", "Duplicate"),
        ({"cidr": "10.51.0.0/24", "host_routes": [{"destination": "nope", "nexthop": "10.51.0.1"}]},
         400, "InvalidInput", "host_routes"),
        ({"cidr": "10.51.0.0/24", "flavour": "x"}, 400, None, "Unrecognized attribute(s) 'flavour'"),
    ]
    for attrs, status, kind, words in cases:
        r = _subnet(c, alice, **{"network_id": net["id"], "ip_version": 4, **attrs})
        assert words in error(r, status, kind), attrs
    assert count(c, Subnet) == before


def test_update_and_read_only(sqlite_controller, alice, net):
    c = sqlite_controller
    s = ok(_subnet(c, alice, network_id=net["id"], cidr="10.60.0.0/24", ip_version=4), 201)["subnet"]
    got = c.cli("subnet", "set", "--name", "renamed", "--dns-nameserver", "10.60.0.53", "--no-dhcp",
                "--gateway", "none", s["id"], creds=alice)
    assert got in (None, "")
    shown = ok(neutron(c, "GET", f"/subnets/{s['id']}", creds=alice))["subnet"]
    assert (shown["name"], shown["dns_nameservers"], shown["enable_dhcp"], shown["gateway_ip"]) == (
        "renamed", ["10.60.0.53"], False, None)
    assert shown["revision_number"] > s["revision_number"]
    r = neutron(c, "PUT", f"/subnets/{s['id']}", creds=alice, json={"subnet": {"cidr": "10.61.0.0/24"}})
    assert "read-only attribute cidr" in error(r, 400)
    r = neutron(c, "PUT", f"/subnets/{s['id']}", creds=alice, json={"subnet": {"gateway_ip": "10.60.0.9"}})
    assert "10.60.0.9" in error(r, 409, "GatewayConflictWithAllocationPools")
    r = neutron(c, "PUT", f"/subnets/{s['id']}", creds=alice, json={"subnet": {
        "allocation_pools": [{"start": "10.60.1.250", "end": "10.60.1.254"}]}})
    error(r, 400, "OutOfBoundsAllocationPool")
    again = ok(neutron(c, "GET", f"/subnets/{s['id']}", creds=alice))["subnet"]
    assert again["allocation_pools"] == shown["allocation_pools"] and again["gateway_ip"] is None


def test_delete_in_use_409_then_deleted(sqlite_controller, alice, net):
    c = sqlite_controller
    s = ok(_subnet(c, alice, network_id=net["id"], cidr="10.70.0.0/24", ip_version=4), 201)["subnet"]
    port = add_port(c, net["id"], alice.project_id)
    dhcp = add_port(c, net["id"], alice.project_id, owner="network:dhcp")
    r = neutron(c, "DELETE", f"/subnets/{s['id']}", creds=alice)
    assert "One or more ports have an IP allocation" in error(r, 409, "SubnetInUse")
    assert count(c, Subnet, id=s["id"]) == 1 and count(c, IPAllocation, subnet_id=s["id"]) == 2
    drop_port(c, port)
    ok(neutron(c, "DELETE", f"/subnets/{s['id']}", creds=alice), 204)
    assert count(c, Subnet, id=s["id"]) == 0 and count(c, IPAllocation, port_id=dhcp) == 0
    error(neutron(c, "GET", f"/subnets/{s['id']}", creds=alice), 404, "SubnetNotFound")
    assert count(c, Port, id=dhcp) == 0  # the DHCP port goes with the network's last DHCP subnet (hostplan)


def test_other_projects_network_and_subnet(sqlite_controller, alice, net):
    c = sqlite_controller
    bob = c.new_project_user("member", prefix="sb")
    s = ok(_subnet(c, alice, network_id=net["id"], cidr="10.80.0.0/24", ip_version=4), 201)["subnet"]
    before = count(c, Subnet)
    r = _subnet(c, bob, network_id=net["id"], cidr="10.81.0.0/24", ip_version=4)
    assert net["id"] in error(r, 404, "NetworkNotFound")
    for method, kw in (("GET", {}), ("PUT", {"json": {"subnet": {"name": "x"}}}), ("DELETE", {})):
        error(neutron(c, method, f"/subnets/{s['id']}", creds=bob, **kw), 404, "SubnetNotFound")
    assert s["id"] not in {x["id"] for x in ok(neutron(c, "GET", "/subnets", creds=bob))["subnets"]}
    # a shared network: visible, its subnets too, but only its owner adds subnets
    shared = ok(neutron(c, "POST", "/networks", json={"network": {"name": name(), "shared": True}}), 201)["network"]
    ok(_subnet(c, None, network_id=shared["id"], cidr="10.82.0.0/24", ip_version=4), 201)
    assert len(ok(neutron(c, "GET", "/subnets", creds=bob, params={"network_id": shared["id"]}))["subnets"]) == 1
    error(_subnet(c, bob, network_id=shared["id"], cidr="10.83.0.0/24", ip_version=4), 403)
    assert count(c, Subnet) == before + 1
    ok(neutron(c, "DELETE", f"/networks/{shared['id']}"), 204)
