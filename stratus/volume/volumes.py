"""Volumes: create (empty, from an image, a snapshot or a volume), update, extend,
retype, delete, and the status of their records.

The API's create writes the ``volume_volumes`` row (``creating``) and submits a
one-resource template ``{volume: OS::Cinder::Volume}`` in the request's transaction;
the type's ``check`` resolves the type, the source and the storage host (scheduler) and
keeps the row (:func:`ensure_row`, also how a template-made volume gets its row); the
job makes it on the storage host and :mod:`stratus.volume.sync` moves the row to
``available`` (or ``error`` with the job's reason). A scheduling failure leaves the row
in ``error`` ("No valid backend was found. ...") and the API still answers 202, as
Cinder does; the error volume counts against the quota until it is deleted.

Quota usage (Cinder's names): ``volumes``, ``gigabytes`` and per type
``volumes_<type>``, ``gigabytes_<type>`` (counted; unlimited unless a limit is set:
``stratus.quotas`` checks only the names it knows), ``per_volume_gigabytes`` (a limit
on one volume's size, checked here). Over quota: 413 in Cinder's words.

Status flow: creating → available; in-use while attached (the attachment service sets
it); extending → available (error_extending); retyping → available; deleting → gone
(error_deleting); error (+ ``status_reason``).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.hosts import Host
from stratus.db.models.jobs import DELETED, ERROR, Resource
from stratus.db.models.quotas import Allocation
from stratus.db.models.volume import (
    Volume,
    VolumeAttachment,
    VolumeImageMetadata,
    VolumeMetadata,
    VolumeSnapshot,
    VolumeType,
)
from stratus.db.types import utcnow
from stratus.errors import BadRequest, NotFound, OverLimit
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.orchestration import submit as pipeline
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.quotas import QuotaExceeded
from stratus.volume import records, scheduler, zones

register_defaults([
    RuleDefault("volume:create", "rule:admin_or_member", "create a volume"),
    RuleDefault("volume:create_from_image", "rule:admin_or_member", "create a volume from an image"),
    RuleDefault("volume:get", "rule:admin_or_reader", "show a volume"),
    RuleDefault("volume:get_all", "rule:admin_or_reader", "list volumes"),
    RuleDefault("volume:update", "rule:admin_or_member", "update a volume"),
    RuleDefault("volume:delete", "rule:admin_or_member", "delete a volume"),
    RuleDefault("volume:force_delete", "rule:admin_required", "delete a volume whatever its status"),
    RuleDefault("volume:extend", "rule:admin_or_member", "extend a volume"),
    RuleDefault("volume:get_volume_metadata", "rule:admin_or_reader", "show a volume's metadata"),
    RuleDefault("volume:create_volume_metadata", "rule:admin_or_member", "add a volume's metadata"),
    RuleDefault("volume:update_volume_metadata", "rule:admin_or_member", "replace a volume's metadata"),
    RuleDefault("volume:delete_volume_metadata", "rule:admin_or_member", "delete a volume's metadata key"),
    RuleDefault("volume:multiattach", "rule:admin_or_member", "create a multiattach volume"),
    RuleDefault("volume_extension:volume_host_attribute", "rule:admin_required",
                "see os-vol-host-attr:host"),
    RuleDefault("volume_extension:volume_tenant_attribute", "rule:admin_or_reader",
                "see os-vol-tenant-attr:tenant_id"),
    RuleDefault("volume_extension:volume_mig_status_attribute", "rule:admin_required",
                "see os-vol-mig-status-attr:*"),
    RuleDefault("volume_extension:volume_image_metadata:show", "rule:admin_or_reader",
                "see volume_image_metadata"),
    RuleDefault("volume:get_all_tenants", "rule:admin_required", "list every project's volumes"),
])

TYPE = "OS::Cinder::Volume"
RESOURCE = "volume"
NO_VALID_BACKEND = "No valid backend was found."
# Cinder's delete refusal (cinder/volume/api.py)
DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing")
NOT_DELETABLE = ("Invalid volume: Volume status must be available or error or error_restoring or "
                 "error_extending or error_managing and must not be migrating, attached, belong to a "
                 "group, have snapshots or be disassociated from snapshots after volume transfer.")
# statuses a copy may be made from
SOURCE_STATUSES = ("available", "in-use")
SNAPSHOT_STATUSES = ("available",)
NAME_MAX = 255


# -- what the type's check calls ---------------------------------------------------------
def quota_usage(size: int, type_name: str | None) -> dict[str, int]:
    """Cinder's quota usage of one volume of ``size`` GiB and type ``type_name``."""
    usage = {"volumes": 1, "gigabytes": int(size)}
    if type_name:
        usage[f"volumes_{type_name}"] = 1
        usage[f"gigabytes_{type_name}"] = int(size)
    return usage


