"""libvirt storage and block-copy XML as small frozen dataclasses (as ``domain.py`` does
for domains): ``to_element()`` / ``from_element()`` and ``to_xml()`` / ``from_xml()``,
so values (paths, names) are escaped by ElementTree, never pasted into strings::

    DirPool(name="stratus-1a2b", path="/var/lib/stratus/instances/<uuid>", mode="0700")
    Volume(name="disk", capacity=1 << 30, format="qcow2", mode="0600",
           backing_path="/var/lib/stratus/images/<id>", backing_format="qcow2")
    CopyDestination(path="/var/lib/stratus/images/.<id>.part", format="qcow2")
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from .domain import _sub


class _XML:
    def to_xml(self) -> str:
        return ET.tostring(self.to_element(), encoding="unicode")

    @classmethod
    def from_xml(cls, text: str):
        return cls.from_element(ET.fromstring(text))


def _permissions(parent: ET.Element, mode: str, owner: int, group: int) -> None:
    if not (mode or owner >= 0 or group >= 0):
        return
    perms = _sub(parent, "permissions")
    if mode:
        _sub(perms, "mode", mode)
    if owner >= 0:
        _sub(perms, "owner", str(owner))
    if group >= 0:
        _sub(perms, "group", str(group))


def _read_permissions(target: ET.Element | None) -> tuple[str, int, int]:
    perms = target.find("permissions") if target is not None else None
    if perms is None:
        return "", -1, -1
    return (
        (perms.findtext("mode") or "").strip(),
        int((perms.findtext("owner") or "-1").strip()),
        int((perms.findtext("group") or "-1").strip()),
    )


@dataclass(frozen=True)
class DirPool(_XML):
    """``<pool type='dir'>`` on one directory (``mode`` like ``0700``; -1: owner unset)."""

    name: str
    path: str
    mode: str = ""
    owner: int = -1
    group: int = -1

    def to_element(self) -> ET.Element:
        elem = ET.Element("pool", type="dir")
        _sub(elem, "name", self.name)
        target = _sub(elem, "target")
        _sub(target, "path", self.path)
        _permissions(target, self.mode, self.owner, self.group)
        return elem

    @classmethod
    def from_element(cls, elem: ET.Element) -> DirPool:
        target = elem.find("target")
        mode, owner, group = _read_permissions(target)
        return cls(
            name=(elem.findtext("name") or "").strip(),
            path=(target.findtext("path") or "").strip() if target is not None else "",
            mode=mode, owner=owner, group=group,
        )


@dataclass(frozen=True)
class Volume(_XML):
    """``<volume>`` in a pool: ``capacity`` in bytes, optionally on a backing file."""

    name: str
    capacity: int
    format: str = "raw"
    mode: str = ""
    backing_path: str = ""
    backing_format: str = ""

    def to_element(self) -> ET.Element:
        elem = ET.Element("volume")
        _sub(elem, "name", self.name)
        _sub(elem, "capacity", str(int(self.capacity)), unit="bytes")
        target = _sub(elem, "target")
        _sub(target, "format", type=self.format)
        _permissions(target, self.mode, -1, -1)
        if self.backing_path:
            backing = _sub(elem, "backingStore")
            _sub(backing, "path", self.backing_path)
            _sub(backing, "format", type=self.backing_format)
        return elem

    @classmethod
    def from_element(cls, elem: ET.Element) -> Volume:
        target = elem.find("target")
        fmt = target.find("format") if target is not None else None
        backing = elem.find("backingStore")
        bfmt = backing.find("format") if backing is not None else None
        return cls(
            name=(elem.findtext("name") or "").strip(),
            capacity=int((elem.findtext("capacity") or "0").strip()),
            format=fmt.get("type", "raw") if fmt is not None else "raw",
            mode=_read_permissions(target)[0],
            backing_path=(backing.findtext("path") or "").strip() if backing is not None else "",
            backing_format=bfmt.get("type", "") if bfmt is not None else "",
        )


@dataclass(frozen=True)
class CopyDestination(_XML):
    """The ``<disk type='file'>`` a block copy writes to (``virDomainBlockCopy``)."""

    path: str
    format: str = "qcow2"

    def to_element(self) -> ET.Element:
        elem = ET.Element("disk", type="file")
        _sub(elem, "driver", type=self.format)
        _sub(elem, "source", file=self.path)
        return elem

    @classmethod
    def from_element(cls, elem: ET.Element) -> CopyDestination:
        driver, source = elem.find("driver"), elem.find("source")
        return cls(
            path=source.get("file", "") if source is not None else "",
            format=driver.get("type", "raw") if driver is not None else "raw",
        )
