"""Nova ``POST /servers/{id}/action``: the body's one key names the action; the
handler registered for it (``stratus.compute.actions``) checks, records and submits.

As Nova: a body that is not a JSON object of exactly one key is 400 "Malformed request
body", an unknown key 400 "There is no such action: <key>" (both before the server is
looked up), another project's server 404."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from stratus.api.deps import ApiVersion, Auth, DbSession, Policy, plan_context
from stratus.compute import actions
from stratus.compute.lookup import get_server
from stratus.errors import BadRequest

router = APIRouter(tags=["compute: server_actions"])


def action_of(raw: bytes) -> tuple[str, object]:
    """The body's one key and its value; BadRequest in Nova's words otherwise."""
    try:
        body = json.loads(raw) if raw.strip() else None
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Malformed request body")
    ((name, value),) = body.items()
    if name not in actions.load():
        raise BadRequest(f"There is no such action: {name}")
    return name, value


async def _action(request: Request) -> tuple[str, object]:
    return action_of(await request.body())


@router.post("/servers/{server_id}/action", summary="Run a server action (the body's one key)")
def server_action(server_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
                  version: ApiVersion, action: Annotated[tuple[str, object], Depends(_action)]):
    name, value = action
    server = get_server(db, ctx, server_id)
    call = actions.ActionCall(db=db, ctx=ctx, server=server, name=name, body=value, version=version,
                              plan=plan_context(request), settings=request.app.state.settings,
                              request_id=getattr(request.state, "request_id", None), policy=policy)
    result = actions.ACTIONS[name](call)
    if result.body is None:
        return Response(status_code=result.status, headers=result.headers)
    return JSONResponse(result.body, status_code=result.status, headers=result.headers)
