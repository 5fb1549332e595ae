"""Ports through the API (openstacksdk and raw HTTP): fixed IPs by subnet and address,
MACs, allowed address pairs, port security, security groups, binding (admins), update,
filters and paging, delete; refusals in Neutron's format, each leaving nothing behind."""

from __future__ import annotations

import pytest

from tests.api.network import port_world

pytestmark = [pytest.mark.api, pytest.mark.network]
PORTS = "/network/v2.0/ports"


@pytest.fixture(scope="module")
def member(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="ports")


@pytest.fixture(scope="module")
def other(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="ports-other")


@pytest.fixture
def world(sqlite_controller, member):
    return port_world.network(sqlite_controller, member.project_id)


def _token(controller, creds):
    return controller.token(creds)


def _refused(controller, world, token, body, status, error_type, method="POST", path=PORTS):
    """The request is refused with ``status``/``error_type`` and nothing changed."""
    before = port_world.counts(controller, world.network_id)
    r = controller.request(method, path, token=token, json=body)
    assert r.status_code == status, r.text
    err = r.json()["NeutronError"]
    assert err["type"] == error_type and err["message"] and err["detail"] == ""
    assert port_world.counts(controller, world.network_id) == before
    return err["message"]


def test_create_show_list_update_delete_with_the_sdk(sqlite_controller, member, world):
    conn = sqlite_controller.conn(member)
    port = conn.network.create_port(
        network_id=world.network_id, name="web-1", description="first",
        fixed_ips=[{"subnet_id": world.subnet_id, "ip_address": "10.20.0.10"}],
        allowed_address_pairs=[{"ip_address": "10.20.0.200"}])
    assert port.status == "DOWN" and port.mac_address.startswith("fa:16:3e:")
    assert port.fixed_ips == [{"subnet_id": world.subnet_id, "ip_address": "10.20.0.10"}]
    assert port.allowed_address_pairs == [{"ip_address": "10.20.0.200", "mac_address": port.mac_address}]
    assert port.project_id == member.project_id and port.is_port_security_enabled is True
    assert port.binding_host_id is None and port.binding_vif_type is None  # admin-only attributes
    assert port.binding_vnic_type == "normal" and port.revision_number >= 1
    second = conn.network.create_port(network_id=world.network_id)  # the next free address
    assert second.fixed_ips == [{"subnet_id": world.subnet_id, "ip_address": "10.20.0.2"}]
    assert second.mac_address != port.mac_address

    got = conn.network.get_port(port.id)
    assert (got.name, got.description, got.fixed_ips) == ("web-1", "first", port.fixed_ips)
    listed = {p.id for p in conn.network.ports(network_id=world.network_id)}
    assert listed == {port.id, second.id}

    revision = port.revision_number
    updated = conn.network.update_port(port.id, name="web-2", fixed_ips=[
        {"subnet_id": world.subnet_id, "ip_address": "10.20.0.10"}, {"subnet_id": world.subnet_id}])
    assert updated.name == "web-2" and updated.revision_number > revision
    assert [ip["ip_address"] for ip in updated.fixed_ips] == ["10.20.0.10", "10.20.0.3"]
    updated = conn.network.update_port(port.id, fixed_ips=[{"ip_address": "10.20.0.3"}],
                                       allowed_address_pairs=[], security_groups=[],
                                       port_security_enabled=False)
    assert [ip["ip_address"] for ip in updated.fixed_ips] == ["10.20.0.3"]
    assert updated.is_port_security_enabled is False and updated.security_group_ids == []
    # 10.20.0.10 was released by the update: another port may take it
    third = conn.network.create_port(network_id=world.network_id, fixed_ips=[{"ip_address": "10.20.0.10"}])
    for p in (port, second, third):
        conn.network.delete_port(p)
    assert port_world.counts(sqlite_controller, world.network_id) == (0, 0)
    r = sqlite_controller.request("GET", f"{PORTS}/{port.id}", token=_token(sqlite_controller, member))
    assert r.status_code == 404 and r.json()["NeutronError"]["type"] == "PortNotFound"


