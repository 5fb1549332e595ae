"""Lookups every part of the volume service shares, with Cinder's 404s: a project sees
its own volumes and snapshots, a cloud administrator every one; a private volume type
only the projects given access (and administrators)."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from stratus.db.models.volume import Volume, VolumeSnapshot, VolumeType, VolumeTypeAccess
from stratus.errors import NotFound


def _admin(ctx) -> bool:
    return bool(ctx is not None and ctx.is_admin)


def volume_for(db: Session, ctx, volume_id: str, *, lock: bool = False) -> Volume:
    """The volume ``volume_id`` as ``ctx`` may see it; 404 "Volume … could not be found."."""
    stmt = select(Volume).where(Volume.id == str(volume_id))
    if lock:
        stmt = stmt.with_for_update()
    vol = db.scalar(stmt)
    if vol is None or (not _admin(ctx) and vol.project_id != ctx.project_id):
        raise NotFound(f"Volume {volume_id} could not be found.")
    return vol


def snapshot_for(db: Session, ctx, snapshot_id: str) -> VolumeSnapshot:
    """The snapshot as ``ctx`` may see it; 404 "Snapshot … could not be found."."""
    snap = db.get(VolumeSnapshot, str(snapshot_id))
    if snap is None or (not _admin(ctx) and snap.project_id != ctx.project_id):
        raise NotFound(f"Snapshot {snapshot_id} could not be found.")
    return snap


def visible_types(ctx):
    """The ``where`` clause of the types ``ctx`` may see (public ones, private ones its
    project has access to; every one for administrators)."""
    if _admin(ctx):
        return True
    granted = select(VolumeTypeAccess.volume_type_id).where(VolumeTypeAccess.project_id == (ctx.project_id or ""))
    return or_(VolumeType.is_public.is_(True), VolumeType.id.in_(granted))


def type_for(db: Session, ctx, ref: str) -> VolumeType:
    """The volume type ``ref`` (its id, else its name) as ``ctx`` may use it; 404 in
    Cinder's words ("Volume type … could not be found." / "Volume type with name …")."""
    ref = str(ref)
    vt = db.scalar(select(VolumeType).where(VolumeType.id == ref, visible_types(ctx)))
    if vt is not None:
        return vt
    vt = db.scalar(select(VolumeType).where(VolumeType.name == ref, visible_types(ctx)))
    if vt is None:
        if _is_uuid(ref):
            raise NotFound(f"Volume type {ref} could not be found.")
        raise NotFound(f"Volume type with name {ref} could not be found.")
    return vt


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def default_type(db: Session, settings) -> VolumeType:
    """The type of a volume created without one (``volume_default_type``)."""
    name = getattr(settings, "volume_default_type", "__DEFAULT__")
    vt = db.scalar(select(VolumeType).where(VolumeType.name == name))
    if vt is None:
        raise NotFound(f"Volume type with name {name} could not be found: the default volume type is "
                       "missing; run `stratus bootstrap` (or set volume_default_type to a type that exists).")
    return vt


def extra_specs(db: Session, type_id: str | None) -> dict[str, str]:
    """The extra specs of a type ({} for none)."""
    from stratus.db.models.volume import VolumeTypeExtraSpec

    if not type_id:
        return {}
    rows = db.scalars(select(VolumeTypeExtraSpec).where(VolumeTypeExtraSpec.volume_type_id == type_id))
    return {r.key: r.value for r in rows}
