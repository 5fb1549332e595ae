"""Tags of any resource (``standard-attr-tag``): ``GET/PUT/DELETE /{collection}/{id}/tags``
(replace all; remove all) and ``GET/PUT/DELETE /{collection}/{id}/tags/{tag}`` for
networks, subnets, ports, routers, floatingips, security-groups and subnetpools
(``stratus.network.tags``). A resource the caller cannot see answers 404; changing the
tags of another project's resource is refused (403) unless the caller is an admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.routes.network._common import JsonBody
from stratus.db.models.network import FloatingIP, Port, Router, SecurityGroup
from stratus.errors import Forbidden, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.network import access, attrs, subnetpools, tags

router = APIRouter(tags=["network: tags"])

# collection -> (model of records the owner alone sees, Neutron's NotFound type)
OWNED = {"ports": (Port, "PortNotFound", "Port"), "routers": (Router, "RouterNotFound", "Router"),
         "floatingips": (FloatingIP, "FloatingIPNotFound", "Floating IP"),
         "security-groups": (SecurityGroup, "SecurityGroupNotFound", "Security group")}
COLLECTIONS = ("networks", "subnets", "subnetpools", *OWNED)

register_defaults([
    RuleDefault(f"{verb}_{c.replace('-', '_')}_tags", rule, f"{verb} tags of {c}")
    for c in COLLECTIONS
    for verb, rule in (("get", "rule:admin_or_reader"), ("create", "rule:admin_or_member"),
                       ("update", "rule:admin_or_member"), ("delete", "rule:admin_or_member"))
])


def _row(db, ctx, collection: str, resource_id: str) -> Any:
    if collection == "networks":
        return access.network(db, ctx, resource_id)
    if collection == "subnets":
        return access.subnet(db, ctx, resource_id)
    if collection == "subnetpools":
        return subnetpools.get(db, ctx, resource_id)
    if collection not in OWNED:
        raise NotFound(f"The resource could not be found: {collection} has no tags.")
    model, kind, label = OWNED[collection]
    row = db.get(model, resource_id)
    if row is None or not access.is_owner(ctx, row):
        raise NotFound(f"{label} {resource_id} could not be found.", type=kind)
    return row


def _target(db, ctx, policy, collection: str, resource_id: str, verb: str) -> Any:
    row = _row(db, ctx, collection, resource_id)
    policy.enforce(f"{verb}_{collection.replace('-', '_')}_tags", {"project_id": ctx.project_id})
    if verb != "get" and not access.is_owner(ctx, row):
        raise Forbidden(f"You are not authorized to change the tags of {collection} {resource_id}: "
                        "only its owner (or an administrator) may.")
    return row


@router.get("/{collection}/{resource_id}/tags")
def index(collection: str, resource_id: str, ctx: Auth, policy: Policy, db: DbSession):
    _target(db, ctx, policy, collection, resource_id, "get")
    return {"tags": tags.of(db, collection, resource_id)}


@router.get("/{collection}/{resource_id}/tags/{tag}", status_code=204)
def show(collection: str, resource_id: str, tag: str, ctx: Auth, policy: Policy, db: DbSession):
    _target(db, ctx, policy, collection, resource_id, "get")
    if tag not in tags.of(db, collection, resource_id):
        raise NotFound(f"Tag {tag} could not be found.", type="TagNotFound")
    return Response(status_code=204)


@router.put("/{collection}/{resource_id}/tags")
def replace(collection: str, resource_id: str, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    row = _target(db, ctx, policy, collection, resource_id, "update")
    if not isinstance(body, dict) or set(body) != {"tags"}:
        raise attrs.invalid_op("The body must be {\"tags\": [...]}.")
    got = tags.replace(db, collection, resource_id, body["tags"])
    attrs.touch(row)
    return {"tags": got}


@router.put("/{collection}/{resource_id}/tags/{tag}", status_code=201)
def add(collection: str, resource_id: str, tag: str, ctx: Auth, policy: Policy, db: DbSession):
    row = _target(db, ctx, policy, collection, resource_id, "create")
    tags.add(db, collection, resource_id, tag)
    attrs.touch(row)
    return Response(status_code=201)


@router.delete("/{collection}/{resource_id}/tags", status_code=204)
def clear(collection: str, resource_id: str, ctx: Auth, policy: Policy, db: DbSession):
    row = _target(db, ctx, policy, collection, resource_id, "delete")
    tags.clear(db, collection, resource_id)
    attrs.touch(row)
    return Response(status_code=204)


@router.delete("/{collection}/{resource_id}/tags/{tag}", status_code=204)
def remove(collection: str, resource_id: str, tag: str, ctx: Auth, policy: Policy, db: DbSession):
    row = _target(db, ctx, policy, collection, resource_id, "delete")
    tags.remove(db, collection, resource_id, tag)
    attrs.touch(row)
    return Response(status_code=204)
