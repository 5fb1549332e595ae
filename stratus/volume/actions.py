"""Volume actions (``POST /volumes/{id}/action``) of the volume records: ``os-extend``,
``os-set_bootable``, ``os-reset_status``, ``os-force_delete``, ``os-retype``,
``os-update_readonly_flag``, ``os-set_image_metadata``/``os-unset_image_metadata``,
``os-show_image_metadata``.

A handler is ``handler(jobs, db, ctx, policy, version, volume_id, args) -> (status,
body or None)``, ``jobs`` being the keywords the services submit jobs with (settings,
plan context, request id: ``stratus.api.routes._submit.jobs``); it raises ``stratus.errors`` exceptions (Cinder's words). The route
commits after it. :func:`handlers` joins these with the attach actions
(``stratus.volume.attach_actions``) and the image upload (``stratus.volume.upload``).

What the actions change (as Cinder, on the records; nothing runs on a host):

- ``os-set_bootable`` (200): the bootable flag; ``os-update_readonly_flag`` (202): the
  admin metadata ``readonly`` of an ``available`` volume;
- ``os-reset_status`` (admin, 202): ``status`` (any of Cinder's but deleting,
  error_deleting, detaching; ``in-use`` only with attachments), ``attach_status``
  (attached/detached: detached removes its attachment records, as Cinder's
  ``volume_detached``; the host side is not touched) and ``migration_status``;
- ``os-force_delete`` (admin, 202): the volume delete without the status check;
- ``os-retype`` (202): a type of the same backend (its ``volume_backend_name``, when
  set, must be the volume's backend: moving data between backends — Cinder's migration —
  is not supported, so the answer is 400 whatever ``migration_policy`` says); the volume
  must be available or in-use, the multiattach capability changes only on available
  volumes, front-end QoS only on detached ones; the per-type quota usage moves;
- image metadata (``volume_image_metadata``): set (merge; 200 with all of it), unset
  one key (200), show (200).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select

from stratus.compute import validation
from stratus.db.models.volume import (
    QosSpecs,
    VolumeAdminMetadata,
    VolumeAttachment,
    VolumeImageMetadata,
    VolumeType,
)
from stratus.db.types import utcnow
from stratus.errors import BadRequest, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.volume import records, volumes

Handler = Callable[..., tuple[int, dict[str, Any] | None]]

register_defaults([
    RuleDefault("volume_extension:volume_admin_actions:reset_status", "rule:admin_required",
                "reset a volume's status, attach status or migration status"),
    RuleDefault("volume_extension:volume_admin_actions:force_delete", "rule:admin_required",
                "delete a volume whatever its status"),
    RuleDefault("volume:retype", "rule:admin_or_member", "change a volume's type"),
    RuleDefault("volume:update_readonly_flag", "rule:admin_or_member", "set a volume's read-only flag"),
    RuleDefault("volume_extension:volume_image_metadata:set", "rule:admin_or_member",
                "set a volume's image metadata"),
    RuleDefault("volume_extension:volume_image_metadata:remove", "rule:admin_or_member",
                "remove a volume's image metadata key"),
])

# Cinder's VolumeStatus.ALL, VolumeAttachStatus (attached, detached), VolumeMigrationStatus.ALL
VOLUME_STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "error_managing", "managing",
                   "attaching", "in-use", "detaching", "maintenance", "restoring-backup", "error_restoring",
                   "reserved", "awaiting-transfer", "backing-up", "error_backing-up", "error_extending",
                   "downloading", "uploading", "retyping", "extending")
ATTACH_STATUSES = ("attached", "detached")
MIGRATION_STATUSES = ("migrating", "error", "success", "completing", "none", "starting")
NO_RESET_TO = ("deleting", "error_deleting", "detaching")
MIGRATING = ("migrating", "completing", "starting")

_STATUS = {"type": ["string", "null"]}
RESET = validation.obj({"status": _STATUS, "attach_status": _STATUS, "migration_status": _STATUS})
BOOTABLE = validation.obj({"bootable": validation.boolean_type}, ("bootable",))
READONLY = validation.obj({"readonly": validation.boolean_type}, ("readonly",))
RETYPE = validation.obj({"new_type": {"type": "string"},
                         "migration_policy": {"type": ["string", "null"], "enum": ["on-demand", "never", None]}},
                        ("new_type",))
_IMAGE_META = {"type": "object",
               "patternProperties": {r"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string", "maxLength": 255}},
               "additionalProperties": False}
SET_IMAGE_METADATA = validation.obj({"metadata": _IMAGE_META}, ("metadata",))
UNSET_IMAGE_METADATA = validation.obj({"key": {"type": "string", "minLength": 1, "maxLength": 255}}, ("key",))


def _volume(db, ctx, policy, volume_id: str, rule: str):
    vol = records.volume_for(db, ctx, volume_id, lock=True)
    policy.enforce(rule, {"project_id": vol.project_id})
    return vol


def set_bootable(jobs, db, ctx, policy, version, volume_id, args):
    validation.validate(args, BOOTABLE, "os-set_bootable")
    vol = _volume(db, ctx, policy, volume_id, "volume:update")
    if vol.status == "maintenance":
        raise BadRequest("Invalid volume: The volume cannot be updated during maintenance.")
    vol.bootable = validation.as_bool(args["bootable"])
    vol.updated_at = utcnow()
    db.flush()
    return 200, None


def update_readonly_flag(jobs, db, ctx, policy, version, volume_id, args):
    validation.validate(args, READONLY, "os-update_readonly_flag")
    vol = _volume(db, ctx, policy, volume_id, "volume:update_readonly_flag")
    if vol.status != "available":
        raise BadRequest(f"Invalid volume: Volume {vol.id} status must be available to update readonly flag, "
                         f"but current status is: {vol.status}.")
    flag = str(validation.as_bool(args["readonly"]))
    row = db.get(VolumeAdminMetadata, (vol.id, "readonly"))
    if row is None:
        db.add(VolumeAdminMetadata(volume_id=vol.id, key="readonly", value=flag))
    else:
        row.value = flag
    vol.updated_at = utcnow()
    db.flush()
    return 202, None


def reset_status(jobs, db, ctx, policy, version, volume_id, args):
    validation.validate(args, RESET, "os-reset_status")
    want = {k: str(args[k]).lower() for k in ("status", "attach_status", "migration_status") if args.get(k)}
    if not want:
        raise BadRequest("Invalid input received: Must specify 'status', 'attach_status' or 'migration_status' "
                         "for update.")
    for key, allowed, label in (("status", VOLUME_STATUSES, "Volume status"),
                                ("attach_status", ATTACH_STATUSES, "Volume attach status"),
                                ("migration_status", MIGRATION_STATUSES, "Volume migration status")):
        if key in want and want[key] not in allowed:
            raise BadRequest(f"Invalid input received: {label}: {args[key]} is invalid, valid statuses are: "
                             f"{', '.join(allowed)}.")
    vol = _volume(db, ctx, policy, volume_id, "volume_extension:volume_admin_actions:reset_status")
    if want.get("status") in NO_RESET_TO:
        raise BadRequest(f"Cannot reset-state to {want['status']}: a volume is deleted with os-force_delete and "
                         "detached with os-detach.")
    attachments = list(db.scalars(select(VolumeAttachment).where(VolumeAttachment.volume_id == vol.id)))
    if want.get("status") == "in-use" and not attachments:
        raise BadRequest("Cannot reset-state to in-use because volume does not have any attachments.")
    if "status" in want:
        vol.status = want["status"]
        if not vol.status.startswith("error"):
            vol.status_reason = ""
    if "attach_status" in want:
        vol.attach_status = want["attach_status"]
        if want["attach_status"] == "detached":  # Cinder's volume_detached: the attachments go
            for a in attachments:
                db.delete(a)
            db.execute(sql_delete(VolumeAdminMetadata).where(VolumeAdminMetadata.volume_id == vol.id,
                                                             VolumeAdminMetadata.key == "attached_mode"))
    if "migration_status" in want:
        vol.migration_status = None if want["migration_status"] == "none" else want["migration_status"]
    vol.updated_at = utcnow()
    db.flush()
    return 202, None


def force_delete(jobs, db, ctx, policy, version, volume_id, args):
    vol = _volume(db, ctx, policy, volume_id, "volume_extension:volume_admin_actions:force_delete")
    volumes.delete(db, ctx, vol, force=True, **jobs)
    return 202, None


def _backend_of(db, vt: VolumeType) -> str | None:
    return records.extra_specs(db, vt.id).get("volume_backend_name") or None


def _multiattach(db, vt: VolumeType) -> bool:
    return records.extra_specs(db, vt.id).get("multiattach", "").strip().lower() in ("<is> true", "true")


def _front_end_qos(db, vt: VolumeType | None) -> dict[str, str]:
    qos = db.get(QosSpecs, vt.qos_specs_id) if vt is not None and vt.qos_specs_id else None
    return dict(qos.specs or {}) if qos is not None and qos.consumer in ("front-end", "both") else {}


def retype(jobs, db, ctx, policy, version, volume_id, args):
    validation.validate(args, RETYPE, "os-retype")
    vol = _volume(db, ctx, policy, volume_id, "volume:retype")
    try:
        new = records.type_for(db, ctx, args["new_type"])
    except NotFound:
        raise BadRequest(f"Invalid input received: Invalid volume_type passed: {args['new_type']}.") from None
    old = db.get(VolumeType, vol.volume_type_id) if vol.volume_type_id else None
    if vol.status not in ("available", "in-use") or vol.migration_status in MIGRATING \
            or (old is not None and old.id == new.id):
        raise BadRequest("Invalid volume: Retype needs volume to be in available or in-use state, not be part of "
                         "an active migration or a consistency group, requested type has to be different that the "
                         f"one from the volume, and for in-use volumes front-end qos specs cannot change (volume "
                         f"{vol.id} is {vol.status} with type {old.name if old else None}).")
    backend = _backend_of(db, new)
    if backend and vol.backend and backend != vol.backend:
        raise BadRequest(f"Invalid input received: volume type {new.name} maps to backend {backend} "
                         f"(volume_backend_name) but volume {vol.id} is on backend {vol.backend}; moving a volume "
                         "between backends (migration) is not supported, whatever migration_policy says: retype to "
                         f"a type of backend {vol.backend} (or one without volume_backend_name).")
    zones = records.extra_specs(db, new.id).get("RESKEY:availability_zones")
    if zones and vol.availability_zone not in [z.strip() for z in zones.split(",")]:
        raise BadRequest(f"Invalid input received: volume type {new.name} is restricted to the availability zones "
                         f"{zones}; volume {vol.id} is in {vol.availability_zone} and cannot move.")
    multi = _multiattach(db, new)
    if multi != bool(vol.multiattach) and vol.status != "available":
        raise BadRequest("Invalid input received: Invalid volume_type passed, retypes affecting multiattach are "
                         f"only allowed on available volumes, the specified volume however currently has a status "
                         f"of: {vol.status}.")
    attached = db.scalar(select(func.count()).select_from(VolumeAttachment)
                         .where(VolumeAttachment.volume_id == vol.id)) or 0
    if attached and _front_end_qos(db, old) != _front_end_qos(db, new):
        raise BadRequest("Invalid volume: Retype needs volume to be in available or in-use state, not be part of "
                         "an active migration or a consistency group, requested type has to be different that the "
                         "one from the volume, and for in-use volumes front-end qos specs cannot change.")
    from stratus.quotas import QuotaExceeded

    try:
        volumes.retype(db, ctx, vol, new)
    except QuotaExceeded as exc:
        raise volumes.over_quota(exc) from None
    vol.multiattach = multi
    vol.updated_at = utcnow()
    db.flush()
    return 202, None


def _check_metadata_status(vol) -> None:
    if vol.status in ("maintenance", "uploading"):
        raise BadRequest(f"Invalid volume: Updating volume metadata is not allowed for volumes in {vol.status} "
                         "status.")


def set_image_metadata(jobs, db, ctx, policy, version, volume_id, args):
    validation.validate(args, SET_IMAGE_METADATA, "os-set_image_metadata")
    vol = _volume(db, ctx, policy, volume_id, "volume_extension:volume_image_metadata:set")
    _check_metadata_status(vol)
    for key, value in args["metadata"].items():
        row = db.get(VolumeImageMetadata, (vol.id, key))
        if row is None:
            db.add(VolumeImageMetadata(volume_id=vol.id, key=key, value=value))
        else:
            row.value = value
    db.flush()
    return 200, {"metadata": volumes.image_metadata(db, vol.id)}


def unset_image_metadata(jobs, db, ctx, policy, version, volume_id, args):
    validation.validate(args, UNSET_IMAGE_METADATA, "os-unset_image_metadata")
    vol = _volume(db, ctx, policy, volume_id, "volume_extension:volume_image_metadata:remove")
    _check_metadata_status(vol)
    row = db.get(VolumeImageMetadata, (vol.id, args["key"]))
    if row is None:
        raise NotFound(f"Glance metadata for volume {vol.id} cannot be found: it has no image metadata key "
                       f"{args['key']}.")
    db.delete(row)
    db.flush()
    return 200, None


def show_image_metadata(jobs, db, ctx, policy, version, volume_id, args):
    vol = _volume(db, ctx, policy, volume_id, "volume_extension:volume_image_metadata:show")
    return 200, {"metadata": volumes.image_metadata(db, vol.id)}


HANDLERS: dict[str, Handler] = {
    "os-set_bootable": set_bootable,
    "os-update_readonly_flag": update_readonly_flag,
    "os-reset_status": reset_status,
    "os-force_delete": force_delete,
    "os-retype": retype,
    "os-set_image_metadata": set_image_metadata,
    "os-unset_image_metadata": unset_image_metadata,
    "os-show_image_metadata": show_image_metadata,
}



def extend(jobs, db, ctx, policy, version, volume_id, args):
    """``os-extend`` ``{"new_size": <GiB>}``: a detached volume grows (this backend
    extends only detached volumes: an in-use one is refused with 400, saying so)."""
    from stratus.errors import BadRequest
    from stratus.volume import records, volumes

    vol = records.volume_for(db, ctx, volume_id)
    policy.enforce("volume:extend", {"project_id": vol.project_id})
    if not isinstance(args, dict) or "new_size" not in args:
        raise BadRequest("Invalid input received: os-extend needs {\"new_size\": <GiB>}.")
    volumes.extend(db, ctx, vol, args["new_size"], **jobs)
    return 202, None


HANDLERS["os-extend"] = extend


def handlers() -> dict[str, Handler]:
    """Every volume action by its body key."""
    from stratus.volume import attach_actions, upload

    return {**HANDLERS, **attach_actions.HANDLERS, **upload.HANDLERS}
