"""What the block-storage drivers return: volumes, snapshots and backend capacity."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

GiB = 1024**3


def volume_name(volume_id: str) -> str:
    """The host name of a volume, as Cinder names it (LV or file)."""
    return f"volume-{volume_id}"


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
