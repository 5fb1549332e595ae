"""Cinder ``os-quota-sets`` (under the project in the URL, as Cinder's endpoint has it):
``GET /{project_id}/os-quota-sets/{target}[?usage=true]``, ``/{target}/defaults``,
``PUT`` ``{"quota_set": {...}}`` and ``DELETE`` (admin only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest
from stratus.quotas import service as q

router = APIRouter(tags=["volume: quotas"])
SERVICE = "volume"


def _usage(flag: str | None) -> bool:
    return (flag or "").lower() in ("1", "true", "yes", "on")


@router.get("/os-quota-sets/{target}")
def show(target: str, request: Request, ctx: Auth, policy: Policy,
         db: DbSession, usage: str | None = None):
    policy.enforce("quotas:show", {"project_id": target})
    if _usage(usage):
        detail = q.detail(request, db, target, SERVICE)
        for v in detail.values():
            v["allocated"] = 0
        return {"quota_set": {"id": target, **detail}}
    return {"quota_set": {"id": target, **q.limits(request, db, target, SERVICE)}}


@router.get("/os-quota-sets/{target}/defaults")
def defaults(target: str, request: Request, ctx: Auth, policy: Policy):
    policy.enforce("quotas:show", {"project_id": target})
    return {"quota_set": {"id": target, **q.defaults(request, SERVICE)}}


@router.put("/os-quota-sets/{target}")
def update(target: str, request: Request, ctx: Auth, policy: Policy,
           db: DbSession, body: Annotated[dict[str, Any], Body()]):
    policy.enforce("quotas:update", {"project_id": target})
    qs = body.get("quota_set")
    if not isinstance(qs, dict):
        raise BadRequest("Missing required element 'quota_set' in request body.")
    return {"quota_set": q.update(request, db, target, SERVICE, qs, ignore={"tenant_id", "id"})}


@router.delete("/os-quota-sets/{target}")
def delete(target: str, ctx: Auth, policy: Policy, db: DbSession):
    from stratus import quotas

    policy.enforce("quotas:delete", {"project_id": target})
    quotas.delete_limits(db, target, SERVICE)
    return Response(status_code=200)
