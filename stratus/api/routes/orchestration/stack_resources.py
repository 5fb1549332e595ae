"""Heat v1 stack resources: ``GET /stacks/<name>/<id>/resources`` (``?nested_depth=N``,
``?with_detail=true``, filters ``name``, ``type``, ``status``, ``action``, ``id``,
``physical_resource_id``; anything else is 400 as in Heat), ``GET
.../resources/<resource>`` (``?with_attr=`` accepted), ``GET .../metadata`` and ``PATCH
.../resources/<resource>`` with ``mark_unhealthy`` (and ``resource_status_reason``).
The resources are :mod:`stratus.stacks.resources`' (a nested stack's shown under its own
stack); the signal route is ``resource_signals``'."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import DbSession, Policy
from stratus.api.routes.orchestration._common import HeatAuth, HeatBody, base, done, identified
from stratus.errors import BadRequest
from stratus.stacks import listing, views

router = APIRouter(tags=["orchestration: stack resources"])
PATH = "/stacks/{stack_name}/{stack_id}/resources"
FILTERS = ("type", "status", "name", "action", "id", "physical_resource_id")


def _shape(db, res, b: str, *, detail: bool, deps_cache: dict) -> dict:
    stack = res.stack
    if stack.id not in deps_cache:
        deps_cache[stack.id] = views.required_by(stack.template or {})
    nested = db.get(type(stack), res.nested_stack_id) if res.nested_stack_id else None
    rdef = views.template_resources(stack.template or {}).get(res.name, {})
    return views.resource(res, b, detail=detail, required_by=deps_cache[stack.id].get(res.name, []),
                          nested=nested, description=str(rdef.get("description") or ""))


@router.get(PATH)
def index(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession):
    from stratus.stacks import resources

    query = request.query_params
    bad = set(query) - set(FILTERS) - {"nested_depth", "with_detail"}
    if bad:
        raise BadRequest(f"Invalid filter parameters {sorted(bad)}; use {', '.join(FILTERS)}, nested_depth "
                         "or with_detail.")
    stack = identified(db, ctx, policy, stack_name, stack_id, "resource:index")
    depth = listing.integer("nested_depth", query.get("nested_depth")) or 0
    detail = listing.boolean("with_detail", query.get("with_detail"))
    filters = {}
    for key in FILTERS:
        vals = query.getlist(key)
        if vals:
            filters[key] = vals if len(vals) > 1 else vals[0]
    got = resources.list_for(db, ctx, stack, nested_depth=depth, with_detail=detail, filters=filters)
    b, cache = base(request), {}
    return {"resources": [_shape(db, r, b, detail=detail, deps_cache=cache) for r in got]}


@router.get(PATH + "/{resource_name}")
def show(stack_name: str, stack_id: str, resource_name: str, request: Request, ctx: HeatAuth, policy: Policy,
         db: DbSession):
    from stratus.stacks import resources

    stack = identified(db, ctx, policy, stack_name, stack_id, "resource:show")
    res = resources.get(db, ctx, stack, resource_name)
    out = _shape(db, res, base(request), detail=True, deps_cache={})
    out["metadata"] = resources.metadata(db, ctx, stack, resource_name)
    return {"resource": out}


@router.get(PATH + "/{resource_name}/metadata")
def metadata(stack_name: str, stack_id: str, resource_name: str, ctx: HeatAuth, policy: Policy, db: DbSession):
    from stratus.stacks import resources

    stack = identified(db, ctx, policy, stack_name, stack_id, "resource:metadata")
    return {"metadata": resources.metadata(db, ctx, stack, resource_name)}


@router.patch(PATH + "/{resource_name}")
def mark_unhealthy(stack_name: str, stack_id: str, resource_name: str, request: Request, ctx: HeatAuth,
                   policy: Policy, db: DbSession, body: HeatBody):
    from stratus.stacks import health

    bad = set(body) - {"mark_unhealthy", "resource_status_reason"}
    if bad:
        raise BadRequest(f"Invalid keys in resource mark unhealthy {sorted(bad)}; send mark_unhealthy and "
                         "optionally resource_status_reason.")
    if "mark_unhealthy" not in body:
        raise BadRequest("Missing mandatory (mark_unhealthy) key from mark unhealthy request")
    unhealthy = listing.boolean("mark_unhealthy", str(body["mark_unhealthy"]))
    stack = identified(db, ctx, policy, stack_name, stack_id, "resource:mark_unhealthy")
    health.mark_unhealthy(db, ctx, stack, resource_name, unhealthy, str(body.get("resource_status_reason") or ""))
    done(request, db)
    return Response(status_code=200)

