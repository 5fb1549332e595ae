"""Security groups: the records, who sees them, the ``default`` group of each project,
and the changes that reach the hosts of their ports.

Contract (ports and nova call it; keep the name):

- ``default_group(db, project_id) -> SecurityGroup``: the project's ``default`` group,
  made on first use (listing groups, creating a group or a port, a server without
  ``security_groups``) with Neutron's default rules: egress IPv4 and IPv6 anywhere,
  ingress IPv4 and IPv6 from the members of the group itself. Two first uses at once
  agree on one group: the maker holds a write lock for the project while it checks and
  inserts, and the ``DefaultSecurityGroup`` primary key refuses a second row.

Neutron's behaviour kept here: a new group gets egress rules for IPv4 and IPv6; no
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
from stratus.network import sg_rules

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


def unknown(body: dict[str, Any], known) -> None:
    extra = sorted(set(body) - set(known))
    if extra:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(extra)}'", type="HTTPBadRequest")


def _name(value: Any, *, default_group: bool = False) -> str:
    if not isinstance(value, str) or len(value) > 255:
        raise BadRequest("Invalid input for operation: 'name' must be a string of at most 255 characters.",
                         type="InvalidInput")
    if value.lower() == DEFAULT_NAME and not default_group:
        raise Conflict("Default security group already exists.", type="SecurityGroupDefaultAlreadyExists")
    return value


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 255:
        raise BadRequest("Invalid input for operation: 'description' must be a string of at most 255 "
                         "characters.", type="InvalidInput")
    return value


def _stateful(value: Any) -> bool:
    from stratus.network.query import to_bool

    return to_bool("stateful", value)


def group_values(body: dict[str, Any]) -> dict[str, Any]:
    """A new group's columns from a request body."""
    unknown(body, GROUP_ATTRIBUTES)
    return {"name": _name(body.get("name", "")), "description": _description(body.get("description")),
            "stateful": _stateful(body.get("stateful", True))}


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
    unknown(body, GROUP_ATTRIBUTES - {"project_id", "tenant_id", "tags"})
    is_default = bool(default_ids(db, [group.id]))
    changes: dict[str, Any] = {}
    if "name" in body and body["name"] != group.name:
        if is_default:
            raise Conflict("Updating default security group not allowed.",
                           type="SecurityGroupCannotUpdateDefault")
        changes["name"] = _name(body["name"])
    if "description" in body:
        changes["description"] = _description(body["description"])
    if "stateful" in body:
        stateful = _stateful(body["stateful"])
        if stateful != group.stateful and in_use(db, group.id):
            raise Conflict(f"Security Group {group.id} cannot change 'stateful' while ports use it.",
                           type="SecurityGroupInUse")
        changes["stateful"] = stateful
    changes = {k: v for k, v in changes.items() if getattr(group, k) != v}
    for key, value in changes.items():
        setattr(group, key, value)
    if changes:
        group.revision_number = (group.revision_number or 0) + 1
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
         defaults: set[str] | None = None) -> dict[str, Any]:
    """Neutron's document of a group, with its rules and tags."""
    defaults = default_ids(db, [group.id]) if defaults is None else defaults
    rules = sg_rules.rules_of(db, [group.id]) if rules is None else rules
    return {"id": group.id, "name": group.name, "description": group.description or "",
            "stateful": group.stateful, "shared": False,
            "project_id": group.project_id, "tenant_id": group.project_id,
            "security_group_rules": [sg_rules.view(r, defaults) for r in rules],
            "tags": _tags(db, group.id), "revision_number": group.revision_number or 0,
            "created_at": sg_rules.timestamp(group.created_at),
            "updated_at": sg_rules.timestamp(group.updated_at)}


def views(db: Session, groups: list[SecurityGroup]) -> list[dict[str, Any]]:
    """Documents of many groups with one query for their rules."""
    ids = [g.id for g in groups]
    by_group: dict[str, list[SecurityGroupRule]] = {i: [] for i in ids}
    for rule in sg_rules.rules_of(db, ids):
        by_group[rule.security_group_id].append(rule)
    defaults = default_ids(db, ids)
    return [view(db, g, rules=by_group[g.id], defaults=defaults) for g in groups]


def _tags(db: Session, group_id: str) -> list[str]:
    try:  # the tags service of the nets branch; until it lands, a group shows none
        from stratus.network import tags
    except ImportError:
        return []
    return list(tags.of(db, "security-groups", group_id))


# --- the request's way through the pipeline ----------------------------------------------


def _submit_one(db: Session, type_name: str, record_id: str, properties: dict[str, Any], *,
                project_id: str, context, request_id: str | None, admin: bool):
    from stratus.orchestration.submit import submit

    name = "security_group" if type_name == GROUP_TYPE else "security_group_rule"
    settings = context.settings
    template = {"heat_template_version": "2018-08-31",
                "resources": {name: {"type": type_name, "properties": properties}}}
    return submit(db, template, project_id=project_id, cloud_admin=admin, request_id=request_id,
                  resource_ids={name: record_id}, context=context, quota_defaults=settings.quota_defaults,
                  max_attempts=settings.job_max_attempts, timeout=settings.job_timeout)


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
    _submit_one(db, GROUP_TYPE, group.id, {"name": group.name, "description": group.description},
                project_id=project_id, context=context, request_id=request_id, admin=admin)
    return group


def change_group(db: Session, group: SecurityGroup, body: dict[str, Any], *, context,
                 request_id: str | None) -> None:
    from stratus.orchestration.submit import submit_update

    changes = update_group(db, group, body)
    if changes and has_resource(db, group.id):
        submit_update(db, group.id, {"name": group.name, "description": group.description},
                      request_id=request_id, context=context,
                      quota_defaults=context.settings.quota_defaults)


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
    db.flush()
    _delete_resources(db, [*backed, group.id], group.project_id, context, request_id)
    converge_groups(db, others, context=context, request_id=request_id)


def create_rule(db: Session, group: SecurityGroup, body: dict[str, Any], *, context, request_id: str | None,
                admin: bool) -> SecurityGroupRule:
    values = sg_rules.validate(body)
    rule = sg_rules.add(db, group, values)
    props = {"security_group": group.id, "direction": rule.direction, "ethertype": rule.ethertype,
             "protocol": rule.protocol, "port_range_min": rule.port_range_min,
             "port_range_max": rule.port_range_max, "remote_ip_prefix": rule.remote_ip_prefix,
             "remote_group": rule.remote_group_id, "description": rule.description}
    _submit_one(db, RULE_TYPE, rule.id, {k: v for k, v in props.items() if v is not None},
                project_id=group.project_id, context=context, request_id=request_id, admin=admin)
    return rule


def delete_rule(db: Session, rule: SecurityGroupRule, *, context, request_id: str | None) -> None:
    """Delete the rule; the group's ports converge without it."""
    group = db.get(SecurityGroup, rule.security_group_id)
    db.delete(rule)
    group.revision_number = (group.revision_number or 0) + 1
    db.flush()
    if has_resource(db, rule.id):
        _delete_resources(db, [rule.id], group.project_id, context, request_id)
    else:  # a rule the system made (the default group's): no resource of its own
        converge_groups(db, [group.id], context=context, request_id=request_id)


def _delete_resources(db: Session, ids: list[str], project_id: str, context, request_id: str | None) -> None:
    from stratus.orchestration.submit import submit_delete

    ids = [i for i in ids if has_resource(db, i)]
    if ids:
        submit_delete(db, ids, project_id=project_id, request_id=request_id, context=context)
        for rid in ids:  # the records are gone: their quota is free now, as in Neutron
            quotas.release(db, rid)
