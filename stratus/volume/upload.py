"""``os-volume_upload_image``: a volume's data uploaded to the image service as a new
image (see :mod:`stratus.volume.actions` for the handler signature).

The way of an upload (Cinder's ``copy_volume_to_image``, the shape of Nova's
``createImage`` in :mod:`stratus.compute.snapshots`):

1. the handler checks the body (``image_name``; ``disk_format`` raw or qcow2 - the
   formats a volume can be written as; ``container_format`` bare; from 3.1
   ``visibility`` (``public`` needs ``volume_extension:volume_actions:upload_public``)
   and ``protected``), the volume (``available``: ``force`` is ignored, as Cinder's
   default ``enable_force_upload = false`` does, so an in-use volume is refused);
2. makes the image in the image service (``queued``, owned by the caller's project,
   the volume's image metadata as properties - a volume made from an image passes its
   image's properties on, as Cinder's ``glance_core_properties`` do - ``min_disk`` the
   volume's size);
3. sets the volume ``uploading`` and submits the volume's ``upload_image`` action
   (:mod:`stratus.orchestration.types.cinder_upload`): ``image_upload`` on the storage
   host converts the volume into ``disk_format`` and PUTs it with an upload ticket; the
   image API checks ticket, format and checksum and makes the image ``active``;
4. :func:`job_ended` (called from the volume type's ``on_job_end`` through
   :func:`stratus.volume.sync.job_ended`) puts the volume back to ``available``; a
   failed job kills the queued image and leaves the volume's data as it was.

The answer is Cinder's 202 ``{"os-volume_upload_image": {id, updated_at, status:
uploading, display_description, size, volume_type, image_id, container_format,
disk_format, image_name, visibility, protected}}``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute.snapshots import kill_image, uploaded_image
from stratus.compute.validation import parse_bool
from stratus.compute.wire_time import nova_time as cinder_time
from stratus.db.models.jobs import ACTIVE, ERROR, SUCCEEDED, Job, Resource
from stratus.db.models.volume import Volume, VolumeImageMetadata, VolumeType
from stratus.db.types import utcnow
from stratus.errors import BadRequest
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.image import images
from stratus.orchestration.submit import submit_action
from stratus.volume import records
from stratus.volume.actions import Handler

UPLOAD = "volume_extension:volume_actions:upload_image"
UPLOAD_PUBLIC = "volume_extension:volume_actions:upload_public"
ACTION = "upload_image"  # the OS::Cinder::Volume action
JOB_KIND = f"action:{ACTION}"
DISK_FORMATS = ("raw", "qcow2")
CONTAINER_FORMATS = ("bare",)
VISIBILITIES = ("public", "private", "community", "shared")
# image metadata of the volume's source image that is about that image, not inherited
NOT_INHERITED = {"image_id", "image_name", "checksum", "size", "disk_format", "container_format",
                 "min_disk", "min_ram", "os_hash_algo", "os_hash_value", "virtual_size", "owner",
                 "visibility", "protected", "status", "id", "created_at", "updated_at", "os_hidden",
                 "image_type", "instance_uuid", "base_image_ref", "user_id", "image_location"}

register_defaults([
    RuleDefault(UPLOAD, "rule:admin_or_member", "upload a volume to the image service"),
    RuleDefault(UPLOAD_PUBLIC, "rule:admin_required", "upload a volume as a public image"),
])


def _choice(args: dict[str, Any], key: str, default: str, allowed: tuple[str, ...], why: str) -> str:
    value = args.get(key, default)
    if value is None:
        value = default
    if value not in allowed:
        raise BadRequest(f"Invalid input for field/attribute {key}. Value: {value}. "
                         f"{value!r} is not one of {list(allowed)}{why}")
    return value


def _body(args: Any, version) -> dict[str, Any]:
    """The checked request: image_name, disk_format, container_format, visibility,
    protected (Cinder's schema and defaults)."""
    if not isinstance(args, dict):
        raise BadRequest(f"Invalid input for field/attribute os-volume_upload_image. Value: {args}. "
                         f"{args!r} is not of type 'object'")
    allowed = {"image_name", "force", "disk_format", "container_format"}
    if version >= (3, 1):
        allowed |= {"visibility", "protected"}
    extra = sorted(set(args) - allowed)
    if extra:
        raise BadRequest(f"Invalid input for field/attribute os-volume_upload_image. Additional "
                         f"properties are not allowed ({', '.join(map(repr, extra))} was unexpected)")
    name = args.get("image_name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise BadRequest("Invalid input for field/attribute image_name. It must be a non-empty "
                         "string of at most 255 characters.")
    parse_bool(args.get("force", False), "force")
    out = {
        "image_name": name,
        "disk_format": _choice(args, "disk_format", "raw", DISK_FORMATS,
                               ": a volume is uploaded as raw or qcow2 here."),
        "container_format": _choice(args, "container_format", "bare", CONTAINER_FORMATS,
                                    ": volume images are bare."),
        "visibility": "private",
        "protected": False,
    }
    if version >= (3, 1):
        out["visibility"] = _choice(args, "visibility", "private", VISIBILITIES, ".")
        out["protected"] = parse_bool(args.get("protected", False), "protected")
    return out


def _properties(db: Session, vol: Volume) -> dict[str, str]:
    """The volume's image metadata that a new image of it inherits."""
    rows = db.scalars(select(VolumeImageMetadata).where(VolumeImageMetadata.volume_id == vol.id))
    return {r.key: r.value for r in rows
            if r.key not in NOT_INHERITED and not r.key.startswith("os_glance") and len(r.key) <= 255}


def _volume_type(db: Session, vol: Volume) -> dict[str, Any] | None:
    vt = db.get(VolumeType, vol.volume_type_id) if vol.volume_type_id else None
    if vt is None:
        return None
    return {"id": vt.id, "name": vt.name, "description": vt.description, "is_public": vt.is_public,
            "qos_specs_id": vt.qos_specs_id}


def upload_image(jobs, db: Session, ctx, policy, version, volume_id: str, args) -> tuple[int, dict]:
    vol = records.volume_for(db, ctx, volume_id, lock=True)
    policy.enforce(UPLOAD, {"project_id": vol.project_id})
    body = _body(args, version)
    if body["visibility"] == "public":
        policy.enforce(UPLOAD_PUBLIC, {"project_id": vol.project_id})
    if vol.status != "available":
        raise BadRequest(f"Invalid volume: Volume {vol.id} status must be available, not {vol.status}"
                         f"{' (uploading an attached volume is disabled: detach it first)' if vol.status == 'in-use' else ''}.")
    resource = db.get(Resource, vol.id)
    if resource is None or resource.status != ACTIVE or not vol.host:
        raise BadRequest(f"Invalid volume: Volume {vol.id} is not on a storage host yet; wait until it "
                         "is available.")
    settings = jobs["settings"]
    image = images.create(db, ctx, settings, {
        **_properties(db, vol),
        "name": body["image_name"], "disk_format": body["disk_format"],
        "container_format": body["container_format"], "visibility": body["visibility"],
        "protected": body["protected"], "min_disk": vol.size,
    }, may_publicize=True)
    submit_action(db, vol.id, ACTION, {"image_id": image.id, "disk_format": body["disk_format"]},
                  project_id=vol.project_id, request_id=jobs["request_id"], context=jobs["context"])
    vol.status, vol.updated_at = "uploading", utcnow()
    db.flush()
    return 202, {"os-volume_upload_image": {
        "id": vol.id, "updated_at": cinder_time(vol.updated_at), "status": vol.status,
        "display_description": vol.description, "size": vol.size, "volume_type": _volume_type(db, vol),
        "image_id": image.id, "container_format": body["container_format"],
        "disk_format": body["disk_format"], "image_name": body["image_name"],
        "visibility": body["visibility"], "protected": body["protected"],
    }}


def job_ended(db: Session, resource: Resource, job: Job) -> None:
    """An upload job ended: the volume ``uploading`` → ``available``; a failed one kills
    the queued image and puts the resource back to ACTIVE (the volume's data is as it was,
    so later jobs on it still plan)."""
    if job.kind != JOB_KIND:
        return
    vol = db.get(Volume, resource.id)
    if vol is not None and vol.status == "uploading":
        vol.status, vol.updated_at = "available", utcnow()
    if job.status != SUCCEEDED:
        kill_image(db, uploaded_image(db, job))
        if resource.status == ERROR:
            resource.status, resource.status_reason = ACTIVE, ""
    db.flush()


HANDLERS: dict[str, Handler] = {"os-volume_upload_image": upload_image}
