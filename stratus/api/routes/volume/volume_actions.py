"""``POST /volumes/{volume_id}/action``: Cinder's volume actions, one key per body
(``{"os-extend": {"new_size": 2}}``). The handlers live with the services that own
them (:data:`stratus.volume.actions.HANDLERS`, ``attach_actions``, ``upload``); this
route finds the one the body names and answers what it returns."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stratus.api.deps import ApiVersion, DbSession, Policy
from stratus.api.errors import BadRequest
from stratus.api.routes.volume._common import JsonBody, VolumeAuth, done, jobs
from stratus.volume.actions import handlers

router = APIRouter(tags=["volume: volume actions"])


@router.post("/volumes/{volume_id}/action")
def volume_action(volume_id: str, request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession,
                  version: ApiVersion, body: JsonBody):
    if not isinstance(body, dict) or len(body) != 1:
        raise BadRequest("Invalid request body: give exactly one action, e.g. {\"os-extend\": "
                         "{\"new_size\": 2}}.")
    (name, args), = body.items()
    handler = handlers().get(name)
    if handler is None:
        raise BadRequest(f"There is no such action: {name}")
    status, doc = handler(jobs(request), db, ctx, policy, version, volume_id, args)
    done(request, db)
    if doc is None:
        return Response(status_code=status)
    return JSONResponse(doc, status_code=status)
