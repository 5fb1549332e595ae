"""The wire shapes of the volume service (Cinder v3)."""

from __future__ import annotations

from typing import Any

from stratus.compute.wire_time import nova_time as cinder_time

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
