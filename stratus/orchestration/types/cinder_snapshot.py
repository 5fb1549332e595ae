"""``OS::Cinder::VolumeSnapshot``: a snapshot of a volume, made by the
``volume_snapshot`` module on the volume's storage host and backend.

The resource id is the snapshot record's id (``volume_snapshots``). ``POST
/snapshots`` writes the record (``stratus.volume.snapshots.create``) and submits the
one-resource template; a stack's snapshot writes its record in ``check`` through the
same service. ``check`` records where the volume lives (``host``, ``backend``), its size
and type (the quota: ``snapshots`` and ``gigabytes``, and Cinder's per-type
``snapshots_<type>``/``gigabytes_<type>``); the task runs on that host, and every job of a
snapshot locks its volume, so a snapshot never overlaps the volume's own jobs (extend,
delete, attach). Name, description and metadata are record changes: an update runs
nothing on a host. ``on_state`` keeps the record in step: ``creating`` → ``available``
(progress 100%) or ``error`` with the job's reason; a failed delete → ``error_deleting``;
a deleted snapshot's record is removed.
"""

from __future__ import annotations

from typing import Any

from stratus.db.models.jobs import ACTIVE, DELETED, DELETING, ERROR
from stratus.db.models.volume import Volume as VolumeRow
from stratus.db.models.volume import VolumeSnapshot as SnapshotRow
from stratus.errors import ApiError
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import BOOLEAN, MAP, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType, task
from stratus.orchestration.types.cinder_common import BACKEND, USAGE

MODULE = "stratus.cloud.volume_snapshot"


def _failed(res: PlannedResource, exc: ApiError) -> ResourceCheckFailed:
    return ResourceCheckFailed(exc.message, ("resources", res.name), status=exc.status)


class VolumeSnapshot(ResourceType):
    type_name = "OS::Cinder::VolumeSnapshot"
    description = "A snapshot of a volume (an LVM snapshot or a file copy on the volume's storage host)."
    properties_schema = {
        "volume": Schema(STRING, "The volume's id.", required=True),
        "name": Schema(STRING, "The snapshot's name.", update_allowed=True),
        "description": Schema(STRING, "The snapshot's description.", update_allowed=True),
        "force": Schema(BOOLEAN, "Snapshot a volume that is in use (crash-consistent at best).", default=False),
        "metadata": Schema(MAP, "Key/value metadata.", default={}, update_allowed=True),
    }
    attributes_schema = {
        "volume_id": "The volume it was taken from.",
        "host": "The storage host it lives on (the volume's).",
        "backend": "The backend it lives on: lvm or file.",
        "size": "Its size in GiB (the volume's when taken).",
        "path": "Its LV or file on the storage host.",
        "status": "The snapshot's status (available, error, ...).",
        "show": "All attributes.",
    }

    @classmethod
    def check(cls, db, res: PlannedResource, planned=None) -> None:
        """Find the record the API wrote, or write a stack's; record the volume's host,
        backend, size and type."""
        from stratus.volume import snapshots

        row = db.get(SnapshotRow, res.resource_id)
        try:
            if row is None:
                row = snapshots.ensure_row(db, res, planned or {})
            else:
                snapshots.follow(db, row, res.properties)
        except ApiError as exc:
            raise _failed(res, exc) from exc
        vol = db.get(VolumeRow, row.volume_id)
        if vol is None or not vol.host or not vol.backend:
            raise ResourceCheckFailed(f"The snapshot cannot be created because volume {row.volume_id} has not "
                                      "been scheduled to any host.", ("resources", res.name, "properties", "volume"))
        res.attributes.update(snapshots.placement_facts(db, row, vol))

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        """The API marked the record ``deleting``; a stack's delete does it here."""
        row = db.get(SnapshotRow, res.resource_id)
        if row is not None and row.status != "deleting":
            row.status = "deleting"

    @classmethod
    def host_group(cls, props) -> str:
        return "block_storage"  # offline (no DB): the volume's host is not known

    @classmethod
    def hosts(cls, db, res: PlannedResource):
        host = res.attributes.get("host")
        return [host] if host else None

    @classmethod
    def locks(cls, res: PlannedResource) -> list[str]:
        vid = res.attributes.get("volume_id") or res.properties.get("volume")
        return [vid] if isinstance(vid, str) and vid else []

    @classmethod
    def quota_usage(cls, props, attributes=None) -> dict[str, int]:
        attrs = attributes or {}
        size = int(attrs.get("size") or 0)
        usage = {"snapshots": 1, "gigabytes": size}
        vtype = attrs.get("volume_type")
        if vtype:
            usage.update({f"snapshots_{vtype}": 1, f"gigabytes_{vtype}": size})
        return usage

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        return {k: res.attributes[k] for k in ("volume_id", "host", "backend", "size") if k in res.attributes}

    @classmethod
    def _args(cls, res: PlannedResource, state: str) -> dict[str, Any]:
        args: dict[str, Any] = {"id": res.resource_id, "backend": res.attributes.get("backend") or "file",
                                "state": state}
        if state == "present":
            args.update(volume_id=res.attributes.get("volume_id") or res.properties["volume"],
                        force=bool(res.properties.get("force")))
        return args

    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        return [task(res, MODULE, cls._args(res, "present"), templated={**BACKEND, **USAGE})]

    @classmethod
    def plan_update(cls, res: PlannedResource, prop_diff: dict[str, Any]) -> list[dict[str, Any]]:
        """Name, description and metadata live in the record: nothing runs on a host."""
        cls.check_update_allowed(res, prop_diff)
        return []

    @classmethod
    def plan_delete(cls, res: PlannedResource) -> list[dict[str, Any]]:
        if not res.attributes.get("backend"):
            return []  # never placed (its create was refused): nothing on a host
        return [task(res, MODULE, cls._args(res, "absent"), templated={**BACKEND, **USAGE})]

    @classmethod
    def realize(cls, result: dict[str, Any], host: str | None = None) -> dict[str, Any]:
        snap = result.get("snapshot")
        if not isinstance(snap, dict) or not snap:
            return {}
        return {"path": snap.get("path"), "format": snap.get("format"), "host": host}

    @classmethod
    def on_state(cls, db, resource) -> None:
        """The record follows the resource (see the module docstring)."""
        from stratus.compute.sync import first_line

        row = db.get(SnapshotRow, resource.id)
        if row is None:
            return
        if resource.status == ACTIVE and row.status == "creating":
            row.status, row.progress, row.status_reason = "available", "100%", ""
        elif resource.status == ERROR:
            reason = first_line(resource.status_reason)
            if row.status == "creating":
                row.status, row.status_reason = "error", reason
            elif row.status == "deleting":
                row.status, row.status_reason = "error_deleting", reason
        elif resource.status == DELETING and row.status not in ("deleting",):
            row.status = "deleting"
        elif resource.status == DELETED:
            db.delete(row)
        db.flush()
