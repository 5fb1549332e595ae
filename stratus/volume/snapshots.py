"""Snapshots (Cinder v3 ``/snapshots``): create, list, show, update, delete, metadata,
and the snapshot actions (``os-reset_status``, ``os-force_delete``,
``os-update_snapshot_status``).

A snapshot is a record (``volume_snapshots``) and an ``OS::Cinder::VolumeSnapshot``
resource of the same id: :func:`create` writes the record ``creating`` and submits the
one-resource template in the request's transaction; the job runs ``volume_snapshot`` on
the volume's storage host and the type's ``on_state`` makes it ``available`` (or
``error`` with the reason). As in Cinder:

- the volume must be ``available``; ``in-use`` only with ``force`` (400 otherwise), never
  in ``error``, ``maintenance`` or while migrating;
- a snapshot counts against the project's ``snapshots`` and ``gigabytes`` (the volume's
  size) quotas and the per-type ``snapshots_<type>``/``gigabytes_<type>`` (413 with
  Cinder's words);
- only ``available`` or ``error`` snapshots are deleted (an admin's ``os-force_delete``
  any); a volume with snapshots is deleted only with ``cascade`` (the volume delete,
  ``stratus.volume.volumes.delete``: the ``volume`` module removes them with it and
  ``remove_row`` marks their resources DELETED and releases their quota);
- name, description and metadata are record changes.

Errors are ``stratus.errors`` exceptions in Cinder's words.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.compute import validation
from stratus.db.models.jobs import DELETED, Resource
from stratus.db.models.volume import Volume, VolumeSnapshot, VolumeType
from stratus.errors import BadRequest, NotFound, OverLimit
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.orchestration import submit as pipeline
from stratus.volume import records

TYPE = "OS::Cinder::VolumeSnapshot"
TEMPLATE_VERSION = "2018-08-31"

register_defaults([
    RuleDefault("volume:create_snapshot", "rule:admin_or_member", "create a snapshot"),
    RuleDefault("volume:get_snapshot", "rule:admin_or_reader", "show a snapshot"),
    RuleDefault("volume:get_all_snapshots", "rule:admin_or_reader", "list snapshots"),
    RuleDefault("volume:update_snapshot", "rule:admin_or_member", "update a snapshot"),
    RuleDefault("volume:delete_snapshot", "rule:admin_or_member", "delete a snapshot"),
    RuleDefault("volume_extension:extended_snapshot_attributes", "rule:admin_or_reader",
                "see os-extended-snapshot-attributes:project_id and :progress"),
    RuleDefault("volume:get_snapshot_metadata", "rule:admin_or_reader", "show a snapshot's metadata"),
    RuleDefault("volume:update_snapshot_metadata", "rule:admin_or_member", "set a snapshot's metadata"),
    RuleDefault("volume:delete_snapshot_metadata", "rule:admin_or_member", "delete a snapshot's metadata key"),
    RuleDefault("volume_extension:snapshot_admin_actions:reset_status", "rule:admin_required",
                "reset a snapshot's status"),
    RuleDefault("volume_extension:snapshot_admin_actions:force_delete", "rule:admin_required",
                "delete a snapshot whatever its status"),
    RuleDefault("snapshot_extension:snapshot_actions:update_snapshot_status", "rule:admin_or_member",
                "update a snapshot's status and progress (Nova's assisted snapshots)"),
])

# Cinder's SnapshotStatus.ALL
STATUSES = ("error", "available", "creating", "deleting", "deleted", "updating", "error_deleting",
            "unmanaging", "backing-up", "restoring")
DELETABLE = ("available", "error")
# os-update_snapshot_status: the statuses a caller may move a snapshot between
UPDATE_STATUS = {"creating": ("creating", "available", "error"), "deleting": ("deleting", "error_deleting")}
# sort keys Cinder allows on snapshots (the API's names → columns)
SORT_KEYS = {k: getattr(VolumeSnapshot, k) for k in ("id", "name", "status", "created_at", "updated_at", "size",
                                                      "volume_id", "project_id")}

# Cinder's parameter types
_NAME = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
_METADATA = {"type": ["object", "null"],
             "patternProperties": {r"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string", "maxLength": 255}},
             "additionalProperties": False}
CREATE = validation.obj({"snapshot": validation.obj({
    "name": _NAME, "display_name": _NAME, "description": _NAME, "volume_id": {"type": ["string", "null"]},
    "force": validation.boolean_type, "metadata": _METADATA}, ("volume_id",))}, ("snapshot",))
UPDATE = validation.obj({"snapshot": {**validation.obj({
    "name": _NAME, "description": _NAME, "display_name": _NAME, "display_description": _NAME}),
    "anyOf": [{"required": [k]} for k in ("name", "description", "display_name", "display_description")]}},
    ("snapshot",))
METADATA = validation.obj({"metadata": {**_METADATA, "type": "object"}}, ("metadata",))
META = validation.obj({"meta": {**_METADATA, "type": "object", "minProperties": 1, "maxProperties": 1}},
                      ("meta",))


# -- lookups and checks ---------------------------------------------------------------------

def get(db: Session, ctx, policy, snapshot_id: str) -> VolumeSnapshot:
    """The snapshot as ``ctx`` may see it (404), the caller allowed to see it (403)."""
    snap = records.snapshot_for(db, ctx, snapshot_id)
    policy.enforce("volume:get_snapshot", {"project_id": snap.project_id})
    return snap


def _type_name(db: Session, type_id: str | None) -> str | None:
    vt = db.get(VolumeType, type_id) if type_id else None
    return vt.name if vt is not None else None


def placement_facts(db: Session, row: VolumeSnapshot, vol: Volume) -> dict[str, Any]:
    """What the snapshot's resource records at plan time: where its volume lives, its
    size and the volume type's name (per-type quotas)."""
    return {"volume_id": vol.id, "host": vol.host, "backend": vol.backend, "size": row.size,
            "volume_type": _type_name(db, row.volume_type_id)}


