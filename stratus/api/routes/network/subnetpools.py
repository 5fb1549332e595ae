"""Subnet pools: ``/v2.0/subnetpools`` CRUD (``stratus.network.subnetpools``). Records
only: a pool never touches a host."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.routes.network._common import JsonBody, one
from stratus.db.models.network import SubnetPool
from stratus.network import attrs, query, subnetpools

router = APIRouter(tags=["network: subnet pools"])


@router.post("/subnetpools", status_code=201)
def create(ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    doc = attrs.section(body, "subnetpool")
    spec = subnetpools.parse_create(doc)
    project_id = attrs.project_of(ctx, doc, policy.allowed("admin_required"))
    target = {"project_id": project_id}
    policy.enforce("create_subnetpool", target)
    for name in ("shared", "is_default"):
        if spec.get(name):
            policy.enforce(f"create_subnetpool:{name}", target)
    row = subnetpools.create(db, project_id, spec)
    return {"subnetpool": subnetpools.view(db, row)}


@router.get("/subnetpools")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("get_subnetpool")
    q = query.parse(request.query_params.multi_items())
    stmt = select(SubnetPool).where(subnetpools.visible(ctx))
    rows, more = query.run(db, stmt, SubnetPool, q, subnetpools.COLUMNS, tag_type="subnetpools")
    return query.answer(request, "subnetpools", rows, q, more, subnetpools.views(db, rows))


@router.get("/subnetpools/{pool_id}")
def show(pool_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("get_subnetpool")
    return one(request, "subnetpool", subnetpools.view(db, subnetpools.get(db, ctx, pool_id)))


@router.put("/subnetpools/{pool_id}")
def update(pool_id: str, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    row = subnetpools.get(db, ctx, pool_id)
    doc = attrs.section(body, "subnetpool")
    spec = subnetpools.parse_update(doc)
    target = {"project_id": row.project_id}
    policy.enforce("update_subnetpool", target)
    if "is_default" in spec:
        policy.enforce("update_subnetpool:is_default", target)
    subnetpools.update(db, row, spec)
    return {"subnetpool": subnetpools.view(db, row)}


@router.delete("/subnetpools/{pool_id}", status_code=204)
def delete(pool_id: str, ctx: Auth, policy: Policy, db: DbSession):
    row = subnetpools.get(db, ctx, pool_id)
    policy.enforce("delete_subnetpool", {"project_id": row.project_id})
    subnetpools.delete(db, row)
    return Response(status_code=204)
