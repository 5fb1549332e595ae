"""Networks through the API (sdk, CLI and raw HTTP): records, provider attributes and
segment allocation, visibility between projects, MTU, shared/external, and refusals
that leave nothing behind."""

from __future__ import annotations

import pytest

from stratus.db.models.network import Network, SegmentAllocation
from tests.api.network.nets_helpers import add_port, count, drop_port, error, name, neutron, ok


@pytest.fixture(scope="module")
def alice(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="na")


@pytest.fixture(scope="module")
def bob(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="nb")


def test_sdk_create_show_update_delete(sqlite_controller, alice):
    c = sqlite_controller
    conn = c.conn(alice)
    n = name()
    net = conn.network.create_network(name=n, description="blue net")
    assert net.status == "ACTIVE" and net.is_admin_state_up and net.project_id == alice.project_id
    assert net.mtu == 1450  # VXLAN: the underlay's 1500 less 50
    assert net.provider_network_type is None  # provider attributes are for admins
    assert net.description == "blue net" and net.revision_number == 1 and net.subnet_ids == []
    admin_view = c.conn().network.get_network(net.id)
    assert admin_view.provider_network_type == "vxlan" and admin_view.provider_segmentation_id >= 1001
    assert count(c, SegmentAllocation, network_id=net.id) == 1
    got = conn.network.update_network(net, name=n + "-2", mtu=1400, is_port_security_enabled=False)
    assert (got.name, got.mtu, got.is_port_security_enabled, got.revision_number) == (n + "-2", 1400, False, 2)
    assert conn.network.find_network(n + "-2").id == net.id
    conn.network.delete_network(net)
    assert conn.network.find_network(net.id) is None
    assert count(c, SegmentAllocation, network_id=net.id) == 0


def test_cli_provider_vxlan_segment_and_vni_in_use(sqlite_controller):
    c = sqlite_controller
    n = name()
    net = c.cli("network", "create", "--provider-network-type", "vxlan", "--provider-segment", "5000", n,
                "-f", "json")
    assert net["provider:network_type"] == "vxlan" and net["provider:segmentation_id"] == 5000
    r = neutron(c, "POST", "/networks", json={"network": {"name": n + "-x", "provider:network_type": "vxlan",
                                                          "provider:segmentation_id": 5000}})
    assert "tunnel ID 5000 is in use" in error(r, 409, "TunnelIdInUse")
    assert count(c, Network, name=n + "-x") == 0
    ok(neutron(c, "DELETE", f"/networks/{net['id']}"), 204)
    again = ok(neutron(c, "POST", "/networks", json={"network": {
        "name": n, "provider:network_type": "vxlan", "provider:segmentation_id": 5000}}), 201)["network"]
    assert again["provider:segmentation_id"] == 5000  # freed with the first network
    ok(neutron(c, "DELETE", f"/networks/{again['id']}"), 204)


def test_flat_and_local_networks(sqlite_controller):
    c = sqlite_controller
    flat = ok(neutron(c, "POST", "/networks", json={"network": {
        "name": name(), "provider:network_type": "flat", "provider:physical_network": "physx"}}), 201)["network"]
    assert flat["provider:physical_network"] == "physx" and flat["provider:segmentation_id"] is None
    assert flat["mtu"] == 1500
    r = neutron(c, "POST", "/networks", json={"network": {
        "name": "dup", "provider:network_type": "flat", "provider:physical_network": "physx"}})
    assert "Physical network physx is in use" in error(r, 409, "FlatNetworkInUse")
    r = neutron(c, "POST", "/networks", json={"network": {"provider:network_type": "flat"}})
    assert "physical_network" in error(r, 400, "InvalidInput")
    r = neutron(c, "POST", "/networks", json={"network": {"provider:network_type": "vlan",
                                                          "provider:physical_network": "nowhere"}})
    assert "nowhere" in error(r, 400, "InvalidInput")
    local = ok(neutron(c, "POST", "/networks", json={"network": {"provider:network_type": "local"}}), 201)
    for net in (flat, local["network"]):
        ok(neutron(c, "DELETE", f"/networks/{net['id']}"), 204)


def test_member_may_not_set_admin_attributes(sqlite_controller, alice):
    c = sqlite_controller
    before = count(c, Network)
    for attrs in ({"provider:network_type": "vxlan"}, {"provider:segmentation_id": 7000},
                  {"shared": True}, {"router:external": True}):
        r = neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": "x", **attrs}})
        error(r, 403)
    r = neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": "x", "colour": "red"}})
    assert "Unrecognized attribute(s) 'colour'" in error(r, 400)
    r = neutron(c, "POST", "/networks", creds=alice, json={"network": {"availability_zone_hints": ["mars"]}})
    error(r, 404, "AvailabilityZoneNotFound")
    r = neutron(c, "POST", "/networks", creds=alice, json={"network": {"mtu": 9000}})
    assert "MTU is too big" in error(r, 400, "InvalidInput")
    r = neutron(c, "POST", "/networks", creds=alice, json=["not", "an", "object"])
    error(r, 400)
    assert count(c, Network) == before


