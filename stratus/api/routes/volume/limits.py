"""Cinder v3 ``GET /limits``: ``{"limits": {"rate": [], "absolute": {...}}}`` of the
caller's project (see :mod:`stratus.volume.limits`; another project's limits need 3.39,
beyond what is served)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import DbSession, Policy
from stratus.api.routes.volume._common import VolumeAuth
from stratus.volume import limits as svc

router = APIRouter(tags=["volume: limits"])


@router.get("/limits")
def show(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession):
    used = policy.allowed("limits_extension:used_limits", {"project_id": ctx.project_id})
    return {"limits": {"rate": [], "absolute": svc.absolute(
        db, ctx.project_id, request.app.state.settings.quota_defaults, used=used)}}
