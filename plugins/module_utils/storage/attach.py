"""Attaching volumes to libvirt guests: the volume's ``<disk>`` element and the attacher.

The disk element is the compute driver's ``Disk`` dataclass (compute/domain.py); only the
attach logic lives here, because only the volume disk is needed: a
disk is recognised as a volume's by its ``<serial>`` (the volume id, as Nova does),
so attach and detach are idempotent, and every guest on the host can be searched for
a volume (in-use checks, multiattach). Changes go to the live guest and to its
persistent definition (``VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG``).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import replace

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import FORMATS
from ansible_collections.stratus.cloud.plugins.module_utils.compute.domain import Disk
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InUse,
    InvalidRequest,
    NotFound,
    StorageError,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import check_id

try:
    import libvirt
except ImportError:  # pragma: no cover - reported by the module
    libvirt = None


def volume_disk(
    volume_id: str,
    *,
    target: str = "",
    connection: dict,
    shareable: bool = False,
) -> Disk:
    """The guest disk for a volume from its connection info (Cinder's ``connection_info``):
    ``{"driver_volume_type": "local", "path", "format"}`` for a volume on this host,
    ``{"driver_volume_type": "nbd", "host", "port", "name"}`` for an export.

    Every field is validated; a local ``path`` must also be checked against the backend
    that owns it (``backend.check_path``) by the caller."""
    check_id(volume_id, "volume id")
    if target:
        validate.device_name(target, what="device", error=InvalidRequest)
    kind = connection.get("driver_volume_type", "local")
    if kind == "nbd":
        for key in ("host", "port", "name"):
            if not connection.get(key):
                raise InvalidRequest(f"an nbd connection needs {key!r}; got {sorted(connection)}")
        try:
            port = int(connection["port"])
        except (TypeError, ValueError):
            port = 0
        if not 0 < port <= 65535:
            raise InvalidRequest(f"connection port {connection['port']!r} is not a TCP port (1-65535)")
        return Disk(
            target=target, source=check_id(connection["name"], "connection name"), format="raw",
            source_type="network", serial=volume_id, shareable=shareable, protocol="nbd",
            host=validate.ip_address(connection["host"], what="connection host", error=InvalidRequest),
            port=port,
        )
    if kind != "local":
        raise InvalidRequest(f"connection type {kind!r} is not local or nbd")
    path = connection.get("path") or ""
    if not path:
        raise InvalidRequest("a local connection needs 'path'")
    fmt = connection.get("format") or "raw"
    if fmt not in FORMATS:
        raise InvalidRequest(f"connection format {fmt!r} is not one of {', '.join(FORMATS)}")
    return Disk(
        target=target, source=path, format=fmt,
        source_type="block" if path.startswith("/dev/") else "file",
        serial=volume_id, shareable=shareable,
    )


def disk_facts(disk: Disk) -> dict:
    network = disk.source_type == "network"
    return {
        "volume_id": disk.serial,
        "device": f"/dev/{disk.target}" if disk.target else "",
        "target": disk.target,
        "kind": disk.source_type,
        "path": "" if network else disk.source,
        "format": disk.format,
        "nbd": {"host": disk.host, "port": disk.port, "name": disk.source} if network else None,
        "shareable": disk.shareable,
    }


def _volume_disk_of(el: ET.Element) -> Disk | None:
    """The volume disk an element describes; None for disks without a serial (root, cdrom)."""
    if el.get("device", "disk") != "disk" or not (el.findtext("serial") or "").strip():
        return None
    return Disk.from_element(el)


def _targets(root: ET.Element) -> set[str]:
    return {t.get("dev", "") for t in root.findall("./devices/disk/target")}


def next_target(used: set[str]) -> str:
    """The first free virtio name from vdd (the instance module keeps vda root, vdb
    ephemeral and vdc swap), then vdaa ... The guest names its disks in probe order, so
    inside the guest the volume is found by its serial (/sys/block/*/serial)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = [f"vd{c}" for c in letters[3:]] + [f"vd{a}{b}" for a in letters for b in letters]
    for name in names:
        if name not in used:
            return name
    raise StorageError("no free virtio disk name left")


class VolumeAttacher:
    """Volume disks of libvirt guests on one host."""

    def __init__(self, uri: str = "qemu:///system", conn=None) -> None:
        if conn is None:
            if libvirt is None:
                raise StorageError("python3-libvirt is not installed on this host")
            try:
                conn = libvirt.open(uri)
            except libvirt.libvirtError as exc:
                raise StorageError(f"cannot connect to libvirt at {uri}: {exc}") from exc
        self.conn = conn

    def _domain(self, name: str):
        try:
            return self.conn.lookupByName(name)
        except libvirt.libvirtError as exc:
            raise NotFound(
                f"guest {name!r} is not defined on this host; create the instance first"
            ) from exc

    @staticmethod
    def _roots(dom) -> list[ET.Element]:
        roots = [ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))]
        if dom.isActive():
            roots.append(ET.fromstring(dom.XMLDesc(0)))
        return roots

    def disks(self, instance: str) -> list[Disk]:
        """Volume disks of the guest, in its persistent definition or live."""
        seen: dict[str, Disk] = {}
        for root in self._roots(self._domain(instance)):
            for el in root.findall("./devices/disk"):
                disk = _volume_disk_of(el)
                if disk:
                    seen.setdefault(disk.serial, disk)
        return list(seen.values())

    def find(self, instance: str, volume_id: str) -> Disk | None:
        return next((d for d in self.disks(instance) if d.serial == volume_id), None)

    def attached_to(self, volume_id: str, path: str = "") -> list[str]:
        """Names of the guests on this host that have the volume (by serial or by path)."""
        names = []
        for dom in self.conn.listAllDomains(0):
            for root in self._roots(dom):
                hit = False
                for el in root.findall("./devices/disk"):
                    disk = _volume_disk_of(el)
                    src = el.find("source")
                    src_path = (src.get("file") or src.get("dev") or "") if src is not None else ""
                    if (disk and disk.serial == volume_id) or (path and src_path == path):
                        hit = True
                if hit:
                    names.append(dom.name())
                    break
        return names

    def plan_attach(self, instance: str, disk: Disk, multiattach: bool) -> Disk | None:
        """The disk as it will be attached, or None when it already is (raises when it may not)."""
        dom = self._domain(instance)
        existing = self.find(instance, disk.serial)
        if existing:
            return None
        local = "" if disk.source_type == "network" else disk.source
        others = [n for n in self.attached_to(disk.serial, local) if n != instance]
        if others and not multiattach:
            raise InUse(
                f"volume {disk.serial} is in use by {', '.join(others)} and is not multiattach; "
                "detach it there first, or create the volume with multiattach=true"
            )
        used: set[str] = set()
        for root in self._roots(dom):
            used |= _targets(root)
        if disk.target and disk.target in used:
            raise InvalidRequest(f"device {disk.target} is already used by guest {instance}")
        target = disk.target or next_target(used)
        return replace(disk, target=target, shareable=multiattach)

    def attach(self, instance: str, disk: Disk) -> None:
        dom = self._domain(instance)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if dom.isActive():
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        try:
            dom.attachDeviceFlags(ET.tostring(disk.to_element(), encoding="unicode"), flags)
        except libvirt.libvirtError as exc:
            raise StorageError(f"attaching volume {disk.serial} to {instance} failed: {exc}") from exc

    def detach(self, instance: str, volume_id: str, timeout: float = 60.0) -> Disk | None:
        """Remove the volume from the live guest (waiting for the guest to let go), then
        from its definition; None when it was not attached."""
        dom = self._domain(instance)
        if self.find(instance, volume_id) is None:
            return None
        live = self._live_disk(dom, volume_id)
        if live is not None:
            try:
                dom.detachDeviceFlags(ET.tostring(live, encoding="unicode"), libvirt.VIR_DOMAIN_AFFECT_LIVE)
            except libvirt.libvirtError as exc:
                raise StorageError(f"detaching volume {volume_id} from {instance} failed: {exc}") from exc
            deadline = time.monotonic() + timeout
            while self._live_disk(dom, volume_id) is not None:
                if time.monotonic() > deadline:
                    raise StorageError(
                        f"guest {instance} did not release volume {volume_id} within {timeout:.0f}s "
                        "(the guest OS must accept the hot-unplug); retry, or stop the guest"
                    )
                time.sleep(0.2)
        root = ET.fromstring(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        el = self._match(root, volume_id)
        disk = _volume_disk_of(el) if el is not None else None
        if el is not None:
            dom.detachDeviceFlags(ET.tostring(el, encoding="unicode"), libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        return disk

    @staticmethod
    def _match(root: ET.Element, volume_id: str) -> ET.Element | None:
        for el in root.findall("./devices/disk"):
            if el.findtext("serial") == volume_id:
                return el
        return None

    def _live_disk(self, dom, volume_id: str) -> ET.Element | None:
        if not dom.isActive():
            return None
        return self._match(ET.fromstring(dom.XMLDesc(0)), volume_id)
