"""Heat v1 ``POST /stacks/<name>/<id>/actions`` with exactly one of ``suspend``,
``resume``, ``check``, ``cancel_update`` (rolling back) or ``cancel_without_rollback``
in the body; 200 with no body as Heat answers, the work done by the stack's job
(:mod:`stratus.stacks.actions`). Each action has its own rule (``actions:<action>``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import DbSession, Policy
from stratus.api.routes.orchestration._common import HeatAuth, HeatBody, done, identified, jobs
from stratus.errors import BadRequest

router = APIRouter(tags=["orchestration: stack actions"])
ACTIONS = ("suspend", "resume", "check", "cancel_update", "cancel_without_rollback")


@router.post("/stacks/{stack_name}/{stack_id}/actions")
def action(stack_name: str, stack_id: str, request: Request, ctx: HeatAuth, policy: Policy, db: DbSession,
           body: HeatBody):
    from stratus.stacks import actions

    if not body:
        raise BadRequest("No action specified: send one of " + ", ".join(ACTIONS) + ".")
    if len(body) > 1:
        raise BadRequest("Multiple actions specified: send one action per request.")
    name = next(iter(body))
    if name not in ACTIONS:
        raise BadRequest(f"Invalid action {name} specified; use one of {', '.join(ACTIONS)}.")
    stack = identified(db, ctx, policy, stack_name, stack_id, f"actions:{name}")
    kw = jobs(request)
    if name in ("cancel_update", "cancel_without_rollback"):
        actions.cancel_update(db, ctx, stack, rollback=name == "cancel_update", **kw)
    else:
        getattr(actions, name)(db, ctx, stack, **kw)
    done(request, db)
    return Response(status_code=200)
