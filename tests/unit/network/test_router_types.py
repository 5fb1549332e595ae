"""OS::Neutron::Router, RouterInterface, FloatingIP and FloatingIPAssociation in a
template: the records written as the API writes them, the router's host state compiled
into tasks on its network host, and removed again on delete."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from stratus.db.base import Base
from stratus.db.models.hosts import Host
from stratus.db.models.network import FloatingIP, Port, Router, RouterPort
from stratus.db.session import Database
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import PlanContext
from stratus.orchestration.submit import submit, submit_delete
from tests.api.network.l3_records import Records

pytestmark = pytest.mark.network


@pytest.fixture
def world(tmp_path):
    url = f"sqlite:///{tmp_path}/stratus.db"
    database = Database(url)
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        s.add(Host(name="net1", groups=["network"], vars={
            "stratus_tunnel_ip": "192.0.2.11", "stratus_physical_interface_mappings": {"external": "eth9"}}))
    records = Records(url)
    ext, ext_sub = records.network("admin", "203.0.113.0/24", external=True, network_type="flat",
                                   physical_network="external")
    net, sub = records.network("p1", "10.0.0.0/24", dhcp=False)  # no DHCP port keeps it on the host
    yield {"db": database, "ext": ext, "ext_sub": ext_sub, "net": net, "sub": sub}
    records.close()
    database.dispose()


def _modules(job) -> list[tuple[str, str]]:
    """(module, first argument of interest) of every task of the job's playbook."""
    out = []
    for play in job.playbook:
        for t in play.get("tasks", []):
            mod = next((k for k in t if k.startswith("stratus.cloud.")), None)
            if mod:
                args = t[mod].get("__ansible_unsafe", t[mod])
                out.append((mod, args.get("state", "present")))
    return out


TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "parameters": {"ext": {"type": "string"}, "net": {"type": "string"}, "sub": {"type": "string"}},
    "resources": {
        "router": {"type": "OS::Neutron::Router", "properties": {
            "name": "stack-router", "external_gateway_info": {"network": {"get_param": "ext"}}}},
        "iface": {"type": "OS::Neutron::RouterInterface", "properties": {
            "router": {"get_resource": "router"}, "subnet": {"get_param": "sub"}}},
        "port": {"type": "OS::Neutron::Port", "properties": {"network": {"get_param": "net"}}},
        "fip": {"type": "OS::Neutron::FloatingIP", "depends_on": ["iface"], "properties": {
            "floating_network": {"get_param": "ext"}, "port_id": {"get_resource": "port"}}},
    },
}


def test_a_stack_makes_the_records_and_the_router_tasks_then_removes_them(world):
    params = {"ext": world["ext"], "net": world["net"], "sub": world["sub"]}
    with world["db"].session() as s:
        job = submit(s, TEMPLATE, params, project_id="p1", context=PlanContext(cloud_admin=False))
        ids = dict(job.resource_map)
        router = s.get(Router, ids["router"])
        assert router.name == "stack-router" and router.host == "net1" and router.gw_port_id
        owners = sorted(s.scalars(select(Port.device_owner).join(RouterPort, RouterPort.port_id == Port.id)
                                  .where(RouterPort.router_id == router.id)))
        assert owners == ["network:router_gateway", "network:router_interface"]
        fip = s.get(FloatingIP, ids["fip"])
        assert fip.fixed_port_id == ids["port"] and fip.router_id == router.id
        text = json.dumps(job.playbook)
        assert "stratus.cloud.router" in text and "stratus.cloud.floating_ip" in text
        assert '"physical_interface": "eth9"' in text  # the external uplink from the registry
        assert "inventory_hostname == \\\"net1\\\"" in text

    with world["db"].session() as s:
        job = submit_delete(s, [ids["fip"], ids["iface"], ids["router"]], project_id="p1")
        assert s.get(FloatingIP, ids["fip"]) is None and s.get(Router, ids["router"]) is None
        steps = _modules(job)
        assert ("stratus.cloud.router", "absent") in steps
        assert ("stratus.cloud.floating_ip", "absent") in steps
        assert ("stratus.cloud.network", "absent") in steps  # the router's networks leave its host


def test_a_stack_may_not_switch_snat_off_unless_admin(world):
    tpl = {"heat_template_version": "2018-08-31", "resources": {"r": {"type": "OS::Neutron::Router", "properties": {
        "external_gateway_info": {"network": world["ext"], "enable_snat": False}}}}}
    with world["db"].session() as s:
        with pytest.raises(ResourceCheckFailed, match="enable_snat"):
            submit(s, tpl, project_id="p1", context=PlanContext(cloud_admin=False))
        s.rollback()
        assert s.scalar(select(Router.id)) is None
        job = submit(s, tpl, project_id="p1", context=PlanContext(cloud_admin=True))
        assert s.get(Router, job.resource_map["r"]).enable_snat is False
