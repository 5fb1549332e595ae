"""The interoperable import flow (``POST .../import``) and the discovery documents
``GET /info/import``, ``/info/stores`` and ``/info/usage`` (Glance's discovery API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, Response

from stratus.api.deps import Auth, DbSession, PolicyChecker
from stratus.image import access, imports, records, sizes
from stratus.image import stores as _stores

router = APIRouter()


@router.post("/images/{image_id}/import", status_code=202)
def import_image(image_id: str, request: Request, ctx: Auth, db: DbSession,
                 body: Any = Body(None)) -> Response:  # noqa: B008 - FastAPI's way
    settings = request.app.state.settings
    method, uri, store_names = imports.parse(body, settings, request.headers.get("x-image-meta-store"))
    image = records.get(db, ctx, image_id)
    access.may_upload(PolicyChecker(request.app.state.enforcer, ctx), ctx, image)
    imports.begin(db, image, method, store_names, settings)
    db.commit()
    imports.start(request.app.state.db, settings, image.id, method, uri, store_names)
    return Response(status_code=202)


@router.get("/info/import")
def import_info(request: Request) -> dict:
    return {"import-methods": {"description": "Import methods available.", "type": "array",
                               "value": list(request.app.state.settings.image_import_methods)}}


@router.get("/info/stores")
def stores_info(request: Request, ctx: Auth) -> dict:
    configured = _stores.stores(request.app.state.settings).values()  # the default first
    return {"stores": [store.info(default=i == 0) for i, store in enumerate(configured)]}


@router.get("/info/usage")
def usage_info(request: Request, ctx: Auth, db: DbSession) -> dict:
    return {"usage": sizes.usage(db, ctx.project_id, request.app.state.settings.quota_defaults)}
