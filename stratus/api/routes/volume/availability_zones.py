"""Cinder v3 ``GET /os-availability-zone``: ``{"availabilityZoneInfo": [{"zoneName",
"zoneState": {"available"}}]}``, the zones of the storage hosts (see
:mod:`stratus.volume.zones`). Any authenticated user may list them, as in Cinder."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import DbSession
from stratus.api.routes.volume._common import VolumeAuth
from stratus.volume import zones

router = APIRouter(tags=["volume: availability_zones"])


@router.get("/os-availability-zone")
def list_zones(request: Request, ctx: VolumeAuth, db: DbSession):
    return {"availabilityZoneInfo": zones.listing(db, request.app.state.settings)}
