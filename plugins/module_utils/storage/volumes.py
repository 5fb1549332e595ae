"""The volume driver: ``ensure_present(spec, *, check)`` / ``ensure_absent(spec, *, check)``
of one volume on one backend (what cinder-volume does), each returning an ``Outcome``.

Cinder's rules: a volume only grows; its source and format are fixed at creation; it is
extended, switched to or from multiattach and deleted only while nothing uses it (no
guest on this host, no NBD export); a volume with snapshots is deleted only with
``cascade``; deleting clears its data first (the backend's ``volume_clear``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InUse,
    InvalidRequest,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import (
    GiB,
    Source,
    Volume,
    check_id,
)


@dataclass(frozen=True)
class VolumeSpec:
    """A volume as asked: ``size_gb`` None keeps the size (a copy takes its source's),
    ``multiattach`` None keeps the flag (false on create)."""

    id: str
    size_gb: int | None = None
    format: str = "raw"
    multiattach: bool | None = None
    source: Source = field(default_factory=Source)
    cascade: bool = False

    def __post_init__(self) -> None:
        check_id(self.id, "volume id")
        if self.size_gb is not None and self.size_gb <= 0:
            raise InvalidRequest(f"size must be at least 1 GiB, not {self.size_gb}")

    @property
    def size(self) -> int | None:
        return self.size_gb * GiB if self.size_gb is not None else None


class VolumeDriver:
    """Volumes of one backend (``LVMBackend`` or ``FileBackend``). ``users(volume)`` names
    who holds a volume on this host (``backends.users_of``)."""

    def __init__(self, backend, users: Callable[[Volume], list[str]]) -> None:
        self.backend = backend
        self.users = users

    def ensure_present(self, spec: VolumeSpec, *, check: bool) -> Outcome:
        volume = self.backend.get_volume(spec.id)
        if volume is None:
            return self._create(spec, check)
        before = volume.facts()
        size = spec.size
        if size is not None and size < volume.size:
            raise InvalidRequest(
                f"volume {volume.id} is {volume.size // GiB} GiB; volumes cannot shrink to "
                f"{spec.size_gb} GiB: ask for at least the current size"
            )
        grow = size is not None and size > volume.size
        flip = spec.multiattach is not None and spec.multiattach != volume.multiattach
        if not grow and not flip:
            return Outcome(False, before, before)
        users = self.users(volume)
        if users:
            what = "extended" if grow else "switched to multiattach" if spec.multiattach else "switched off multiattach"
            raise InUse(f"volume {volume.id} cannot be {what} while in use by {', '.join(users)}; detach it first")
        actions = []
        if grow:
            actions.append(f"extend volume {volume.id} from {volume.size} to {size} bytes")
        if flip:
            actions.append(f"set multiattach of volume {volume.id} to {spec.multiattach}")
        if check:
            after = dict(before)
            if grow:
                after.update(size=size, size_gb=size / GiB)
            if flip:
                after["multiattach"] = spec.multiattach
            return Outcome(True, before, after, actions)
        if grow:
            volume = self.backend.extend_volume(volume.id, size)
        if flip:
            volume = self.backend.set_multiattach(volume.id, spec.multiattach)
        after = volume.facts()
        return Outcome(after != before, before, after, actions)

    def _create(self, spec: VolumeSpec, check: bool) -> Outcome:
        backend = self.backend
        source = spec.source
        size = spec.size
        if size is None and source.kind == "empty":
            raise InvalidRequest("size is required to create an empty volume")
        multiattach = bool(spec.multiattach)
        fmt = spec.format if backend.driver == "file" else "raw"
        origin = f" from {source.kind} {source.ref}" if source.kind != "empty" else ""
        if check:
            after = Volume(spec.id, backend.name, backend.path_of(spec.id), size or 0, fmt, multiattach)
            return Outcome(True, {}, after.facts(), [f"create volume {spec.id}{origin}"])
        if size is None:
            size = backend.source_of(source)[2]
        volume = backend.create_volume(spec.id, size, fmt=spec.format, multiattach=multiattach, source=source)
        action = f"created volume {volume.id} ({volume.size} bytes, {volume.format}){origin} at {volume.path}"
        return Outcome(True, {}, volume.facts(), [action])

    def ensure_absent(self, spec: VolumeSpec, *, check: bool) -> Outcome:
        volume = self.backend.get_volume(spec.id)
        if volume is None:
            return Outcome(False)
        users = self.users(volume)
        if users:
            raise InUse(f"volume {volume.id} is in use by {', '.join(users)}; detach it before deleting it")
        if volume.snapshots and not spec.cascade:
            raise InUse(
                f"volume {volume.id} has snapshots ({', '.join(volume.snapshots)}); delete them first "
                "or set cascade=true"
            )
        if check:
            plan = f"clear ({self.backend.clear.method}) and remove volume {volume.id}"
            return Outcome(True, volume.facts(), {}, [plan])
        actions = self.backend.delete_volume(volume.id, cascade=spec.cascade)
        return Outcome(True, volume.facts(), {}, actions)
