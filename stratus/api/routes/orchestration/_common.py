"""What every Heat v1 route module shares: the project of the path checked against the
token's (Heat's ``registered_policy_enforce``: another project's path is 403 unless
the caller is a cloud administrator), the JSON body (a mapping, 400 otherwise), the
links' base, and the stack of a ``/stacks/<name>/<id>`` path (404 EntityNotFound when
the caller may not see it)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from stratus.api.deps import Auth, DbSession
from stratus.api.routes._submit import done, jobs  # noqa: F401 - re-exported for the Heat routes
from stratus.api.routes.compute._body import json_body
from stratus.errors import BadRequest, Forbidden
from stratus.stacks import policies, records, views  # noqa: F401 - policies registers Heat's rules


def check_path_project(request: Request, ctx: Auth):
    """The project in the URL (``/orchestration/v1/<project>/...``), when there is one,
    is the token's; an administrator may name any. Returns the request context."""
    project = getattr(request.state, "path_project_id", None)
    if project is not None and project != ctx.project_id and not ctx.is_admin:
        raise Forbidden(f"The project {project} of the URL is not the token's project {ctx.project_id}: "
                        "use your own project's endpoint (openstack catalog show orchestration).")
    return ctx


# ``def route(ctx: HeatAuth, ...)``: the authenticated context, the path's project checked
HeatAuth = Annotated[Any, Depends(check_path_project)]


async def mapping_body(request: Request) -> dict[str, Any]:
    body = await json_body(request)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")
    return body


# ``def route(body: HeatBody)``: the JSON object of the request ({} when empty)
HeatBody = Annotated[dict, Depends(mapping_body)]


def base(request: Request) -> str:
    """The links' base: ``<endpoint_url>/orchestration/v1``."""
    return views.base_url(request.app.state.settings)


def identified(db, ctx, policy, stack_name: str, stack_id: str, rule: str, *, show_deleted: bool = False):
    """The stack of ``/stacks/<name>/<id>`` once ``rule`` allows the caller on its
    project (Heat's ``registered_identified_stack``)."""
    stack = records.get_checked(db, ctx, stack_name, stack_id, show_deleted=show_deleted)
    policy.enforce(rule, {"project_id": stack.project_id})
    return stack


__all__ = ["DbSession", "HeatAuth", "HeatBody", "base", "done", "identified", "jobs"]
