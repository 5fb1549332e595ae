"""Subnet pools through the API: CRUD, subnets taking their CIDR from a pool (by
prefixlen, by CIDR, from the default pool), and refusals that leave nothing behind."""

from __future__ import annotations

import ipaddress

import pytest

from stratus.db.models.network import Subnet, SubnetPool
from tests.api.network.nets_helpers import count, error, name, neutron, ok


@pytest.fixture(scope="module")
def alice(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="pa")


@pytest.fixture
def net(sqlite_controller, alice):
    c = sqlite_controller
    made = ok(neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": name("sp")}}), 201)["network"]
    yield made
    neutron(c, "DELETE", f"/networks/{made['id']}", creds=alice)


def test_pool_crud_and_subnets_from_it(sqlite_controller, alice, net):
    c = sqlite_controller
    pool = c.cli("subnet", "pool", "create", "--pool-prefix", "10.100.0.0/16", "--default-prefix-length", "24",
                 "--min-prefix-length", "20", "--max-prefix-length", "28", name("pool"), "-f", "json", creds=alice)
    assert pool["prefixes"] in (["10.100.0.0/16"], "10.100.0.0/16") and pool["ip_version"] == 4
    assert (pool["default_prefixlen"], pool["min_prefixlen"], pool["max_prefixlen"]) == (24, 20, 28)
    first = ok(neutron(c, "POST", "/subnets", creds=alice, json={"subnet": {
        "network_id": net["id"], "subnetpool_id": pool["id"], "ip_version": 4}}), 201)["subnet"]
    second = ok(neutron(c, "POST", "/subnets", creds=alice, json={"subnet": {
        "network_id": net["id"], "subnetpool_id": pool["id"], "prefixlen": 26}}), 201)["subnet"]
    assert first["cidr"] == "10.100.0.0/24" and first["subnetpool_id"] == pool["id"]
    assert ipaddress.ip_network(second["cidr"]).prefixlen == 26
    assert not ipaddress.ip_network(second["cidr"]).overlaps(ipaddress.ip_network(first["cidr"]))
    cli = c.cli("subnet", "create", "--network", net["id"], "--subnet-pool", pool["id"], "--prefix-length", "28",
                name("s"), "-f", "json", creds=alice)
    assert ipaddress.ip_network(cli["cidr"]).subnet_of(ipaddress.ip_network("10.100.0.0/16"))
    ok(neutron(c, "PUT", f"/subnetpools/{pool['id']}", creds=alice, json={"subnetpool": {
        "name": "renamed", "prefixes": ["10.100.0.0/16", "10.102.0.0/16"]}}))
    shown = ok(neutron(c, "GET", f"/subnetpools/{pool['id']}", creds=alice))["subnetpool"]
    assert shown["name"] == "renamed" and shown["prefixes"] == ["10.100.0.0/16", "10.102.0.0/16"]
    r = neutron(c, "DELETE", f"/subnetpools/{pool['id']}", creds=alice)
    error(r, 409, "SubnetPoolInUse")
    for s in (first, second, cli):
        ok(neutron(c, "DELETE", f"/subnets/{s['id']}", creds=alice), 204)
    ok(neutron(c, "DELETE", f"/subnetpools/{pool['id']}", creds=alice), 204)
    assert count(c, SubnetPool, id=pool["id"]) == 0


def test_default_pool_and_ipv6(sqlite_controller, alice, net):
    c = sqlite_controller
    pool = ok(neutron(c, "POST", "/subnetpools", json={"subnetpool": {
        "name": name(), "prefixes": ["2001:db8:100::/48"], "default_prefixlen": 64, "is_default": True,
        "shared": True}}), 201)["subnetpool"]
    assert pool["ip_version"] == 6 and pool["min_prefixlen"] == 64
    s = ok(neutron(c, "POST", "/subnets", creds=alice, json={"subnet": {
        "network_id": net["id"], "use_default_subnet_pool": True, "ip_version": 6,
        "ipv6_address_mode": "slaac", "ipv6_ra_mode": "slaac"}}), 201)["subnet"]
    assert s["cidr"] == "2001:db8:100::/64" and s["subnetpool_id"] == pool["id"]
    r = neutron(c, "POST", "/subnetpools", json={"subnetpool": {
        "name": name(), "prefixes": ["2001:db8:200::/48"], "is_default": True}})
    error(r, 409)
    ok(neutron(c, "DELETE", f"/subnets/{s['id']}", creds=alice), 204)
    ok(neutron(c, "DELETE", f"/subnetpools/{pool['id']}"), 204)


def test_refusals_change_nothing(sqlite_controller, alice, net):
    c = sqlite_controller
    pool = ok(neutron(c, "POST", "/subnetpools", creds=alice, json={"subnetpool": {
        "name": name(), "prefixes": ["10.110.0.0/24"], "default_prefixlen": 25, "min_prefixlen": 24,
        "max_prefixlen": 26}}), 201)["subnetpool"]
    before = (count(c, Subnet), count(c, SubnetPool))
    for attrs, status, kind in (
        ({"cidr": "10.111.0.0/25"}, 409, "SubnetAllocationError"),  # outside the pool
        ({"prefixlen": 28}, 400, "InvalidInput"),  # beyond max_prefixlen
        ({"ip_version": 6}, 400, "InvalidInput"),
    ):
        r = neutron(c, "POST", "/subnets", creds=alice, json={"subnet": {
            "network_id": net["id"], "subnetpool_id": pool["id"], **attrs}})
        error(r, status, kind)
    a = ok(neutron(c, "POST", "/subnets", creds=alice, json={"subnet": {
        "network_id": net["id"], "subnetpool_id": pool["id"]}}), 201)["subnet"]
    b = ok(neutron(c, "POST", "/subnets", creds=alice, json={"subnet": {
        "network_id": net["id"], "subnetpool_id": pool["id"]}}), 201)["subnet"]
    r = neutron(c, "POST", "/subnets", creds=alice, json={"subnet": {
        "network_id": net["id"], "subnetpool_id": pool["id"]}})
    assert "Insufficient prefix space" in error(r, 409, "SubnetAllocationError")
    for body in ({"prefixes": ["10.0.0.0/8", "2001:db8::/32"]}, {"prefixes": ["x"]},
                 {"prefixes": ["10.120.0.0/16"], "min_prefixlen": 28, "max_prefixlen": 24}):
        error(neutron(c, "POST", "/subnetpools", creds=alice, json={"subnetpool": body}), 400, "InvalidInput")
    error(neutron(c, "POST", "/subnetpools", creds=alice, json={"subnetpool": {
        "prefixes": ["10.130.0.0/16"], "shared": True}}), 403)
    r = neutron(c, "PUT", f"/subnetpools/{pool['id']}", creds=alice,
                json={"subnetpool": {"prefixes": ["10.140.0.0/24"]}})
    assert "can only be extended" in error(r, 400, "InvalidInput")
    assert (count(c, Subnet), count(c, SubnetPool)) == (before[0] + 2, before[1])
    other = c.new_project_user("member", prefix="pb")
    error(neutron(c, "GET", f"/subnetpools/{pool['id']}", creds=other), 404, "SubnetPoolNotFound")
    for s in (a, b):
        ok(neutron(c, "DELETE", f"/subnets/{s['id']}", creds=alice), 204)
    ok(neutron(c, "DELETE", f"/subnetpools/{pool['id']}", creds=alice), 204)
