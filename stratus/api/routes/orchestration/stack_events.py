"""Heat v1 events: ``GET /stacks/<name>/<id>/events`` (the stack's and its resources';
``?nested_depth=N`` adds nested stacks'), ``GET .../resources/<resource>/events`` (404
when the resource has none, as Heat), ``GET .../resources/<resource>/events/<id>``;
filters ``resource_status``, ``resource_action``, ``resource_name``, ``resource_type``,
``sort_keys``/``sort_dir``, ``limit``/``marker`` (:func:`stratus.stacks.events.list_for`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import DbSession, Policy
from stratus.api.routes.orchestration._common import HeatAuth, base, identified
from stratus.errors import NotFound
from stratus.stacks import listing, views

router = APIRouter(tags=["orchestration: stack events"])
PATH = "/stacks/{stack_name}/{stack_id}"


PARAMS = ("resource_name", "resource_action", "resource_status", "resource_type", "sort_keys", "sort_dir",
          "marker")


def _list(request: Request, db, ctx, stack, resource_name: str | None = None) -> list[dict]:
    from stratus.stacks import events

    query = request.query_params
    args = {k: (query.getlist(k) if len(query.getlist(k)) > 1 else query[k]) for k in PARAMS if k in query}
    if resource_name is not None:
        args["resource_name"] = resource_name
    rows = events.list_for(db, ctx, stack, limit=listing.integer("limit", query.get("limit")),
                           nested_depth=listing.integer("nested_depth", query.get("nested_depth")), **args)
    b, stacks = base(request), {stack.id: stack}
    out = []
    for ev in rows:
        if ev.stack_id not in stacks:
            stacks[ev.stack_id] = events.stack_of(db, ev)
        out.append(views.event(ev, stacks[ev.stack_id], b, root=stack))
    return out


@router.get(PATH + "/events")
def index(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession):
    stack = identified(db, ctx, policy, stack_name, stack_id, "events:index", show_deleted=True)
    return {"events": _list(request, db, ctx, stack)}


@router.get(PATH + "/resources/{resource_name}/events")
def resource_index(stack_name: str, stack_id: str, resource_name: str, request: Request, ctx: HeatAuth,
                   policy: Policy, db: DbSession):
    stack = identified(db, ctx, policy, stack_name, stack_id, "events:index", show_deleted=True)
    found = _list(request, db, ctx, stack, resource_name)
    if not found:
        raise NotFound(f"No events found for resource {resource_name}", type="NotFound")
    return {"events": found}


@router.get(PATH + "/resources/{resource_name}/events/{event_id}")
def show(stack_name: str, stack_id: str, resource_name: str, event_id: str, request: Request, ctx: HeatAuth,
         policy: Policy, db: DbSession):
    from stratus.stacks import events

    stack = identified(db, ctx, policy, stack_name, stack_id, "events:show", show_deleted=True)
    ev = events.get(db, ctx, stack, resource_name, event_id)
    return {"event": views.event(ev, events.stack_of(db, ev) or stack, base(request), detail=True,
                                 root=events.root_of(db, ev))}
