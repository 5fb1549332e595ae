"""A server's NICs from Neutron's records: the guest's network_data.json (DHCP and
static subnets, routes, DNS), the server view's ``addresses`` (fixed and floating, by
network name) and the instance module's NICs (Neutron linuxbridge's device names)."""

from __future__ import annotations

import pytest

import stratus.db.models  # noqa: F401 - registers every table
from stratus.compute import nics
from stratus.db.base import Base
from stratus.db.models.network import FloatingIP, IPAllocation, Network, Port, Subnet
from stratus.db.session import Database

NET, NET2, SERVER = "11111111-aaaa-4bbb-8ccc-000000000001", "11111111-aaaa-4bbb-8ccc-000000000002", "srv-1"


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        s.add_all([Network(id=NET, project_id="p", name="private", mtu=1450),
                   Network(id=NET2, project_id="p", name="static", mtu=1500),
                   Network(id="ext", project_id="admin", name="public", external=True)])
        s.flush()
        s.add_all([Subnet(id="s1", project_id="p", network_id=NET, ip_version=4, cidr="10.0.0.0/24",
                          gateway_ip="10.0.0.1", enable_dhcp=True, dns_nameservers=["10.0.0.53"]),
                   Subnet(id="s2", project_id="p", network_id=NET2, ip_version=4, cidr="192.168.5.0/24",
                          gateway_ip="192.168.5.1", enable_dhcp=False, dns_nameservers=["9.9.9.9"],
                          host_routes=[{"destination": "172.16.0.0/16", "nexthop": "192.168.5.254"}]),
                   Subnet(id="s3", project_id="admin", network_id="ext", ip_version=4, cidr="203.0.113.0/24")])
        s.flush()
        s.add_all([Port(id="p-dhcp-port-1", project_id="p", network_id=NET, mac_address="fa:16:3e:00:00:01",
                        device_id=SERVER, device_owner="compute:nova"),
                   Port(id="p-static-po2", project_id="p", network_id=NET2, mac_address="fa:16:3e:00:00:02",
                        device_id=SERVER, device_owner="compute:nova"),
                   Port(id="fip-port", project_id="admin", network_id="ext", mac_address="fa:16:3e:00:00:03",
                        device_owner="network:floatingip")])
        s.flush()
        s.add_all([IPAllocation(network_id=NET, subnet_id="s1", port_id="p-dhcp-port-1", ip_address="10.0.0.5"),
                   IPAllocation(network_id=NET2, subnet_id="s2", port_id="p-static-po2",
                                ip_address="192.168.5.9"),
                   FloatingIP(id="f1", project_id="p", floating_network_id="ext",
                              floating_ip_address="203.0.113.7", fixed_port_id="p-dhcp-port-1",
                              fixed_ip_address="10.0.0.5")])
    yield database
    database.dispose()


