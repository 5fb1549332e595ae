"""``/v2.0/security-groups`` CRUD; the default group per project (made when the project
first lists its groups or creates one)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import select

from stratus import log
from stratus.api.deps import Auth, DbSession, Policy, plan_context
from stratus.db.models.network import SecurityGroup
from stratus.network import attrs, query
from stratus.network import security_groups as sgs

router = APIRouter(tags=["network: security groups"])

COLUMNS = {"id": SecurityGroup.id, "name": SecurityGroup.name, "description": SecurityGroup.description,
           "project_id": SecurityGroup.project_id, "tenant_id": SecurityGroup.project_id,
           "stateful": SecurityGroup.stateful, "revision_number": SecurityGroup.revision_number,
           "created_at": SecurityGroup.created_at, "updated_at": SecurityGroup.updated_at}


@router.get("/security-groups")
def list_groups(request: Request, ctx: Auth, db: DbSession):
    if ctx.project_id:
        sgs.default_group(db, ctx.project_id)
    q = query.parse(request.query_params.multi_items())
    stmt = select(SecurityGroup).where(sgs.visible(ctx, admin=ctx.is_admin))
    rows, more = query.run(db, stmt, SecurityGroup, q, COLUMNS, tag_type=sgs.TAG_TYPE)
    docs = {d["id"]: d for d in sgs.views(db, rows)}
    return query.answer(request, "security_groups", rows, q, more, lambda r: docs[r.id])


@router.post("/security-groups", status_code=201)
def create_group(request: Request, ctx: Auth, policy: Policy, db: DbSession, body: Annotated[Any, Body()] = None):
    data = attrs.section(body, "security_group")
    project = attrs.project_of(ctx, data, ctx.is_admin)
    policy.enforce("create_security_group", {"project_id": project})
    group = sgs.create_group(db, project, data, context=plan_context(request),
                             request_id=log.request_id.get(), admin=ctx.is_admin)
    return {"security_group": sgs.view(db, group)}


@router.get("/security-groups/{group_id}")
def show_group(group_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    group = sgs.get(db, ctx, group_id, admin=ctx.is_admin)
    policy.enforce("get_security_group", {"project_id": group.project_id})
    q = query.parse(request.query_params.multi_items())
    return {"security_group": query.project(sgs.view(db, group), q.fields)}


@router.put("/security-groups/{group_id}")
def update_group(group_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
                 body: Annotated[Any, Body()] = None):
    data = attrs.section(body, "security_group")
    group = sgs.get(db, ctx, group_id, admin=ctx.is_admin)
    policy.enforce("update_security_group", {"project_id": group.project_id})
    sgs.change_group(db, group, data, context=plan_context(request), request_id=log.request_id.get())
    return {"security_group": sgs.view(db, group)}


@router.delete("/security-groups/{group_id}", status_code=204)
def delete_group(group_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    group = sgs.get(db, ctx, group_id, admin=ctx.is_admin)
    policy.enforce("delete_security_group", {"project_id": group.project_id})
    sgs.delete_group(db, group, admin=ctx.is_admin, context=plan_context(request),
                     request_id=log.request_id.get())
    return Response(status_code=204)
