"""Neutron quotas: ``GET /quotas`` (projects with their own limits), ``/quotas/{id}``,
``/quotas/{id}/details.json`` (used, limit, reserved), ``/quotas/{id}/default``,
``PUT /quotas/{id}`` ``{"quota": {...}}`` and ``DELETE /quotas/{id}`` (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from stratus import quotas
from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest
from stratus.quotas import service as q

router = APIRouter(tags=["network: quotas"])
SERVICE = "network"


def _strip(project_id: str) -> str:
    for suffix in (".json",):
        if project_id.endswith(suffix):
            return project_id[: -len(suffix)]
    return project_id


@router.get("/quotas")
@router.get("/quotas.json")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("quotas:update")  # listing every project's quotas is for admins
    return {"quotas": [
        {"project_id": p, "tenant_id": p, **q.limits(request, db, p, SERVICE)}
        for p in q.projects_with_limits(db, SERVICE)
    ]}


@router.get("/quotas/{project_id}/details.json")
@router.get("/quotas/{project_id}/details")
def details(project_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("quotas:show", {"project_id": project_id})
    d = q.detail(request, db, project_id, SERVICE)
    return {"quota": {k: {"used": v["in_use"], "limit": v["limit"], "reserved": 0} for k, v in d.items()}}


@router.get("/quotas/{project_id}/default")
@router.get("/quotas/{project_id}/default.json")
def default(project_id: str, request: Request, ctx: Auth, policy: Policy):
    policy.enforce("quotas:show", {"project_id": project_id})
    return {"quota": q.defaults(request, SERVICE)}


@router.get("/quotas/{project_id}")
def show(project_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    project_id = _strip(project_id)
    policy.enforce("quotas:show", {"project_id": project_id})
    return {"quota": q.limits(request, db, project_id, SERVICE)}


@router.put("/quotas/{project_id}")
def update(project_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
           body: Annotated[dict[str, Any], Body()]):
    project_id = _strip(project_id)
    policy.enforce("quotas:update", {"project_id": project_id})
    quota = body.get("quota")
    if not isinstance(quota, dict):
        raise BadRequest("Missing 'quota' in the request body.")
    try:
        got = q.update(request, db, project_id, SERVICE, quota, ignore={"check_limit", "force"})
    except BadRequest as exc:
        raise BadRequest(exc.message, type="InvalidInput") from exc
    return {"quota": got}


@router.delete("/quotas/{project_id}", status_code=204)
def delete(project_id: str, ctx: Auth, policy: Policy, db: DbSession):
    project_id = _strip(project_id)
    policy.enforce("quotas:delete", {"project_id": project_id})
    quotas.delete_limits(db, project_id, SERVICE)
    return Response(status_code=204)
