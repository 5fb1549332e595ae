"""Heat v1: ``/software_configs`` (create, list, show, delete), in Heat's shapes
(``stratus.stacks.software``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from stratus.api.deps import DbSession
from stratus.api.routes.orchestration._signal_auth import project_context
from stratus.errors import BadRequest
from stratus.stacks import software

router = APIRouter()
JsonBody = Annotated[Any, Body()]
ROOT = "/software_configs"


@router.post(ROOT)
def create(request: Request, db: DbSession, body: JsonBody = None):
    ctx = project_context(request, db)
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object (a software config).")
    return {"software_config": software.config_view(software.create_config(db, ctx.project_id, body))}


@router.get(ROOT)
def index(request: Request, db: DbSession, limit: int | None = None, marker: str | None = None):
    ctx = project_context(request, db)
    rows = software.list_configs(db, ctx, limit=limit, marker=marker)
    return {"software_configs": [software.config_view(r, detail=False) for r in rows]}


@router.get(ROOT + "/{config_id}")
def show(config_id: str, request: Request, db: DbSession):
    ctx = project_context(request, db)
    return {"software_config": software.config_view(software.get_config(db, ctx, config_id))}


@router.delete(ROOT + "/{config_id}")
def delete(config_id: str, request: Request, db: DbSession):
    ctx = project_context(request, db)
    software.delete_config(db, ctx, config_id)
    return Response(status_code=204)
