"""The image records service: create, update (JSON patch), delete, deactivate/reactivate
and tags, with Glance's rules. Routes parse the wire and call these; listing is in
:mod:`stratus.image.listing`, visibility in :mod:`stratus.image.records`.

Rules kept from Glance:

- Create: ``direct_url``/``self``/``file``/``schema``/``stores`` and the other read-only
  attributes answer 403 "Attribute 'x' is read-only."; ``os_glance*``, ``location``,
  ``deleted``, ``deleted_at`` 403 "is reserved."; the body must match the image schema
  (extra properties are strings; formats those of the settings) or 400; ``visibility``
  defaults to ``shared``, ``public`` is for cloud admins; ``owner`` other than the
  caller's project is for cloud admins; an ``id`` may be given (409 when taken); one
  more image must fit the owner's ``image_count_total``.
- Update: ``replace``/``add`` of a base attribute sets it; of an extra property sets it
  (``replace`` of a missing property, and the 2.0 dialect's ``add`` of a present one:
  409); ``remove`` of a base attribute 403, of a missing property 409;
  ``disk_format``/``container_format`` change only while the image is queued;
  ``owner`` only by cloud admins.
- Delete: refused for a protected image (403); the data leaves every store.
- Deactivate/reactivate: owner or admin; ``active`` ↔ ``deactivated`` only (the other
  direction is a no-op), any other status 403.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stratus.db.models.images import (
    ACTIVE,
    DEACTIVATED,
    QUEUED,
    Image,
    ImageProperty,
    ImageTag,
)
from stratus.db.types import utcnow
from stratus.errors import BadRequest, Conflict, Forbidden, NotFound
from stratus.identity.context import RequestContext
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.image import patch, quota, records, schemas
from stratus.image.patch import Change

log = logging.getLogger("stratus.image")

register_defaults([
    RuleDefault("image:delete_image", "rule:admin_required or rule:project_member"),
    RuleDefault("image:modify_image", "rule:admin_required or rule:project_member"),
])

# Attributes a create may not name at all (Glance's _disallowed_properties).
DISALLOWED = ("direct_url", "self", "file", "schema", "stores")
# Columns a create or update sets from the request.
SETTABLE = ("name", "visibility", "protected", "os_hidden", "owner", "disk_format",
            "container_format", "min_disk", "min_ram")
QUEUED_ONLY = ("disk_format", "container_format")


def _check_nonnegative(name: str, value: Any) -> None:
    if name in ("min_disk", "min_ram") and value and value < 0:
        raise BadRequest(f"Invalid value '{value}' for parameter '{name}': Cannot be a negative value")


def _check_visibility(ctx: RequestContext, visibility: str | None) -> None:
    if visibility == "public" and not ctx.is_admin:
        raise Forbidden("You are not authorized to complete publicize_image action: "
                        "only cloud administrators make images public; use 'shared' or "
                        "'community' to offer an image to other projects.")


def _check_owner(ctx: RequestContext, owner: str | None) -> None:
    if owner != ctx.project_id and not ctx.is_admin:
        raise Forbidden(f"You are not permitted to create images owned by '{owner}'")


def _set_properties(image: Image, values: dict[str, str]) -> None:
    current = {p.name: p for p in image.properties}
    for name, value in values.items():
        if name in current:
            current[name].value = value
        else:
            image.properties.append(ImageProperty(name=name, value=value))


def _set_tags(image: Image, tags: list[str]) -> None:
    wanted = list(dict.fromkeys(tags))
    quota.check_per_image("tags", len(wanted))
    image.tags[:] = [t for t in image.tags if t.value in wanted]
    have = {t.value for t in image.tags}
    image.tags.extend(ImageTag(value=v) for v in wanted if v not in have)


def create(db: Session, ctx: RequestContext, settings, body: Any) -> Image:
    """A new queued image from a ``POST /v2/images`` body (decoded JSON)."""
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object of image attributes, "
                         "e.g. {\"name\": \"tiny\", \"disk_format\": \"qcow2\"}.")
    for key in DISALLOWED:
        if key in body:
            raise Forbidden(f"Attribute '{key}' is read-only.")
    schemas.validate(body, schemas.image(settings))
    for key in body:
        if key in records.READ_ONLY and key != "id":
            raise Forbidden(f"Attribute '{key}' is read-only.")
        if key not in records.BASE_ATTRIBUTES:
            if len(key) > 255:
                raise BadRequest("Custom property should not be greater than 255 characters.")
            if key in patch.RESERVED or records.is_reserved(key) or key == "locations":
                raise Forbidden(f"Attribute '{key}' is reserved.")
    if "locations" in body:
        raise Forbidden("Attribute 'locations' is reserved.")
    owner = body.get("owner") or ctx.project_id
    _check_owner(ctx, owner)
    visibility = body.get("visibility", "shared")
    _check_visibility(ctx, visibility)
    for key in ("min_disk", "min_ram"):
        _check_nonnegative(key, body.get(key))
    extra = {k: v for k, v in body.items() if k not in records.BASE_ATTRIBUTES}
    quota.check_per_image("properties", len(extra))
    image_id = body.get("id") or str(uuid.uuid4())
    if db.get(Image, image_id) is not None:
        raise Conflict(f"Image ID {image_id} already exists!")
    quota.count_image(db, settings, image_id, owner)
    now = utcnow()
    image = Image(
        id=image_id, status=QUEUED, owner=owner, visibility=visibility,
        name=body.get("name"), protected=bool(body.get("protected", False)),
        os_hidden=bool(body.get("os_hidden", False)), disk_format=body.get("disk_format"),
        container_format=body.get("container_format"), min_disk=body.get("min_disk") or 0,
        min_ram=body.get("min_ram") or 0, created_at=now, updated_at=now,
        properties=[], tags=[],
    )
    _set_properties(image, extra)
    _set_tags(image, body.get("tags") or [])
    db.add(image)
    try:
        db.flush()
    except IntegrityError:  # the same id created concurrently (the request rolls back)
        raise Conflict(f"Image ID {image_id} already exists!") from None
    return image


def _apply(ctx: RequestContext, image: Image, change: Change, settings) -> None:
    name, props = change.name, {p.name: p for p in image.properties}
    base = name in records.BASE_ATTRIBUTES
    if change.op == "remove":
        if base:
            raise Forbidden(f"Property {name} may not be removed.")
        if name not in props:
            raise Conflict(f"Property {name} does not exist.")
        image.properties.remove(props[name])
        return
    # the value must fit the schema as a one-attribute image
    schemas.validate({name: change.value}, schemas.image(settings))
    present = base or name in props
    if change.op == "add" and change.draft == 4 and present:
        raise Conflict(f"Property {name} already present.")
    if change.op == "replace" and not present:
        raise Conflict(f"Property {name} does not exist.")
    if not base:
        if len(name) > 255:
            raise BadRequest("Custom property should not be greater than 255 characters.")
        quota.check_per_image("properties", len(props) + (name not in props))
        _set_properties(image, {name: change.value})
    elif name == "tags":
        _set_tags(image, change.value)
    elif name == "owner":
        if not ctx.is_admin:
            raise Forbidden("Owner can't be updated by non admin.")
        image.owner = change.value
    elif name in SETTABLE:
        if name == "visibility":
            _check_visibility(ctx, change.value)
        if name in QUEUED_ONLY and image.status not in (QUEUED, "importing") \
                and change.value != getattr(image, name):
            raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
        _check_nonnegative(name, change.value)
        setattr(image, name, change.value)
    else:  # a base attribute that is neither read-only nor settable (locations)
        raise Forbidden(f"Attribute '{name}' is reserved.")


def update(db: Session, ctx: RequestContext, settings, image_id: str,
           changes: list[Change]) -> Image:
    """Apply JSON-patch ``changes`` (already parsed) to an image the caller owns."""
    image = records.get_owned(db, ctx, image_id)
    for change in changes:
        _apply(ctx, image, change, settings)
    if changes:
        image.updated_at = utcnow()
        db.flush()
    return image


def _remove_data(db: Session, image: Image, settings) -> None:
    """Drop the image's bytes from every store (helper image-data's function)."""
    try:
        from stratus.image.data import remove_data
    except ImportError:  # pragma: no cover - until image-data's branch is merged
        image.locations.clear()
        return
    remove_data(db, image, settings)


def delete(db: Session, ctx: RequestContext, settings, image_id: str) -> None:
    image = records.get_owned(db, ctx, image_id, "delete")
    if image.protected:
        raise Forbidden(f"Image {image_id} is protected and cannot be deleted.")
    _remove_data(db, image, settings)
    quota.release_image(db, image.id)
    db.delete(image)
    db.flush()


def set_active(db: Session, ctx: RequestContext, image_id: str, active: bool) -> None:
    """Reactivate (``active``) or deactivate an image the caller owns."""
    action = "reactivate" if active else "deactivate"
    image = records.get_owned(db, ctx, image_id, action)
    target, source = (ACTIVE, DEACTIVATED) if active else (DEACTIVATED, ACTIVE)
    if image.status == target:
        return
    if image.status != source:
        raise Forbidden(f"Not allowed to {action} image in status '{image.status}'")
    image.status = target
    image.updated_at = utcnow()
    db.flush()


def add_tag(db: Session, ctx: RequestContext, settings, image_id: str, tag: str) -> None:
    image = records.get_owned(db, ctx, image_id, "update tags for")
    schemas.validate({"tags": [tag]}, schemas.image(settings))
    if tag not in {t.value for t in image.tags}:
        _set_tags(image, [t.value for t in image.tags] + [tag])
        image.updated_at = utcnow()
        db.flush()


def remove_tag(db: Session, ctx: RequestContext, image_id: str, tag: str) -> None:
    image = records.get_owned(db, ctx, image_id, "delete tags for")
    row = next((t for t in image.tags if t.value == tag), None)
    if row is None:
        raise NotFound(f"Tag {tag} not found on image {image_id}.")
    image.tags.remove(row)
    image.updated_at = utcnow()
    db.flush()