def test_filters_fields_and_paging(sqlite_controller, member, world):
    token = _token(sqlite_controller, member)
    made = []
    for i in range(3):
        r = sqlite_controller.request("POST", PORTS, token=token, json={"port": {
            "network_id": world.network_id, "name": f"p{i}", "device_id": "dev-1" if i else "dev-0",
            "device_owner": "compute:nova"}})
        assert r.status_code == 201, r.text
        made.append(r.json()["port"])
    ip = made[1]["fixed_ips"][0]["ip_address"]
    r = sqlite_controller.request("GET", PORTS, token=token, params=[("fixed_ips", f"ip_address={ip}")])
    assert [p["id"] for p in r.json()["ports"]] == [made[1]["id"]]
    r = sqlite_controller.request("GET", PORTS, token=token,
                                  params=[("fixed_ips", f"subnet_id={world.subnet_id}"), ("device_id", "dev-1")])
    assert {p["id"] for p in r.json()["ports"]} == {made[1]["id"], made[2]["id"]}
    r = sqlite_controller.request("GET", PORTS, token=token, params=[("mac_address", made[0]["mac_address"]),
                                                                     ("fields", "id"), ("fields", "name")])
    assert r.json()["ports"] == [{"id": made[0]["id"], "name": "p0"}]
    r = sqlite_controller.request("GET", PORTS, token=token, params=[
        ("network_id", world.network_id), ("limit", "2"), ("sort_key", "name"), ("sort_dir", "asc")])
    page = r.json()
    assert [p["name"] for p in page["ports"]] == ["p0", "p1"]
    (link,) = [x for x in page["ports_links"] if x["rel"] == "next"]
    r = sqlite_controller.http.get(link["href"], headers={"X-Auth-Token": token})
    assert [p["name"] for p in r.json()["ports"]] == ["p2"]
    r = sqlite_controller.request("GET", PORTS, token=token, params=[("fixed_ips", "address=1")])
    assert r.status_code == 400 and r.json()["NeutronError"]["type"] == "InvalidInput"
    for p in made:
        assert sqlite_controller.request("DELETE", f"{PORTS}/{p['id']}", token=token).status_code == 204


def test_refusals_in_neutrons_words_change_nothing(sqlite_controller, member, other, world):
    token = _token(sqlite_controller, member)
    net = world.network_id
    r = sqlite_controller.request("POST", PORTS, token=token, json={"port": {
        "network_id": net, "mac_address": "fa:16:3e:01:02:03",
        "fixed_ips": [{"subnet_id": world.subnet_id, "ip_address": "10.20.0.50"}]}})
    assert r.status_code == 201, r.text
    msg = _refused(sqlite_controller, world, token, {"port": {"network_id": net, "fixed_ips": [
        {"subnet_id": world.subnet_id, "ip_address": "10.99.0.5"}]}}, 400, "InvalidIpForSubnet")
    assert "10.99.0.5" in msg
    msg = _refused(sqlite_controller, world, token, {"port": {"network_id": net, "fixed_ips": [
        {"ip_address": "10.20.0.50"}]}}, 409, "IpAddressAlreadyAllocated")
    assert "10.20.0.50" in msg
    msg = _refused(sqlite_controller, world, token, {"port": {"network_id": net, "mac_address": "FA:16:3E:01:02:03"}},
                   409, "MacAddressInUse")
    assert "fa:16:3e:01:02:03" in msg and net in msg
    _refused(sqlite_controller, world, token, {"port": {"network_id": net, "mac_address": "ff:ff:ff:ff:ff:ff"}},
             400, "InvalidInput")
    msg = _refused(sqlite_controller, world, token, {"port": {"network_id": net, "colour": "red"}},
                   400, "HTTPBadRequest")
    assert msg == "Unrecognized attribute(s) 'colour'"
    _refused(sqlite_controller, world, token, {"port": {"network_id": net, "status": "ACTIVE"}},
             400, "HTTPBadRequest")
    _refused(sqlite_controller, world, token, {"port": {"network_id": net, "binding:host_id": "c1"}},
             403, "HTTPForbidden")
    _refused(sqlite_controller, world, token, {"port": {"network_id": net, "port_security_enabled": False,
                                                        "allowed_address_pairs": [{"ip_address": "10.0.0.9"}]}},
             409, "AddressPairAndPortSecurityRequired")
    group = port_world.security_group(sqlite_controller, member.project_id)
    _refused(sqlite_controller, world, token, {"port": {"network_id": net, "port_security_enabled": False,
                                                        "security_groups": [group]}},
             409, "PortSecurityAndIPRequiredForSecurityGroups")
    _refused(sqlite_controller, world, token, {"port": "x"}, 400, "InvalidInput")
    _refused(sqlite_controller, world, token, [1], 400, "HTTPBadRequest")
    # another project's network, port and group are as if they did not exist
    theirs = port_world.network(sqlite_controller, other.project_id, cidr="10.21.0.0/24")
    msg = _refused(sqlite_controller, theirs, token, {"port": {"network_id": theirs.network_id}},
                   404, "NetworkNotFound")
    assert theirs.network_id in msg
    their_group = port_world.security_group(sqlite_controller, other.project_id)
    _refused(sqlite_controller, world, token, {"port": {"network_id": net, "security_groups": [their_group]}},
             404, "SecurityGroupNotFound")
    their_port = sqlite_controller.request("POST", PORTS, token=_token(sqlite_controller, other),
                                           json={"port": {"network_id": theirs.network_id}}).json()["port"]
    for method in ("GET", "PUT", "DELETE"):
        _refused(sqlite_controller, theirs, token, {"port": {"name": "x"}}, 404, "PortNotFound",
                 method=method, path=f"{PORTS}/{their_port['id']}")