def test_network_data_is_novas_dhcp_or_static_with_routes_and_dns(db):
    with db.session() as s:
        rows = [s.get(Port, "p-dhcp-port-1"), s.get(Port, "p-static-po2")]
        data = nics.network_data(s, rows, {NET: s.get(Network, NET), NET2: s.get(Network, NET2)})
    assert data["links"] == [
        {"id": "tapp-dhcp-port", "vif_id": "p-dhcp-port-1", "type": "bridge", "mtu": 1450,
         "ethernet_mac_address": "fa:16:3e:00:00:01"},
        {"id": "tapp-static-po", "vif_id": "p-static-po2", "type": "bridge", "mtu": 1500,
         "ethernet_mac_address": "fa:16:3e:00:00:02"}]
    assert data["networks"][0] == {"id": "network0", "link": "tapp-dhcp-port", "network_id": NET,
                                   "type": "ipv4_dhcp"}
    assert data["networks"][1] == {
        "id": "network1", "link": "tapp-static-po", "network_id": NET2, "type": "ipv4",
        "ip_address": "192.168.5.9", "netmask": "255.255.255.0",
        "routes": [{"network": "172.16.0.0", "netmask": "255.255.0.0", "gateway": "192.168.5.254"},
                   {"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "192.168.5.1"}],
        "services": [{"type": "dns", "address": "9.9.9.9"}]}
    assert data["services"] == [{"type": "dns", "address": "10.0.0.53"}, {"type": "dns", "address": "9.9.9.9"}]


def test_addresses_by_network_name_fixed_then_its_floating(db):
    with db.session() as s:
        got = nics.addresses(s, [SERVER, "no-ports"])
    assert got["no-ports"] == {}
    assert got[SERVER] == {
        "private": [{"version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed",
                     "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"},
                    {"version": 4, "addr": "203.0.113.7", "OS-EXT-IPS:type": "floating",
                     "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:01"}],
        "static": [{"version": 4, "addr": "192.168.5.9", "OS-EXT-IPS:type": "fixed",
                    "OS-EXT-IPS-MAC:mac_addr": "fa:16:3e:00:00:02"}]}


def test_a_nic_names_the_bridge_and_tap_as_neutron_linuxbridge(db):
    with db.session() as s:
        nic = nics.nic(s.get(Port, "p-dhcp-port-1"), s.get(Network, NET))
    assert nic == {"port_id": "p-dhcp-port-1", "mac": "fa:16:3e:00:00:01", "bridge": "brq11111111-aa",
                   "target": "tapp-dhcp-port", "mtu": 1450}


def _server_res(attributes):
    from stratus.orchestration.resources import PlannedResource

    return PlannedResource("server", "OS::Nova::Server", "srv-1", {"name": "vm", "image": "img"},
                           hosts=["c1"], placed=True, project_id="p",
                           attributes={"flavor": {"vcpus": 1, "ram": 128, "disk": 1}, "power_state": "running",
                                       **attributes})


def test_the_interfaces_action_plugs_segments_then_the_guests_nics_then_its_ports():
    from stratus.orchestration.types.nova_actions import config_drive
    from stratus.orchestration.types.nova_server import Server

    segment = {"segment": {"id": NET, "type": "local", "segmentation_id": None, "physical_network": None,
                           "mtu": 1450}, "hosts": {"c1": "present"}, "dhcp": None}
    port = {"id": "p-dhcp-port-1", "host": "c1", "network_id": NET, "state": "present", "security": None,
            "args": {"port_id": "p-dhcp-port-1", "network_id": NET, "mac_address": "fa:16:3e:00:00:01"}}
    gone = {"id": "p-old-port-99", "host": "c1", "network_id": NET, "state": "absent"}
    res = _server_res({
        "nics": [{"port_id": "p-dhcp-port-1", "mac": "fa:16:3e:00:00:01", "bridge": "brq11111111-aa",
                  "target": "tapp-dhcp-port", "mtu": 1450}],
        "network_data": {"links": [], "networks": [], "services": []},
        "segments": {"networks": {NET: segment}, "ports": [], "routers": []},
        "converge": {"networks": {}, "ports": [port, gone], "routers": []}})
    tasks = Server.plan_action(res, "interfaces", {})
    modules = [next(k for k in t if k.startswith("stratus.cloud.")) for t in tasks]
    assert modules[0] == "stratus.cloud.network" and modules[1] == "stratus.cloud.instance"
    assert modules[-1] == "stratus.cloud.port" and "stratus.cloud.port" in modules[2:-1]
    instance = {k: v.get("__ansible_unsafe", v) if isinstance(v, dict) else v
                for k, v in tasks[1]["stratus.cloud.instance"].items()}  # user values are !unsafe
    assert instance["nics"] == [{"mac": "fa:16:3e:00:00:01", "bridge": "brq11111111-aa", "target": "tapp-dhcp-port",
                                 "mtu": 1450}]
    assert instance["state"] == "running" and "network_data" in instance
    assert config_drive(res)["network_data"] == {"links": [], "networks": [], "services": []}


def test_a_server_without_ports_keeps_the_nics_its_guest_has():
    from stratus.orchestration.types.nova_server import Server, nic_options

    res = _server_res({})
    assert nic_options(res) == {}
    assert "nics" not in Server._instance(res, "running")
