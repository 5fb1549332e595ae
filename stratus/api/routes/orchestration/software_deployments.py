"""Heat v1: ``/software_deployments`` (create, list with ``?server_id=``, show, update,
delete) and ``/software_deployments/metadata/<server id>`` (the derived configs a server
runs), in Heat's shapes (``stratus.stacks.software``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from stratus.api.deps import DbSession
from stratus.api.routes.orchestration._signal_auth import project_context
from stratus.errors import BadRequest
from stratus.stacks import software

router = APIRouter()
JsonBody = Annotated[Any, Body()]
ROOT = "/software_deployments"


def _body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object (a software deployment).")
    return body


@router.post(ROOT)
def create(request: Request, db: DbSession, body: JsonBody = None):
    ctx = project_context(request, db)
    row = software.create_deployment(db, ctx.project_id, _body(body), ctx=ctx)
    return {"software_deployment": software.deployment_view(row)}


@router.get(ROOT)
def index(request: Request, db: DbSession, server_id: str | None = None):
    ctx = project_context(request, db)
    return {"software_deployments": [software.deployment_view(r)
                                     for r in software.list_deployments(db, ctx, server_id)]}


@router.get(ROOT + "/metadata/{server_id}")
def metadata(server_id: str, request: Request, db: DbSession):
    ctx = project_context(request, db)
    return {"metadata": software.server_metadata(db, server_id, None if ctx.is_admin else ctx.project_id)}


@router.get(ROOT + "/{deployment_id}")
def show(deployment_id: str, request: Request, db: DbSession):
    ctx = project_context(request, db)
    return {"software_deployment": software.deployment_view(software.get_deployment(db, ctx, deployment_id))}


@router.put(ROOT + "/{deployment_id}")
def update(deployment_id: str, request: Request, db: DbSession, body: JsonBody = None):
    ctx = project_context(request, db)
    row = software.update_deployment(db, ctx, deployment_id, _body(body))
    return {"software_deployment": software.deployment_view(row)}


@router.delete(ROOT + "/{deployment_id}")
def delete(deployment_id: str, request: Request, db: DbSession):
    ctx = project_context(request, db)
    software.delete_deployment(db, ctx, deployment_id)
    return Response(status_code=204)
