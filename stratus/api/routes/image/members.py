"""Image members: share an image with projects; members accept or reject."""

from __future__ import annotations

from fastapi import APIRouter, Response

from stratus.api.deps import Auth, DbSession
from stratus.api.routes.image._wire import JsonBody
from stratus.image import members

router = APIRouter(tags=["image: members"])


@router.post("/images/{image_id}/members", summary="Share an image with a project")
def create(image_id: str, ctx: Auth, db: DbSession, body: JsonBody):
    return members.view(members.add(db, ctx, image_id, members.member_id_of(body)))


@router.get("/images/{image_id}/members", summary="List an image's members")
def index(image_id: str, ctx: Auth, db: DbSession):
    rows = members.listing(db, ctx, image_id)
    return {"members": [members.view(r) for r in rows], "schema": "/v2/schemas/members"}


@router.get("/images/{image_id}/members/{member_id}", summary="Show a membership")
def show(image_id: str, member_id: str, ctx: Auth, db: DbSession):
    return members.view(members.show(db, ctx, image_id, member_id))


@router.put("/images/{image_id}/members/{member_id}", summary="Accept, reject or reset a membership")
def update(image_id: str, member_id: str, ctx: Auth, db: DbSession, body: JsonBody):
    status = members.status_of(body)
    return members.view(members.set_status(db, ctx, image_id, member_id, status))


@router.delete("/images/{image_id}/members/{member_id}", status_code=204, summary="Stop sharing")
def delete(image_id: str, member_id: str, ctx: Auth, db: DbSession):
    members.remove(db, ctx, image_id, member_id)
    return Response(status_code=204)
