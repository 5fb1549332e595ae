"""Nova ``os-availability-zone``: the zones of compute hosts; ``/detail`` (admin) adds
hosts with their services and the internal zone."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import Auth, DbSession, Policy
from stratus.compute import zones

router = APIRouter(tags=["compute: availability_zones"])


@router.get("/os-availability-zone", summary="List availability zones")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("os_compute_api:os-availability-zone:list")
    default = request.app.state.settings.default_availability_zone
    return {"availabilityZoneInfo": zones.listing(db, default, detail=False)}


@router.get("/os-availability-zone/detail", summary="List availability zones with hosts")
def detail(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("os_compute_api:os-availability-zone:detail")
    default = request.app.state.settings.default_availability_zone
    return {"availabilityZoneInfo": zones.listing(db, default, detail=True)}
