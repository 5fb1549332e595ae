"""The ports service on a database: MACs, fixed IPs, security, pairs, binding, update,
delete, the view, and the ``OS::Neutron::Port`` resource it submits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

import stratus.db.models  # noqa: F401 - registers every table
from stratus.db.base import Base
from stratus.db.models.hosts import Host
from stratus.db.models.jobs import Job, Resource
from stratus.db.models.network import (
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    Subnet,
)
from stratus.db.session import Database
from stratus.errors import ApiError
from stratus.network import ports
from stratus.orchestration.errors import ResourceCheckFailed


@dataclass(frozen=True)
class Ctx:
    project_id: str = "p1"
    is_admin: bool = False
    user_id: str = "u1"


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def net(db):
    net_id, sub_id = str(uuid.uuid4()), str(uuid.uuid4())
    with db.session() as s:
        s.add(Network(id=net_id, project_id="p1", name="n"))
        s.flush()
        s.add(Subnet(id=sub_id, project_id="p1", network_id=net_id, ip_version=4, cidr="10.0.0.0/28",
                     gateway_ip="10.0.0.1", allocation_pools=[{"start": "10.0.0.2", "end": "10.0.0.14"}]))
        s.add(SecurityGroup(id="sg1", project_id="p1", name="web"))
        s.add(SecurityGroup(id="sg-other", project_id="p2", name="theirs"))
    return net_id, sub_id


def _count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _refused(db, attrs, ctx=Ctx()) -> ApiError:
    before = (_count(db, Port), _count(db, IPAllocation))
    with pytest.raises(ApiError) as err, db.session() as s:
        ports.create(s, ctx, attrs)
    assert (_count(db, Port), _count(db, IPAllocation)) == before  # nothing changed
    return err.value


def test_create_gives_a_mac_under_the_base_and_the_first_free_address(db, net):
    net_id, sub_id = net
    with db.session() as s:
        port = ports.create(s, Ctx(), {"network_id": net_id, "name": "a"})
        doc = ports.view(s, port, Ctx())
        job = s.get(Job, s.get(Resource, port.id).last_job_id)
        default = ports.default_group_ids(s, "p1")  # the project's default group (once secgroups is in)
    assert doc["mac_address"].startswith("fa:16:3e:") and doc["status"] == "DOWN"
    assert doc["fixed_ips"] == [{"subnet_id": sub_id, "ip_address": "10.0.0.2"}]
    assert doc["project_id"] == doc["tenant_id"] == "p1" and doc["security_groups"] == default
    assert "binding:host_id" not in doc and doc["binding:vnic_type"] == "normal"
    assert job.playbook == [] or all(not play["tasks"] for play in job.playbook)  # unbound: runs nothing


def test_given_mac_and_address_and_their_refusals(db, net):
    net_id, sub_id = net
    with db.session() as s:
        port = ports.create(s, Ctx(), {"network_id": net_id, "mac_address": "FA-16-3E-AA-BB-CC",
                                       "fixed_ips": [{"subnet_id": sub_id, "ip_address": "10.0.0.9"}]})
        assert port.mac_address == "fa:16:3e:aa:bb:cc"
    err = _refused(db, {"network_id": net_id, "mac_address": "fa:16:3e:aa:bb:cc"})
    assert (err.status, err.type) == (409, "MacAddressInUse") and "fa:16:3e:aa:bb:cc" in err.message
    err = _refused(db, {"network_id": net_id, "fixed_ips": [{"ip_address": "10.0.0.9"}]})
    assert (err.status, err.type) == (409, "IpAddressAlreadyAllocated")
    err = _refused(db, {"network_id": net_id, "fixed_ips": [{"subnet_id": sub_id, "ip_address": "10.9.0.9"}]})
    assert err.status == 400 and err.type == "InvalidIpForSubnet"
    err = _refused(db, {"network_id": net_id, "mac_address": "01:00:5e:00:00:01"})
    assert err.status == 400 and "mac_address" in err.message
    err = _refused(db, {"network_id": net_id, "bogus": 1})
    assert err.status == 400 and err.message == "Unrecognized attribute(s) 'bogus'"
    err = _refused(db, {"network_id": net_id}, Ctx(project_id="p2"))
    assert (err.status, err.type) == (404, "NetworkNotFound")


def test_port_security_refuses_groups_and_pairs_when_off(db, net):
    net_id, _ = net
    err = _refused(db, {"network_id": net_id, "port_security_enabled": False, "security_groups": ["sg1"]})
    assert (err.status, err.type) == (409, "PortSecurityAndIPRequiredForSecurityGroups")
    err = _refused(db, {"network_id": net_id, "port_security_enabled": False,
                        "allowed_address_pairs": [{"ip_address": "10.0.0.100"}]})
    assert (err.status, err.type) == (409, "AddressPairAndPortSecurityRequired")
    err = _refused(db, {"network_id": net_id, "security_groups": ["sg-other"]})
    assert (err.status, err.type) == (404, "SecurityGroupNotFound")
    err = _refused(db, {"network_id": net_id, "allowed_address_pairs": [{"ip_address": "x"}]})
    assert err.status == 400 and "allowed_address_pairs" in err.message
    with db.session() as s:
        port = ports.create(s, Ctx(), {"network_id": net_id, "security_groups": ["sg1"],
                                       "allowed_address_pairs": [{"ip_address": "10.1.0.0/24"}]})
        doc = ports.view(s, port, Ctx())
    assert doc["security_groups"] == ["sg1"]
    assert doc["allowed_address_pairs"] == [{"ip_address": "10.1.0.0/24", "mac_address": port.mac_address}]


def test_update_fixed_ips_groups_and_security(db, net):
    net_id, sub_id = net
    with db.session() as s:
        port = ports.create(s, Ctx(), {"network_id": net_id, "security_groups": ["sg1"]})
        ports.update(s, Ctx(), port, {"fixed_ips": [{"ip_address": "10.0.0.2"}, {"ip_address": "10.0.0.7"}],
                                      "name": "b"})
        assert [ip["ip_address"] for ip in ports.fixed_ips(s, port.id)] == ["10.0.0.2", "10.0.0.7"]
        ports.update(s, Ctx(), port, {"fixed_ips": [{"subnet_id": sub_id, "ip_address": "10.0.0.7"}]})
        assert [ip["ip_address"] for ip in ports.fixed_ips(s, port.id)] == ["10.0.0.7"]
        with pytest.raises(ApiError) as err:
            ports.update(s, Ctx(), port, {"port_security_enabled": False})
        assert err.value.type == "PortSecurityAndIPRequiredForSecurityGroups"
    with db.session() as s:
        port = s.scalars(select(Port)).one()
        ports.update(s, Ctx(), port, {"port_security_enabled": False, "security_groups": []})
        assert not port.port_security_enabled and ports.group_ids(s, port.id) == []
        assert port.revision_number >= 3 and port.name == "b"


def test_bind_unbind_and_delete_row(db, net):
    net_id, _ = net
    with db.session() as s:
        s.add(Host(name="c1", groups=["compute"]))
        port = ports.create(s, Ctx(), {"network_id": net_id, "security_groups": ["sg1"]})
        ports.bind(s, port, "c1", "server-1", "compute:nova")
        doc = ports.view(s, port, Ctx(is_admin=True))
        assert (doc["binding:host_id"], doc["binding:vif_type"], doc["device_owner"]) == \
            ("c1", "bridge", "compute:nova")
        ports.unbind(s, port)
        assert (port.binding_host_id, port.binding_vif_type, port.device_id) == ("", "unbound", "")
        ports.delete_row(s, port)
    assert (_count(db, Port), _count(db, IPAllocation), _count(db, PortSecurityGroup)) == (0, 0, 0)


def test_router_interface_ports_cannot_be_deleted_directly(db, net):
    net_id, _ = net
    with db.session() as s:
        port = ports.create(s, Ctx(), {"network_id": net_id, "device_owner": "network:router_interface"},
                            internal=True)
        with pytest.raises(ApiError) as err:
            ports.delete(s, Ctx(), port)
    assert err.value.status == 409 and "network:router_interface" in err.value.message
    assert s.get(Resource, port.id) is None  # an internal port has no resource


def _stack_port(props: dict) -> dict:
    return {"heat_template_version": "2018-08-31", "resources": {"port": {"type": ports.TYPE, "properties": props}}}


def test_a_stack_update_reaches_the_record_and_keeps_its_addresses(db, net):
    from stratus.orchestration.submit import submit, submit_update

    net_id, sub_id = net
    with db.session() as s:
        job = submit(s, _stack_port({"network": net_id, "name": "a", "fixed_ips": [{"subnet": sub_id}]}),
                     project_id="p1")
        port_id = job.resource_map["port"]
    with db.session() as s:
        submit_update(s, port_id, {"name": "b", "fixed_ips": [{"subnet": sub_id}]})
        row = s.get(Port, port_id)
        assert row.name == "b" and [ip["ip_address"] for ip in ports.fixed_ips(s, port_id)] == ["10.0.0.2"]
        submit_update(s, port_id, {"fixed_ips": [{"subnet": sub_id, "ip_address": "10.0.0.9"}],
                                   "security_groups": ["sg1"]})
        assert [ip["ip_address"] for ip in ports.fixed_ips(s, port_id)] == ["10.0.0.9"]
        assert ports.group_ids(s, port_id) == ["sg1"]
    with pytest.raises(ResourceCheckFailed, match="Port security must be enabled") as err, \
            db.session() as s:  # refused as the API refuses it
        submit_update(s, port_id, {"port_security_enabled": False})
    assert err.value.status == 409
    with db.session() as s:
        assert s.get(Port, port_id).port_security_enabled is True


def test_the_record_status_follows_the_resource(db, net):
    from stratus.orchestration.types.neutron_port import Port as PortType

    net_id, _ = net
    with db.session() as s:
        s.add(Host(name="c1", groups=["compute"]))
        port = ports.create(s, Ctx(), {"network_id": net_id})
        resource = s.get(Resource, port.id)
        resource.status = "ACTIVE"
        PortType.on_state(s, resource)
        assert port.status == "DOWN"  # realized, but bound nowhere
        ports.bind(s, port, "c1", "server-1", "compute:nova")
        PortType.on_state(s, resource)
        assert port.status == "ACTIVE"
        port.admin_state_up = False
        PortType.on_state(s, resource)
        assert port.status == "DOWN"
        port.admin_state_up, resource.status = True, "ERROR"
        PortType.on_state(s, resource)
        assert port.status == "ERROR"


def test_a_generated_mac_that_is_taken_is_drawn_again(db, net, monkeypatch):
    from stratus.network import macs

    net_id, _ = net
    with db.session() as s:
        first = ports.create(s, Ctx(), {"network_id": net_id})
    drawn = iter([first.mac_address, first.mac_address, "fa:16:3e:00:00:77"])
    monkeypatch.setattr(macs, "generate", lambda base: next(drawn))
    with db.session() as s:
        second = ports.create(s, Ctx(), {"network_id": net_id})
    assert second.mac_address == "fa:16:3e:00:00:77"
    monkeypatch.setattr(macs, "generate", lambda base: first.mac_address)
    err = _refused(db, {"network_id": net_id})  # every draw taken: Neutron's 409
    assert (err.status, err.type) == (409, "MacAddressGenerationFailure")


def test_generated_macs_keep_the_base_prefix():
    from stratus.network import macs

    assert macs.generate("fa:16:3e:00:00:00")[:9] == "fa:16:3e:"
    assert macs.generate("fa:16:3e:4f:00:00")[:12] == "fa:16:3e:4f:"
    assert macs.normalize("FA16.3E".replace(".", "") + "010203") == "fa:16:3e:01:02:03"


def test_a_stack_delete_removes_the_record_and_frees_its_address(db, net):
    from stratus.orchestration.submit import submit, submit_delete

    net_id, sub_id = net
    with db.session() as s:
        job = submit(s, _stack_port({"network": net_id, "fixed_ips": [{"subnet": sub_id, "ip_address": "10.0.0.5"}]}),
                     project_id="p1")
        port_id = job.resource_map["port"]
    with db.session() as s:
        submit_delete(s, [port_id])
        assert s.get(Resource, port_id).status == "DELETING"
    assert (_count(db, Port), _count(db, IPAllocation)) == (0, 0)


def test_deleting_a_port_a_server_bound_unplugs_it_where_it_is(db, net):
    """A port Nova bound (``ports.bind``, plugged by the server's job, not the port's own)
    is unplugged from that host by its delete job."""
    from stratus.network import hostplan

    if not hasattr(hostplan, "converge"):
        pytest.skip("hostplan (h/hosts) is not merged yet: no host state to plan")
    net_id, _ = net
    with db.session() as s:
        s.get(Network, net_id).segmentation_id = 5000
        s.add(Host(name="c1", groups=["compute"], vars={"stratus_tunnel_ip": "192.0.2.1"}))
        port = ports.create(s, Ctx(), {"network_id": net_id})
        ports.bind(s, port, "c1", "server-1", "compute:nova")
    with db.session() as s:
        ports.delete(s, Ctx(), s.get(Port, port.id))
        job = s.get(Job, s.get(Resource, port.id).last_job_id)
        assert job.kind == "delete"
        plays = [p for p in job.playbook if p["tasks"]]
        assert plays and all(p["hosts"] == "c1" for p in plays)
        assert any(port.id[:11] in str(t) and "absent" in str(t) for p in plays for t in p["tasks"])
