"""``OS::Neutron::SecurityGroup`` and ``SecurityGroupRule``: rules applied to every port
of the group on every host.

The record's id is the resource's id. From the API the service has written the record
(``stratus.network.security_groups``) before ``submit``; from a stack the type's
``check`` writes it through the same service functions. Either way ``check`` records
the host state of the ports the change reaches (``hostplan.converge(security_groups=
[...])``: the group's ports and the ports of groups naming it as remote) and
``plan_*`` emit it (``hostplan.tasks``): one job converges every affected port, on
every host. Jobs lock the group, so changes to one group never interleave.

"""

from __future__ import annotations

from typing import Any

from stratus.db.models.network import SecurityGroup as GroupRow
from stratus.db.models.network import SecurityGroupRule as RuleRow
from stratus.errors import ApiError, BadRequest, NotFound
from stratus.network import hostplan, sg_rules
from stratus.network import security_groups as sgs
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import INTEGER, LIST, STRING, Schema
from stratus.orchestration.types.neutron_net import Converging, _failed


class _Converging(Converging):
    """A group or rule: ``check`` finds its record (or writes a stack's), then records
    the host state of the group's affected ports."""

    record: Any = None  # the record's model
    group_column = "id"  # the record's column holding its group's id

    @classmethod
    def check(cls, db, res, planned=None):
        row = db.get(cls.record, res.resource_id)
        try:
            row = cls.ensure_row(db, res) if row is None else cls.sync(db, res, row)
        except ApiError as exc:
            raise _failed(res, exc) from exc
        hostplan.record(db, res, security_groups=[getattr(row, cls.group_column)])
        res.attributes["show"] = cls.show(db, row)

    @classmethod
    def ensure_row(cls, db, res):
        raise NotImplementedError

    @classmethod
    def sync(cls, db, res, row):
        """A stack's update of a record it made (the API changes its records itself)."""
        return row


class SecurityGroup(_Converging):
    type_name = "OS::Neutron::SecurityGroup"
    description = "A security group: rules applied to every port in it, on every host."
    properties_schema = {
        "name": Schema(STRING, "The group's name (not 'default').", update_allowed=True),
        "description": Schema(STRING, "Description.", update_allowed=True),
        "rules": Schema(LIST, "Rules, each {direction, ethertype, protocol, port_range_min, "
                        "port_range_max, remote_mode (remote_ip_prefix|remote_group_id), "
                        "remote_ip_prefix, remote_group_id}; none given: egress anywhere.",
                        update_allowed=True),
    }
    attributes_schema = {"show": "All attributes."}
    record = GroupRow

    @staticmethod
    def show(db, row):
        return sgs.view(db, row)

    @classmethod
    def ensure_row(cls, db, res) -> GroupRow:
        """The group of a stack's resource, written as the API writes it."""
        if res.project_id is None:
            raise ResourceCheckFailed(f"{cls.type_name} needs a project: submit the template to the API")
        p = res.properties
        values = sgs.group_values({"name": p.get("name") or res.name, "description": p.get("description")})
        rules = [cls._rule(r, res.resource_id) for r in p["rules"]] if p.get("rules") else None
        res.attributes["stack_made"] = True
        return sgs.make_group(db, res.project_id, values, group_id=res.resource_id, rules=rules)

    @classmethod
    def sync(cls, db, res, row):
        """A stack update: name, description and the whole rule list as the template says."""
        if not res.attributes.get("stack_made"):
            return row
        p = res.properties
        sgs.update_group(db, row, {"name": p.get("name") or res.name, "description": p.get("description") or ""})
        wanted = [cls._rule(r, row.id) for r in p["rules"]] if p.get("rules") else sg_rules.egress_rules()
        wanted = [{**sg_rules.EMPTY_RULE, **w} for w in wanted]
        have = sg_rules.rules_of(db, [row.id])

        def canon(rules):
            return sorted(repr(sorted(r.items())) for r in rules)

        if canon(wanted) != canon({**sg_rules.view_values(r), "description": r.description or ""}
                                  for r in have):
            for rule in have:
                db.delete(rule)
            db.flush()
            for values in wanted:
                sg_rules.add(db, row, values)
        return row

    @staticmethod
    def _rule(rule: Any, group_id: str) -> dict[str, Any]:
        """A Heat rule (with ``remote_mode``) as validated Neutron rule columns."""
        if not isinstance(rule, dict):
            raise BadRequest(f"a rule must be a mapping, got {rule!r}")
        body = {"direction": "ingress", **{k: v for k, v in rule.items() if k != "remote_mode"}}
        if rule.get("remote_mode") == "remote_group_id":
            body.pop("remote_ip_prefix", None)
            body["remote_group_id"] = rule.get("remote_group_id") or group_id
        elif rule.get("remote_mode") == "remote_ip_prefix":
            body.pop("remote_group_id", None)
        return sg_rules.validate(body)

    @classmethod
    def quota_usage(cls, props, attributes=None):
        return {"security_group": 1}

    @classmethod
    def plan_update(cls, res, prop_diff):
        cls.check_update_allowed(res, prop_diff)
        return hostplan.recorded_tasks(res)

    @classmethod
    def check_delete(cls, db, res):
        """From a stack the row is still there: delete it (a port using it: refused)."""
        row = db.get(GroupRow, res.resource_id)
        if row is not None:
            try:
                sgs.check_delete(db, row)
            except ApiError as exc:
                raise _failed(res, exc) from exc
            db.delete(row)
            db.flush()
        hostplan.record(db, res)


