"""``OS::Neutron::Net`` and ``OS::Neutron::Subnet`` in a template: the stack's resources
write the same records the API does (ids = resource ids), follow a stack update,
delete them, count quota, and refuse what the API refuses."""

from __future__ import annotations

import pytest

import stratus.db.models  # noqa: F401 - registers every table
from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.models.jobs import Resource
from stratus.db.models.network import Network, SegmentAllocation, Subnet, Tag
from stratus.db.session import Database
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import PlanContext
from stratus.orchestration.submit import submit, submit_delete, submit_update
from stratus.quotas import QuotaExceeded

ADMIN = PlanContext(settings=Settings(), cloud_admin=True)
MEMBER = PlanContext(settings=Settings(), cloud_admin=False)


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/t.db")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def _tpl(**resources):
    return {"heat_template_version": "2018-08-31", "resources": resources}


NET_AND_SUBNET = _tpl(
    net={"type": "OS::Neutron::Net", "properties": {"name": "blue", "tags": ["t1"]}},
    sub={"type": "OS::Neutron::Subnet", "properties": {
        "network": {"get_resource": "net"}, "cidr": "10.5.0.0/24", "dns_nameservers": ["10.5.0.53"],
        "allocation_pools": [{"start": "10.5.0.10", "end": "10.5.0.20"}], "name": "blue-v4"}})


def test_stack_makes_the_records(db):
    with db.session() as s:
        job = submit(s, NET_AND_SUBNET, project_id="p1", context=MEMBER)
        net_id, sub_id = job.resource_map["net"], job.resource_map["sub"]
    with db.session() as s:
        net, sub = s.get(Network, net_id), s.get(Subnet, sub_id)
        assert (net.name, net.project_id, net.network_type, net.mtu) == ("blue", "p1", "vxlan", 1450)
        assert s.get(Resource, net_id).attributes["segmentation_id"] == net.segmentation_id >= 1001
        assert (sub.network_id, sub.cidr, sub.gateway_ip) == (net_id, "10.5.0.0/24", "10.5.0.1")
        assert sub.allocation_pools == [{"start": "10.5.0.10", "end": "10.5.0.20"}]
        assert s.get(Tag, ("networks", net_id, "t1")) is not None
        assert s.get(Resource, sub_id).attributes["cidr"] == "10.5.0.0/24"
    with db.session() as s:  # a stack update: the record follows
        submit_update(s, net_id, {"name": "green", "mtu": 1400}, context=MEMBER)
        submit_update(s, sub_id, {"dns_nameservers": ["10.5.0.54"]}, context=MEMBER)
    with db.session() as s:
        assert (s.get(Network, net_id).name, s.get(Network, net_id).mtu) == ("green", 1400)
        assert s.get(Subnet, sub_id).dns_nameservers == ["10.5.0.54"]
    with db.session() as s:
        submit_delete(s, [sub_id, net_id], project_id="p1", context=MEMBER)
    with db.session() as s:
        assert s.get(Network, net_id) is None and s.get(Subnet, sub_id) is None
        assert s.query(SegmentAllocation).count() == 0 and s.query(Tag).count() == 0


def test_member_stack_may_not_set_provider_attributes(db):
    tpl = _tpl(net={"type": "OS::Neutron::Net", "properties": {"network_type": "vxlan", "segmentation_id": 9}})
    with pytest.raises(ResourceCheckFailed, match="only a cloud administrator") as err, db.session() as s:
        submit(s, tpl, project_id="p1", context=MEMBER)
    assert err.value.status == 403
    with db.session() as s:
        assert s.query(Network).count() == 0
        job = submit(s, tpl, project_id="p1", cloud_admin=True, context=ADMIN)
        assert s.get(Network, job.resource_map["net"]).segmentation_id == 9


def test_refusals_leave_nothing(db):
    bad = _tpl(net={"type": "OS::Neutron::Net", "properties": {"name": "n"}},
               sub={"type": "OS::Neutron::Subnet", "properties": {
                   "network": {"get_resource": "net"}, "cidr": "10.6.0.0/24", "gateway_ip": "10.9.0.1"}})
    with pytest.raises(ResourceCheckFailed, match="10.9.0.1"), db.session() as s:
        submit(s, bad, project_id="p1", context=MEMBER)
    with db.session() as s:
        assert s.query(Network).count() == 0 and s.query(SegmentAllocation).count() == 0
    with db.session() as s:
        job = submit(s, _tpl(net={"type": "OS::Neutron::Net", "properties": {"name": "theirs"}}),
                     project_id="p2", context=MEMBER)
        theirs = job.resource_map["net"]
    other = _tpl(sub={"type": "OS::Neutron::Subnet", "properties": {"network": theirs, "cidr": "10.7.0.0/24"}})
    with pytest.raises(ResourceCheckFailed, match="could not be found") as err, db.session() as s:
        submit(s, other, project_id="p1", context=MEMBER)
    assert err.value.status == 404


def test_quota_counts_networks_and_subnets(db):
    with pytest.raises(QuotaExceeded), db.session() as s:
        submit(s, NET_AND_SUBNET, project_id="p1", context=MEMBER, quota_defaults={"subnet": 0})
    with db.session() as s:
        assert s.query(Network).count() == 0
