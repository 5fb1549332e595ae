"""Who may see, change and boot which image, and the image as Glance shows it.

Visibility as Glance has it:

- ``public``: every project sees and boots it; only cloud admins make images public.
- ``community``: every project may show and boot it, but lists show it only to its owner
  or when asked for (``visibility=community``).
- ``shared``: the owner and the projects it is shared with (members). Lists show a
  member the image once it accepted (``member_status`` filter); a member may show it in
  any member status.
- ``private``: the owner only.

A cloud admin sees every image. ``get`` answers 404 for an image the caller may not see,
so ids of other projects' images are not confirmed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from stratus.db.models.images import (
    ACCEPTED,
    Image,
    ImageMember,
)
from stratus.errors import Forbidden, NotFound
from stratus.identity.context import RequestContext
from stratus.identity.policy import RuleDefault, register_defaults

register_defaults([
    RuleDefault("image:get_images", "rule:admin_or_reader or rule:admin_or_member"),
    RuleDefault("image:add_image", "rule:admin_or_member"),
    RuleDefault("image:publicize_image", "rule:admin_required"),
    RuleDefault("image:deactivate", "rule:admin_required or rule:project_member"),
])

# Attributes that are columns (or computed) and so never stored as extra properties.
BASE_ATTRIBUTES = frozenset({
    "id", "name", "status", "visibility", "protected", "os_hidden", "owner", "size",
    "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "disk_format",
    "container_format", "min_disk", "min_ram", "created_at", "updated_at", "tags",
    "self", "file", "schema", "locations", "direct_url", "stores",
})
# Attributes a request may never set (Glance: "Attribute 'x' is read-only.").
READ_ONLY = frozenset({
    "id", "status", "size", "virtual_size", "checksum", "os_hash_algo", "os_hash_value",
    "created_at", "updated_at", "self", "file", "schema", "direct_url", "stores",
})
# Properties reserved for the service itself (Glance: "Attribute 'x' is reserved.").
RESERVED_PREFIX = "os_glance"


def is_reserved(name: str) -> bool:
    return name.startswith(RESERVED_PREFIX)


def timestamp(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def view(image: Image) -> dict[str, Any]:
    """The image document of ``GET /v2/images/{id}`` (extra properties at top level)."""
    out: dict[str, Any] = {p.name: p.value for p in image.properties}
    out.update({
        "id": image.id,
        "name": image.name,
        "status": image.status,
        "visibility": image.visibility,
        "protected": image.protected,
        "os_hidden": image.os_hidden,
        "owner": image.owner,
        "size": image.size,
        "virtual_size": image.virtual_size,
        "checksum": image.checksum,
        "os_hash_algo": image.os_hash_algo,
        "os_hash_value": image.os_hash_value,
        "disk_format": image.disk_format,
        "container_format": image.container_format,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "created_at": timestamp(image.created_at),
        "updated_at": timestamp(image.updated_at),
        "tags": [t.value for t in image.tags],
        "self": f"/v2/images/{image.id}",
        "file": f"/v2/images/{image.id}/file",
        "schema": "/v2/schemas/image",
    })
    if image.locations:
        out["stores"] = ",".join(loc.store for loc in image.locations)
    return out


def _member_of(project_id: str | None, *, accepted_only: bool):
    cond = [ImageMember.image_id == Image.id, ImageMember.member == project_id]
    if accepted_only:
        cond.append(ImageMember.status == ACCEPTED)
    return exists().where(and_(*cond))


def can_see(ctx: RequestContext):
    """The SQL condition: ``ctx`` may show (and boot) the image."""
    if ctx.is_admin:
        return Image.id.is_not(None)
    if not ctx.project_id:
        return false()
    return or_(
        Image.visibility.in_(("public", "community")),
        Image.owner == ctx.project_id,
        and_(Image.visibility == "shared", _member_of(ctx.project_id, accepted_only=False)),
    )


def listed_by_default(ctx: RequestContext):
    """The SQL condition of an unfiltered list: public, own, and shared-and-accepted
    images (a cloud admin: every image but other projects' community ones, as Glance)."""
    if ctx.is_admin:
        return Image.id.is_not(None)
    if not ctx.project_id:
        return false()
    return or_(
        Image.visibility == "public",
        Image.owner == ctx.project_id,
        and_(Image.visibility == "shared", _member_of(ctx.project_id, accepted_only=True)),
    )


def visible(ctx: RequestContext) -> Select:
    return select(Image).where(can_see(ctx))


def fits(image_id: str) -> bool:
    """Whether ``image_id`` fits the id column (a longer one names no image, and is
    never sent to the database: PostgreSQL refuses it rather than finding nothing)."""
    return len(image_id) <= Image.id.type.length


def get(db: Session, ctx: RequestContext, image_id: str) -> Image:
    """The image ``ctx`` may see; 404 (Glance's message) otherwise."""
    image = db.scalar(visible(ctx).where(Image.id == image_id)) if fits(image_id) else None
    if image is None:
        raise NotFound(f"No image found with ID {image_id}")
    return image


def is_owner(ctx: RequestContext, image: Image) -> bool:
    return ctx.is_admin or (image.owner is not None and image.owner == ctx.project_id)


def get_owned(db: Session, ctx: RequestContext, image_id: str, action: str = "modify") -> Image:
    """The image ``ctx`` may change: 404 when it cannot see it, 403 when it sees but does
    not own it (Glance's answers)."""
    image = get(db, ctx, image_id)
    if not is_owner(ctx, image):
        raise Forbidden(f"You are not permitted to {action} image {image_id}.")
    return image


def member_status(db: Session, image: Image, project_id: str | None) -> str | None:
    if project_id is None:
        return None
    row = db.get(ImageMember, (image.id, project_id))
    return row.status if row else None


def visible_to_project(db: Session, project_id: str | None, image_id: str) -> Image | None:
    """The image ``project_id`` may see and boot (public, community, its own, shared with
    it), else None: what a compute request of that project checks (Nova asks Glance
    with the user's token). No project sees nothing."""
    if not project_id or not fits(str(image_id)):
        return None
    ctx = RequestContext(user_id="", user_name="", user_domain_id="", project_id=project_id)
    return db.scalar(visible(ctx).where(Image.id == str(image_id)))
