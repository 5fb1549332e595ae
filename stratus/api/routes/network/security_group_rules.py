"""``/v2.0/security-group-rules`` create, list, show, delete. A change reaches every port
of the group (and of groups naming it as remote) on every host, in one job."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import or_, select, true

from stratus import log
from stratus.api.deps import Auth, DbSession, Policy, plan_context
from stratus.db.models.network import SecurityGroup, SecurityGroupRule
from stratus.errors import BadRequest
from stratus.network import attrs, query, sg_rules
from stratus.network import security_groups as sgs

router = APIRouter(tags=["network: security group rules"])

R = SecurityGroupRule
COLUMNS = {"id": R.id, "security_group_id": R.security_group_id, "direction": R.direction,
           "ethertype": R.ethertype, "protocol": R.protocol, "port_range_min": R.port_range_min,
           "port_range_max": R.port_range_max, "remote_ip_prefix": R.remote_ip_prefix,
           "remote_group_id": R.remote_group_id, "project_id": R.project_id, "tenant_id": R.project_id,
           "description": R.description, "revision_number": R.revision_number,
           "created_at": R.created_at, "updated_at": R.updated_at}


def _visible(ctx):
    if ctx.is_admin:
        return true()
    own_groups = select(SecurityGroup.id).where(SecurityGroup.project_id == ctx.project_id)
    return or_(R.project_id == ctx.project_id, R.security_group_id.in_(own_groups))


@router.get("/security-group-rules")
def list_rules(request: Request, ctx: Auth, db: DbSession):
    if ctx.project_id:
        sgs.default_group(db, ctx.project_id)
    q = query.parse(request.query_params.multi_items())
    rows, more = query.run(db, select(R).where(_visible(ctx)), R, q, COLUMNS)
    defaults = sgs.default_ids(db, {r.security_group_id for r in rows})
    return query.answer(request, "security_group_rules", rows, q, more, lambda r: sg_rules.view(r, defaults))


@router.post("/security-group-rules", status_code=201)
def create_rules(request: Request, ctx: Auth, policy: Policy, db: DbSession, body: Annotated[Any, Body()] = None):
    """One rule (``security_group_rule``) or Neutron's bulk form (``security_group_rules``)."""
    bulk = isinstance(body, dict) and "security_group_rules" in body
    if bulk:
        items = body["security_group_rules"]
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise BadRequest("Invalid input for operation: 'security_group_rules' must be a non-empty list of "
                             "rule objects.", type="InvalidInput")
    else:
        items = [attrs.section(body, "security_group_rule")]
    requested = [(_group_for(db, ctx, policy, data), data) for data in items]
    rules = sgs.create_rules(db, requested, context=plan_context(request), request_id=log.request_id.get(),
                             admin=ctx.is_admin)
    defaults = sgs.default_ids(db, {r.security_group_id for r in rules})
    docs = [sg_rules.view(r, defaults) for r in rules]
    return {"security_group_rules": docs} if bulk else {"security_group_rule": docs[0]}


def _group_for(db, ctx, policy, data: dict[str, Any]):
    """The group a rule body names, once the body's attributes and the caller pass."""
    attrs.only(data, sg_rules.ATTRIBUTES)
    if not data.get("security_group_id"):
        raise BadRequest("Failed to parse request. Required attribute 'security_group_id' not specified",
                         type="HTTPBadRequest")
    if data.get("remote_address_group_id") is not None:
        raise attrs.invalid_op("remote address groups are not supported; use remote_ip_prefix or "
                               "remote_group_id.")
    group = sgs.get(db, ctx, data["security_group_id"], admin=ctx.is_admin)
    policy.enforce("create_security_group_rule", {"project_id": group.project_id})
    if data.get("remote_group_id") is not None:
        sgs.get(db, ctx, data["remote_group_id"], admin=ctx.is_admin)
    return group


@router.get("/security-group-rules/{rule_id}")
def show_rule(rule_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    rule = sgs.get_rule(db, ctx, rule_id, admin=ctx.is_admin)
    policy.enforce("get_security_group_rule", {"project_id": rule.project_id})
    q = query.parse(request.query_params.multi_items())
    doc = sg_rules.view(rule, sgs.default_ids(db, [rule.security_group_id]))
    return {"security_group_rule": query.project(doc, q.fields)}


@router.delete("/security-group-rules/{rule_id}", status_code=204)
def delete_rule(rule_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    rule = sgs.get_rule(db, ctx, rule_id, admin=ctx.is_admin)
    policy.enforce("delete_security_group_rule", {"project_id": rule.project_id})
    sgs.delete_rule(db, rule, context=plan_context(request), request_id=log.request_id.get())
    return Response(status_code=204)