def check_volume(vol: Volume, force: bool) -> None:
    """Cinder's checks of a volume to snapshot (400 InvalidVolume)."""
    if not vol.host:
        raise BadRequest("Invalid volume: The snapshot cannot be created because volume has not been "
                         "scheduled to any host.")
    if vol.status == "maintenance":
        raise BadRequest("Invalid volume: The snapshot cannot be created when the volume is in "
                         "maintenance mode.")
    if vol.migration_status not in (None, "", "none", "success", "error"):
        raise BadRequest("Invalid volume: Snapshot cannot be created while volume is migrating.")
    if vol.status == "error":
        raise BadRequest("Invalid volume: The snapshot cannot be created when the volume is in error status.")
    valid = ("available", "in-use") if force else ("available",)
    if vol.status not in valid:
        hint = ("; to snapshot an attached volume, pass force=true (crash-consistent at best)"
                if vol.status == "in-use" else "")
        raise BadRequest(f"Invalid volume: Volume {vol.id} status must be {', '.join(valid)}, but current "
                         f"status is: {vol.status}{hint}.")


def _over_quota(exc: quotas.QuotaExceeded) -> OverLimit:
    """Cinder's 413 for a snapshot over quota: SnapshotLimitExceeded for the count, the
    volume service's words (VolumeSizeExceedsAvailableQuota) for the gigabytes."""
    from stratus.volume.volumes import over_quota

    counted = [r for r in exc.resources if r.startswith("snapshots")]
    if not counted:
        return over_quota(exc)
    return OverLimit(f"Maximum number of snapshots allowed ({exc.overs[counted[0]]['limit']}) exceeded for "
                     f"quota '{counted[0]}'.")


# -- create -------------------------------------------------------------------------------------

