"""Image members: the projects a ``shared`` image is offered to, as Glance keeps them.

- Only ``shared`` images have members (403 otherwise; 404 on show).
- The owner (or a cloud admin) adds and removes members; a new member is ``pending``.
- A member sets its own status (``accepted``, ``rejected``, ``pending``); the owner
  cannot (403). Lists show a shared image to a member once it accepted.
- The owner sees every member; a member sees only its own membership; anyone else
  does not see the image at all (404).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.images import ACCEPTED, PENDING, REJECTED, Image, ImageMember
from stratus.db.types import utcnow
from stratus.errors import BadRequest, Conflict, Forbidden, NotFound
from stratus.identity.context import RequestContext
from stratus.image import quota, records

STATUSES = (PENDING, ACCEPTED, REJECTED)
ONLY_SHARED = "Only shared images have members."


def view(row: ImageMember) -> dict[str, Any]:
    return {
        "created_at": records.timestamp(row.created_at),
        "updated_at": records.timestamp(row.updated_at),
        "image_id": row.image_id,
        "member_id": row.member,
        "status": row.status,
        "schema": "/v2/schemas/member",
    }


def _image(db: Session, ctx: RequestContext, image_id: str) -> Image:
    try:
        return records.get(db, ctx, image_id)
    except NotFound:
        raise NotFound(f"Image {image_id} not found.") from None


def _shared(image: Image, action: str) -> None:
    if image.visibility != "shared":
        raise Forbidden(f"Not allowed to {action} members for image {image.id}: {ONLY_SHARED} "
                        "Set its visibility to 'shared' first.")


def _row(db: Session, image: Image, member_id: str) -> ImageMember:
    row = db.get(ImageMember, (image.id, member_id)) if len(member_id) <= 64 else None
    if row is None:
        raise NotFound(f"{member_id} not found in the member list of the image {image.id}.")
    return row


def member_id_of(body: Any) -> str:
    """The project of a ``POST .../members`` body, with Glance's refusals."""
    if not isinstance(body, dict):
        raise BadRequest('Expected a member in the form: {"member": "image_id"}')
    if "member" not in body:
        raise BadRequest("Member to be added not specified")
    member = body["member"]
    if not member:
        raise BadRequest("Member can't be empty")
    if not isinstance(member, str) or len(member) > 64:
        raise BadRequest(f"Member {member!r} is not a project id (a string of at most 64 characters).")
    return member


def status_of(body: Any) -> str:
    """The status of a ``PUT .../members/{member}`` body, with Glance's refusals."""
    if not isinstance(body, dict):
        raise BadRequest('Expected a status in the form: {"status": "status"}')
    if "status" not in body:
        raise BadRequest("Status not specified")
    if body["status"] not in STATUSES:
        raise BadRequest('Incorrect request: Status must be "pending", "accepted" or "rejected".')
    return body["status"]


def add(db: Session, ctx: RequestContext, image_id: str, member_id: str) -> ImageMember:
    image = _image(db, ctx, image_id)
    _shared(image, "create")
    if not records.is_owner(ctx, image):
        raise Forbidden(f"Not allowed to create members for image {image_id}: only its owner "
                        "shares it.")
    if db.get(ImageMember, (image.id, member_id)) is not None:
        raise Conflict(f"Member {member_id} is duplicated for image {image_id}")
    count = len(db.scalars(select(ImageMember.member).where(ImageMember.image_id == image.id)).all())
    quota.check_per_image("members", count + 1)
    now = utcnow()
    row = ImageMember(image_id=image.id, member=member_id, status=PENDING, created_at=now,
                      updated_at=now)
    db.add(row)
    db.flush()
    return row


def listing(db: Session, ctx: RequestContext, image_id: str) -> list[ImageMember]:
    image = _image(db, ctx, image_id)
    _shared(image, "list")
    stmt = select(ImageMember).where(ImageMember.image_id == image.id).order_by(ImageMember.created_at)
    if not records.is_owner(ctx, image):
        stmt = stmt.where(ImageMember.member == ctx.project_id)
    return list(db.scalars(stmt))


def show(db: Session, ctx: RequestContext, image_id: str, member_id: str) -> ImageMember:
    image = _image(db, ctx, image_id)
    if image.visibility != "shared":
        raise NotFound(ONLY_SHARED)
    if not records.is_owner(ctx, image) and member_id != ctx.project_id:
        raise NotFound(f"{member_id} not found in the member list of the image {image.id}.")
    return _row(db, image, member_id)


def set_status(db: Session, ctx: RequestContext, image_id: str, member_id: str,
               status: str) -> ImageMember:
    image = _image(db, ctx, image_id)
    _shared(image, "update")
    if not ctx.is_admin and member_id != ctx.project_id:
        who = "its owner" if records.is_owner(ctx, image) else "another project"
        raise Forbidden(f"Not allowed to update members for image {image_id}: only the member "
                        f"project itself accepts or rejects an image, not {who}.")
    row = _row(db, image, member_id)
    row.status = status
    row.updated_at = utcnow()
    db.flush()
    return row


def remove(db: Session, ctx: RequestContext, image_id: str, member_id: str) -> None:
    image = _image(db, ctx, image_id)
    _shared(image, "delete")
    if not records.is_owner(ctx, image):
        raise Forbidden(f"Not allowed to delete members for image {image_id}: only its owner "
                        "removes members.")
    db.delete(_row(db, image, member_id))
    db.flush()
