"""JSON schemas: GET /schemas/image(s), /schemas/member(s) (the documents requests are
checked against)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import Auth
from stratus.image import schemas

router = APIRouter(tags=["image: schemas"])


@router.get("/schemas/image", summary="The image schema")
def image(request: Request, ctx: Auth):
    return schemas.image(request.app.state.settings)


@router.get("/schemas/images", summary="The image list schema")
def images(request: Request, ctx: Auth):
    return schemas.collection("images", schemas.image(request.app.state.settings))


@router.get("/schemas/member", summary="The image member schema")
def member(ctx: Auth):
    return schemas.member()


@router.get("/schemas/members", summary="The image member list schema")
def members(ctx: Auth):
    return schemas.collection("members", schemas.member())
