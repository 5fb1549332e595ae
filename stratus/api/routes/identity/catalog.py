"""/regions, /services, /endpoints"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, Conflict
from stratus.api.routes.identity._util import apply_patch, get_or_404, list_links, self_link
from stratus.db.models.identity import Endpoint, Region, Service
from stratus.db.types import new_id
from stratus.identity.schemas import (
    EndpointCreateBody,
    EndpointUpdateBody,
    RegionCreateBody,
    RegionUpdateBody,
    ServiceCreateBody,
    ServiceUpdateBody,
)

router = APIRouter(tags=["identity: catalog"])


def region_view(request: Request, r: Region) -> dict:
    return {
        "id": r.id,
        "description": r.description,
        "parent_region_id": r.parent_region_id,
        "links": self_link(request, f"/regions/{r.id}"),
    }


def service_view(request: Request, s: Service) -> dict:
    return {
        "id": s.id,
        "type": s.type,
        "name": s.name,
        "description": s.description,
        "enabled": s.enabled,
        "links": self_link(request, f"/services/{s.id}"),
    }


def endpoint_view(request: Request, e: Endpoint) -> dict:
    return {
        "id": e.id,
        "service_id": e.service_id,
        "interface": e.interface,
        "url": e.url,
        "region_id": e.region_id,
        "region": e.region_id,
        "enabled": e.enabled,
        "links": self_link(request, f"/endpoints/{e.id}"),
    }


def _check_parent(db, region_id: str | None, parent_id: str | None) -> None:
    if parent_id is None:
        return
    seen = {region_id}
    cur = parent_id
    while cur:
        if cur in seen:
            raise BadRequest(f"Region {parent_id} as parent of {region_id} would make a cycle.")
        seen.add(cur)
        r = db.get(Region, cur)
        if r is None:
            raise BadRequest(f"Could not find parent region: {cur}.")
        cur = r.parent_region_id


# --- regions ---------------------------------------------------------------------------
@router.get("/regions")
def list_regions(
    request: Request, ctx: Auth, db: DbSession, policy: Policy, parent_region_id: str | None = None
):
    policy.enforce("identity:list_regions", {})
    q = select(Region).order_by(Region.id)
    if parent_region_id is not None:
        q = q.filter_by(parent_region_id=parent_region_id)
    return {
        "regions": [region_view(request, r) for r in db.scalars(q)],
        "links": list_links(request),
    }


def _create_region(request, db, region_id: str | None, body: RegionCreateBody) -> dict:
    b = body.region
    rid = region_id or b.id or new_id()
    if db.get(Region, rid) is not None:
        raise Conflict(f"Conflict occurred attempting to store region - Duplicate ID, {rid}.")
    _check_parent(db, rid, b.parent_region_id)
    r = Region(id=rid, description=b.description or "", parent_region_id=b.parent_region_id)
    db.add(r)
    db.flush()
    return {"region": region_view(request, r)}


@router.post("/regions", status_code=201)
def create_region(
    request: Request, body: RegionCreateBody, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:create_region", {})
    return _create_region(request, db, None, body)


@router.put("/regions/{region_id}", status_code=201)
def put_region(
    request: Request,
    region_id: str,
    body: RegionCreateBody,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
):
    policy.enforce("identity:create_region", {})
    return _create_region(request, db, region_id, body)


@router.get("/regions/{region_id}")
def get_region(request: Request, region_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_region", {})
    return {"region": region_view(request, get_or_404(db, Region, region_id, "region"))}


@router.patch("/regions/{region_id}")
def update_region(
    request: Request,
    region_id: str,
    body: RegionUpdateBody,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
):
    policy.enforce("identity:update_region", {})
    r = get_or_404(db, Region, region_id, "region")
    v = body.region.model_dump(exclude_unset=True)
    if "parent_region_id" in v:
        _check_parent(db, r.id, v["parent_region_id"])
        r.parent_region_id = v["parent_region_id"]
    if v.get("description") is not None:
        r.description = v["description"]
    return {"region": region_view(request, r)}


@router.delete("/regions/{region_id}", status_code=204)
def delete_region(region_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_region", {})
    r = get_or_404(db, Region, region_id, "region")
    if db.scalars(select(Region).filter_by(parent_region_id=r.id)).first():
        raise Conflict(f"Cannot delete region {r.id}: it has child regions.")
    db.delete(r)
    return Response(status_code=204)


# --- services --------------------------------------------------------------------------
@router.get("/services")
def list_services(
    request: Request,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
    type: str | None = None,
    name: str | None = None,
):  # noqa: A002
    policy.enforce("identity:list_services", {})
    q = select(Service).order_by(Service.type)
    if type is not None:
        q = q.filter_by(type=type)
    if name is not None:
        q = q.filter_by(name=name)
    return {
        "services": [service_view(request, s) for s in db.scalars(q)],
        "links": list_links(request),
    }


@router.post("/services", status_code=201)
def create_service(
    request: Request, body: ServiceCreateBody, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:create_service", {})
    b = body.service
    s = Service(type=b.type, name=b.name or "", description=b.description or "", enabled=b.enabled)
    db.add(s)
    db.flush()
    return {"service": service_view(request, s)}


@router.get("/services/{service_id}")
def get_service(request: Request, service_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_service", {})
    return {"service": service_view(request, get_or_404(db, Service, service_id, "service"))}


@router.patch("/services/{service_id}")
def update_service(
    request: Request,
    service_id: str,
    body: ServiceUpdateBody,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
):
    policy.enforce("identity:update_service", {})
    s = get_or_404(db, Service, service_id, "service")
    # Keystone lets services share a name.
    apply_patch(db, s, body.service.model_dump(exclude_unset=True),
                ("type", "name", "description", "enabled"), what="service", unique_name=False)
    return {"service": service_view(request, s)}


@router.delete("/services/{service_id}", status_code=204)
def delete_service(service_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_service", {})
    db.delete(get_or_404(db, Service, service_id, "service"))
    return Response(status_code=204)


# --- endpoints -------------------------------------------------------------------------
def ensure_region(db, region_id: str | None) -> None:
    """An endpoint naming a region that does not exist creates it, as Keystone does."""
    if region_id is not None and db.get(Region, region_id) is None:
        db.add(Region(id=region_id, description=""))
        db.flush()


@router.get("/endpoints")
def list_endpoints(
    request: Request,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
    service_id: str | None = None,
    interface: str | None = None,
    region_id: str | None = None,
):
    policy.enforce("identity:list_endpoints", {})
    q = select(Endpoint).order_by(Endpoint.service_id, Endpoint.interface)
    if service_id is not None:
        q = q.filter_by(service_id=service_id)
    if interface is not None:
        q = q.filter_by(interface=interface)
    if region_id is not None:
        q = q.filter_by(region_id=region_id)
    return {
        "endpoints": [endpoint_view(request, e) for e in db.scalars(q)],
        "links": list_links(request),
    }


@router.post("/endpoints", status_code=201)
def create_endpoint(
    request: Request, body: EndpointCreateBody, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:create_endpoint", {})
    b = body.endpoint
    if db.get(Service, b.service_id) is None:
        raise BadRequest(f"Could not find service: {b.service_id}.")
    region = b.region_id or b.region
    ensure_region(db, region)
    e = Endpoint(
        service_id=b.service_id,
        interface=b.interface,
        url=b.url,
        region_id=region,
        enabled=b.enabled,
    )
    db.add(e)
    db.flush()
    return {"endpoint": endpoint_view(request, e)}


@router.get("/endpoints/{endpoint_id}")
def get_endpoint(request: Request, endpoint_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_endpoint", {})
    return {"endpoint": endpoint_view(request, get_or_404(db, Endpoint, endpoint_id, "endpoint"))}


@router.patch("/endpoints/{endpoint_id}")
def update_endpoint(
    request: Request,
    endpoint_id: str,
    body: EndpointUpdateBody,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
):
    policy.enforce("identity:update_endpoint", {})
    e = get_or_404(db, Endpoint, endpoint_id, "endpoint")
    v = body.endpoint.model_dump(exclude_unset=True)
    if v.get("service_id") and db.get(Service, v["service_id"]) is None:
        raise BadRequest(f"Could not find service: {v['service_id']}.")
    region = v.get("region_id") or v.get("region")
    if region is not None:
        ensure_region(db, region)
        e.region_id = region
    apply_patch(db, e, v, ("service_id", "interface", "url", "enabled"), what="endpoint")
    return {"endpoint": endpoint_view(request, e)}


@router.delete("/endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_endpoint", {})
    db.delete(get_or_404(db, Endpoint, endpoint_id, "endpoint"))
    return Response(status_code=204)