def parse_create(body: Any) -> dict[str, Any]:
    """The ``snapshot`` of a create body, checked as Cinder's schema does."""
    validation.validate(body, CREATE)
    spec = dict(body["snapshot"])
    if spec.get("volume_id") in (None, ""):
        raise BadRequest("Invalid input for field/attribute volume_id. Value: None. None is not of type 'string'")
    spec["force"] = validation.as_bool(spec["force"]) if "force" in spec else False
    name = spec.pop("name", None)
    display = spec.pop("display_name", None)
    spec["name"] = name if name is not None else display
    return spec


def create(db: Session, ctx, policy, body: Any, *, settings, context, request_id) -> VolumeSnapshot:
    """``POST /snapshots``: the record and its job (see the module docstring)."""
    spec = parse_create(body)
    vol = records.volume_for(db, ctx, spec["volume_id"], lock=True)
    policy.enforce("volume:create_snapshot", {"project_id": vol.project_id})
    check_volume(vol, spec["force"])
    snap = VolumeSnapshot(id=str(uuid.uuid4()), project_id=ctx.project_id or vol.project_id,
                          user_id=ctx.user_id or "", volume_id=vol.id, name=spec["name"],
                          description=spec.get("description"), size=vol.size, status="creating", progress="0%",
                          volume_type_id=vol.volume_type_id, metadata_=dict(spec.get("metadata") or {}))
    db.add(snap)
    db.flush()
    props = {"volume": vol.id, "force": spec["force"], "metadata": snap.metadata_}
    props.update({k: v for k, v in (("name", snap.name), ("description", snap.description)) if v is not None})
    template = {"heat_template_version": TEMPLATE_VERSION,
                "resources": {"snapshot": {"type": TYPE, "properties": props}}}
    try:
        pipeline.submit(db, template, project_id=snap.project_id, cloud_admin=bool(ctx.is_admin),
                        request_id=request_id, resource_ids={"snapshot": snap.id},
                        max_attempts=getattr(settings, "job_max_attempts", 2),
                        timeout=getattr(settings, "job_timeout", 600),
                        quota_defaults=getattr(settings, "quota_defaults", None), context=context)
    except quotas.QuotaExceeded as exc:
        raise _over_quota(exc) from exc
    return snap


def ensure_row(db: Session, res, planned: Mapping[str, Any]) -> VolumeSnapshot:
    """A stack's snapshot: its record, made as the API makes it (the volume as the
    stack's project sees it; a volume the same stack makes may still be ``creating``)."""
    from stratus.identity.context import RequestContext

    admin = bool(res.context and res.context.cloud_admin)
    if res.project_id is None:
        raise BadRequest("A snapshot belongs to a project: submit it in one.")
    ctx = RequestContext(user_id=(res.context.user_id if res.context else "") or "", user_name="",
                         user_domain_id="", project_id=res.project_id, roles=("admin",) if admin else (),
                         is_admin_project=admin)
    vol = records.volume_for(db, ctx, str(res.properties.get("volume") or ""))
    force = bool(res.properties.get("force"))
    if not (vol.id in planned and vol.status == "creating"):
        check_volume(vol, force)
    p = res.properties
    snap = VolumeSnapshot(id=res.resource_id, project_id=res.project_id, user_id=ctx.user_id, volume_id=vol.id,
                          name=p.get("name"), description=p.get("description"), size=vol.size,
                          status="creating", progress="0%", volume_type_id=vol.volume_type_id,
                          metadata_=dict(p.get("metadata") or {}))
    db.add(snap)
    db.flush()
    return snap


def follow(db: Session, snap: VolumeSnapshot, props: Mapping[str, Any]) -> None:
    """A stack update: the record takes the changed name, description, metadata."""
    for key in ("name", "description"):
        if key in props and props[key] != getattr(snap, key):
            setattr(snap, key, props[key])
    if "metadata" in props and dict(props["metadata"] or {}) != dict(snap.metadata_ or {}):
        snap.metadata_ = dict(props["metadata"] or {})
    db.flush()


