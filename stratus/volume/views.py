"""The wire shapes of the volume service (Cinder v3): volumes here; snapshots and
attachments are added by their parts.

A volume as Cinder's views and API extensions write it: ``os-vol-tenant-attr:tenant_id``
for readers of its project, ``os-vol-host-attr:host`` (``<host>@<backend>#<backend>``)
and ``os-vol-mig-status-attr:*``, ``migration_status`` for administrators,
``volume_image_metadata`` when it has any, ``attachments`` from its attachments in
``attached`` state, ``group_id`` from 3.13, ``provider_id`` (administrators) from 3.21,
``bootable`` as the strings ``"true"``/``"false"``, times as Cinder writes them.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute.wire_time import nova_time as cinder_time
from stratus.db.models.volume import (
    Volume,
    VolumeAttachment,
    VolumeImageMetadata,
    VolumeMetadata,
    VolumeType,
)
from stratus.volume.scheduler import pool_name


def volume_host(vol: Volume) -> str | None:
    """Cinder's ``os-vol-host-attr:host`` of a volume: ``<host>@<backend>#<backend>``."""
    if not vol.host:
        return None
    return pool_name(vol.host, vol.backend) if vol.backend else vol.host


def links(base_url: str, project_id: str, kind: str, item_id: str) -> list[dict[str, str]]:
    """Cinder's self and bookmark links of an item (``kind``: ``volumes``, ``snapshots``)."""
    root = f"{base_url.rstrip('/')}/volume"
    return [{"href": f"{root}/v3/{project_id}/{kind}/{item_id}", "rel": "self"},
            {"href": f"{root}/{project_id}/{kind}/{item_id}", "rel": "bookmark"}]


def volume(db: Session, vol: Volume, ctx, version, detail: bool = True, *, base_url: str = "") -> dict[str, Any]:
    """One volume's body (the value of ``{"volume": ...}``)."""
    return volumes(db, [vol], ctx, version, detail, base_url=base_url)[0]


def volumes(db: Session, rows: list[Volume], ctx, version, detail: bool = True, *,
            base_url: str = "") -> list[dict[str, Any]]:
    """The bodies of ``rows`` (their metadata, types and attachments read at once)."""
    if not detail:
        return [{"id": v.id, "name": v.name, "links": links(base_url, v.project_id, "volumes", v.id)}
                for v in rows]
    ids = [v.id for v in rows]
    meta: dict[str, dict[str, str]] = defaultdict(dict)
    image_meta: dict[str, dict[str, str]] = defaultdict(dict)
    attached: dict[str, list[VolumeAttachment]] = defaultdict(list)
    if ids:
        for m in db.scalars(select(VolumeMetadata).where(VolumeMetadata.volume_id.in_(ids))):
            meta[m.volume_id][m.key] = m.value
        for m in db.scalars(select(VolumeImageMetadata).where(VolumeImageMetadata.volume_id.in_(ids))):
            image_meta[m.volume_id][m.key] = m.value
        for a in db.scalars(select(VolumeAttachment).where(VolumeAttachment.volume_id.in_(ids),
                                                           VolumeAttachment.attach_status == "attached")
                            .order_by(VolumeAttachment.attach_time)):
            attached[a.volume_id].append(a)
    type_ids = {v.volume_type_id for v in rows if v.volume_type_id}
    names = {t.id: t.name for t in db.scalars(select(VolumeType).where(VolumeType.id.in_(type_ids)))} \
        if type_ids else {}
    admin = bool(ctx is not None and ctx.is_admin)
    out = []
    for v in rows:
        body: dict[str, Any] = {
            "id": v.id, "status": v.status, "size": v.size, "availability_zone": v.availability_zone,
            "created_at": cinder_time(v.created_at), "updated_at": cinder_time(v.updated_at),
            "name": v.name, "description": v.description,
            "volume_type": names.get(v.volume_type_id, v.volume_type_id),
            "snapshot_id": v.snapshot_id, "source_volid": v.source_volid,
            "metadata": dict(sorted(meta[v.id].items())),
            "links": links(base_url, v.project_id, "volumes", v.id),
            "user_id": v.user_id or None, "bootable": "true" if v.bootable else "false",
            "encrypted": bool(v.encrypted), "replication_status": None, "consistencygroup_id": None,
            "multiattach": bool(v.multiattach),
            "attachments": [attachment_entry(a, admin) for a in attached[v.id]],
            "os-vol-tenant-attr:tenant_id": v.project_id,
        }
        if image_meta[v.id]:
            body["volume_image_metadata"] = dict(sorted(image_meta[v.id].items()))
        if admin:
            body["migration_status"] = v.migration_status
            body["os-vol-host-attr:host"] = volume_host(v)
            body["os-vol-mig-status-attr:migstat"] = v.migration_status
            body["os-vol-mig-status-attr:name_id"] = None
        if version is None or version >= (3, 13):
            body["group_id"] = None
        if admin and (version is None or version >= (3, 21)):
            body["provider_id"] = None
        out.append(body)
    return out


