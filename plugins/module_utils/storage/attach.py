"""Attaching volumes to libvirt guests: the volume's ``<disk>`` element and the attacher.

Kept here, apart from the compute driver, because only the volume disk is needed: a
disk is recognised as a volume's by its ``<serial>`` (the volume id, as Nova does),
so attach and detach are idempotent, and every guest on the host can be searched for
a volume (in-use checks, multiattach). Changes go to the live guest and to its
persistent definition (``VIR_DOMAIN_AFFECT_LIVE | VIR_DOMAIN_AFFECT_CONFIG``).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InUse,
    InvalidRequest,
    NotFound,
    StorageError,
)

try:
    import libvirt
except ImportError:  # pragma: no cover - reported by the module
    libvirt = None


@dataclass(frozen=True)
class VolumeDisk:
    """A volume as a guest disk: a local file or block device, or an NBD export."""

    serial: str  # the volume id
    target: str = ""  # vdb, vdc, ...
    kind: str = "file"  # file | block | network
    path: str = ""
    format: str = "raw"
    nbd_host: str = ""
    nbd_port: int = 0
    nbd_name: str = ""
    shareable: bool = False

    def to_element(self) -> ET.Element:
        disk = ET.Element("disk", type=self.kind, device="disk")
        ET.SubElement(disk, "driver", name="qemu", type=self.format)
        if self.kind == "file":
            ET.SubElement(disk, "source", file=self.path)
        elif self.kind == "block":
            ET.SubElement(disk, "source", dev=self.path)
        elif self.kind == "network":
            src = ET.SubElement(disk, "source", protocol="nbd", name=self.nbd_name)
            ET.SubElement(src, "host", name=self.nbd_host, port=str(self.nbd_port))
        else:
            raise InvalidRequest(f"unknown disk kind {self.kind!r}")
        ET.SubElement(disk, "target", dev=self.target, bus="virtio")
        ET.SubElement(disk, "serial").text = self.serial
        if self.shareable:
            ET.SubElement(disk, "shareable")
        return disk

    def to_xml(self) -> str:
        return ET.tostring(self.to_element(), encoding="unicode")

    @classmethod
    def from_element(cls, disk: ET.Element) -> VolumeDisk | None:
        """The volume disk an element describes; None for disks without a serial (root, cdrom)."""
        serial = disk.findtext("serial")
        if disk.get("device", "disk") != "disk" or not serial:
            return None
        source = disk.find("source")
        source = source if source is not None else ET.Element("source")
        host = source.find("host")
        driver = disk.find("driver")
        target = disk.find("target")
        return cls(
            serial=serial,
            target=target.get("dev", "") if target is not None else "",
            kind=disk.get("type", "file"),
            path=source.get("file") or source.get("dev") or "",
            format=driver.get("type", "raw") if driver is not None else "raw",
            nbd_host=host.get("name", "") if host is not None else "",
            nbd_port=int(host.get("port", "0")) if host is not None else 0,
            nbd_name=source.get("name", "") if disk.get("type") == "network" else "",
            shareable=disk.find("shareable") is not None,
        )

    def facts(self) -> dict:
        return {
            "volume_id": self.serial,
            "device": f"/dev/{self.target}" if self.target else "",
            "target": self.target,
            "kind": self.kind,
            "path": self.path,
            "format": self.format,
            "nbd": (
                {"host": self.nbd_host, "port": self.nbd_port, "name": self.nbd_name}
                if self.kind == "network"
                else None
            ),
            "shareable": self.shareable,
        }


def _targets(root: ET.Element) -> set[str]:
    return {t.get("dev", "") for t in root.findall("./devices/disk/target")}


def next_target(used: set[str]) -> str:
    """The first free virtio name after vda (vdb ... vdz, vdaa ...)."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = [f"vd{c}" for c in letters[1:]] + [f"vd{a}{b}" for a in letters for b in letters]
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

    def disks(self, instance: str) -> list[VolumeDisk]:
        """Volume disks of the guest, in its persistent definition or live."""
        seen: dict[str, VolumeDisk] = {}
        for root in self._roots(self._domain(instance)):
            for el in root.findall("./devices/disk"):
                disk = VolumeDisk.from_element(el)
                if disk:
                    seen.setdefault(disk.serial, disk)
        return list(seen.values())

    def find(self, instance: str, volume_id: str) -> VolumeDisk | None:
        return next((d for d in self.disks(instance) if d.serial == volume_id), None)

    def attached_to(self, volume_id: str, path: str = "") -> list[str]:
        """Names of the guests on this host that have the volume (by serial or by path)."""
        names = []
        for dom in self.conn.listAllDomains(0):
            for root in self._roots(dom):
                hit = False
                for el in root.findall("./devices/disk"):
                    disk = VolumeDisk.from_element(el)
                    src = el.find("source")
                    src_path = (src.get("file") or src.get("dev") or "") if src is not None else ""
                    if (disk and disk.serial == volume_id) or (path and src_path == path):
                        hit = True
                if hit:
                    names.append(dom.name())
                    break
        return names

    def plan_attach(self, instance: str, disk: VolumeDisk, multiattach: bool) -> VolumeDisk | None:
        """The disk as it will be attached, or None when it already is (raises when it may not)."""
        dom = self._domain(instance)
        existing = self.find(instance, disk.serial)
        if existing:
            return None
        others = [n for n in self.attached_to(disk.serial, disk.path) if n != instance]
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
        return VolumeDisk(**{**disk.__dict__, "target": target, "shareable": multiattach})

    def attach(self, instance: str, disk: VolumeDisk) -> None:
        dom = self._domain(instance)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if dom.isActive():
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        try:
            dom.attachDeviceFlags(disk.to_xml(), flags)
        except libvirt.libvirtError as exc:
            raise StorageError(f"attaching volume {disk.serial} to {instance} failed: {exc}") from exc

    def detach(self, instance: str, volume_id: str, timeout: float = 60.0) -> VolumeDisk | None:
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
        disk = VolumeDisk.from_element(el) if el is not None else None
        if el is not None:
            dom.detachDeviceFlags(ET.tostring(el, encoding="unicode"), libvirt.VIR_DOMAIN_AFFECT_CONFIG)
        return disk or VolumeDisk(serial=volume_id)

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
