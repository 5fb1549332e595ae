"""Who may signal a stack resource: a Keystone token of the stack's project, or the
resource's signal ticket (``stratus.stacks.tickets``) in ``X-Auth-Token`` or as
``?signature=``, as Heat takes its handle's token or its pre-signed URL."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from stratus.api.deps import get_context
from stratus.errors import BadRequest, NotFound, Unauthorized
from stratus.orchestration.resources import PlanContext
from stratus.stacks import tickets


def ticket_of(request: Request) -> str | None:
    """The ticket the request carries (a pre-signed URL's ``signature`` first)."""
    sig = request.query_params.get("signature") or request.query_params.get("Signature")
    if sig:
        return sig
    token = request.headers.get("x-auth-token")
    return token if tickets.looks_like_ticket(token) else None


def check_ticket(request: Request, resource_id: str, ticket: str, purpose: str = tickets.SIGNAL) -> None:
    if not tickets.verify(request.app.state.fernet, resource_id, ticket, purpose):
        raise Unauthorized("The request you have made requires authentication: the signature does not "
                           "match this resource (it was issued for another resource or purpose, or the "
                           "keys it was signed with were rotated out).")


def check_path_project(request: Request, project_id: str | None, what: str) -> None:
    path_project = getattr(request.state, "path_project_id", None)
    if path_project not in (None, "-") and project_id is not None and path_project != project_id:
        raise NotFound(f"The Resource ({what}) could not be found.", type="ResourceNotFound")


def keystone_context(request: Request, db):
    return get_context(request, db)


async def json_body(request: Request) -> dict[str, Any] | None:
    """The signal's JSON object; None when the body is empty (curl without --data)."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"The signal is not valid JSON: {exc}") from exc
    if data is not None and not isinstance(data, dict):
        raise BadRequest(f"The signal must be a JSON object, not {type(data).__name__}.")
    return data


def plan_context(request: Request) -> PlanContext:
    state = request.app.state
    return PlanContext(state.settings, state.fernet, state.db)


def project_context(request: Request, db):
    """The caller (Keystone token) whose project is the one in the path (Heat refuses
    another project's path unless the caller is a cloud administrator)."""
    from stratus.errors import Forbidden

    ctx = get_context(request, db)
    path_project = getattr(request.state, "path_project_id", None)
    if path_project is not None and path_project != ctx.project_id and not ctx.is_admin:
        raise Forbidden(f"The project {path_project} in the URL is not the token's project "
                        f"{ctx.project_id}: use your own project's endpoint.")
    return ctx
