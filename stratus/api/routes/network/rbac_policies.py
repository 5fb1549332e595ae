"""RBAC policies: ``/v2.0/rbac-policies`` CRUD (``stratus.network.rbac``): share a
network with a project or with all."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.routes.network._common import JsonBody, one
from stratus.db.models.network import RBACPolicy
from stratus.network import attrs, query, rbac

router = APIRouter(tags=["network: rbac policies"])


@router.post("/rbac-policies", status_code=201)
def create(ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    doc = attrs.section(body, "rbac_policy")
    spec = rbac.parse_create(doc)
    project_id = attrs.project_of(ctx, doc, policy.allowed("admin_required"))
    target = {"project_id": project_id}
    policy.enforce("create_rbac_policy", target)
    if spec["target_tenant"] == "*":
        policy.enforce("create_rbac_policy:target_tenant", target)
    return {"rbac_policy": rbac.view(rbac.create(db, ctx, spec, project_id))}


@router.get("/rbac-policies")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("get_rbac_policy")
    q = query.parse(request.query_params.multi_items())
    rows, more = query.run(db, select(RBACPolicy).where(rbac.visible(ctx)), RBACPolicy, q, rbac.COLUMNS)
    return query.answer(request, "rbac_policies", rows, q, more, rbac.view)


@router.get("/rbac-policies/{policy_id}")
def show(policy_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("get_rbac_policy")
    return one(request, "rbac_policy", rbac.view(rbac.get(db, ctx, policy_id)))


@router.put("/rbac-policies/{policy_id}")
def update(policy_id: str, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    row = rbac.get(db, ctx, policy_id)
    doc = attrs.section(body, "rbac_policy")
    target = {"project_id": row.project_id}
    policy.enforce("update_rbac_policy", target)
    if doc.get("target_tenant", doc.get("target_project_id")) == "*":
        policy.enforce("create_rbac_policy:target_tenant", target)
    rbac.update(db, row, doc)
    return {"rbac_policy": rbac.view(row)}


@router.delete("/rbac-policies/{policy_id}", status_code=204)
def delete(policy_id: str, ctx: Auth, policy: Policy, db: DbSession):
    row = rbac.get(db, ctx, policy_id)
    policy.enforce("delete_rbac_policy", {"project_id": row.project_id})
    rbac.delete(db, row)
    return Response(status_code=204)
