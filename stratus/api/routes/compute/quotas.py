"""Nova ``os-quota-sets``: ``GET /os-quota-sets/{project_id}`` (limits),
``/{project_id}/detail`` (limit, in_use, reserved), ``/{project_id}/defaults``;
``PUT /os-quota-sets/{project_id}`` ``{"quota_set": {...}}`` and ``DELETE`` (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest
from stratus.quotas import service as q

router = APIRouter(tags=["compute: quotas"])
SERVICE = "compute"


@router.get("/os-quota-sets/{project_id}")
def show(project_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
         user_id: str | None = None):
    policy.enforce("quotas:show", {"project_id": project_id})
    return {"quota_set": {"id": project_id, **q.limits(request, db, project_id, SERVICE)}}


@router.get("/os-quota-sets/{project_id}/detail")
def detail(project_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("quotas:show", {"project_id": project_id})
    return {"quota_set": {"id": project_id, **q.detail(request, db, project_id, SERVICE)}}


@router.get("/os-quota-sets/{project_id}/defaults")
def defaults(project_id: str, request: Request, ctx: Auth, policy: Policy):
    policy.enforce("quotas:show", {"project_id": project_id})
    return {"quota_set": {"id": project_id, **q.defaults(request, SERVICE)}}


@router.put("/os-quota-sets/{project_id}")
def update(project_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
           body: Annotated[dict[str, Any], Body()]):
    policy.enforce("quotas:update", {"project_id": project_id})
    qs = body.get("quota_set")
    if not isinstance(qs, dict):
        raise BadRequest("Invalid input for field/attribute quota_set: a mapping is required.")
    # Nova accepts "force" and the network quotas it proxied before 2.36; both ignored here
    got = q.update(request, db, project_id, SERVICE, qs, ignore={"force", "floating_ips",
                   "fixed_ips", "security_groups", "security_group_rules", "networks"})
    return {"quota_set": got}


@router.delete("/os-quota-sets/{project_id}", status_code=202)
def delete(project_id: str, ctx: Auth, policy: Policy, db: DbSession):
    from stratus import quotas

    policy.enforce("quotas:delete", {"project_id": project_id})
    quotas.delete_limits(db, project_id, SERVICE)
    return Response(status_code=202)