def type_multiattach(db: Session, type_id: str | None) -> bool:
    """Whether a type makes multiattach volumes (Cinder's ``multiattach: <is> True``)."""
    return records.extra_specs(db, type_id).get("multiattach", "").strip().lower() in ("<is> true", "true")


def resolve_type(db: Session, res, ref) -> VolumeType:
    """The volume type of a planned volume (its id or name; the default type without one)."""
    settings = res.context.settings if res.context else None
    ctx = _PlanCtx(res)
    try:
        if res.attributes.get("volume_type_id"):
            vt = db.get(VolumeType, res.attributes["volume_type_id"])
            if vt is not None:
                return vt
        return records.type_for(db, ctx, ref) if ref else records.default_type(db, settings)
    except NotFound as exc:
        raise ResourceCheckFailed(exc.message, ("resources", res.name, "properties", "volume_type"),
                                  status=404) from None


class _PlanCtx:
    """The planner's caller as :mod:`stratus.volume.records` sees it."""

    def __init__(self, res) -> None:
        self.project_id = res.project_id
        self.is_admin = bool(res.context and res.context.cloud_admin)


def source_of(db: Session, res) -> dict[str, Any] | None:
    """Where a copy of a snapshot or a clone of a volume lives (its source's host,
    backend, zone and size); None for a volume of its own. Cinder's 404/400 words."""
    p = res.properties
    where = ("resources", res.name, "properties")
    ctx = _PlanCtx(res)
    size = p.get("size")
    if p.get("snapshot_id"):
        try:
            snap = records.snapshot_for(db, ctx, p["snapshot_id"])
        except NotFound as exc:
            raise ResourceCheckFailed(exc.message, (*where, "snapshot_id"), status=404) from None
        if snap.status not in SNAPSHOT_STATUSES:
            raise ResourceCheckFailed(f"Invalid snapshot: Originating snapshot status must be one of "
                                      f"'{', '.join(SNAPSHOT_STATUSES)}' values", (*where, "snapshot_id"))
        if size is not None and int(size) < snap.size:
            raise ResourceCheckFailed(f"Invalid input received: Volume size '{size}'GB cannot be smaller than "
                                      f"the snapshot size {snap.size}GB. They must be >= original snapshot "
                                      "size.", (*where, "size"))
        vol = db.get(Volume, snap.volume_id)
        if vol is None or not vol.host:
            raise ResourceCheckFailed(f"Snapshot {snap.id}'s volume is gone; it cannot be copied.",
                                      (*where, "snapshot_id"))
        return {"host": vol.host, "backend": vol.backend, "availability_zone": vol.availability_zone,
                "size": snap.size, "volume": vol}
    if p.get("source_volid"):
        try:
            vol = records.volume_for(db, ctx, p["source_volid"])
        except NotFound as exc:
            raise ResourceCheckFailed(exc.message, (*where, "source_volid"), status=404) from None
        if vol.status not in SOURCE_STATUSES or not vol.host:
            raise ResourceCheckFailed(f"Invalid volume: Originating volume status must be one of "
                                      f"'{', '.join(SOURCE_STATUSES)}' values", (*where, "source_volid"))
        if size is not None and int(size) < vol.size:
            raise ResourceCheckFailed(f"Invalid input received: Volume size '{size}'GB cannot be smaller than "
                                      f"original volume size  {vol.size}GB. They must be >= original volume "
                                      "size.", (*where, "size"))
        return {"host": vol.host, "backend": vol.backend, "availability_zone": vol.availability_zone,
                "size": vol.size, "volume": vol}
    return None