class SecurityGroupRule(_Converging):
    type_name = "OS::Neutron::SecurityGroupRule"
    description = "One rule of a security group, applied to every port of the group."
    properties_schema = {
        "security_group": Schema(STRING, "The group's id.", required=True),
        "description": Schema(STRING, "Description."),
        "direction": Schema(STRING, "ingress or egress.", default="ingress",
                            allowed_values=("ingress", "egress")),
        "ethertype": Schema(STRING, "IPv4 or IPv6.", default="IPv4", allowed_values=("IPv4", "IPv6")),
        "protocol": Schema(STRING, "A protocol name (tcp, udp, icmp, ...) or number 0..255; none: any."),
        "port_range_min": Schema(INTEGER, "First port (ICMP: the type)."),
        "port_range_max": Schema(INTEGER, "Last port (ICMP: the code)."),
        "remote_ip_prefix": Schema(STRING, "Traffic from/to this CIDR only."),
        "remote_group": Schema(STRING, "Traffic from/to the members of this group only."),
    }
    attributes_schema = {"show": "All attributes."}
    record = RuleRow
    group_column = "security_group_id"

    @staticmethod
    def show(db, row):
        return sg_rules.view(row)

    @classmethod
    def ensure_row(cls, db, res) -> RuleRow:

        p = res.properties
        group = db.get(GroupRow, p.get("security_group"))
        if group is None or (res.project_id is not None and group.project_id != res.project_id):
            raise NotFound(f"Security group {p.get('security_group')} does not exist",
                           type="SecurityGroupNotFound")
        remote = p.get("remote_group")
        if remote is not None:
            other = db.get(GroupRow, remote)
            if other is None or other.project_id != group.project_id:
                raise NotFound(f"Security group {remote} does not exist", type="SecurityGroupNotFound")
        body = {k: p.get(k) for k in ("direction", "ethertype", "protocol", "port_range_min",
                                      "port_range_max", "remote_ip_prefix", "description")}
        values = sg_rules.validate({**body, "remote_group_id": remote})
        return sg_rules.add(db, group, values, rule_id=res.resource_id)

    @classmethod
    def quota_usage(cls, props, attributes=None):
        return {"security_group_rule": 1}

    @classmethod
    def locks(cls, res):
        return [res.properties["security_group"]] if res.properties.get("security_group") else []

    @classmethod
    def check_delete(cls, db, res):
        """The group's ports converge without the rule (a stack's row is deleted here)."""
        row = db.get(RuleRow, res.resource_id)
        if row is not None:
            db.delete(row)
            db.flush()
        group = res.properties.get("security_group")
        hostplan.record(db, res, security_groups=[group] if db.get(GroupRow, group) else [])


def resource_mapping():
    return {c.type_name: c for c in (SecurityGroup, SecurityGroupRule)}
