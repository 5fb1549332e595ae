"""Images: create, list, show, update (JSON patch), delete, deactivate/reactivate."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.routes.image._wire import JsonBody, page_links
from stratus.image import images, listing, patch, records

router = APIRouter(tags=["image: images"])


def _settings(request: Request):
    return request.app.state.settings


@router.post("/images", status_code=201, summary="Create an image (queued, no data)")
def create(request: Request, ctx: Auth, policy: Policy, db: DbSession, body: JsonBody):
    policy.enforce("image:add_image")
    image = images.create(db, ctx, _settings(request), body)
    headers = {"Location": f"{_settings(request).endpoint_url}/image/v2/images/{image.id}"}
    methods = _settings(request).image_import_methods
    if methods:
        headers["OpenStack-image-import-methods"] = ",".join(methods)
    return JSONResponse(records.view(image), status_code=201, headers=headers)


@router.get("/images", summary="List images (filters, sort, marker/limit)")
def index(request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("image:get_images")
    query = listing.parse(list(request.query_params.multi_items()))
    found, next_marker = listing.run(db, ctx, query)
    return {"images": [records.view(i) for i in found], **page_links(query.params, next_marker),
            "schema": "/v2/schemas/images"}


@router.get("/images/{image_id}", summary="Show an image")
def show(image_id: str, ctx: Auth, db: DbSession):
    return records.view(records.get(db, ctx, image_id))


@router.patch("/images/{image_id}", summary="Update an image (JSON patch)")
def update(image_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession,
           body: JsonBody):
    changes = patch.parse(body, patch.draft_of(request.headers.get("content-type")))
    policy.enforce("image:modify_image")
    return records.view(images.update(db, ctx, _settings(request), image_id, changes))


@router.delete("/images/{image_id}", status_code=204, summary="Delete an image and its data")
def delete(image_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("image:delete_image")
    images.delete(db, ctx, _settings(request), image_id)
    return Response(status_code=204)


@router.post("/images/{image_id}/actions/deactivate", status_code=204, summary="Deactivate an image")
def deactivate(image_id: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("image:deactivate")
    images.set_active(db, ctx, image_id, active=False)
    return Response(status_code=204)


@router.post("/images/{image_id}/actions/reactivate", status_code=204, summary="Reactivate an image")
def reactivate(image_id: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("image:deactivate")
    images.set_active(db, ctx, image_id, active=True)
    return Response(status_code=204)