def schedule(db: Session, res, vt: VolumeType) -> dict[str, Any]:
    """``host``, ``backend`` and ``availability_zone`` of a new volume
    (:func:`stratus.volume.scheduler.choose`); :class:`NoBackend` when none fits."""
    from stratus.orchestration.types.cinder_volume import NoBackend

    settings = res.context.settings if res.context else None
    zone = res.properties.get("availability_zone") or None
    try:
        host, backend = scheduler.choose(db, settings, size_gb=int(res.properties["size"]), volume_type_id=vt.id,
                                         availability_zone=zone, need_data=bool(res.properties.get("image")))
    except scheduler.NoValidBackend as exc:
        raise NoBackend(exc.message, ("resources", res.name)) from None
    return {"host": host, "backend": backend, "availability_zone": zone or storage_zone(db, host, settings)}


def storage_zone(db: Session, host: str | None, settings) -> str:
    """The availability zone of a storage host."""
    row = db.get(Host, host) if host else None
    return scheduler.zone_of(row, settings) if row else settings.volume_default_availability_zone


def ensure_row(db: Session, res) -> Volume:
    """The volume's record: written when a template (not ``POST /volumes``) makes it,
    and given where the check placed it either way."""
    vol = db.get(Volume, res.resource_id)
    p, a = res.properties, res.attributes
    if vol is None:
        user_id = res.context.user_id if res.context and res.context.user_id else ""
        vol = Volume(id=res.resource_id, project_id=res.project_id or "", user_id=user_id,
                     name=p.get("name"), description=p.get("description"), size=0,
                     status="creating", multiattach=bool(p.get("multiattach")),
                     snapshot_id=p.get("snapshot_id"), source_volid=p.get("source_volid"),
                     image_id=p.get("image"))
        db.add(vol)
        db.flush()
        set_metadata(db, vol, dict(p.get("metadata") or {}), replace=True)
    if vol.status == "creating":
        from stratus.orchestration.types.cinder_volume import size_of

        vol.multiattach = bool(a.get("multiattach", vol.multiattach))

        vol.size = size_of(p, a) or vol.size
        vol.volume_type_id = a.get("volume_type_id") or vol.volume_type_id
        vol.host, vol.backend = a.get("host") or vol.host, a.get("backend") or vol.backend
        vol.availability_zone = a.get("availability_zone") or vol.availability_zone
        _inherit_boot(db, vol, a)
    db.flush()
    return vol


def _inherit_boot(db: Session, vol: Volume, attributes: dict[str, Any]) -> None:
    """A volume from an image is bootable with the image's metadata; a copy of a
    snapshot or volume takes its source's (Cinder's volume_image_metadata)."""
    facts = attributes.get("image_facts")
    if facts:
        meta = {"image_id": facts["id"], "disk_format": facts["disk_format"], "container_format": "bare",
                "size": str(facts.get("size") or 0), "min_disk": str(facts.get("min_disk") or 0),
                "min_ram": str(facts.get("min_ram") or 0), **{k: str(v) for k, v in
                                                               (facts.get("properties") or {}).items()}}
        from stratus.db.models.images import Image

        image = db.get(Image, facts["id"])
        if image is not None:
            meta["image_name"] = image.name or ""
            meta["checksum"] = image.checksum or ""
    else:
        source = None
        if vol.source_volid:
            source = db.get(Volume, vol.source_volid)
        elif vol.snapshot_id:
            snap = db.get(VolumeSnapshot, vol.snapshot_id)
            source = db.get(Volume, snap.volume_id) if snap is not None else None
        if source is None or not source.bootable:
            return
        meta = image_metadata(db, source.id)
    vol.bootable = True
    db.execute(sql_delete(VolumeImageMetadata).where(VolumeImageMetadata.volume_id == vol.id))
    for key, value in meta.items():
        db.add(VolumeImageMetadata(volume_id=vol.id, key=key, value=value))


