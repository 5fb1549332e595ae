"""Nova ``os-aggregates``: host aggregates and availability zones (admin)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy
from stratus.api.routes.compute._body import JsonBody
from stratus.compute import aggregates
from stratus.compute.validation import bad

router = APIRouter(tags=["compute: aggregates"])

ACTIONS = {"add_host": aggregates.add_host, "remove_host": aggregates.remove_host,
           "set_metadata": aggregates.set_metadata}


@router.get("/os-aggregates", summary="List aggregates")
def index(ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:os-aggregates:index")
    return {"aggregates": [aggregates.view(db, a, version) for a in aggregates.listing(db)]}


@router.post("/os-aggregates", summary="Create an aggregate (with a zone)")
def create(ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion, body: JsonBody):
    policy.enforce("os_compute_api:os-aggregates:create")
    return {"aggregate": aggregates.view(db, aggregates.create(db, body), version, full=False)}


@router.get("/os-aggregates/{aggregate_id}", summary="Show an aggregate")
def show(aggregate_id: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion):
    policy.enforce("os_compute_api:os-aggregates:show")
    return {"aggregate": aggregates.view(db, aggregates.get(db, aggregate_id), version)}


@router.put("/os-aggregates/{aggregate_id}", summary="Rename an aggregate or change its zone")
def update(aggregate_id: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion, body: JsonBody):
    policy.enforce("os_compute_api:os-aggregates:update")
    agg = aggregates.update(db, aggregates.get(db, aggregate_id), body)
    return {"aggregate": aggregates.view(db, agg, version)}


@router.delete("/os-aggregates/{aggregate_id}", summary="Delete an empty aggregate")
def remove(aggregate_id: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("os_compute_api:os-aggregates:delete")
    aggregates.remove(db, aggregates.get(db, aggregate_id))
    return Response(status_code=200)


@router.post("/os-aggregates/{aggregate_id}/action", summary="add_host, remove_host or set_metadata")
def action(aggregate_id: str, ctx: Auth, policy: Policy, db: DbSession, version: ApiVersion, body: JsonBody):
    if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in ACTIONS:
        bad("action", body, "the body is one of {\"add_host\": {...}}, {\"remove_host\": "
                                      "{...}} or {\"set_metadata\": {...}}")
    name = next(iter(body))
    policy.enforce(f"os_compute_api:os-aggregates:{name}")
    agg = ACTIONS[name](db, aggregates.get(db, aggregate_id), body)
    return {"aggregate": aggregates.view(db, agg, version)}
