"""What every Cinder route module shares: the JSON body, the project id of the path
(``/volume/v3/<project>/...``) checked against the token's, the commit that hands a job
to the worker, and the keywords the volume services take from the request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from stratus.api.deps import Auth
from stratus.api.errors import BadRequest
from stratus.api.routes._submit import done, jobs  # noqa: F401 - re-exported for the volume routes
from stratus.api.routes.compute._body import JsonBody  # noqa: F401 - re-exported for the volume routes


def check_path_project(request: Request, ctx: Auth):
    """Cinder's WSGI check: the project in the URL, when there is one, is the token's
    (administrators may name any). Returns the request context."""
    project = getattr(request.state, "path_project_id", None)
    if project is not None and project != ctx.project_id and not ctx.is_admin:
        raise BadRequest(f"Malformed request URL: URL's project_id '{project}' doesn't match "
                         f"Context's project_id '{ctx.project_id}'")
    return ctx


# ``def route(ctx: VolumeAuth, ...)``: the authenticated context, the path's project checked
VolumeAuth = Annotated[Any, Depends(check_path_project)]