def attachment_entry(a: VolumeAttachment, admin: bool) -> dict[str, Any]:
    """An entry of a volume's ``attachments`` (``host_name`` for administrators)."""
    return {"id": a.volume_id, "attachment_id": a.id, "volume_id": a.volume_id, "server_id": a.instance_uuid,
            "host_name": a.attached_host if admin else None, "device": a.mountpoint,
            "attached_at": cinder_time(a.attach_time)}


# == snapshots (helper C) ==================================================================
# Cinder's snapshot view: the summary (``GET /snapshots``) has id, created_at, updated_at,
# name, description, volume_id, status, size, metadata; the detail (create, show,
# ``/snapshots/detail``) adds group_snapshot_id from 3.14; ``extended`` (show and the
# detail list, for callers passing ``volume_extension:extended_snapshot_attributes``)
# adds os-extended-snapshot-attributes:project_id and :progress.

def snapshot(db, snap, ctx, version, detail: bool = True, extended: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": snap.id, "created_at": cinder_time(snap.created_at), "updated_at": cinder_time(snap.updated_at),
        "name": snap.name, "description": snap.description, "volume_id": snap.volume_id,
        "status": snap.status, "size": snap.size, "metadata": dict(snap.metadata_ or {}),
    }
    if detail and version >= (3, 14):
        out["group_snapshot_id"] = None
    if detail and extended:
        out["os-extended-snapshot-attributes:project_id"] = snap.project_id
        out["os-extended-snapshot-attributes:progress"] = snap.progress
    return out
# == end of snapshots (helper C) ===========================================================


# ==== attachments (3.27) - helper D2 ==========================================================
# Cinder's attachment views (cinder/api/v3/views/attachments.py): the summary (id, status,
# instance, volume_id) and the detail (+ attached_at, detached_at, attach_mode,
# connection_info); times as Cinder writes them, '' when unset.


def connection_info(db: Session, vol: Volume, info: dict[str, Any], *, mode: str = "rw",
                    attachment_id: str | None = None) -> dict[str, Any]:
    """A stored connection (the ``connection`` of the volume_attachment module: local
    path/format or nbd host/port/name) in Cinder's shape: ``driver_volume_type`` and
    ``data`` (with ``access_mode``, ``volume_id``, ``encrypted`` and the type's front-end
    ``qos_specs`` as Cinder adds them); ``{}`` when there is none yet."""
    from stratus.volume.qos_apply import front_end_specs

    if not info:
        return {}
    data = {k: v for k, v in info.items() if k != "driver_volume_type"}
    data.update(access_mode=mode, volume_id=vol.id, encrypted=bool(vol.encrypted),
                qos_specs=front_end_specs(db, vol) or None)
    out: dict[str, Any] = {"driver_volume_type": info.get("driver_volume_type", "local"), "data": data}
    if attachment_id:
        out["attachment_id"] = attachment_id
    return out


def attachment(db: Session, row: VolumeAttachment, detail: bool = True) -> dict[str, Any]:
    """One attachment's body (the value of ``{"attachment": ...}``)."""
    body: dict[str, Any] = {"id": row.id, "status": row.attach_status, "instance": row.instance_uuid,
                            "volume_id": row.volume_id}
    if detail:
        vol = db.get(Volume, row.volume_id)
        body.update(attached_at=cinder_time(row.attach_time) or "", detached_at=cinder_time(row.detach_time) or "",
                    attach_mode=row.attach_mode or "rw",
                    connection_info=connection_info(db, vol, row.connection_info or {}, mode=row.attach_mode or "rw",
                                                    attachment_id=row.id) if vol is not None else {})
    return body
# ==== end of attachments ========================================================================
