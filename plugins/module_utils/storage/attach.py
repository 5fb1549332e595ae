"""Attaching volumes to libvirt guests: the volume's ``<disk>`` element and the attacher.

The disk element is the compute driver's ``Disk`` dataclass (compute/domain.py); only the
attach logic lives here, because only the volume disk is needed: a
disk is recognised as a volume's by its ``<serial>`` (the volume id, as Nova does),
so attach and detach are idempotent, and every guest on the host can be searched for
a volume (in-use checks, multiattach). Every libvirt call goes through compute's
``LibvirtDriver``: attach and detach change the persistent definition and, when the
guest runs, the live guest; detach waits for the guest and re-sends the unplug.
"""

from __future__ import annotations

import contextlib
import math
import xml.etree.ElementTree as ET
from dataclasses import replace

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import FORMATS
from ansible_collections.stratus.cloud.plugins.module_utils.compute.domain import Disk
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import ComputeError
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InUse,
    InvalidRequest,
    NotFound,
    StorageError,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import check_id

# Cinder's front-end QoS keys that libvirt's <iotune> takes under the same names (Nova's
# libvirt volume driver copies them from connection_info["data"]["qos_specs"] likewise).
IOTUNE_RATES = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec",
                "total_iops_sec", "read_iops_sec", "write_iops_sec")
IOTUNE_KEYS = IOTUNE_RATES + tuple(f"{k}_max" for k in IOTUNE_RATES)


def iotune_limits(qos: dict | None) -> tuple[tuple[str, int], ...]:
    """Cinder front-end QoS specs as a disk's ``iotune`` (sorted ``(name, value)`` pairs,
    0 = no limit and left out). Refuses what QEMU would refuse when the guest starts:
    an unknown key, a value that is not a whole number >= 0, ``total_*`` together with
    ``read_*``/``write_*``, a ``*_max`` without its rate or below it."""
    limits: dict[str, int] = {}
    for key, value in (qos or {}).items():
        if key not in IOTUNE_KEYS:
            raise InvalidRequest(f"iotune key {key!r} is not one of {', '.join(IOTUNE_KEYS)}")
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit():
            raise InvalidRequest(f"iotune {key} must be a whole number >= 0 (0 = no limit); got {value!r}")
        if int(text):
            limits[key] = int(text)
    for unit in ("bytes", "iops"):
        total = f"total_{unit}_sec"
        both = [k for k in (f"read_{unit}_sec", f"write_{unit}_sec") if k in limits]
        if total in limits and both:
            raise InvalidRequest(f"iotune {total} cannot be combined with {' and '.join(both)}; "
                                 "give either the total or the read/write limits")
    for rate in IOTUNE_RATES:
        peak = limits.get(f"{rate}_max", 0)
        if peak and peak < limits.get(rate, peak + 1):
            raise InvalidRequest(f"iotune {rate}_max ({peak}) needs {rate} set and at least as large "
                                 f"(got {rate}={limits.get(rate, 0)})")
    return tuple(sorted(limits.items()))


def managed_iotune(disk: Disk) -> tuple[tuple[str, int], ...]:
    """The limits of ``disk`` this module manages (QEMU adds ``*_max_length`` live)."""
    return tuple(pair for pair in disk.iotune if pair[0] in IOTUNE_KEYS)


