"""The snapshot driver: ``ensure_present(spec, *, check)`` / ``ensure_absent(spec, *, check)``
of one snapshot on one backend, each returning an ``Outcome``.

As in Cinder, a volume in use is snapshotted only with ``force`` (crash-consistent at
best), and snapshot ids are unique: an existing id of another volume is an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InUse,
    InvalidRequest,
    NotFound,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import (
    Snapshot,
    Volume,
    check_id,
)


@dataclass(frozen=True)
class SnapshotSpec:
    id: str
    volume_id: str = ""  # required to create
    force: bool = False

    def __post_init__(self) -> None:
        check_id(self.id, "snapshot id")
        if self.volume_id:
            check_id(self.volume_id, "volume id")


class SnapshotDriver:
    """Snapshots of one backend; ``users(volume)`` names who holds a volume on this host."""

    def __init__(self, backend, users: Callable[[Volume], list[str]]) -> None:
        self.backend = backend
        self.users = users

    def ensure_present(self, spec: SnapshotSpec, *, check: bool) -> Outcome:
        backend = self.backend
        snap = backend.get_snapshot(spec.id)
        if snap is not None:
            if spec.volume_id and snap.volume_id != spec.volume_id:
                raise InvalidRequest(
                    f"snapshot {snap.id} exists but belongs to volume {snap.volume_id}, not "
                    f"{spec.volume_id}; snapshot ids are unique: pick another id"
                )
            return Outcome(False, snap.facts(), snap.facts())
        if not spec.volume_id:
            raise InvalidRequest("volume_id is required to create a snapshot")
        volume = backend.get_volume(spec.volume_id)
        if volume is None:
            raise NotFound(f"volume {spec.volume_id} does not exist on backend {backend.name}")
        users = self.users(volume)
        if users and not spec.force:
            raise InUse(
                f"volume {volume.id} is in use by {', '.join(users)}; detach it first or set "
                "force=true for a crash-consistent snapshot"
            )
        action = f"snapshot volume {volume.id} as {spec.id}" + (" (in use, forced)" if users else "")
        if check:
            after = Snapshot(spec.id, volume.id, backend.name, "", volume.size, volume.format)
            return Outcome(True, {}, after.facts(), [action])
        snap = backend.create_snapshot(spec.id, volume.id, force=spec.force)
        return Outcome(True, {}, snap.facts(), [action])

    def ensure_absent(self, spec: SnapshotSpec, *, check: bool) -> Outcome:
        snap = self.backend.get_snapshot(spec.id)
        if snap is None:
            return Outcome(False)
        if check:
            return Outcome(True, snap.facts(), {}, [f"clear ({self.backend.clear.method}) and remove snapshot {snap.id}"])
        return Outcome(True, snap.facts(), {}, self.backend.delete_snapshot(snap.id))
