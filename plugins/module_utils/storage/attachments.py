"""The attachment driver: ``ensure_present(spec, *, check)`` / ``ensure_absent(spec, *, check)``
of one volume as a disk of one libvirt guest (Nova's volume attach), each returning an
``Outcome``.

The volume is reached by ``connection`` (Cinder's connection info: a local path of this
host's backend, or an NBD export) or, without one, found on this host's backend. Every
part of a connection is validated before the guest is looked at: a local path must be
a volume of the backend (``backend.check_path``), an NBD host an IP address.

``iotune`` (Cinder's front-end QoS keys, libvirt's ``<iotune>``) is part of the wanted
disk: set on attach, and made equal on an attached disk (live and persistent) when it
differs; unset leaves the disk's limits as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.storage.attach import (
    VolumeAttacher,
    disk_facts,
    iotune_limits,
    managed_iotune,
    volume_disk,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import NotFound
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import check_id


@dataclass(frozen=True)
class AttachmentSpec:
    instance: str
    volume_id: str
    device: str = ""  # unset: the first free name from vdd
    connection: dict | None = None
    multiattach: bool | None = None  # unset: the backend's flag (false for a connection)
    detach_timeout: float = 60.0
    iotune: dict | None = None  # unset: the attached disk's limits are left as they are

    def __post_init__(self) -> None:
        check_id(self.instance, "instance")
        check_id(self.volume_id, "volume id")

    @property
    def limits(self) -> tuple[tuple[str, int], ...] | None:
        return None if self.iotune is None else iotune_limits(self.iotune)


class AttachmentDriver:
    """Volume disks of the guests on this host; ``open_backend()`` gives this host's
    backend (opened only when the volume is local)."""

    def __init__(self, attacher: VolumeAttacher, open_backend: Callable[[], object]) -> None:
        self.attacher = attacher
        self.open_backend = open_backend

    def _connection(self, spec: AttachmentSpec) -> tuple[dict, bool]:
        if spec.connection:
            if spec.connection.get("driver_volume_type", "local") == "local":
                self.open_backend().check_path(spec.connection.get("path") or "")
            return spec.connection, bool(spec.multiattach)
        backend = self.open_backend()
        volume = backend.get_volume(spec.volume_id)
        if volume is None:
            raise NotFound(
                f"volume {spec.volume_id} is not on this host's {backend.name} backend; "
                "give 'connection' (an export's connection) to attach a volume of another host"
            )
        multiattach = volume.multiattach if spec.multiattach is None else spec.multiattach
        return {"driver_volume_type": "local", "path": volume.path, "format": volume.format}, multiattach

    def ensure_present(self, spec: AttachmentSpec, *, check: bool) -> Outcome:
        # a path, address or limit from the request is checked before the guest is looked at
        limits = spec.limits
        given = self._connection(spec) if spec.connection else None
        disk = (volume_disk(spec.volume_id, target=spec.device, connection=given[0], iotune=limits or ())
                if given else None)
        current = self.attacher.find(spec.instance, spec.volume_id)
        if current is not None:
            return self._retune(spec, current, limits, check=check)
        connection, multiattach = given or self._connection(spec)
        disk = disk or volume_disk(spec.volume_id, target=spec.device, connection=connection,
                                   iotune=limits or ())
        planned = self.attacher.plan_attach(spec.instance, disk, multiattach)
        action = f"attach volume {spec.volume_id} to {spec.instance} as {planned.target}"
        if not check:
            self.attacher.attach(spec.instance, planned)
            planned = self.attacher.find(spec.instance, spec.volume_id) or planned
        return Outcome(True, {}, disk_facts(planned), [action])

    def _retune(self, spec: AttachmentSpec, current, limits, *, check: bool) -> Outcome:
        """An attached disk: its I/O limits made ``limits`` (in every view) when given."""
        before = disk_facts(current)
        if limits is None or all(managed_iotune(d) == limits for d in self.attacher.views(spec.instance, spec.volume_id)):
            return Outcome(False, before, before)
        wanted = ", ".join(f"{k}={v}" for k, v in limits) or "none"
        action = f"set the I/O limits of volume {spec.volume_id} ({current.target}) on {spec.instance}: {wanted}"
        if check:
            return Outcome(True, before, {**before, "iotune": dict(limits)}, [action])
        self.attacher.set_iotune(spec.instance, spec.volume_id, limits)
        return Outcome(True, before, disk_facts(self.attacher.find(spec.instance, spec.volume_id)), [action])

    def ensure_absent(self, spec: AttachmentSpec, *, check: bool) -> Outcome:
        current = self.attacher.find(spec.instance, spec.volume_id)
        if current is None:
            return Outcome(False)
        if not check:
            self.attacher.detach(spec.instance, spec.volume_id, timeout=spec.detach_timeout)
        return Outcome(True, disk_facts(current), {}, [f"detach volume {spec.volume_id} ({current.target}) from {spec.instance}"])