# -- the API's operations ----------------------------------------------------------------
def create(db: Session, ctx, body_volume: dict[str, Any], *, settings, context, request_id=None) -> Volume:
    """``POST /volumes``: validate, write the row, submit the volume's template."""
    props = _create_properties(db, ctx, body_volume, settings)
    vid = str(uuid.uuid4())
    sp = db.begin_nested()
    try:
        _write_row(db, ctx, vid, props)
        pipeline.submit(db, template(props),
                        project_id=ctx.project_id, cloud_admin=ctx.is_admin, request_id=request_id,
                        resource_ids={RESOURCE: vid}, max_attempts=settings.job_max_attempts,
                        timeout=settings.job_timeout, quota_defaults=settings.quota_defaults, context=context)
        sp.commit()
    except QuotaExceeded as exc:
        sp.rollback()
        raise over_quota(exc) from None
    except ResourceCheckFailed as exc:
        sp.rollback()
        from stratus.orchestration.types.cinder_volume import NoBackend

        if not isinstance(exc, NoBackend):
            raise (NotFound if exc.status == 404 else BadRequest)(exc.message) from None
        return _unscheduled(db, ctx, vid, props, exc.message, settings)
    return db.get(Volume, vid)


def template(props: dict[str, Any]) -> dict[str, Any]:
    """The one-resource template of a volume with ``props``."""
    return {"heat_template_version": "2018-08-31",
            "resources": {RESOURCE: {"type": TYPE, "properties": props}}}


def _create_properties(db: Session, ctx, body: dict[str, Any], settings) -> dict[str, Any]:
    """The OS::Cinder::Volume properties of a ``volume`` body (Cinder's 400s)."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid input received: the body must be {\"volume\": {\"size\": <GiB>, ...}}.")
    props: dict[str, Any] = {}
    size = body.get("size")
    if size is not None:
        props["size"] = check_size(size)
    for key in ("name", "description"):
        # Cinder v1's display_name/display_description are still read
        value = body.get(key, body.get(f"display_{key}"))
        if value is not None:
            if not isinstance(value, str) or len(value) > (NAME_MAX if key == "name" else 65535):
                raise BadRequest(f"Invalid input for field/attribute {key}: a string of at most "
                                 f"{NAME_MAX if key == 'name' else 65535} characters.")
            props[key] = value
    props["metadata"] = check_metadata(body.get("metadata") or {})
    for key, wire in (("image", "imageRef"), ("snapshot_id", "snapshot_id"), ("source_volid", "source_volid")):
        value = body.get(wire, body.get("image_id") if key == "image" else None)
        if value:
            if not isinstance(value, str):
                raise BadRequest(f"Invalid input for field/attribute {wire}: give an id (a string).")
            props[key] = value
    given = [k for k in ("image", "snapshot_id", "source_volid") if k in props]
    if len(given) > 1:
        raise BadRequest("Invalid input received: only one of imageRef, snapshot_id or source_volid may be "
                         "given.")
    if "size" not in props and not ({"snapshot_id", "source_volid"} & set(given)):
        raise BadRequest("Invalid input received: 'size' must be given: the size of the volume in GiB "
                         "(an integer greater than 0).")
    if body.get("volume_type"):
        vt = records.type_for(db, ctx, body["volume_type"])
        props["volume_type"] = vt.id
    zone = body.get("availability_zone")
    if zone:
        if not isinstance(zone, str) or zone not in (zones.names(db, settings) or {settings.volume_default_availability_zone}):
            raise BadRequest(f"Availability zone '{zone}' is invalid.")
        props["availability_zone"] = zone
    multi = body.get("multiattach", False)
    if not isinstance(multi, bool):
        raise BadRequest("Invalid input for field/attribute multiattach: true or false.")
    props["multiattach"] = multi
    if "size" in props:
        check_per_volume(db, ctx.project_id, props["size"], settings)
    return props


def check_size(size) -> int:
    """Cinder's size check (an integer > 0; a digit string is accepted)."""
    if isinstance(size, str) and size.strip().isdigit():
        size = int(size)
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise BadRequest(f"Invalid input received: Volume size '{size}' must be an integer and greater than 0")
    return size


def check_metadata(meta) -> dict[str, str]:
    """Cinder's metadata rules: a map of strings, keys 1..255, values up to 255."""
    if not isinstance(meta, dict):
        raise BadRequest("Invalid input for field/attribute metadata: a map of strings.")
    for key, value in meta.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 255:
            raise BadRequest("Invalid input received: Metadata property key must be 1 to 255 characters.")
        if not isinstance(value, str) or len(value) > 255:
            raise BadRequest(f"Invalid input received: Metadata property value of {key!r} must be a string "
                             "of at most 255 characters.")
    return dict(meta)


