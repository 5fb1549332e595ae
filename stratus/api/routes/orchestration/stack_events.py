"""Heat v1 events: ``GET /stacks/<name>/<id>/events`` (the stack's and its resources';
``?nested_depth=N`` adds nested stacks'), ``GET .../resources/<resource>/events`` (404
when the resource has none, as Heat), ``GET .../resources/<resource>/events/<id>``;
filters ``resource_status``, ``resource_action``, ``resource_name``, ``resource_type``,
``sort_keys``/``sort_dir``, ``limit``/``marker`` (:func:`stratus.stacks.listing.events_page`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import DbSession, Policy
from stratus.api.routes.orchestration._common import HeatAuth, base, identified
from stratus.errors import NotFound
from stratus.stacks import listing, views

router = APIRouter(tags=["orchestration: stack events"])
PATH = "/stacks/{stack_name}/{stack_id}"


def _list(request: Request, db, stack, resource_name: str | None = None) -> list[dict]:
    events, stacks = listing.events_page(db, stack, request.query_params, resource_name=resource_name)
    b = base(request)
    return [views.event(e, stacks[e.stack_id], b, root=stack) for e in events]


@router.get(PATH + "/events")
def index(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession):
    stack = identified(db, ctx, policy, stack_name, stack_id, "events:index", show_deleted=True)
    return {"events": _list(request, db, stack)}


@router.get(PATH + "/resources/{resource_name}/events")
def resource_index(stack_name: str, stack_id: str, resource_name: str, request: Request, ctx: HeatAuth,
                   policy: Policy, db: DbSession):
    stack = identified(db, ctx, policy, stack_name, stack_id, "events:index", show_deleted=True)
    events = _list(request, db, stack, resource_name)
    if not events:
        raise NotFound(f"No events found for resource {resource_name}", type="NotFound")
    return {"events": events}


@router.get(PATH + "/resources/{resource_name}/events/{event_id}")
def show(stack_name: str, stack_id: str, resource_name: str, event_id: str, request: Request, ctx: HeatAuth,
         policy: Policy, db: DbSession):
    from stratus.db.models.orchestration import StackEvent

    stack = identified(db, ctx, policy, stack_name, stack_id, "events:show", show_deleted=True)
    ev = db.get(StackEvent, event_id)
    tree = listing.stack_tree(db, stack, 0)
    if ev is None or ev.stack_id not in tree or ev.resource_name != resource_name:
        raise NotFound(f"No event {event_id} found", type="NotFound")
    return {"event": views.event(ev, tree[ev.stack_id], base(request), detail=True)}
