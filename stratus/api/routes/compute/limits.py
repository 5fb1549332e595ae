"""Nova ``limits``: ``GET /limits`` (``tenant_id`` for admins: another project's),
``{"limits": {"rate": [], "absolute": {...}}}`` (see ``stratus.compute.limits``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.compute import limits as svc

router = APIRouter(tags=["compute: limits"])


@router.get("/limits")
def show(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion,
         tenant_id: str | None = None):
    policy.enforce("os_compute_api:limits", {"project_id": ctx.project_id})
    project = ctx.project_id
    if tenant_id and tenant_id != ctx.project_id:
        policy.enforce("os_compute_api:limits:other_project", {"project_id": tenant_id})
        project = tenant_id
    return {"limits": {"rate": [], "absolute": svc.absolute(
        db, project, version, request.app.state.settings.quota_defaults)}}