def check_per_volume(db: Session, project_id: str, size: int, settings) -> None:
    """``per_volume_gigabytes``: Cinder's VolumeSizeExceedsLimit (413)."""
    limit = quotas.limits(db, project_id, settings.quota_defaults, "volume").get("per_volume_gigabytes", -1)
    if limit != quotas.UNLIMITED and size > limit:
        raise OverLimit(f"Requested volume size {size}G is larger than maximum allowed limit {limit}G.")


def over_quota(exc: QuotaExceeded) -> OverLimit:
    """Cinder's 413 words for a volume over quota."""
    name = next((r for r in exc.resources if r.startswith("gigabytes")), exc.resources[0])
    o = exc.overs[name]
    if name.startswith("gigabytes"):
        return OverLimit(f"Requested volume or snapshot exceeds allowed {name} quota. Requested "
                         f"{o['requested']}G, quota is {o['limit']}G and {o['used']}G has been consumed.")
    return OverLimit(f"Maximum number of volumes allowed ({o['limit']}) exceeded for quota '{name}'.")


def _write_row(db: Session, ctx, vid: str, props: dict[str, Any]) -> Volume:
    vol = Volume(id=vid, project_id=ctx.project_id, user_id=ctx.user_id or "", name=props.get("name"),
                 description=props.get("description"), size=int(props.get("size") or 0), status="creating",
                 multiattach=props["multiattach"], snapshot_id=props.get("snapshot_id"),
                 source_volid=props.get("source_volid"), image_id=props.get("image"),
                 availability_zone=props.get("availability_zone") or "nova")
    db.add(vol)
    db.flush()
    set_metadata(db, vol, props["metadata"], replace=True)
    return vol


def _unscheduled(db: Session, ctx, vid: str, props: dict[str, Any], reason: str, settings) -> Volume:
    """Cinder's answer when no backend fits: the volume exists, in ``error``, and counts
    against the quota until it is deleted (its resource is ERROR on no host)."""
    vt = records.type_for(db, ctx, props["volume_type"]) if props.get("volume_type") \
        else records.default_type(db, settings)
    props.setdefault("size", 0)
    vol = _write_row(db, ctx, vid, props)
    vol.status, vol.status_reason, vol.volume_type_id = "error", reason, vt.id
    vol.availability_zone = props.get("availability_zone") or settings.volume_default_availability_zone
    db.add(Resource(id=vid, name=RESOURCE, type=TYPE, project_id=ctx.project_id, status=ERROR,
                    status_reason=reason, properties=props,
                    attributes={"volume_type_id": vt.id, "volume_type_name": vt.name}, hosts=[]))
    usage = quota_usage(vol.size, vt.name)
    try:  # Cinder reserves the quota before it schedules: over quota is still a 413
        quotas.check(db, ctx.project_id, usage, settings.quota_defaults)
    except QuotaExceeded as exc:
        raise over_quota(exc) from None
    for pool, amount in usage.items():
        db.add(Allocation(consumer_id=vid, project_id=ctx.project_id, resource=pool, amount=amount))
    db.flush()
    return vol


def update(db: Session, vol: Volume, body: dict[str, Any]) -> Volume:
    """``PUT /volumes/{id}``: name, description, metadata (records only)."""
    if not isinstance(body, dict) or not body:
        raise BadRequest("Invalid input received: give at least one of name, description or metadata.")
    allowed = {"name", "description", "metadata", "display_name", "display_description"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"Invalid input received: {', '.join(unknown)} cannot be updated; give name, "
                         "description or metadata.")
    values: dict[str, Any] = {}
    for key in ("name", "description"):
        if key in body or f"display_{key}" in body:
            value = body.get(key, body.get(f"display_{key}"))
            if value is not None and (not isinstance(value, str) or len(value) > (NAME_MAX if key == "name"
                                                                                  else 65535)):
                raise BadRequest(f"Invalid input for field/attribute {key}: a string of at most "
                                 f"{NAME_MAX if key == 'name' else 65535} characters.")
            values[key] = value
    meta = check_metadata(body["metadata"]) if "metadata" in body else None
    for key, value in values.items():
        setattr(vol, key, value)
    vol.updated_at = utcnow()
    if meta is not None:
        set_metadata(db, vol, meta, replace=True)  # mirrors the properties too
    _mirror_properties(db, vol)
    db.flush()
    return vol