def test_over_quota_is_neutrons_409_and_changes_nothing(sqlite_controller, member):
    world = port_world.network(sqlite_controller, member.project_id, cidr="10.22.0.0/24")
    token = _token(sqlite_controller, member)
    used = len(sqlite_controller.request("GET", PORTS, token=token).json()["ports"])
    r = sqlite_controller.request("PUT", f"/network/v2.0/quotas/{member.project_id}",
                                  json={"quota": {"port": used + 1}})
    assert r.status_code == 200, r.text
    try:
        r = sqlite_controller.request("POST", PORTS, token=token, json={"port": {"network_id": world.network_id}})
        assert r.status_code == 201, r.text
        msg = _refused(sqlite_controller, world, token, {"port": {"network_id": world.network_id}},
                       409, "OverQuota")
        assert msg == "Quota exceeded for resources: ['port']."
    finally:
        sqlite_controller.request("DELETE", f"/network/v2.0/quotas/{member.project_id}")
        for p in sqlite_controller.request("GET", PORTS, token=token,
                                           params={"network_id": world.network_id}).json()["ports"]:
            sqlite_controller.request("DELETE", f"{PORTS}/{p['id']}", token=token)


def test_binding_is_for_admins_and_shown_only_to_them(sqlite_controller, member, world):
    host = port_world.host(sqlite_controller, "ports-test-host")
    admin, token = sqlite_controller.conn(), _token(sqlite_controller, member)
    r = sqlite_controller.request("POST", PORTS, json={"port": {
        "network_id": world.network_id, "project_id": member.project_id, "binding:host_id": host,
        "device_owner": "compute:nova", "device_id": "server-1"}})
    assert r.status_code == 201, r.text
    bound = r.json()["port"]
    assert (bound["binding:host_id"], bound["binding:vif_type"]) == (host, "bridge")
    assert bound["binding:vif_details"]["bridge_name"] == "brq" + world.network_id[:11]
    mine = sqlite_controller.request("GET", f"{PORTS}/{bound['id']}", token=token).json()["port"]
    assert "binding:host_id" not in mine and "binding:vif_type" not in mine
    assert mine["binding:vnic_type"] == "normal" and mine["device_id"] == "server-1"
    # a host the registry does not know: refused, nothing made
    msg = _refused(sqlite_controller, world, sqlite_controller.admin_token(),
                   {"port": {"network_id": world.network_id, "binding:host_id": "nowhere"}}, 400, "InvalidInput")
    assert "'nowhere'" in msg and "binding:host_id" in msg
    # a member may not move a port to a host; an admin unbinds it
    msg = _refused(sqlite_controller, world, token, {"port": {"binding:host_id": "elsewhere"}}, 403,
                   "HTTPForbidden", method="PUT", path=f"{PORTS}/{bound['id']}")
    assert "update_port:binding:host_id" in msg
    unbound = admin.network.update_port(bound["id"], binding_host_id="")
    assert (unbound.binding_host_id, unbound.binding_vif_type) == ("", "unbound")
    admin.network.delete_port(bound["id"])


def test_router_interface_ports_are_refused_by_the_port_api(sqlite_controller, member, world):
    token = _token(sqlite_controller, member)
    r = sqlite_controller.request("POST", PORTS, token=token, json={"port": {
        "network_id": world.network_id, "device_owner": "network:router_interface", "device_id": "r1"}})
    assert r.status_code == 201, r.text
    port = r.json()["port"]
    assert port["security_groups"] == []  # the network service's own ports get no groups
    msg = _refused(sqlite_controller, world, token, None, 409, "ServicePortInUse", method="DELETE",
                   path=f"{PORTS}/{port['id']}")
    assert msg == (f"Port {port['id']} cannot be deleted directly via the port API: has device owner "
                   "network:router_interface.")
    r = sqlite_controller.request("PUT", f"{PORTS}/{port['id']}", token=token, json={"port": {"device_owner": ""}})
    assert r.status_code == 200
    assert sqlite_controller.request("DELETE", f"{PORTS}/{port['id']}", token=token).status_code == 204


