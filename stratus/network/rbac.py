"""RBAC policies (``network_rbac``): share a network with a project or with all (``*``),
``access_as_shared`` (ports and subnets on it) or ``access_as_external`` (a router
gateway or floating IPs on it).

- ``create(db, ctx, doc, *, admin) -> RBACPolicy``: the object must be the caller's
  (or the caller an admin): else 404 as if it did not exist; a duplicate is 409;
  a ``*`` policy keeps ``Network.shared``/``external`` in step;
- ``update(db, policy, target_tenant)``: retarget (409 when the old target uses it);
- ``delete(db, policy)``: 409 RbacPolicyInUse while ports of a project that only this
  policy lets in are on the network;
- ``view(row)``, ``COLUMNS``; the quota ``rbac_policy`` is counted per policy.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.network import Network, Port, RBACPolicy
from stratus.db.models.quotas import Allocation
from stratus.errors import Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.network import access, attrs

ACTIONS = (access.SHARED, access.EXTERNAL)
OBJECT_TYPES = ("network",)
CREATE_ATTRS = {"object_type", "object_id", "action", "target_tenant", "target_project_id",
                "project_id", "tenant_id"}

register_defaults([
    RuleDefault("create_rbac_policy", "rule:admin_or_member", "Create an RBAC policy"),
    RuleDefault("create_rbac_policy:target_tenant", "rule:admin_required",
                "Share with every project (target *)"),
    RuleDefault("get_rbac_policy", "rule:admin_or_reader", "Show an RBAC policy"),
    RuleDefault("update_rbac_policy", "rule:admin_or_member", "Update an RBAC policy"),
    RuleDefault("delete_rbac_policy", "rule:admin_or_member", "Delete an RBAC policy"),
])

COLUMNS = {"id": RBACPolicy.id, "object_type": RBACPolicy.object_type, "object_id": RBACPolicy.object_id,
           "action": RBACPolicy.action, "target_tenant": RBACPolicy.target_tenant,
           "target_project_id": RBACPolicy.target_tenant, "project_id": RBACPolicy.project_id,
           "tenant_id": RBACPolicy.project_id}


def visible(ctx):
    """Policies the caller may see: its own (the cloud admin: all), as Neutron."""
    if ctx.is_admin:
        return true()
    return RBACPolicy.project_id == ctx.project_id


def get(db: Session, ctx, policy_id: str) -> RBACPolicy:
    row = db.scalar(select(RBACPolicy).where(RBACPolicy.id == policy_id, visible(ctx)))
    if row is None:
        raise NotFound(f"RBAC policy of type rbac_policy with ID {policy_id} not found.",
                       type="RbacPolicyNotFound")
    return row


def _target(doc: dict[str, Any]) -> str:
    target = doc.get("target_tenant", doc.get("target_project_id"))
    if not isinstance(target, str) or not target or len(target) > 255:
        raise attrs.invalid("target_tenant", f"'{target}' is not a valid project id or '*'")
    return target


def parse_create(doc: dict[str, Any]) -> dict[str, Any]:
    attrs.only(doc, CREATE_ATTRS)
    for field in ("object_type", "object_id", "action"):
        if not isinstance(doc.get(field), str) or not doc[field]:
            raise attrs.invalid_op(f"Failed to parse request. Required attribute '{field}' not specified")
    if doc["object_type"] not in OBJECT_TYPES:
        raise attrs.invalid("object_type", f"{doc['object_type']} is not in valid_values {list(OBJECT_TYPES)}")
    if doc["action"] not in ACTIONS:
        raise attrs.invalid("action", f"{doc['action']} is not in valid_values {list(ACTIONS)}")
    return {"object_type": doc["object_type"], "object_id": doc["object_id"], "action": doc["action"],
            "target_tenant": _target(doc)}


def create(db: Session, ctx, spec: dict[str, Any], project_id: str) -> RBACPolicy:
    net = db.get(Network, spec["object_id"])
    if net is None or not access.is_owner(ctx, net):
        raise NotFound(f"Network {spec['object_id']} could not be found.", type="NetworkNotFound")
    quotas.check(db, project_id, {"rbac_policy": 1})
    row = RBACPolicy(id=str(uuid.uuid4()), project_id=project_id, **spec)
    sp = db.begin_nested()
    try:
        db.add(row)
        db.flush()
    except IntegrityError:
        sp.rollback()
        raise Conflict("An RBAC policy already exists with those values.", type="DuplicateRbacPolicy") from None
    sp.commit()
    db.add(Allocation(consumer_id=row.id, project_id=project_id, resource="rbac_policy", amount=1))
    if row.target_tenant == "*":
        if row.action == access.SHARED:
            net.shared = True
        else:
            net.external = True
    elif row.action == access.EXTERNAL:
        net.external = True
    db.flush()
    return row


def _users(db: Session, policy: RBACPolicy, target: str) -> bool:
    """Ports of projects that only ``policy`` lets onto the network (other than owners)."""
    net = db.get(Network, policy.object_id)
    if net is None:
        return False
    others = select(RBACPolicy.target_tenant).where(
        RBACPolicy.object_type == "network", RBACPolicy.object_id == net.id,
        RBACPolicy.action == policy.action, RBACPolicy.id != policy.id)
    still = set(db.scalars(others))
    if "*" in still:
        return False
    stmt = select(Port.id).where(Port.network_id == net.id, Port.project_id != net.project_id,
                                 Port.project_id.not_in(still) if still else true())
    if target != "*":
        stmt = stmt.where(Port.project_id == target)
    if policy.action == access.EXTERNAL:
        stmt = stmt.where(Port.device_owner.in_(("network:router_gateway", "network:floatingip")))
    return db.scalar(stmt.limit(1)) is not None


def _in_use(policy: RBACPolicy) -> Conflict:
    return Conflict(f"RBAC policy on object {policy.object_id} cannot be removed because other objects "
                    "depend on it.\nDetails: ports of the target project are on the network.",
                    type="RbacPolicyInUse")


def update(db: Session, policy: RBACPolicy, doc: dict[str, Any]) -> None:
    attrs.only(doc, {"target_tenant", "target_project_id"})
    target = _target(doc)
    if target != policy.target_tenant and _users(db, policy, policy.target_tenant):
        raise _in_use(policy)
    policy.target_tenant = target
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("An RBAC policy already exists with those values.", type="DuplicateRbacPolicy") from None
    _sync(db, policy.object_id)


def delete(db: Session, policy: RBACPolicy) -> None:
    if _users(db, policy, policy.target_tenant):
        raise _in_use(policy)
    object_id = policy.object_id
    quotas.release(db, policy.id)
    db.delete(policy)
    db.flush()
    _sync(db, object_id)


def _sync(db: Session, network_id: str) -> None:
    """``Network.shared`` says a ``*`` access_as_shared policy exists."""
    net = db.get(Network, network_id)
    if net is None:
        return
    net.shared = db.scalar(select(RBACPolicy.id).where(
        RBACPolicy.object_type == "network", RBACPolicy.object_id == network_id,
        RBACPolicy.action == access.SHARED, RBACPolicy.target_tenant == "*")) is not None
    db.flush()


def view(row: RBACPolicy) -> dict[str, Any]:
    return {"id": row.id, "object_type": row.object_type, "object_id": row.object_id, "action": row.action,
            "target_tenant": row.target_tenant, "target_project_id": row.target_tenant,
            "project_id": row.project_id, "tenant_id": row.project_id}
