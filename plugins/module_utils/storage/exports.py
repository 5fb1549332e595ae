"""The export driver: ``ensure_present(spec, *, check)`` / ``ensure_absent(spec, *, check)``
of one volume's NBD export for one attachment, each returning an ``Outcome``.

The export itself (qemu-storage-daemon, the nftables allow-list, the state files) is
``nbd.NBDExporter``; this driver finds the volume on the backend, builds the wanted
export from the request (validated by ``nbd.check_export``: addresses only, fail
closed) and reports what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InvalidRequest,
    NotFound,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.nbd import (
    Export,
    NBDExporter,
    export_name,
)


@dataclass(frozen=True)
class ExportSpec:
    volume_id: str
    attachment_id: str
    host: str = ""  # required to export
    port: int = 0  # 0: the first free port, kept on re-runs
    allowed: tuple[str, ...] = ()
    netns: str = ""

    @property
    def name(self) -> str:
        return export_name(self.volume_id, self.attachment_id)


class ExportDriver:
    """NBD exports of one host; ``open_backend()`` gives the backend holding the volumes
    (opened only to export: unexporting needs no backend)."""

    def __init__(self, exporter: NBDExporter, open_backend: Callable[[], object]) -> None:
        self.exporter = exporter
        self.open_backend = open_backend

    def ensure_present(self, spec: ExportSpec, *, check: bool) -> Outcome:
        name = spec.name
        if not spec.host:
            raise InvalidRequest("host (the storage host's address to listen on) is required to export")
        backend = self.open_backend()
        volume = backend.get_volume(spec.volume_id)
        if volume is None:
            raise NotFound(f"volume {spec.volume_id} does not exist on backend {backend.name}")
        wanted = Export(
            name=name, volume_id=volume.id, attachment_id=spec.attachment_id, path=volume.path,
            host=spec.host, port=spec.port or 0, format=volume.format, allowed=tuple(spec.allowed),
            multiattach=volume.multiattach, netns=spec.netns,
        )
        current = self.exporter.get(name)
        before = current.facts() if current else {}
        if check:
            restart, rewrite, after = self.exporter.plan(wanted)
            changed = restart or rewrite or (current is not None and current.allowed != after.allowed)
        else:
            changed, _, after = self.exporter.ensure(wanted)
            restart = current is None or not current.running or current.pid != after.pid
        actions = []
        if restart:
            actions.append(f"start qemu-storage-daemon for {name} on {after.host}:{after.port}")
        if changed:
            actions.append(f"allow {', '.join(after.allowed)} to port {after.port} (all others reset)")
        return Outcome(changed, before, after.facts(), actions if changed else [])

    def ensure_absent(self, spec: ExportSpec, *, check: bool) -> Outcome:
        name = spec.name
        current = self.exporter.get(name)
        if current is None:
            return Outcome(False)
        if not check:
            self.exporter.remove(name)
        return Outcome(True, current.facts(), {}, [f"stop the daemon of {name} and close port {current.port}"])
