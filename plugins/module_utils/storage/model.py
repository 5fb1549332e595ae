"""What the block-storage drivers return: volumes, snapshots and backend capacity."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InUse,
    InvalidRequest,
)

GiB = 1024**3
MiB = 1024**2


def check_id(value, what: str) -> str:
    """A volume, snapshot or attachment id that is safe as one file or LV name component
    (no '/', '..', spaces or control characters); InvalidRequest otherwise."""
    return validate.resource_id(value, what=what, error=InvalidRequest)


def volume_name(volume_id: str) -> str:
    """The host name of a volume, as Cinder names it (LV or file); the id is validated,
    so no name derived from it leaves the backend's directory or VG."""
    return f"volume-{check_id(volume_id, 'volume id')}"


def snapshot_name(snapshot_id: str) -> str:
    """Cinder's snapshot name (``snapshot-<id>``, a file); the id is validated."""
    return f"snapshot-{check_id(snapshot_id, 'snapshot id')}"


@dataclass(frozen=True)
class Volume:
    id: str
    backend: str
    path: str
    size: int  # bytes
    format: str = "raw"
    multiattach: bool = False
    snapshots: tuple[str, ...] = field(default_factory=tuple)

    def facts(self) -> dict:
        data = asdict(self)
        data["snapshots"] = list(self.snapshots)
        data["name"] = volume_name(self.id)
        data["size_gb"] = self.size / GiB
        return data


@dataclass(frozen=True)
class Snapshot:
    id: str
    volume_id: str
    backend: str
    path: str
    size: int  # bytes
    format: str = "raw"

    def facts(self) -> dict:
        data = asdict(self)
        data["size_gb"] = self.size / GiB
        return data


@dataclass(frozen=True)
class Source:
    """Where a new volume's data comes from: nothing, an image file, a snapshot or a volume."""

    kind: str = "empty"  # empty | image | snapshot | volume
    ref: str = ""  # image path, snapshot id or volume id
    format: str = ""  # an image's recorded format (Glance's disk_format)


@dataclass(frozen=True)
class Capacity:
    backend: str
    driver: str
    total_bytes: int
    free_bytes: int
    provisioned_bytes: int
    volumes: int
    snapshots: int
    thin_provisioning: bool
    activation: bool = True

    def facts(self) -> dict:
        data = asdict(self)
        # Cinder's scheduler stats names, so the block-storage scheduler reads them as is.
        data["total_capacity_gb"] = round(self.total_bytes / GiB, 2)
        data["free_capacity_gb"] = round(self.free_bytes / GiB, 2)
        data["provisioned_capacity_gb"] = round(self.provisioned_bytes / GiB, 2)
        return data


def check_no_shrink(volume: Volume, size: int) -> None:
    """Cinder volumes only grow."""
    if size < volume.size:
        raise InvalidRequest(
            f"volume {volume.id} is {volume.size} bytes; it cannot shrink to {size} "
            "(Cinder volumes only grow): ask for at least the current size"
        )


def check_deletable(volume: Volume, cascade: bool) -> None:
    """A volume with snapshots goes only with them (Cinder's cascade)."""
    if volume.snapshots and not cascade:
        raise InUse(
            f"volume {volume.id} has snapshots ({', '.join(volume.snapshots)}); delete them "
            "first or set cascade=true"
        )
