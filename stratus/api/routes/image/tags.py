"""Image tags: PUT/DELETE /images/{image_id}/tags/{tag} (the owner's)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from stratus.api.deps import Auth, DbSession, Policy
from stratus.image import images

router = APIRouter(tags=["image: tags"])


@router.put("/images/{image_id}/tags/{tag}", status_code=204, summary="Add a tag")
def add(image_id: str, tag: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("image:modify_image")
    images.add_tag(db, ctx, request.app.state.settings, image_id, tag)
    return Response(status_code=204)


@router.delete("/images/{image_id}/tags/{tag}", status_code=204, summary="Remove a tag")
def remove(image_id: str, tag: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("image:modify_image")
    images.remove_tag(db, ctx, image_id, tag)
    return Response(status_code=204)
