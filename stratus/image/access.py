"""Who may send and read an image's data: the image's owner (or a cloud admin) uploads,
whoever may see it downloads (not a deactivated one, unless admin), and a compute host
does either with a ticket (:mod:`.tickets`) instead of a token."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stratus.db.models.images import DEACTIVATED, Image
from stratus.errors import Forbidden, Unauthorized
from stratus.identity.context import RequestContext
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.image import records, tickets

register_defaults([
    RuleDefault("image:upload_image", "rule:admin_or_member"),
    RuleDefault("image:download_image", "rule:admin_or_reader or rule:admin_or_member"),
])


def by_ticket(db: Session, keys, image_id: str, purpose: str, ticket: str) -> Image:
    """The image a valid ``purpose`` ticket opens; 401 otherwise (an unknown id too, so
    a ticket confirms nothing)."""
    image = db.get(Image, image_id) if records.fits(image_id) else None
    if image is None or not tickets.verify(keys, image_id, purpose, ticket):
        raise Unauthorized(f"The {tickets.HEADER} header does not hold a valid {purpose} ticket for "
                           f"image {image_id} (wrong image or purpose, or expired); ask for a new ticket.")
    return image


def may_upload(policy, ctx: RequestContext, image: Image) -> None:
    if not records.is_owner(ctx, image) or not policy.allowed("image:upload_image", {"project_id": image.owner}):
        raise Forbidden(f"Not allowed to upload image data for image {image.id}")


def may_download(policy, ctx: RequestContext | None, image: Image) -> None:
    if image.status == DEACTIVATED and not (ctx is not None and ctx.is_admin):
        raise Forbidden("The requested image has been deactivated. Image data download is forbidden.")
    if ctx is not None and not policy.allowed("image:download_image"):
        raise Forbidden(f"You are not authorized to download image {image.id}.")