def test_bulk_create_is_all_or_nothing(sqlite_controller, member, world):
    token = _token(sqlite_controller, member)
    r = sqlite_controller.request("POST", PORTS, token=token, json={"ports": [
        {"network_id": world.network_id, "name": "b1"}, {"network_id": world.network_id, "name": "b2"}]})
    assert r.status_code == 201, r.text
    made = r.json()["ports"]
    assert [p["name"] for p in made] == ["b1", "b2"] and made[0]["fixed_ips"] != made[1]["fixed_ips"]
    taken = made[0]["fixed_ips"][0]["ip_address"]
    _refused(sqlite_controller, world, token, {"ports": [
        {"network_id": world.network_id, "name": "b3"},
        {"network_id": world.network_id, "fixed_ips": [{"ip_address": taken}]}]}, 409, "IpAddressAlreadyAllocated")
    _refused(sqlite_controller, world, token, {"port": {"network_id": world.network_id,
                                                        "binding:vnic_type": "direct"}}, 400, "InvalidInput")
    for p in made:
        assert sqlite_controller.request("DELETE", f"{PORTS}/{p['id']}", token=token).status_code == 204


def test_the_openstack_cli_makes_and_changes_ports(sqlite_controller, member):
    cli = sqlite_controller.cli
    net = cli("network", "create", "-f", "json", "cli-ports-net", creds=member)
    sub = cli("subnet", "create", "-f", "json", "--network", net["id"], "--subnet-range", "10.40.0.0/24",
              "cli-ports-sub", creds=member)
    p1 = cli("port", "create", "-f", "json", "--network", net["id"],
             "--fixed-ip", f"subnet={sub['id']},ip-address=10.40.0.20",
             "--allowed-address", "ip-address=10.40.0.100,mac-address=fa:16:3e:00:00:99",
             "--mac-address", "fa:16:3e:12:34:56", "cli-p1", creds=member)
    assert p1["mac_address"] == "fa:16:3e:12:34:56" and p1["status"] == "DOWN"
    assert p1["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.40.0.20"}]
    assert p1["allowed_address_pairs"] == [{"ip_address": "10.40.0.100", "mac_address": "fa:16:3e:00:00:99"}]
    p2 = cli("port", "create", "-f", "json", "--network", "cli-ports-net", "--no-security-group",
             "--disable-port-security", "cli-p2", creds=member)
    assert p2["port_security_enabled"] is False and p2["security_group_ids"] == []
    assert [ip["subnet_id"] for ip in p2["fixed_ips"]] == [sub["id"]]
    listed = cli("port", "list", "-f", "json", "--network", net["id"], creds=member)
    assert {p["Name"] for p in listed} == {"cli-p1", "cli-p2"}
    listed = cli("port", "list", "-f", "json", "--fixed-ip", "ip-address=10.40.0.20", creds=member)
    assert [p["ID"] for p in listed] == [p1["id"]]
    cli("port", "set", "--name", "cli-p1b", "--fixed-ip", f"subnet={sub['id']},ip-address=10.40.0.21",
        p1["id"], creds=member)
    shown = cli("port", "show", "-f", "json", p1["id"], creds=member)
    assert shown["name"] == "cli-p1b"
    assert sorted(ip["ip_address"] for ip in shown["fixed_ips"]) == ["10.40.0.20", "10.40.0.21"]
    cli("port", "unset", "--fixed-ip", f"subnet={sub['id']},ip-address=10.40.0.20", p1["id"], creds=member)
    shown = cli("port", "show", "-f", "json", p1["id"], creds=member)
    assert [ip["ip_address"] for ip in shown["fixed_ips"]] == ["10.40.0.21"]
    refused = cli("port", "create", "--network", net["id"], "--fixed-ip", "ip-address=10.40.0.21", "x",
                  creds=member, check=False)
    assert refused.returncode != 0 and "10.40.0.21" in refused.stderr
    cli("port", "delete", p1["id"], p2["id"], creds=member)
    assert cli("port", "list", "-f", "json", "--network", net["id"], creds=member) == []
    cli("subnet", "delete", sub["id"], creds=member)
    cli("network", "delete", net["id"], creds=member)


def test_ports_on_a_shared_network_are_seen_by_their_project_and_the_network_owner(
        sqlite_controller, member, other):
    shared = port_world.network(sqlite_controller, member.project_id, cidr="10.23.0.0/24", shared=True)
    owner, guest = _token(sqlite_controller, member), _token(sqlite_controller, other)
    r = sqlite_controller.request("POST", PORTS, token=guest, json={"port": {"network_id": shared.network_id}})
    assert r.status_code == 201, r.text
    theirs = r.json()["port"]
    assert theirs["project_id"] == other.project_id
    seen = sqlite_controller.request("GET", PORTS, token=owner, params={"network_id": shared.network_id})
    assert [p["id"] for p in seen.json()["ports"]] == [theirs["id"]]  # Neutron's network owner
    # the guest may not pick an address on a network it does not own (create_port:fixed_ips:ip_address)
    _refused(sqlite_controller, shared, guest, {"port": {"network_id": shared.network_id,
                                                         "fixed_ips": [{"ip_address": "10.23.0.77"}]}},
             403, "HTTPForbidden")
    assert sqlite_controller.request("DELETE", f"{PORTS}/{theirs['id']}", token=guest).status_code == 204
