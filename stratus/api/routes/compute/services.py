"""Nova ``os-services``: the compute services of the registry's hosts (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.api.routes.compute._body import JsonBody
from stratus.compute import services, zones
from stratus.errors import NotFound

router = APIRouter(tags=["compute: services"])


def _views(request: Request, db, rows, version) -> list[dict]:
    default = request.app.state.settings.default_availability_zone
    host_zones = zones.host_zones(db)
    return [services.view(db, s, version, default, host_zones) for s in rows]


@router.get("/os-services", summary="List compute services")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion,
          host: str | None = None, binary: str | None = None):
    policy.enforce("os_compute_api:os-services:list")
    return {"services": _views(request, db, services.rows(db, host=host, binary=binary), version)}


@router.put("/os-services/{service_id}", summary="Enable, disable or force down a service")
def update(service_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
           version: ApiVersion, body: JsonBody):
    policy.enforce("os_compute_api:os-services:update")
    if version < (2, 53):
        if service_id == "force-down" and version < (2, 11):
            raise NotFound("force-down is available from microversion 2.11 on.")
        return {"service": services.legacy_update(db, service_id, body)}
    svc = services.update(db, services.find(db, service_id, version), body)
    return {"service": _views(request, db, [svc], version)[0]}


@router.delete("/os-services/{service_id}", status_code=204, summary="Delete a service")
def remove(service_id: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:os-services:delete")
    services.remove(db, services.find(db, service_id, version))
    return Response(status_code=204)