def test_other_projects_network_is_404(sqlite_controller, alice, bob):
    c = sqlite_controller
    net = ok(neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": name()}}), 201)["network"]
    for method, kw in (("GET", {}), ("PUT", {"json": {"network": {"name": "stolen"}}}), ("DELETE", {})):
        r = neutron(c, method, f"/networks/{net['id']}", creds=bob, **kw)
        assert net["id"] in error(r, 404, "NetworkNotFound")
    assert net["id"] not in {n["id"] for n in ok(neutron(c, "GET", "/networks", creds=bob))["networks"]}
    assert ok(neutron(c, "GET", f"/networks/{net['id']}", creds=alice))["network"]["name"] == net["name"]
    ok(neutron(c, "DELETE", f"/networks/{net['id']}", creds=alice), 204)


def test_shared_and_external_networks_are_visible_to_all(sqlite_controller, alice, bob):
    c = sqlite_controller
    shared = ok(neutron(c, "POST", "/networks", json={"network": {"name": name(), "shared": True}}), 201)["network"]
    ext = ok(neutron(c, "POST", "/networks", json={"network": {"name": name(), "router:external": True}}),
             201)["network"]
    mine = ok(neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": name()}}), 201)["network"]
    seen = {n["id"]: n for n in ok(neutron(c, "GET", "/networks", creds=bob))["networks"]}
    assert seen[shared["id"]]["shared"] is True and seen[ext["id"]]["router:external"] is True
    assert mine["id"] not in seen
    r = neutron(c, "PUT", f"/networks/{shared['id']}", creds=bob, json={"network": {"name": "mine now"}})
    error(r, 403)
    listed = ok(neutron(c, "GET", "/networks", creds=bob, params={"router:external": "true"}))["networks"]
    assert ext["id"] in {n["id"] for n in listed} and shared["id"] not in {n["id"] for n in listed}
    # unsharing is refused while another project has a port on it, and nothing changes
    port = add_port(c, shared["id"], bob.project_id)
    r = neutron(c, "PUT", f"/networks/{shared['id']}", json={"network": {"shared": False}})
    error(r, 409, "RbacPolicyInUse")
    assert ok(neutron(c, "GET", f"/networks/{shared['id']}", creds=bob))["network"]["shared"] is True
    drop_port(c, port)
    ok(neutron(c, "PUT", f"/networks/{shared['id']}", json={"network": {"shared": False}}))
    error(neutron(c, "GET", f"/networks/{shared['id']}", creds=bob), 404, "NetworkNotFound")
    for net in (shared, ext):
        ok(neutron(c, "DELETE", f"/networks/{net['id']}"), 204)
    ok(neutron(c, "DELETE", f"/networks/{mine['id']}", creds=alice), 204)


def test_delete_in_use_409_and_dhcp_ports_go_with_it(sqlite_controller, alice):
    c = sqlite_controller
    net = ok(neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": name()}}), 201)["network"]
    ok(neutron(c, "POST", "/subnets", creds=alice, json={"subnet": {
        "network_id": net["id"], "cidr": "10.20.0.0/24", "ip_version": 4}}), 201)
    port = add_port(c, net["id"], alice.project_id)
    dhcp = add_port(c, net["id"], alice.project_id, owner="network:dhcp")
    r = neutron(c, "DELETE", f"/networks/{net['id']}", creds=alice)
    assert "ports still in use" in error(r, 409, "NetworkInUse")
    assert count(c, Network, id=net["id"]) == 1
    drop_port(c, port)
    ok(neutron(c, "DELETE", f"/networks/{net['id']}", creds=alice), 204)
    from stratus.db.models.network import Port, Subnet

    assert count(c, Port, id=dhcp) == 0 and count(c, Subnet, network_id=net["id"]) == 0


def test_list_long_filters_and_pagination(sqlite_controller, alice):
    c = sqlite_controller
    prefix = name("pg")
    ids = [ok(neutron(c, "POST", "/networks", creds=alice, json={"network": {"name": f"{prefix}-{i}"}}),
              201)["network"]["id"] for i in range(5)]
    rows = c.cli("network", "list", "--long", "-f", "json", creds=alice)
    mine = [r for r in rows if r["Name"].startswith(prefix)]
    assert len(mine) == 5 and all(r["State"] in (True, "UP") and r["Status"] == "ACTIVE" for r in mine)
    assert all("Router Type" in r and "Availability Zones" in r for r in mine)
    page = ok(neutron(c, "GET", "/networks", creds=alice, params={"limit": 2, "sort_key": "name",
                                                                  "sort_dir": "asc", "fields": ["id", "name"]}))
    assert len(page["networks"]) == 2 and set(page["networks"][0]) == {"id", "name"}
    assert [link["rel"] for link in page["networks_links"]] == ["next"]
    conn = c.conn(alice)
    walked = [n.name for n in conn.network.networks(limit=2, sort_key="name", sort_dir="asc")
              if n.name.startswith(prefix)]
    assert walked == [f"{prefix}-{i}" for i in range(5)]
    r = neutron(c, "GET", "/networks", creds=alice, params={"colour": "red"})
    error(r, 400)
    for i in ids:
        ok(neutron(c, "DELETE", f"/networks/{i}", creds=alice), 204)


def test_network_over_quota(sqlite_controller):
    c = sqlite_controller
    user = c.new_project_user("member", prefix="nq")
    ok(neutron(c, "PUT", f"/quotas/{user.project_id}", json={"quota": {"network": 1}}))
    first = ok(neutron(c, "POST", "/networks", creds=user, json={"network": {"name": "one"}}), 201)["network"]
    r = neutron(c, "POST", "/networks", creds=user, json={"network": {"name": "two"}})
    assert "['network']" in error(r, 409, "OverQuota")
    assert count(c, Network, project_id=user.project_id) == 1
    ok(neutron(c, "DELETE", f"/networks/{first['id']}", creds=user), 204)


def test_records_on_every_backend(controller):
    """The same requests on SQLite and PostgreSQL: network, subnets, sharing, tags,
    filters and pages, then everything deleted."""
    c = controller
    owner, guest = c.new_project_user("member", prefix="bo"), c.new_project_user("member", prefix="bg")
    prefix = name("be")
    nets = [ok(neutron(c, "POST", "/networks", creds=owner, json={"network": {"name": f"{prefix}-{i}"}}),
               201)["network"] for i in range(3)]
    s4 = ok(neutron(c, "POST", "/subnets", creds=owner, json={"subnet": {
        "network_id": nets[0]["id"], "cidr": "10.0.0.0/24", "ip_version": 4}}), 201)["subnet"]
    s6 = ok(neutron(c, "POST", "/subnets", creds=owner, json={"subnet": {
        "network_id": nets[0]["id"], "cidr": "fd00::/64", "ip_version": 6, "ipv6_address_mode": "slaac",
        "ipv6_ra_mode": "slaac"}}), 201)["subnet"]
    r = neutron(c, "POST", "/subnets", creds=owner, json={"subnet": {
        "network_id": nets[0]["id"], "cidr": "10.0.0.0/16", "ip_version": 4}})
    error(r, 400, "InvalidInput")
    ok(neutron(c, "POST", "/rbac-policies", creds=owner, json={"rbac_policy": {
        "object_type": "network", "object_id": nets[0]["id"], "action": "access_as_shared",
        "target_tenant": guest.project_id}}), 201)
    ok(neutron(c, "PUT", f"/networks/{nets[1]['id']}/tags", creds=owner, json={"tags": ["x", "y"]}))
    seen = ok(neutron(c, "GET", "/networks", creds=guest, params={"name": nets[0]["name"]}))["networks"]
    assert [n["subnets"] for n in seen] == [[s4["id"], s6["id"]]]
    tagged = ok(neutron(c, "GET", "/networks", creds=owner, params={"tags": "x,y"}))["networks"]
    assert [n["id"] for n in tagged] == [nets[1]["id"]]
    page = ok(neutron(c, "GET", "/networks", creds=owner, params={"limit": 2, "sort_key": "name",
                                                                  "sort_dir": "desc"}))
    assert [n["name"] for n in page["networks"]] == [f"{prefix}-2", f"{prefix}-1"]
    nxt = c.http.get(page["networks_links"][0]["href"].split(c.url, 1)[1],
                     headers={"X-Auth-Token": c.token(owner)}).json()
    assert [n["name"] for n in nxt["networks"]] == [f"{prefix}-0"]
    for n in nets:
        ok(neutron(c, "DELETE", f"/networks/{n['id']}", creds=owner), 204)
    assert ok(neutron(c, "GET", "/networks", creds=owner))["networks"] == []