def volume_disk(
    volume_id: str,
    *,
    target: str = "",
    connection: dict,
    shareable: bool = False,
    iotune: tuple[tuple[str, int], ...] = (),
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
            port=port, iotune=iotune,
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
        serial=volume_id, shareable=shareable, iotune=iotune,
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
        "iotune": dict(managed_iotune(disk)),
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


@contextlib.contextmanager
def _libvirt(what: str):
    """Compute's libvirt errors as storage's (the modules catch ``StorageError``)."""
    try:
        yield
    except ComputeError as exc:
        raise StorageError(f"{what}: {exc}") from exc


class VolumeAttacher:
    """Volume disks of libvirt guests on one host, through compute's ``LibvirtDriver``
    (one way into libvirt: its attach, and its detach that waits and re-sends)."""

    # LibvirtDriver.detach waits attempt_timeout seconds per unplug request.
    ATTEMPT_TIMEOUT = 8.0

    def __init__(self, uri: str = "qemu:///system", conn=None, *, driver: LibvirtDriver | None = None) -> None:
        self.driver = driver or LibvirtDriver(uri)
        if conn is not None:
            self.driver._conn = conn
        with _libvirt(f"cannot connect to libvirt at {uri}"):
            self.conn = self.driver.conn

    def _domain(self, name: str) -> str:
        with _libvirt(f"looking up guest {name!r}"):
            if self.driver.lookup(name) is None:
                raise NotFound(f"guest {name!r} is not defined on this host; create the instance first")
        return name

    def _active(self, name: str) -> bool:
        with _libvirt(f"reading the state of guest {name!r}"):
            return self.driver.power_state(name) in ("running", "paused")

    def _roots(self, name: str) -> list[ET.Element]:
        """The persistent definition, and the live one when the guest runs."""
        with _libvirt(f"reading the definition of guest {name!r}"):
            roots = [ET.fromstring(self.driver.get_xml(name, inactive=True) or "<domain/>")]
            if self._active(name):
                roots.append(ET.fromstring(self.driver.get_xml(name, inactive=False) or "<domain/>"))
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

    def views(self, instance: str, volume_id: str) -> list[Disk]:
        """The volume's disk in the persistent definition and, when the guest runs, live."""
        roots = self._roots(self._domain(instance))
        return [d for d in (_match(root, volume_id) for root in roots) if d is not None]

    def set_iotune(self, instance: str, volume_id: str, iotune: tuple[tuple[str, int], ...]) -> None:
        """Make the volume disk's ``<iotune>`` exactly ``iotune`` in the definition and,
        when the guest runs, live (limits it had and ``iotune`` lacks are set to 0)."""
        views = self.views(instance, volume_id)
        if not views:
            raise NotFound(f"volume {volume_id} is not attached to {instance}")
        limits = {key: 0 for disk in views for key, _ in managed_iotune(disk)}
        limits.update(dict(iotune))
        live = len(views) > 1 and self._active(instance)
        with _libvirt(f"setting the I/O limits of volume {volume_id} on {instance} failed"):
            self.driver.set_block_iotune(instance, views[0].target, limits, live=live)

    def attached_to(self, volume_id: str, path: str = "") -> list[str]:
        """Names of the guests on this host that have the volume (by serial or by path)."""
        with _libvirt("listing the guests"):
            guests = self.driver.list_guests(owned_only=False)
        names = []
        for name in guests:
            try:
                roots = self._roots(name)
            except StorageError:
                with _libvirt(f"looking up guest {name!r}"):
                    if self.driver.lookup(name) is None:  # deleted while we looked: holds nothing
                        continue
                raise
            for root in roots:
                hit = False
                for el in root.findall("./devices/disk"):
                    disk = _volume_disk_of(el)
                    src = el.find("source")
                    src_path = (src.get("file") or src.get("dev") or "") if src is not None else ""
                    if (disk and disk.serial == volume_id) or (path and src_path == path):
                        hit = True
                if hit:
                    names.append(name)
                    break
        return names

    def plan_attach(self, instance: str, disk: Disk, multiattach: bool) -> Disk | None:
        """The disk as it will be attached, or None when it already is (raises when it may not)."""
        self._domain(instance)
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
        for root in self._roots(instance):
            used |= _targets(root)
        if disk.target and disk.target in used:
            raise InvalidRequest(f"device {disk.target} is already used by guest {instance}")
        target = disk.target or next_target(used)
        return replace(disk, target=target, shareable=multiattach)

    def attach(self, instance: str, disk: Disk) -> None:
        """Add the disk to the guest's definition and, when it runs, hot-plug it."""
        self._domain(instance)
        with _libvirt(f"attaching volume {disk.serial} to {instance} failed"):
            self.driver.attach(instance, disk, live=self._active(instance))

    def detach(self, instance: str, volume_id: str, timeout: float = 60.0) -> Disk | None:
        """Remove the volume's disk from the guest (found by its serial) with
        ``LibvirtDriver.detach``: from the definition and, when the guest runs, from the
        live guest, waiting for the guest to let go and re-sending the unplug (as Nova
        does) for up to ``timeout`` seconds. None when it was not attached."""
        self._domain(instance)
        roots = self._roots(instance)
        live_root = roots[1] if len(roots) > 1 else None
        disk = _match(roots[-1], volume_id) or _match(roots[0], volume_id)
        if disk is None:
            return None
        live = live_root is not None and _match(live_root, volume_id) is not None
        attempts = max(1, math.ceil(timeout / self.ATTEMPT_TIMEOUT))
        with _libvirt(f"detaching volume {volume_id} from {instance} failed"):
            self.driver.detach(instance, disk, live=live, attempts=attempts,
                               attempt_timeout=min(self.ATTEMPT_TIMEOUT, timeout))
        return disk


def _match(root: ET.Element, volume_id: str) -> Disk | None:
    """The volume disk with serial ``volume_id`` in a domain definition."""
    for el in root.findall("./devices/disk"):
        disk = _volume_disk_of(el)
        if disk is not None and disk.serial == volume_id:
            return disk
    return None