def _mirror_properties(db: Session, vol: Volume) -> None:
    """The resource's properties follow the record (a later update diffs against them,
    and its end writes them back into the record)."""
    row = db.get(Resource, vol.id)
    if row is not None and row.status != DELETED:
        row.properties = {**row.properties, "name": vol.name, "description": vol.description,
                          "metadata": metadata(db, vol.id)}


def delete(db: Session, ctx, vol: Volume, *, cascade: bool = False, force: bool = False,
           settings=None, context=None, request_id=None) -> None:
    """``DELETE /volumes/{id}`` (Cinder's rules): ``available``/``error``-ish, not
    attached, no snapshots unless ``cascade``; ``force`` (admins) skips the status check."""
    snaps = list(db.scalars(select(VolumeSnapshot).where(VolumeSnapshot.volume_id == vol.id)))
    attached = db.scalar(select(func.count()).select_from(VolumeAttachment).where(
        VolumeAttachment.volume_id == vol.id)) or 0
    ok = (force or vol.status in DELETABLE) and not attached and vol.attach_status != "attached" \
        and vol.migration_status in (None, "", "success", "error")
    if snaps and not cascade:
        ok = False
    if cascade and any(s.status not in ("available", "error", "deleting", "error_deleting") for s in snaps):
        ok = False
    if not ok:
        raise BadRequest(NOT_DELETABLE)
    row = db.get(Resource, vol.id)
    vol.status, vol.terminated_at = "deleting", utcnow()
    for snap in snaps:
        snap.status = "deleting"
    if row is None or not vol.host or row.status == DELETED:
        return _forget(db, vol, row)  # never made on a host (no backend fitted)
    attrs = dict(row.attributes or {})
    attrs["cascade"] = bool(snaps)
    row.attributes = attrs
    pipeline.submit_delete(db, [vol.id], project_id=vol.project_id, request_id=request_id, context=context,
                           max_attempts=getattr(settings, "job_max_attempts", 2),
                           timeout=getattr(settings, "job_timeout", 600))
    db.flush()


def _forget(db: Session, vol: Volume, row: Resource | None) -> None:
    """Remove a volume that exists only as records."""
    if row is not None:
        row.status, row.status_reason = DELETED, ""
    quotas.release(db, vol.id)
    remove_row(db, vol.id)


def remove_row(db: Session, volume_id: str) -> None:
    """A deleted volume's records (Cinder shows none): its metadata, snapshots' rows."""
    for model in (VolumeMetadata, VolumeImageMetadata):
        db.execute(sql_delete(model).where(model.volume_id == volume_id))
    from stratus.db.models.volume import VolumeAdminMetadata

    db.execute(sql_delete(VolumeAdminMetadata).where(VolumeAdminMetadata.volume_id == volume_id))
    # snapshots a cascade removed with it on the host: their resources are gone too
    for sid in list(db.scalars(select(VolumeSnapshot.id).where(VolumeSnapshot.volume_id == volume_id))):
        snap_res = db.get(Resource, sid)
        if snap_res is not None and snap_res.status != DELETED:
            snap_res.status, snap_res.status_reason = DELETED, "deleted with its volume (cascade)"
        quotas.release(db, sid)
    db.execute(sql_delete(VolumeSnapshot).where(VolumeSnapshot.volume_id == volume_id))
    db.execute(sql_delete(VolumeAttachment).where(VolumeAttachment.volume_id == volume_id))
    db.execute(sql_delete(Volume).where(Volume.id == volume_id))
    db.flush()


