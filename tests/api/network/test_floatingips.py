"""Floating IPs through the Network API: allocate from an external network, associate
with a port behind a router, disassociate, release; and the refusals, each shown to
change nothing."""

from __future__ import annotations

import ipaddress

import pytest

from tests.api.network.test_routers import _error

pytestmark = [pytest.mark.api, pytest.mark.network]

BASE = "/network/v2.0/floatingips"


@pytest.fixture
def l3(sqlite_controller, records):
    """A member's tenant network behind a router with its gateway on an external network,
    and a port on it."""
    c = sqlite_controller
    creds = c.new_project_user("member", prefix="fip")
    token = c.token(creds)
    ext_net, ext_sub = records.network("admin-owned", "192.0.2.0/24", external=True, network_type="flat",
                                       physical_network="external")
    net, sub = records.network(creds.project_id, "10.50.0.0/24")
    conn = c.conn(creds)
    router = conn.network.create_router(name="r", external_gateway_info={"network_id": ext_net})
    conn.network.add_interface_to_router(router, subnet_id=sub)
    port = conn.network.create_port(network_id=net)
    return {"creds": creds, "token": token, "conn": conn, "ext": ext_net, "ext_sub": ext_sub, "net": net,
            "sub": sub, "router": router, "port": port}


def test_allocate_associate_disassociate_release(sqlite_controller, records, l3):
    conn, port = l3["conn"], l3["port"]
    fip = conn.network.create_ip(floating_network_id=l3["ext"], description="web")
    assert ipaddress.ip_address(fip.floating_ip_address) in ipaddress.ip_network("192.0.2.0/24")
    assert fip.status == "DOWN" and fip.port_id is None and fip.router_id is None
    assert fip.project_id == l3["creds"].project_id and fip.description == "web"
    held = records.snapshot()["counts"]["network_ip_allocations"]

    fixed = port.fixed_ips[0]["ip_address"]
    fip = conn.network.update_ip(fip, port_id=port.id)
    assert (fip.port_id, fip.fixed_ip_address, fip.router_id) == (port.id, fixed, l3["router"].id)
    listed = list(conn.network.ips(port_id=port.id))
    assert [f.id for f in listed] == [fip.id]
    assert list(conn.network.ips(floating_ip_address=fip.floating_ip_address))[0].id == fip.id

    fip = conn.network.update_ip(fip, port_id=None)
    assert (fip.port_id, fip.fixed_ip_address, fip.router_id, fip.status) == (None, None, None, "DOWN")

    # allocated and associated at once
    other = conn.network.create_ip(floating_network_id=l3["ext"], port_id=port.id)
    assert other.port_id == port.id and other.router_id == l3["router"].id
    conn.network.delete_ip(other)
    conn.network.delete_ip(fip)
    assert conn.network.find_ip(fip.id) is None
    assert records.snapshot()["counts"]["network_ip_allocations"] == held - 1  # both addresses freed


