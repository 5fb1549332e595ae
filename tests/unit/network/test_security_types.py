"""``OS::Neutron::SecurityGroup`` / ``SecurityGroupRule`` from a stack: the types write
the records through the security group services (Heat's rule shape with
``remote_mode``), count quota, refuse what Neutron refuses, and remove the records on
delete."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.models.jobs import Resource
from stratus.db.models.network import SecurityGroup, SecurityGroupRule
from stratus.db.models.quotas import Allocation
from stratus.db.session import Database
from stratus.network import sg_rules
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import PlanContext
from stratus.orchestration.submit import submit, submit_delete

pytestmark = pytest.mark.network

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


@pytest.fixture
def database(tmp_path):
    d = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(d.engine)
    yield d
    d.dispose()


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