def extend(db: Session, ctx, vol: Volume, new_size, *, settings, context=None, request_id=None) -> None:
    """``os-extend``: a detached volume grows (Cinder's 400s; 413 over quota)."""
    if not isinstance(new_size, int) or isinstance(new_size, bool):
        new_size = check_size(new_size)
    if vol.status != "available" or vol.attach_status == "attached":
        msg = f"Invalid volume: Volume {vol.id} status must be 'available' to extend, currently {vol.status}."
        if vol.status == "in-use" or vol.attach_status == "attached":
            msg += (" This backend extends only detached volumes: detach it (openstack server remove volume), "
                    "extend it, then attach it again.")
        raise BadRequest(msg)
    if new_size <= vol.size:
        raise BadRequest(f"Invalid input received: New size for extend must be greater than current size. "
                         f"(current: {vol.size}, extended: {new_size}).")
    check_per_volume(db, vol.project_id, new_size, settings)
    try:
        pipeline.submit_update(db, vol.id, {"size": new_size}, request_id=request_id, context=context,
                               quota_defaults=settings.quota_defaults, timeout=settings.job_timeout)
    except QuotaExceeded as exc:
        raise over_quota(_as_increase(exc, new_size - vol.size)) from None
    vol.status = "extending"
    db.flush()


def _as_increase(exc: QuotaExceeded, increase: int) -> QuotaExceeded:
    """An extend's over-quota as Cinder words it: the increase requested, the rest used."""
    overs = {}
    for name, o in exc.overs.items():
        if name.startswith("gigabytes"):
            overs[name] = {"requested": increase, "used": o["used"] + o["requested"] - increase,
                           "limit": o["limit"]}
    return QuotaExceeded(exc.project_id, overs or exc.overs)


def retype(db: Session, ctx, vol: Volume, new_type: VolumeType) -> None:
    """The volume's type changes to ``new_type`` on its own backend (records and the
    per-type quota usage); the caller checks the backend matches."""
    row = db.get(Resource, vol.id)
    vol.volume_type_id = new_type.id
    if row is None:
        return
    row.attributes = {**row.attributes, "volume_type_id": new_type.id, "volume_type_name": new_type.name}
    row.properties = {**row.properties, "volume_type": new_type.id}
    usage = quota_usage(vol.size, new_type.name)
    quotas.release(db, vol.id)
    quotas.check(db, vol.project_id, usage)
    for pool, amount in usage.items():
        db.add(Allocation(consumer_id=vol.id, project_id=vol.project_id, resource=pool, amount=amount))
    db.flush()


def set_status(db: Session, vol: Volume, status: str, *, reason: str = "",
               attach_status: str | None = None) -> None:
    """Set a volume's status (attachments, reset-status); ``reason`` for ``error``."""
    vol.status = status
    vol.status_reason = reason if status.startswith("error") else ""
    if attach_status is not None:
        vol.attach_status = attach_status
    vol.updated_at = utcnow()
    db.flush()


# -- metadata ----------------------------------------------------------------------------
def metadata(db: Session, volume_id: str) -> dict[str, str]:
    rows = db.scalars(select(VolumeMetadata).where(VolumeMetadata.volume_id == volume_id)
                      .order_by(VolumeMetadata.key))
    return {r.key: r.value for r in rows}


def image_metadata(db: Session, volume_id: str) -> dict[str, str]:
    rows = db.scalars(select(VolumeImageMetadata).where(VolumeImageMetadata.volume_id == volume_id)
                      .order_by(VolumeImageMetadata.key))
    return {r.key: r.value for r in rows}


def set_metadata(db: Session, vol: Volume, meta: dict[str, str], *, replace: bool) -> dict[str, str]:
    """Merge (or with ``replace`` set) a volume's metadata; returns the whole of it."""
    if replace:
        db.execute(sql_delete(VolumeMetadata).where(VolumeMetadata.volume_id == vol.id))
        db.flush()
    for key, value in meta.items():
        row = db.get(VolumeMetadata, (vol.id, key))
        if row is None:
            db.add(VolumeMetadata(volume_id=vol.id, key=key, value=value))
        else:
            row.value = value
    db.flush()
    _mirror_properties(db, vol)
    return metadata(db, vol.id)


def delete_metadata_key(db: Session, vol: Volume, key: str) -> None:
    row = db.get(VolumeMetadata, (vol.id, key))
    if row is None:
        raise NotFound(f"Metadata item was not found: {key}")
    db.delete(row)
    db.flush()
    _mirror_properties(db, vol)
