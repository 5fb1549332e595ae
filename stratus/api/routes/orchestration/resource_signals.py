"""Heat v1: ``POST /stacks/<name>/<id>/resources/<resource>/signal``: a signal to a
stack's resource (a WaitConditionHandle's, a deployment's result), by a Keystone token
of the stack's project or by the resource's signal ticket in ``X-Auth-Token`` (the
handle's ``token``/``curl_cli``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import DbSession
from stratus.api.routes.orchestration import _signal_auth as auth
from stratus.db.models.orchestration import Stack
from stratus.stacks import records, signals

router = APIRouter()


@router.post("/stacks/{stack_name}/{stack_id}/resources/{resource_name}/signal")
async def signal(stack_name: str, stack_id: str, resource_name: str, request: Request, db: DbSession):
    data = await auth.json_body(request)
    ticket = auth.ticket_of(request)
    if ticket is not None:
        stack = db.get(Stack, stack_id)
        if stack is None or stack.name != stack_name or stack.deleted_at is not None:
            raise records.not_found(f"{stack_name}/{stack_id}")
        auth.check_path_project(request, stack.project_id, resource_name)
        row = signals.resource_in(db, stack, resource_name)
        auth.check_ticket(request, row.id, ticket)
    else:
        ctx = auth.keystone_context(request, db)
        auth.check_path_project(request, ctx.project_id if not ctx.is_admin else None, resource_name)
        stack = records.get_checked(db, ctx, stack_name, stack_id)
        row = signals.resource_in(db, stack, resource_name)
    signals.signal_resource(db, row, data, context=auth.plan_context(request))
    return Response(status_code=200)
