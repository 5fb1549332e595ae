"""Cinder v3 ``os-services`` (administrators): ``GET /os-services[?host=&binary=]`` and
``PUT /os-services/{enable,disable,disable-log-reason}`` with ``{"host", "binary"[,
"disabled_reason"]}`` (see :mod:`stratus.volume.services`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import ApiVersion, DbSession, Policy
from stratus.api.routes.volume._common import JsonBody, VolumeAuth
from stratus.volume import services as svc

router = APIRouter(tags=["volume: services"])


@router.get("/os-services")
def list_services(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, version: ApiVersion,
                  host: str | None = None, binary: str | None = None):
    policy.enforce("volume_extension:services:index")
    rows = svc.listing(db, request.app.state.settings, host=host, binary=binary)
    return {"services": [s.view(version) for s in rows]}


@router.put("/os-services/{action}")
def update_service(action: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
                   body: JsonBody):
    policy.enforce("volume_extension:services:update")
    return svc.set_state(db, request.app.state.settings, action, body)
