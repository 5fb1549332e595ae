"""``GET /v2.0/availability_zones``: the zones networks and routers may be hinted to
(one, ``nova``, as Neutron reports its agents' default zone)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import Auth
from stratus.network import networks, query

router = APIRouter(tags=["network: availability zones"])

ZONE_RESOURCES = ("network", "router")


@router.get("/availability_zones")
def index(request: Request, ctx: Auth):
    q = query.parse(request.query_params.multi_items())
    docs = [{"name": z, "resource": r, "state": "available"} for z in networks.ZONES for r in ZONE_RESOURCES]
    for key, values in q.filters.items():
        if key not in ("name", "resource", "state"):
            raise query.BadRequest(f"[{key}] is invalid filter")
        docs = [d for d in docs if d[key] in values]
    return {"availability_zones": [query.project(d, q.fields) for d in docs]}