def test_association_refusals_change_nothing(sqlite_controller, records, l3):
    c, token, conn = sqlite_controller, l3["token"], l3["conn"]
    fip = conn.network.create_ip(floating_network_id=l3["ext"])
    lonely_net, lonely_sub = records.network(l3["creds"].project_id, "10.51.0.0/24")
    lonely = conn.network.create_port(network_id=lonely_net)
    other = c.new_project_user("member", prefix="fipo")
    theirs_net, _ = records.network(other.project_id, "10.52.0.0/24")
    theirs = c.conn(other).network.create_port(network_id=theirs_net)
    router_port = next(conn.network.ports(device_owner="network:router_interface"))

    before = records.snapshot()
    _error(c.request("PUT", f"{BASE}/{fip.id}", token, json={"floatingip": {"port_id": lonely.id}}),
           404, "ExternalGatewayForFloatingIPNotFound",
           f"External network {l3['ext']} is not reachable from subnet {lonely_sub}.  Therefore, cannot "
           f"associate Port {lonely.id} with a Floating IP.")
    _error(c.request("PUT", f"{BASE}/{fip.id}", token, json={"floatingip": {"port_id": theirs.id}}),
           404, "PortNotFound")
    _error(c.request("PUT", f"{BASE}/{fip.id}", token, json={"floatingip": {
        "port_id": l3["port"].id, "fixed_ip_address": "10.50.0.200"}}), 400, "BadRequest", "does not have fixed ip")
    _error(c.request("PUT", f"{BASE}/{fip.id}", token, json={"floatingip": {"port_id": router_port.id}}),
           400, "BadRequest", "network:router_interface")
    _error(c.request("PUT", f"{BASE}/{fip.id}", token, json={"floatingip": {"floating_ip_address": "1.2.3.4"}}),
           400, "HTTPBadRequest", "floating_ip_address")
    _error(c.request("POST", BASE, token, json={"floatingip": {"floating_network_id": l3["net"]}}),
           400, "BadRequest", "is not a valid external network")
    _error(c.request("POST", BASE, token, json={"floatingip": {"floating_network_id": theirs_net}}),
           404, "NetworkNotFound")
    _error(c.request("POST", BASE, token, json={"floatingip": {"floating_network_id": l3["ext"],
                                                               "floating_ip_address": "192.0.2.77"}}),
           403, "HTTPForbidden", "create_floatingip:floating_ip_address")
    _error(c.request("POST", BASE, token, json={"floatingip": {}}), 400, "HTTPBadRequest", "floating_network_id")
    _error(c.request("POST", BASE, token, json={"floatingip": {"floating_network_id": l3["ext"], "x": 1}}),
           400, "HTTPBadRequest", "Unrecognized attribute(s) 'x'")
    _error(c.request("GET", f"{BASE}/{fip.id}", c.token(other)), 404, "FloatingIPNotFound")
    _error(c.request("DELETE", f"{BASE}/{fip.id}", c.token(other)), 404, "FloatingIPNotFound")
    assert records.snapshot() == before

    # one floating IP per fixed IP; the router's gateway stays while it maps one
    conn.network.update_ip(fip, port_id=l3["port"].id)
    second = conn.network.create_ip(floating_network_id=l3["ext"])
    before = records.snapshot()
    _error(c.request("PUT", f"{BASE}/{second.id}", token, json={"floatingip": {"port_id": l3["port"].id}}),
           409, "FloatingIPPortAlreadyAssociated")
    _error(c.request("PUT", f"/network/v2.0/routers/{l3['router'].id}", token,
                     json={"router": {"external_gateway_info": {}}}),
           409, "RouterExternalGatewayInUseByFloatingIp")
    _error(c.request("PUT", f"/network/v2.0/routers/{l3['router'].id}/remove_router_interface", token,
                     json={"subnet_id": l3["sub"]}), 409, "RouterInterfaceInUseByFloatingIP")
    assert records.snapshot() == before


def test_admin_address_and_quota(sqlite_controller, records, l3):
    c, token, creds = sqlite_controller, l3["token"], l3["creds"]
    r = c.request("POST", BASE, json={"floatingip": {"floating_network_id": l3["ext"],
                                                     "floating_ip_address": "192.0.2.77",
                                                     "project_id": creds.project_id}})
    assert r.status_code == 201, r.text
    assert r.json()["floatingip"]["floating_ip_address"] == "192.0.2.77"
    before = records.snapshot()
    _error(c.request("POST", BASE, json={"floatingip": {"floating_network_id": l3["ext"],
                                                        "floating_ip_address": "192.0.2.77"}}),
           409, "IpAddressAlreadyAllocated")
    assert records.snapshot() == before
    r = c.request("PUT", f"/network/v2.0/quotas/{creds.project_id}", json={"quota": {"floatingip": 1}})
    assert r.status_code == 200, r.text
    _error(c.request("POST", BASE, token, json={"floatingip": {"floating_network_id": l3["ext"]}}),
           409, "OverQuota", "Quota exceeded for resources: ['floatingip']")
    assert records.snapshot() == before
    listed = c.cli("floating", "ip", "list", "-f", "json", creds=creds)
    assert [f["Floating IP Address"] for f in listed] == ["192.0.2.77"]


def test_floating_ip_cli(sqlite_controller, records, l3):
    c, creds, port = sqlite_controller, l3["creds"], l3["port"]
    made = c.cli("floating", "ip", "create", l3["ext"], "--description", "cli", "-f", "json", creds=creds)
    assert made["status"] == "DOWN" and made["description"] == "cli"
    c.cli("floating", "ip", "set", made["id"], "--port", port.id, creds=creds)
    shown = c.cli("floating", "ip", "show", made["id"], "-f", "json", creds=creds)
    assert (shown["port_id"], shown["router_id"]) == (port.id, l3["router"].id)
    assert shown["fixed_ip_address"] == port.fixed_ips[0]["ip_address"]
    listed = c.cli("floating", "ip", "list", "--port", port.id, "-f", "json", creds=creds)
    assert [f["ID"] for f in listed] == [made["id"]]
    c.cli("floating", "ip", "unset", made["id"], "--port", creds=creds)
    assert c.cli("floating", "ip", "show", made["id"], "-f", "json", creds=creds)["port_id"] is None
    c.cli("floating", "ip", "delete", made["id"], creds=creds)
    assert c.cli("floating", "ip", "list", "-f", "json", creds=creds) == []