# -- list ---------------------------------------------------------------------------------------

def listing(db: Session, ctx, policy, params: Mapping[str, str]):
    """``GET /snapshots[/detail]``: the project's snapshots (every project's for an admin
    with ``all_tenants``, narrowed by ``project_id``), filtered by ``status``,
    ``volume_id``, ``name``, ``metadata``; sorted and paged as the volumes are
    (``stratus.volume.listing.page``: a ``Page`` of rows and the next marker)."""
    from stratus.volume import listing as paging

    policy.enforce("volume:get_all_snapshots", {"project_id": ctx.project_id})
    query = dict(params)
    stmt = select(VolumeSnapshot)
    if ctx.is_admin and paging.flag(query.get("all_tenants", "0") or "1", "all_tenants"):
        if query.get("project_id"):
            stmt = stmt.where(VolumeSnapshot.project_id == query["project_id"])
    else:
        stmt = stmt.where(VolumeSnapshot.project_id == (ctx.project_id or ""))
    if "name" not in query and query.get("display_name"):
        query["name"] = query["display_name"]
    for key in ("status", "volume_id", "name"):
        if query.get(key):
            stmt = stmt.where(getattr(VolumeSnapshot, key) == query[key])
    if query.get("metadata"):
        wanted = paging.as_dict(query["metadata"], "metadata")
        ids = [r.id for r in db.scalars(stmt) if all((r.metadata_ or {}).get(k) == v for k, v in wanted.items())]
        stmt = select(VolumeSnapshot).where(VolumeSnapshot.id.in_(ids))
    if query.get("sort_key") == "display_name":
        query["sort_key"] = "name"
    return paging.page(db, stmt, VolumeSnapshot, query, SORT_KEYS)


# -- update, metadata ---------------------------------------------------------------------------

def update(db: Session, ctx, policy, snap: VolumeSnapshot, body: Any) -> VolumeSnapshot:
    """``PUT /snapshots/{id}``: name and description (the record only)."""
    validation.validate(body, UPDATE)
    policy.enforce("volume:update_snapshot", {"project_id": snap.project_id})
    doc = body["snapshot"]
    for key, alias in (("name", "display_name"), ("description", "display_description")):
        if key in doc or alias in doc:
            value = doc.get(key, doc.get(alias))
            setattr(snap, key, value.strip() if isinstance(value, str) else value)
    _follow_resource(db, snap)
    db.flush()
    return snap


def _follow_resource(db: Session, snap: VolumeSnapshot) -> None:
    """The resource's properties follow the record (a stack update then sees no change)."""
    res = db.get(Resource, snap.id)
    if res is None:
        return
    props = dict(res.properties or {})
    props.update(name=snap.name, description=snap.description, metadata=dict(snap.metadata_ or {}))
    res.properties = {k: v for k, v in props.items() if v is not None}


def metadata_set(db: Session, ctx, policy, snap: VolumeSnapshot, body: Any, *, replace: bool) -> dict[str, str]:
    """``POST`` (merge) / ``PUT`` (replace) ``/snapshots/{id}/metadata``."""
    validation.validate(body, METADATA)
    policy.enforce("volume:update_snapshot_metadata", {"project_id": snap.project_id})
    new = dict(body["metadata"]) if replace else {**(snap.metadata_ or {}), **body["metadata"]}
    snap.metadata_ = new
    _follow_resource(db, snap)
    db.flush()
    return dict(new)


def metadata_item_set(db: Session, ctx, policy, snap: VolumeSnapshot, key: str, body: Any) -> dict[str, str]:
    """``PUT /snapshots/{id}/metadata/{key}`` with ``{"meta": {key: value}}``."""
    validation.validate(body, META)
    if key not in body["meta"]:
        raise BadRequest("Request body and URI mismatch")
    policy.enforce("volume:update_snapshot_metadata", {"project_id": snap.project_id})
    snap.metadata_ = {**(snap.metadata_ or {}), key: body["meta"][key]}
    _follow_resource(db, snap)
    db.flush()
    return {key: body["meta"][key]}


