"""Security group records → what a port gets on its host (``sg_rules``), the default
group per project, Neutron's rule checks, and ``OS::Neutron::SecurityGroup`` /
``SecurityGroupRule`` from a stack (records written through the same services, Heat's
rule shape with ``remote_mode``, quota, refusals, delete), on a real SQLite database.
The default group made once under concurrency: tests/api/network/test_security_groups.py."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.models.jobs import Resource
from stratus.db.models.network import (
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from stratus.db.models.quotas import Allocation
from stratus.db.session import Database
from stratus.errors import BadRequest, Conflict
from stratus.network import security_groups, sg_rules
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import PlanContext
from stratus.orchestration.submit import submit, submit_delete

pytestmark = pytest.mark.network


@pytest.fixture
def database(tmp_path):
    d = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(d.engine)
    yield d
    d.dispose()


def _port(db, net, subnet, ip, groups, *, pairs=(), secured=True):
    port = Port(id=str(uuid.uuid4()), project_id="p1", network_id=net.id,
                mac_address=f"fa:16:3e:00:00:{int(ip.rsplit('.', 1)[1]):02x}",
                port_security_enabled=secured,
                allowed_address_pairs=[{"ip_address": a} for a in pairs])
    db.add(port)
    db.flush()
    db.add(IPAllocation(network_id=net.id, subnet_id=subnet.id, port_id=port.id, ip_address=ip))
    for g in groups:
        db.add(PortSecurityGroup(port_id=port.id, security_group_id=g.id))
    db.flush()
    return port


def _net(db):
    net = Network(id=str(uuid.uuid4()), project_id="p1", name="n")
    db.add(net)
    db.flush()
    sub = Subnet(id=str(uuid.uuid4()), project_id="p1", network_id=net.id, ip_version=4,
                 cidr="10.0.0.0/24")
    db.add(sub)
    db.flush()
    return net, sub


def test_default_group_has_neutrons_rules_and_is_made_once(database):
    with database.session() as db:
        g = security_groups.default_group(db, "p1")
        again = security_groups.default_group(db, "p1")
        assert g.id == again.id and g.name == "default"
        rules = sorted((r.direction, r.ethertype, r.remote_group_id) for r in sg_rules.rules_of(db, [g.id]))
        assert rules == [("egress", "IPv4", None), ("egress", "IPv6", None),
                         ("ingress", "IPv4", g.id), ("ingress", "IPv6", g.id)]


def test_port_security_and_affected_ports(database):
    with database.session() as db:
        net, sub = _net(db)
        web = security_groups.make_group(db, "p1", {"name": "web", "description": "", "stateful": True})
        admin = security_groups.make_group(db, "p1", {"name": "admin", "description": "", "stateful": True})
        ssh = sg_rules.validate({"direction": "ingress", "protocol": "tcp", "port_range_min": 22,
                                 "port_range_max": 22, "remote_group_id": admin.id})
        sg_rules.add(db, web, ssh)
        p1 = _port(db, net, sub, "10.0.0.5", [web])
        p2 = _port(db, net, sub, "10.0.0.6", [admin], pairs=["10.0.0.100"])
        p3 = _port(db, net, sub, "10.0.0.7", [])
        off = _port(db, net, sub, "10.0.0.8", [], secured=False)

        got = sg_rules.port_security(db, p1)
        assert got["security_groups"] == [{"id": web.id, "rules": [
            {"direction": "egress", "ethertype": "IPv4"}, {"direction": "egress", "ethertype": "IPv6"},
            {"direction": "ingress", "ethertype": "IPv4", "protocol": 6, "port_range_min": 22,
             "port_range_max": 22, "remote_group_id": admin.id}]}]
        assert got["remote_groups"] == {admin.id: ["10.0.0.6", "10.0.0.100"]}
        assert sg_rules.port_security(db, p3) == {"security_groups": [], "remote_groups": {}}
        assert sg_rules.port_security(db, off) is None
        # admin's members change the sets of web's ports: both are affected
        assert [p.id for p in sg_rules.affected_ports(db, [admin.id])] == sorted([p1.id, p2.id])
        assert [p.id for p in sg_rules.affected_ports(db, [web.id])] == [p1.id]
        assert sg_rules.affected_ports(db, []) == []


@pytest.mark.parametrize(("body", "kind"), [
    ({"direction": "sideways"}, "InvalidInput"),
    ({"direction": "ingress", "ethertype": "IPv5"}, "SecurityGroupRuleInvalidEtherType"),
    ({"direction": "ingress", "protocol": "bogus"}, "SecurityGroupRuleInvalidProtocol"),
    ({"direction": "ingress", "protocol": "256"}, "SecurityGroupRuleInvalidProtocol"),
    ({"direction": "ingress", "protocol": "tcp", "port_range_min": 30, "port_range_max": 20},
     "SecurityGroupInvalidPortRange"),
    ({"direction": "ingress", "protocol": "tcp", "port_range_min": 0, "port_range_max": 20},
     "SecurityGroupInvalidPortValue"),
    ({"direction": "ingress", "port_range_min": 22, "port_range_max": 22},
     "SecurityGroupProtocolRequiredWithPorts"),
    ({"direction": "ingress", "protocol": "gre", "port_range_min": 22, "port_range_max": 22},
     "SecurityGroupInvalidProtocolForPortRange"),
    ({"direction": "ingress", "protocol": "icmp", "port_range_min": 256}, "SecurityGroupInvalidIcmpValue"),
    ({"direction": "ingress", "protocol": "icmp", "port_range_max": 0}, "SecurityGroupMissingIcmpType"),
    ({"direction": "ingress", "protocol": "icmpv6"}, "SecurityGroupEthertypeConflictWithProtocol"),
    ({"direction": "ingress", "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "x"},
     "SecurityGroupRemoteGroupAndRemoteIpPrefix"),
    ({"direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"},
     "SecurityGroupRuleParameterConflict"),
    ({"direction": "ingress", "remote_ip_prefix": "10.0.0.300/8"}, "InvalidInput"),
])
def test_refused_rules(body, kind):
    with pytest.raises(BadRequest) as err:
        sg_rules.validate(body)
    assert err.value.type == kind


def test_rule_normalized_and_duplicate_refused(database):
    v = sg_rules.validate({"direction": "ingress", "protocol": "TCP", "port_range_min": "80",
                           "port_range_max": 81, "remote_ip_prefix": "10.1.2.3/8", "ethertype": "ipv4"})
    assert (v["protocol"], v["port_range_min"], v["remote_ip_prefix"], v["ethertype"]) == \
        ("tcp", 80, "10.0.0.0/8", "IPv4")
    assert sg_rules.validate({"direction": "egress", "protocol": "any"})["protocol"] is None
    with database.session() as db:
        g = security_groups.make_group(db, "p1", {"name": "g", "description": "", "stateful": True})
        first = sg_rules.add(db, g, v)
        same = sg_rules.validate({"direction": "ingress", "protocol": "6", "port_range_min": 80,
                                  "port_range_max": 81, "remote_ip_prefix": "10.0.0.0/8"})
        with pytest.raises(Conflict) as err:
            sg_rules.add(db, g, same)
        assert first.id in err.value.message and err.value.type == "SecurityGroupRuleExists"
        # 0.0.0.0/0 is the same as no prefix: the group's egress rule already allows it
        with pytest.raises(Conflict):
            sg_rules.add(db, g, sg_rules.validate({"direction": "egress", "remote_ip_prefix": "0.0.0.0/0"}))
        assert db.scalar(select(func.count()).select_from(SecurityGroupRule)
                         .where(SecurityGroupRule.security_group_id == g.id)) == 3


def test_group_names_default_reserved(database):
    with pytest.raises(Conflict) as err:
        security_groups.group_values({"name": "Default"})
    assert err.value.type == "SecurityGroupDefaultAlreadyExists"
    with pytest.raises(BadRequest) as err:
        security_groups.group_values({"name": "x", "colour": "red"})
    assert "Unrecognized attribute(s) 'colour'" in err.value.message
    with pytest.raises(BadRequest) as err:  # the hosts apply groups statefully only
        security_groups.group_values({"name": "x", "stateful": False})
    assert "stateful" in err.value.message and err.value.type == "InvalidInput"
    assert security_groups.group_values({"name": "x", "stateful": "true"})["stateful"] is True


TEMPLATE = {"heat_template_version": "2018-08-31", "resources": {
    "sg": {"type": "OS::Neutron::SecurityGroup", "properties": {
        "name": "web", "description": "from a stack",
        "rules": [{"protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
                   "remote_mode": "remote_ip_prefix", "remote_ip_prefix": "192.0.2.0/24"},
                  {"remote_mode": "remote_group_id"},
                  {"direction": "egress"}]}},
    "icmp": {"type": "OS::Neutron::SecurityGroupRule", "properties": {
        "security_group": {"get_resource": "sg"}, "protocol": "icmp", "port_range_min": 8}},
}}


def _context(database, tmp_path):
    return PlanContext(Settings(state_dir=str(tmp_path / "state")), None, database)


def test_stack_makes_group_and_rule_records(database, tmp_path):
    with database.session() as db:
        submit(db, TEMPLATE, project_id="p1", context=_context(database, tmp_path))
    with database.session() as db:
        group = db.scalar(select(SecurityGroup).where(SecurityGroup.name == "web"))
        assert group.description == "from a stack" and group.project_id == "p1"
        got = {(r.direction, r.protocol, r.port_range_min, r.remote_ip_prefix, r.remote_group_id)
                for r in sg_rules.rules_of(db, [group.id])}
        assert got == {("egress", None, None, None, None),
                       ("ingress", None, None, None, group.id),  # remote_mode group: the group itself
                       ("ingress", "icmp", 8, None, None),
                       ("ingress", "tcp", 22, "192.0.2.0/24", None)}
        rule = db.scalar(select(SecurityGroupRule).where(SecurityGroupRule.protocol == "icmp"))
        # the records' ids are the resources' ids; quota counted per type
        assert db.get(Resource, group.id).type == "OS::Neutron::SecurityGroup"
        assert db.get(Resource, rule.id).type == "OS::Neutron::SecurityGroupRule"
        used = dict(db.execute(select(Allocation.resource, func.sum(Allocation.amount))
                               .where(Allocation.project_id == "p1").group_by(Allocation.resource)).all())
        assert used == {"security_group": 1, "security_group_rule": 1}
        assert db.scalar(select(func.count()).select_from(SecurityGroup)) == 2  # and the project's default
        gid, rid = group.id, rule.id
    with database.session() as db:
        submit_delete(db, [rid, gid], project_id="p1", context=_context(database, tmp_path))
    with database.session() as db:
        assert db.get(SecurityGroup, gid) is None and db.get(SecurityGroupRule, rid) is None
        assert not sg_rules.rules_of(db, [gid])


def test_stack_refusals_write_nothing(database, tmp_path):
    bad = {"heat_template_version": "2018-08-31", "resources": {
        "sg": {"type": "OS::Neutron::SecurityGroup", "properties": {"name": "default"}}}}
    with database.session() as db, pytest.raises(ResourceCheckFailed) as err:
        submit(db, bad, project_id="p1", context=_context(database, tmp_path))
    assert err.value.status == 409 and "Default security group already exists" in str(err.value)
    bad_rule = {"heat_template_version": "2018-08-31", "resources": {
        "sg": {"type": "OS::Neutron::SecurityGroup", "properties": {"name": "x"}},
        "r": {"type": "OS::Neutron::SecurityGroupRule", "properties": {
            "security_group": {"get_resource": "sg"}, "protocol": "tcp", "port_range_min": 30,
            "port_range_max": 20}}}}
    with database.session() as db:
        sp = db.begin_nested()
        with pytest.raises(ResourceCheckFailed) as err:
            submit(db, bad_rule, project_id="p1", context=_context(database, tmp_path))
        sp.rollback()
        assert err.value.status == 400 and "port_range_min must be <= port_range_max" in str(err.value)
        assert db.scalar(select(func.count()).select_from(SecurityGroup).where(SecurityGroup.name == "x")) == 0
