"""Security groups: the records, who sees them, the ``default`` group of each project,
and the changes that reach the hosts of their ports.

Contract (ports and nova call it; keep the name):

- ``default_group(db, project_id) -> SecurityGroup``: the project's ``default`` group,
  made on first use (listing groups, creating a group or a port, a server without
  ``security_groups``) with Neutron's default rules: egress IPv4 and IPv6 anywhere,
  ingress IPv4 and IPv6 from the members of the group itself. Two first uses at once
  agree on one group: the maker holds a write lock for the project while it checks and
  inserts, and the ``DefaultSecurityGroup`` primary key refuses a second row.

Neutron's behaviour kept here (except stateless groups, refused: the host driver
applies every group with connection tracking): a new group gets egress rules for IPv4 and IPv6; no
other group may be named ``default`` (409 SecurityGroupDefaultAlreadyExists) and the
default group keeps its name; the default group cannot be deleted (409
SecurityGroupCannotRemoveDefault), nor a group a port uses (409 SecurityGroupInUse);
another project's group is answered 404 as if it did not exist (admins see all).

Every create, update and delete goes through the pipeline as a one-resource template
of ``OS::Neutron::SecurityGroup`` / ``SecurityGroupRule`` (quota, locks, the host state
of the affected ports from ``hostplan``); the default group and its rules are the
system's and have no resource row.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.locks import write_lock
from stratus.db.models.jobs import Resource
from stratus.db.models.network import (
    DefaultSecurityGroup,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRule,
)
from stratus.errors import BadRequest, Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.network import attrs, pipeline, sg_rules, tags

register_defaults([
    RuleDefault("create_security_group", "rule:admin_or_member"),
    RuleDefault("get_security_group", "rule:admin_or_reader"),
    RuleDefault("update_security_group", "rule:admin_or_member"),
    RuleDefault("delete_security_group", "rule:admin_or_member"),
    RuleDefault("create_security_group_rule", "rule:admin_or_member"),
    RuleDefault("get_security_group_rule", "rule:admin_or_reader"),
    RuleDefault("delete_security_group_rule", "rule:admin_or_member"),
])

DEFAULT_NAME = "default"
DEFAULT_DESCRIPTION = "Default security group"
GROUP_TYPE = "OS::Neutron::SecurityGroup"
TAG_TYPE = "security-groups"  # the tags' resource type (and the list filter's)
RULE_TYPE = "OS::Neutron::SecurityGroupRule"
GROUP_ATTRIBUTES = {"name", "description", "stateful", "project_id", "tenant_id", "tags", "shared"}


# --- the default group -------------------------------------------------------------------


def default_group(db: Session, project_id: str) -> SecurityGroup:
    """The project's ``default`` group, made with Neutron's default rules on first use."""
    found = _default_of(db, project_id)
    if found is not None:
        return found
    write_lock(db, f"default-security-group:{project_id}")
    found = _default_of(db, project_id)  # made while we waited for the lock
    if found is not None:
        return found
    savepoint = db.begin_nested()
    try:
        group = SecurityGroup(id=str(uuid.uuid4()), project_id=project_id, name=DEFAULT_NAME,
                              description=DEFAULT_DESCRIPTION, stateful=True)
        db.add(group)
        db.flush()
        db.add(DefaultSecurityGroup(project_id=project_id, security_group_id=group.id))
        db.flush()
        for values in sg_rules.default_rules(group.id):
            db.add(SecurityGroupRule(id=str(uuid.uuid4()), project_id=project_id,
                                     security_group_id=group.id, **{**sg_rules.EMPTY_RULE, **values}))
        db.flush()
        savepoint.commit()
        return group
    except IntegrityError:
        savepoint.rollback()  # another request made it first: use that one
        found = _default_of(db, project_id)
        if found is None:
            raise
        return found


def _default_of(db: Session, project_id: str) -> SecurityGroup | None:
    row = db.get(DefaultSecurityGroup, project_id, populate_existing=True)
    return db.get(SecurityGroup, row.security_group_id) if row is not None else None


def default_ids(db: Session, group_ids) -> set[str]:
    ids = list(group_ids)
    if not ids:
        return set()
    return set(db.scalars(select(DefaultSecurityGroup.security_group_id)
                          .where(DefaultSecurityGroup.security_group_id.in_(ids))))


# --- access ------------------------------------------------------------------------------


def visible(ctx, *, admin: bool = False):
    """The WHERE clause of the groups ``ctx`` sees."""
    if admin:
        return true()
    return SecurityGroup.project_id == ctx.project_id


def get(db: Session, ctx, group_id: str, *, admin: bool = False) -> SecurityGroup:
    """The group, or 404 SecurityGroupNotFound (another project's group included)."""
    group = db.get(SecurityGroup, group_id) if isinstance(group_id, str) else None
    if group is None or not (admin or group.project_id == ctx.project_id):
        raise NotFound(f"Security group {group_id} does not exist", type="SecurityGroupNotFound")
    return group


def get_rule(db: Session, ctx, rule_id: str, *, admin: bool = False) -> SecurityGroupRule:
    rule = db.get(SecurityGroupRule, rule_id)
    if rule is None or not (admin or rule.project_id == ctx.project_id
                            or db.get(SecurityGroup, rule.security_group_id).project_id == ctx.project_id):
        raise NotFound(f"Security group rule {rule_id} does not exist", type="SecurityGroupRuleNotFound")
    return rule


# --- checks of request bodies ------------------------------------------------------------


def _name(doc: dict[str, Any]) -> str | None:
    name = attrs.text(doc, "name")
    if name is not None and name.lower() == DEFAULT_NAME:
        raise Conflict("Default security group already exists.", type="SecurityGroupDefaultAlreadyExists")
    return name


def _stateful(doc: dict[str, Any]) -> bool:
    if not attrs.boolean(doc, "stateful", True):
        raise attrs.invalid_op("stateless security groups (stateful false) are not supported: the hosts "
                               "apply every group with connection tracking. Leave 'stateful' out or set it true.")
    return True


def group_values(body: dict[str, Any]) -> dict[str, Any]:
    """A new group's columns from a request body."""
    attrs.only(body, GROUP_ATTRIBUTES)
    return {"name": _name(body) or "", "stateful": _stateful(body),
            "description": attrs.text(body, "description", max_len=attrs.DESCRIPTION_MAX, default="")}


# --- groups ------------------------------------------------------------------------------


def make_group(db: Session, project_id: str, values: dict[str, Any], *, group_id: str | None = None,
               rules: list[dict[str, Any]] | None = None) -> SecurityGroup:
    """Write a group with Neutron's egress rules (or ``rules``, already validated)."""
    default_group(db, project_id)
    group = SecurityGroup(id=group_id or str(uuid.uuid4()), project_id=project_id, **values)
    db.add(group)
    db.flush()
    for rule in sg_rules.egress_rules() if rules is None else rules:
        sg_rules.add(db, group, {**sg_rules.EMPTY_RULE, **rule})
    group.revision_number = 0
    db.flush()
    return group


def update_group(db: Session, group: SecurityGroup, body: dict[str, Any]) -> dict[str, Any]:
    """Apply a PUT body; returns what changed."""
    attrs.only(body, GROUP_ATTRIBUTES - {"tags"})
    attrs.read_only(body, ("project_id", "tenant_id"))
    if "name" in body and body["name"] != group.name and default_ids(db, [group.id]):
        raise Conflict("Updating default security group not allowed.", type="SecurityGroupCannotUpdateDefault")
    wanted = {"name": _name(body) if body.get("name") != group.name else group.name,
              "description": attrs.text(body, "description", max_len=attrs.DESCRIPTION_MAX),
              "stateful": _stateful(body)}
    changes = {k: v for k, v in wanted.items() if v is not None and getattr(group, k) != v}
    for key, value in changes.items():
        setattr(group, key, value)
    if changes:
        attrs.touch(group)
    db.flush()
    return changes


def in_use(db: Session, group_id: str) -> bool:
    return bool(db.scalar(select(exists().where(PortSecurityGroup.security_group_id == group_id))))


def check_delete(db: Session, group: SecurityGroup, *, admin: bool = False) -> None:
    if default_ids(db, [group.id]) and not admin:
        raise Conflict("Insufficient rights for removing default security group.",
                       type="SecurityGroupCannotRemoveDefault")
    if in_use(db, group.id):
        raise Conflict(f"Security Group {group.id} in use.", type="SecurityGroupInUse")


def has_resource(db: Session, record_id: str) -> bool:
    return db.get(Resource, record_id) is not None


# --- views -------------------------------------------------------------------------------


def view(db: Session, group: SecurityGroup, *, rules: list[SecurityGroupRule] | None = None,
         defaults: set[str] | None = None, tag_names: list[str] | None = None) -> dict[str, Any]:
    """Neutron's document of a group, with its rules and tags."""
    defaults = default_ids(db, [group.id]) if defaults is None else defaults
    rules = sg_rules.rules_of(db, [group.id]) if rules is None else rules
    names = tags.of(db, TAG_TYPE, group.id) if tag_names is None else tag_names
    return {"id": group.id, "name": group.name, "stateful": group.stateful, "shared": False,
            "security_group_rules": [sg_rules.view(r, defaults) for r in rules],
            **attrs.standard(group, names)}


def views(db: Session, groups: list[SecurityGroup]) -> list[dict[str, Any]]:
    """Documents of many groups with one query for their rules."""
    ids = [g.id for g in groups]
    by_group: dict[str, list[SecurityGroupRule]] = {i: [] for i in ids}
    for rule in sg_rules.rules_of(db, ids):
        by_group[rule.security_group_id].append(rule)
    defaults = default_ids(db, ids)
    names = tags.of_many(db, TAG_TYPE, ids)
    return [view(db, g, rules=by_group[g.id], defaults=defaults, tag_names=names.get(g.id, [])) for g in groups]


# --- the request's way through the pipeline ----------------------------------------------


def converge_groups(db: Session, group_ids, *, context=None, request_id: str | None = None):
    """One job converging the ports a change of ``group_ids`` reaches (hostplan's
    ``submit``; nothing until the hosts branch provides it)."""
    from stratus.network import hostplan

    ids = sorted(set(group_ids))
    if not ids or not hasattr(hostplan, "submit"):
        return None
    return hostplan.submit(db, security_groups=ids, request_id=request_id, context=context)


def create_group(db: Session, project_id: str, body: dict[str, Any], *, context, request_id: str | None,
                 admin: bool) -> SecurityGroup:
    values = group_values(body)
    group = make_group(db, project_id, values)
    pipeline.create(db, GROUP_TYPE, group, {"name": group.name, "description": group.description},
                    settings=context.settings, context=context, request_id=request_id, cloud_admin=admin)
    return group


def change_group(db: Session, group: SecurityGroup, body: dict[str, Any], *, context,
                 request_id: str | None) -> None:
    if update_group(db, group, body):
        pipeline.update(db, group.id, {"name": group.name, "description": group.description},
                        settings=context.settings, context=context, request_id=request_id)


def delete_group(db: Session, group: SecurityGroup, *, admin: bool, context, request_id: str | None) -> None:
    """Delete the group, its rules and the rules of other groups naming it as remote;
    the ports of those groups converge without them."""
    check_delete(db, group, admin=admin)
    rules = list(db.scalars(select(SecurityGroupRule).where(
        (SecurityGroupRule.security_group_id == group.id) | (SecurityGroupRule.remote_group_id == group.id))))
    backed = [r.id for r in rules if has_resource(db, r.id)]
    others = {r.security_group_id for r in rules if r.security_group_id != group.id and r.id not in backed}
    for rule in rules:
        db.delete(rule)
    db.flush()  # the rules first: the group's delete would cascade to them
    db.delete(group)
    tags.clear(db, TAG_TYPE, group.id)
    db.flush()
    _delete_resources(db, [*backed, group.id], group.project_id, context, request_id)
    converge_groups(db, others, context=context, request_id=request_id)


def create_rules(db: Session, requested: list[tuple[SecurityGroup, dict[str, Any]]], *, context,
                 request_id: str | None, admin: bool) -> list[SecurityGroupRule]:
    """Write the rules (each body for its group, groups of one project as Neutron's bulk
    create requires) and submit each one's job (all in the request's transaction)."""
    if len({group.project_id for group, _ in requested}) > 1:
        raise BadRequest("Multiple tenant_ids in bulk security group rule create not allowed",
                         type="SecurityGroupRulesNotSingleTenant")
    rules = [sg_rules.add(db, group, sg_rules.validate(body)) for group, body in requested]
    for rule in rules:
        props = {"security_group": rule.security_group_id, "direction": rule.direction,
                 "ethertype": rule.ethertype, "protocol": rule.protocol, "port_range_min": rule.port_range_min,
                 "port_range_max": rule.port_range_max, "remote_ip_prefix": rule.remote_ip_prefix,
                 "remote_group": rule.remote_group_id, "description": rule.description}
        pipeline.create(db, RULE_TYPE, rule, {k: v for k, v in props.items() if v is not None},
                        settings=context.settings, context=context, request_id=request_id, cloud_admin=admin)
    return rules


def delete_rule(db: Session, rule: SecurityGroupRule, *, context, request_id: str | None) -> None:
    """Delete the rule; the group's ports converge without it."""
    group = db.get(SecurityGroup, rule.security_group_id)
    db.delete(rule)
    attrs.touch(group)
    db.flush()
    if has_resource(db, rule.id):
        _delete_resources(db, [rule.id], group.project_id, context, request_id)
    else:  # a rule the system made (the default group's): no resource of its own
        converge_groups(db, [group.id], context=context, request_id=request_id)


def _delete_resources(db: Session, ids: list[str], project_id: str, context, request_id: str | None) -> None:
    ids = [i for i in ids if has_resource(db, i)]
    pipeline.delete(db, ids, project_id=project_id, context=context, request_id=request_id)
    for rid in ids:  # the records are gone: their quota is free now, as in Neutron
        quotas.release(db, rid)