def metadata_item(snap: VolumeSnapshot, key: str) -> str:
    meta = snap.metadata_ or {}
    if key not in meta:
        raise NotFound(f"Snapshot {snap.id} has no metadata with key {key}.")
    return meta[key]


def metadata_delete(db: Session, ctx, policy, snap: VolumeSnapshot, key: str) -> None:
    policy.enforce("volume:delete_snapshot_metadata", {"project_id": snap.project_id})
    metadata_item(snap, key)
    snap.metadata_ = {k: v for k, v in (snap.metadata_ or {}).items() if k != key}
    _follow_resource(db, snap)
    db.flush()


# -- delete -------------------------------------------------------------------------------------

def delete(db: Session, ctx, policy, snap: VolumeSnapshot, *, force: bool = False, settings=None,
           context=None, request_id=None) -> None:
    """``DELETE /snapshots/{id}`` (``force``: ``os-force_delete``, any status): the
    record ``deleting`` and the delete job; a snapshot that never reached a host (its
    create refused or not yet run) is removed with its resource at once."""
    if force:
        policy.enforce("volume_extension:snapshot_admin_actions:force_delete", {"project_id": snap.project_id})
    else:
        policy.enforce("volume:delete_snapshot", {"project_id": snap.project_id})
        if snap.status not in DELETABLE:
            raise BadRequest(f"Invalid snapshot: Snapshot status must be {' or '.join(DELETABLE)} and must not be "
                             f"part of a group; snapshot {snap.id} is {snap.status}.")
    snap.status = "deleting"
    res = db.get(Resource, snap.id)
    if res is None or res.status == DELETED:
        db.delete(snap)
        db.flush()
        return
    pipeline.submit_delete(db, [snap.id], project_id=snap.project_id, request_id=request_id, context=context,
                           max_attempts=getattr(settings, "job_max_attempts", 2),
                           timeout=getattr(settings, "job_timeout", 600))
    db.flush()


# -- actions ------------------------------------------------------------------------------------

def reset_status(db: Session, ctx, policy, snap: VolumeSnapshot, args: Any) -> None:
    """``os-reset_status`` (admin): any of Cinder's snapshot statuses."""
    policy.enforce("volume_extension:snapshot_admin_actions:reset_status", {"project_id": snap.project_id})
    validation.validate(args, validation.obj({"status": {"type": "string"}}, ("status",)), "os-reset_status")
    status = args["status"].strip().lower()
    if status not in STATUSES:
        raise BadRequest(f"Invalid input received: Snapshot status: {args['status']} is invalid, valid statuses "
                         f"are: {', '.join(STATUSES)}.")
    snap.status = status
    db.flush()


def update_status(db: Session, ctx, policy, snap: VolumeSnapshot, args: Any) -> None:
    """``os-update_snapshot_status``: ``status`` (creating → available/error, deleting →
    error_deleting, as Cinder allows) and ``progress`` (``NN%``)."""
    policy.enforce("snapshot_extension:snapshot_actions:update_snapshot_status", {"project_id": snap.project_id})
    validation.validate(args, validation.obj({"status": {"type": "string"}, "progress": {"type": "string"}},
                                             ("status",)), "os-update_snapshot_status")
    status = args["status"]
    allowed = UPDATE_STATUS.get(snap.status, ())
    if status not in allowed:
        raise BadRequest(f"Invalid input received: Provided snapshot status {status} not allowed for snapshot with "
                         f"status {snap.status}.")
    progress = args.get("progress")
    if progress is not None:
        digits = progress[:-1]
        if not progress.endswith("%") or not digits.isdigit() or not 0 <= int(digits) <= 100:
            raise BadRequest("Invalid input received: progress must be an integer percentage between 0 and 100, "
                             f"such as 50%, not {progress!r}.")
        snap.progress = progress
    snap.status = status
    db.flush()
