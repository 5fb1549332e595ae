"""router_hosts: a router's host state from its records, and the tasks that realise it."""

from __future__ import annotations

import pytest

from stratus.db.models.jobs import Resource
from stratus.db.models.network import (
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    Router,
    RouterPort,
    Subnet,
)
from stratus.network import router_hosts
from stratus.orchestration.resources import PlannedResource
from tests.helpers.db import sqlite_session

pytestmark = pytest.mark.network


def _port(s, pid, net, owner, subnet, ip, router="r1"):
    s.add(Port(id=pid, project_id="p", network_id=net, mac_address=f"fa:16:3e:00:00:{pid[-2:]}",
               device_owner=owner, device_id=router))
    s.flush()
    s.add(IPAllocation(network_id=net, subnet_id=subnet, port_id=pid, ip_address=ip))
    s.add(RouterPort(router_id=router, port_id=pid, port_type=owner))


@pytest.fixture
def db(tmp_path):
    with sqlite_session(tmp_path) as s:
        s.add_all([Network(id="ext", project_id="admin", external=True, network_type="flat",
                           physical_network="external", mtu=1500),
                   Network(id="t1", project_id="p", mtu=1450)])
        s.flush()
        s.add_all([Subnet(id="ext-s", project_id="admin", network_id="ext", ip_version=4,
                          cidr="203.0.113.0/24", gateway_ip="203.0.113.1"),
                   Subnet(id="t1-s", project_id="p", network_id="t1", ip_version=4,
                          cidr="10.0.0.0/24", gateway_ip="10.0.0.1")])
        s.add(Router(id="r1", project_id="p", host="net1", routes=[
            {"destination": "172.16.0.0/16", "nexthop": "10.0.0.254"}]))
        s.flush()
        yield s


def test_desired_names_interfaces_gateway_routes_and_associated_floating_ips(db):
    _port(db, "gw-00000001", "ext", router_hosts.GATEWAY, "ext-s", "203.0.113.10")
    _port(db, "if-00000002", "t1", router_hosts.INTERFACE, "t1-s", "10.0.0.1")
    db.add(Port(id="vm-00000003", project_id="p", network_id="t1", mac_address="fa:16:3e:00:00:03"))
    db.flush()
    db.add_all([FloatingIP(id="f1", project_id="p", floating_network_id="ext", floating_ip_address="203.0.113.20",
                           fixed_port_id="vm-00000003", fixed_ip_address="10.0.0.5", router_id="r1"),
                FloatingIP(id="f2", project_id="p", floating_network_id="ext", floating_ip_address="203.0.113.21")])
    db.flush()
    d = router_hosts.desired(db, "r1")
    assert d["host"] == "net1" and sorted(d["networks"]) == ["ext", "t1"]
    r = d["router"]
    assert r["mtu"] == 1450
    assert r["interfaces"] == [{"network_id": "t1", "port_id": "if-00000002", "mac": "fa:16:3e:00:00:02",
                                "cidr": "10.0.0.0/24", "ip": "10.0.0.1"}]
    assert r["external_gateway"] == {"network_id": "ext", "port_id": "gw-00000001", "mac": "fa:16:3e:00:00:01",
                                     "cidr": "203.0.113.0/24", "ip": "203.0.113.10",
                                     "gateway_ip": "203.0.113.1", "enable_snat": True}
    assert r["routes"] == [{"destination": "172.16.0.0/16", "nexthop": "10.0.0.254"}]
    assert d["floating_ips"] == [{"floating_ip": "203.0.113.20", "fixed_ip": "10.0.0.5"}]


def test_no_gateway_no_floating_ips_and_no_host_no_state(db):
    _port(db, "if-00000002", "t1", router_hosts.INTERFACE, "t1-s", "10.0.0.1")
    d = router_hosts.desired(db, "r1")
    assert d["router"]["external_gateway"] is None and d["floating_ips"] == []
    db.get(Router, "r1").host = None
    assert router_hosts.desired(db, "r1") is None
    assert router_hosts.desired(db, "nope") is None


def _args(t, module):
    body = t[module]
    return body.get("__ansible_unsafe", body)  # user data is emitted as !unsafe


def _res():
    return PlannedResource("r", "OS::Neutron::Router", "r1", {}, hosts=["net1"], placed=True)


def test_floating_ips_gone_since_the_recorded_state(db):
    _port(db, "gw-00000001", "ext", router_hosts.GATEWAY, "ext-s", "203.0.113.10")
    db.add(Resource(id="r1", name="r", type="OS::Neutron::Router", project_id="p"))
    db.flush()
    router_hosts.record(db, "r1", {"host": "net1", "floating_ips": [
        {"floating_ip": "203.0.113.20", "fixed_ip": "10.0.0.5"}]})
    assert router_hosts.desired(db, "r1")["floating_ips_gone"] == ["203.0.113.20"]
    router_hosts.record(db, "r1", {"host": "net9", "floating_ips": [
        {"floating_ip": "203.0.113.20", "fixed_ip": "10.0.0.5"}]})
    assert router_hosts.desired(db, "r1")["floating_ips_gone"] == []  # moved: its namespace goes


def test_tasks_remove_gone_floating_ips_then_router_then_floating_ips():
    d = {"router_id": "r1", "host": "net1", "networks": [], "floating_ips_gone": ["203.0.113.20", "203.0.113.21"],
         "floating_ips": [{"floating_ip": "203.0.113.20", "fixed_ip": "10.0.0.6"}],
         "router": {"router_id": "r1", "mtu": None, "interfaces": [], "external_gateway": None, "routes": []}}
    out = router_hosts.tasks(_res(), d)
    modules = [next(k for k in t if k.startswith("stratus.cloud.")) for t in out]
    assert modules == ["stratus.cloud.floating_ip"] * 2 + ["stratus.cloud.router", "stratus.cloud.floating_ip"]
    assert [_args(t, "stratus.cloud.floating_ip")["state"] for t in out[:2]] == ["absent", "absent"]
    assert "mtu" not in _args(out[2], "stratus.cloud.router")
    assert "external_gateway" not in _args(out[2], "stratus.cloud.router")
    assert _args(out[3], "stratus.cloud.floating_ip")["fixed_ip"] == "10.0.0.6"
    assert _args(out[3], "stratus.cloud.floating_ip")["gratuitous_arp"] is True
    assert all(t["when"] == "inventory_hostname == \"net1\"" for t in out)


def test_tasks_absent_remove_the_namespace_where_it_was():
    prev = {"router_id": "r1", "host": "net2", "floating_ips": []}
    out = router_hosts.tasks(_res(), prev, "absent")
    assert [_args(t, "stratus.cloud.router") for t in out] == [{"router_id": "r1", "state": "absent"}]
    assert out[0]["when"] == "inventory_hostname == \"net2\""
    assert router_hosts.tasks(_res(), None, "absent") == []
