"""From the ``instance`` module's arguments to a ``Guest`` and the files it needs.

Pure where it can be: ``InstanceSpec.from_params`` validates (MACs, sizes, targets),
``build_guest`` makes the wanted ``Guest`` (keeping volume disks and NICs that others
attached when the caller does not manage them; the root disk ``vda`` an overlay on the
cached image, or a volume — boot from volume — reached by its connection info), ``plan_update`` says whether a change
is none/config/live/cold, and ``InstanceFiles`` makes the instance's files with
``qemu-img`` and the config drive builder, removing what it made when a step fails.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.storage.attach import volume_disk
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import StorageError

from .config_drive import ConfigDrive, drive_files
from .config_drive import meta_data as build_meta_data
from .domain import Console, Disk, Guest, InstanceMetadata, Interface, Serial
from .errors import Conflict, ImageNotFound, InvalidInput
from .image_cache import cached_image
from .paths import (
    PRIVATE_FILE_MODE,
    InstancePaths,
    domain_name,
    image_path,
    private_dir,
    private_file,
    safe_id,
)

GIB = 1024**3
MIB = 1024**2
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_TARGET = re.compile(r"^(vd|sd|hd)[a-z]{1,2}$")
_UUID = re.compile(r"^[0-9a-fA-F-]{1,64}$")
ROOT, EPHEMERAL, SWAP, CONFIG = "vda", "vdb", "vdc", "sda"


def normalize_mac(mac: str, where: str = "NIC") -> str:
    value = str(mac or "").strip().lower().replace("-", ":")
    if not _MAC.match(value):
        raise InvalidInput(f"{where}: mac {mac!r} is not a MAC address like fa:16:3e:00:00:01.")
    if int(value[:2], 16) & 1:
        raise InvalidInput(f"{where}: mac {mac!r} is a multicast address; use a unicast one.")
    return value


@dataclass(frozen=True)
class NicSpec:
    bridge: str
    mac: str
    target: str = ""
    model: str = "virtio"
    mtu: int = 0

    def interface(self) -> Interface:
        return Interface(mac=self.mac, bridge=self.bridge, target=self.target, model=self.model, mtu=self.mtu)


@dataclass(frozen=True)
class VolumeSpec:
    path: str
    target: str
    bus: str = "virtio"
    format: str = "raw"
    serial: str = ""

    def disk(self) -> Disk:
        kind = "block" if os.path.exists(self.path) and Path(self.path).is_block_device() else "file"
        return Disk(target=self.target, source=self.path, bus=self.bus, format=self.format,
                    source_type=kind, serial=self.serial)


@dataclass(frozen=True)
class InstanceSpec:
    """The validated arguments of one instance."""

    uuid: str
    name: str
    display_name: str = ""
    image_id: str = ""
    vcpus: int = 1
    max_vcpus: int = 0
    memory_mb: int = 128
    max_memory_mb: int = 0
    root_gb: int = 0
    ephemeral_gb: int = 0
    swap_mb: int = 0
    machine: str = "q35"
    nics: tuple[NicSpec, ...] | None = None
    volumes: tuple[VolumeSpec, ...] | None = None
    root_volume: Disk | None = None  # boot from volume: the root disk vda is this volume
    config_drive: bool = True
    hostname: str = ""
    metadata: dict = field(default_factory=dict, hash=False)
    user_data: str | None = None
    network_data: dict | None = field(default=None, hash=False)
    keys: dict = field(default_factory=dict, hash=False)

    @classmethod
    def from_params(cls, p: dict, volume_roots: tuple[str, ...] = ()) -> InstanceSpec:
        """The spec from module parameters; volume paths must lie in ``volume_roots``
        (:func:`check_volume_path`) when any are given."""
        uuid = str(p["uuid"])
        if not _UUID.match(uuid):
            raise InvalidInput(f"uuid {uuid!r} is not a UUID.")
        safe_id(uuid, "instance uuid")
        name = p.get("name") or domain_name(uuid)
        for key in ("vcpus", "memory_mb"):
            if int(p.get(key) or 0) < 1:
                raise InvalidInput(f"{key} must be at least 1, not {p.get(key)!r}.")
        for key in ("root_gb", "ephemeral_gb", "swap_mb", "max_vcpus", "max_memory_mb"):
            if int(p.get(key) or 0) < 0:
                raise InvalidInput(f"{key} must not be negative, not {p.get(key)!r}.")
        nics = None
        if p.get("nics") is not None:
            nics = tuple(
                NicSpec(
                    bridge=n["bridge"],
                    mac=normalize_mac(n.get("mac"), f"nics[{i}]"),
                    target=n.get("target") or "",
                    model=n.get("model") or "virtio",
                    mtu=int(n.get("mtu") or 0),
                )
                for i, n in enumerate(p["nics"])
            )
            macs = [n.mac for n in nics]
            if len(set(macs)) != len(macs):
                raise InvalidInput("two NICs have the same mac; each NIC needs its own.")
        volumes = None
        if p.get("volumes") is not None:
            volumes = []
            for i, v in enumerate(p["volumes"]):
                path = v.get("path") or v.get("source")
                if not path:
                    raise InvalidInput(f"volumes[{i}] needs a path (or source).")
                if volume_roots:
                    path = check_volume_path(str(path), volume_roots, f"volumes[{i}].path")
                target = v.get("target") or ""
                if not _TARGET.match(target) or target in (ROOT, EPHEMERAL, SWAP, CONFIG):
                    raise InvalidInput(
                        f"volumes[{i}]: target {target!r} must be a free device name like vdd "
                        f"({ROOT}, {EPHEMERAL}, {SWAP} and {CONFIG} belong to the instance)."
                    )
                volumes.append(VolumeSpec(path=str(path), target=target, bus=v.get("bus") or "virtio",
                                          format=v.get("format") or "raw", serial=v.get("serial") or ""))
            volumes = tuple(volumes)
        root_volume = _root_volume(p.get("root_volume"), volume_roots) if p.get("root_volume") else None
        keys = p.get("keys") or {}
        if isinstance(keys, list):
            keys = {k["name"]: k["data"] for k in keys}
        return cls(
            uuid=uuid,
            name=name,
            display_name=p.get("display_name") or "",
            image_id=p.get("image_id") or "",
            vcpus=int(p["vcpus"]),
            max_vcpus=int(p.get("max_vcpus") or 0),
            memory_mb=int(p["memory_mb"]),
            max_memory_mb=int(p.get("max_memory_mb") or 0),
            root_gb=int(p.get("root_gb") or 0),
            ephemeral_gb=int(p.get("ephemeral_gb") or 0),
            swap_mb=int(p.get("swap_mb") or 0),
            machine=p.get("machine") or "q35",
            nics=nics,
            volumes=volumes,
            root_volume=root_volume,
            config_drive=bool(p.get("config_drive", True)),
            hostname=p.get("hostname") or "",
            metadata=dict(p.get("metadata") or {}),
            user_data=p.get("user_data"),
            network_data=p.get("network_data"),
            keys=dict(keys),
        )

    # config drive -------------------------------------------------------------
    def drive_files(self) -> dict[str, bytes]:
        md = build_meta_data(
            self.uuid,
            self.display_name or self.name,
            hostname=self.hostname or None,
            public_keys=self.keys,
            meta={str(k): str(v) for k, v in self.metadata.items()},
        )
        return drive_files(md, self.user_data, self.network_data)


def _root_volume(given: dict, roots: tuple[str, ...]) -> Disk:
    """The root disk of an instance booted from a volume: ``{serial, connection}`` as the
    ``volume_attachment`` module takes them (Cinder's connection info: a local ``path`` and
    ``format``, or an NBD ``host``/``port``/``name``). A local path must lie in the volume
    roots (:func:`check_volume_path`), so a request cannot boot a guest from a host file."""
    if not isinstance(given, dict) or not isinstance(given.get("connection"), dict):
        raise InvalidInput("root_volume needs a connection (a dict, as volume_attachment takes it) "
                           "and a serial (the volume id).")
    conn = dict(given["connection"])
    conn.setdefault("driver_volume_type", "nbd" if conn.get("host") else "local")
    if conn["driver_volume_type"] == "local" and conn.get("path") and roots:
        conn["path"] = check_volume_path(str(conn["path"]), roots, "root_volume.connection.path")
    try:
        return volume_disk(str(given.get("serial") or ""), target=ROOT, connection=conn)
    except StorageError as exc:
        raise InvalidInput(f"root_volume: {exc}") from None


def build_guest(spec: InstanceSpec, virt_type: str, paths: InstancePaths,
                current: Guest | None = None) -> Guest:
    """The wanted ``Guest``. Volume disks and NICs come from ``spec`` when it lists them,
    else from ``current`` (so volumes the block-storage service attached stay). The root
    disk ``vda`` is the instance's overlay, or ``spec.root_volume`` (boot from volume)."""
    disks = [spec.root_volume or Disk(target=ROOT, source=str(paths.disk))]
    if spec.ephemeral_gb:
        disks.append(Disk(target=EPHEMERAL, source=str(paths.ephemeral)))
    if spec.swap_mb:
        disks.append(Disk(target=SWAP, source=str(paths.swap)))
    if spec.config_drive:
        disks.append(Disk(target=CONFIG, source=str(paths.config_drive), bus="sata",
                          device="cdrom", format="raw", readonly=True))
    own = {d.source for d in disks}
    own_targets = {d.target for d in disks}
    if spec.volumes is not None:
        volumes = [v.disk() for v in spec.volumes]
    else:
        inst_dir = str(paths.directory) + "/"
        volumes = [
            d for d in (current.disks if current else ())
            if d.source not in own and d.target not in own_targets and not d.source.startswith(inst_dir)
        ]
    used = {d.target for d in disks}
    for v in volumes:
        if v.target in used:
            raise InvalidInput(f"volume {v.source} wants target {v.target}, which is taken.")
        used.add(v.target)
    if spec.nics is not None:
        nics = tuple(n.interface() for n in spec.nics)
    else:
        nics = current.interfaces if current else ()
    return Guest(
        name=spec.name,
        uuid=spec.uuid,
        vcpus=spec.vcpus,
        memory_kib=spec.memory_mb * 1024,
        max_vcpus=max(spec.max_vcpus, spec.vcpus),
        max_memory_kib=max(spec.max_memory_mb, spec.memory_mb) * 1024,
        virt_type=virt_type,
        machine=spec.machine,
        disks=(*disks, *volumes),
        interfaces=nics,
        serials=(Serial(log_file=str(paths.console_log)),),
        consoles=(Console(),),
        metadata=InstanceMetadata(
            uuid=spec.uuid,
            display_name=spec.display_name,
            image_id=spec.image_id,
            root_gb=spec.root_gb,
            ephemeral_gb=spec.ephemeral_gb,
            swap_mb=spec.swap_mb,
        ),
    )


class InstanceFiles:
    """The files of one instance under ``InstancePaths``: plan, create, grow, remove."""

    def __init__(self, spec: InstanceSpec, paths: InstancePaths, images_dir: Path | str,
                 qemu_img: QemuImg, config_drive: ConfigDrive | None = None):
        self.spec = spec
        self.paths = paths
        self.images_dir = Path(images_dir)
        self.qemu_img = qemu_img
        self.config_drive = config_drive or ConfigDrive()

    @property
    def base_image(self) -> Path:
        return image_path(self.spec.image_id, self.images_dir)

    def check_image(self) -> dict:
        """``qemu-img info -f <format>`` of the base image, its format read from its header
        (``cached_image``: a self-contained raw or qcow2); ``ImageNotFound`` when it is
        not cached. A root volume (boot from volume) needs no image: ``{}``, once its local
        file or device exists."""
        root = self.spec.root_volume
        if root is not None:
            if root.source_type != "network" and not os.path.exists(root.source):
                raise InvalidInput(f"root_volume: {root.source} does not exist on this host; create "
                                   "the volume first (stratus.cloud.volume).")
            return {}
        if not self.spec.image_id:
            raise InvalidInput("image_id is required to create an instance (or root_volume to boot "
                               "from a volume).")
        if not self.base_image.is_file():
            raise ImageNotFound(
                f"image {self.spec.image_id!r} is not in the image cache ({self.base_image}); "
                "put it there with stratus.cloud.image_cache first."
            )
        facts = cached_image(self.base_image)
        info = self.qemu_img.info(self.base_image, facts.format)
        if self.spec.root_gb and self.spec.root_gb * GIB < int(info["virtual-size"]):
            raise InvalidInput(
                f"root_gb {self.spec.root_gb} is smaller than image {self.spec.image_id!r} "
                f"({int(info['virtual-size']) / GIB:.2f} GiB); choose a larger flavor."
            )
        return info

    def missing(self) -> list[str]:
        """The instance files that do not exist yet (their paths)."""
        wanted = [] if self.spec.root_volume else [self.paths.disk]
        if self.spec.ephemeral_gb:
            wanted.append(self.paths.ephemeral)
        if self.spec.swap_mb:
            wanted.append(self.paths.swap)
        return [str(p) for p in wanted if not p.exists()]

    def config_drive_current(self) -> bool:
        return (not self.spec.config_drive) or self.config_drive.is_current(
            str(self.paths.config_drive), self.spec.drive_files()
        )

    def create(self) -> list[str]:
        """Make the missing files (root overlay, ephemeral, swap, config drive). On failure
        removes the files it made (and the directory if it made it), then raises."""
        made: list[Path] = []
        made_dir = not self.paths.directory.exists()
        try:
            private_dir(self.paths.directory)
            if not self.spec.root_volume and not self.paths.disk.exists():
                info = self.check_image()
                made.append(self.paths.disk)
                self.qemu_img.create_overlay(self.paths.disk, self.base_image, info["format"],
                                             self.spec.root_gb * GIB)
                private_file(self.paths.disk)
            if self.spec.ephemeral_gb and not self.paths.ephemeral.exists():
                made.append(self.paths.ephemeral)
                self.qemu_img.create(self.paths.ephemeral, self.spec.ephemeral_gb * GIB)
                private_file(self.paths.ephemeral)
            if self.spec.swap_mb and not self.paths.swap.exists():
                made.append(self.paths.swap)
                self.qemu_img.create(self.paths.swap, self.spec.swap_mb * MIB)
                private_file(self.paths.swap)
            if self.spec.config_drive and not self.config_drive_current():
                if not self.paths.config_drive.exists():
                    made.append(self.paths.config_drive)
                self.config_drive.write(str(self.paths.config_drive), self.spec.drive_files(),
                                        mode=PRIVATE_FILE_MODE)
        except Exception:
            for p in made:
                p.unlink(missing_ok=True)
            if made_dir:
                shutil.rmtree(self.paths.directory, ignore_errors=True)
            raise
        return [str(p) for p in made]

    def root_grow(self, current_root_gb: int) -> int:
        """Bytes to grow the root disk to (0: no change). Shrinking is a ``Conflict``. A root
        volume is never grown here (its size is the volume's: extend the volume)."""
        if self.spec.root_volume is not None:
            return 0
        if self.spec.root_gb == current_root_gb or not self.spec.root_gb:
            return 0
        if self.spec.root_gb < current_root_gb:
            raise Conflict(
                f"root_gb cannot shrink from {current_root_gb} to {self.spec.root_gb}; "
                "disks only grow (rebuild the instance for a smaller disk)."
            )
        return self.spec.root_gb * GIB

    def remove(self) -> bool:
        """Remove the instance directory; True when there was one."""
        if not self.paths.directory.exists():
            return False
        shutil.rmtree(self.paths.directory)
        return True


def plan_update(current: Guest, wanted: Guest) -> str:
    """How to turn the defined ``current`` into ``wanted``:

    ``none`` (same guest), ``config`` (only Stratus metadata differs: redefine),
    ``live`` (vCPUs/RAM within the current maximums and/or disks/NICs added or removed:
    possible on a running guest), ``cold`` (anything else: redefine while stopped).
    """
    c, w = current.normalized(), wanted.normalized()
    if c == w:
        return "none"
    if replace(c, metadata=w.metadata) == w:
        return "config"
    live = replace(c, vcpus=w.vcpus, memory_kib=w.memory_kib, disks=w.disks,
                   interfaces=w.interfaces, metadata=w.metadata)
    if live == w and w.vcpus <= c.vcpus_max and w.memory_kib <= c.memory_max_kib:
        return "live"
    return "cold"


def device_changes(current: Guest, wanted: Guest) -> tuple[list, list]:
    """(devices to attach, devices to detach) — disks and NICs, compared as objects."""
    add = [d for d in wanted.disks if d not in current.disks]
    add += [n for n in wanted.interfaces if n not in current.interfaces]
    remove = [d for d in current.disks if d not in wanted.disks]
    remove += [n for n in current.interfaces if n not in wanted.interfaces]
    return add, remove


def guest_facts(guest: Guest, state: str, stats: dict | None = None) -> dict:
    """What modules return about a guest (``instance`` and ``instance_info``)."""
    meta = guest.metadata
    console = guest.serials[0].log_file if guest.serials else ""
    facts = {
        "name": guest.name,
        "uuid": guest.uuid,
        "owned": meta is not None,
        "display_name": meta.display_name if meta else "",
        "image_id": meta.image_id if meta else "",
        "state": state,
        "virt_type": guest.virt_type,
        "machine": guest.machine,
        "vcpus": guest.vcpus,
        "max_vcpus": guest.vcpus_max,
        "memory_mb": guest.memory_kib // 1024,
        "max_memory_mb": guest.memory_max_kib // 1024,
        "root_gb": meta.root_gb if meta else 0,
        "ephemeral_gb": meta.ephemeral_gb if meta else 0,
        "swap_mb": meta.swap_mb if meta else 0,
        "disks": [
            {"target": d.target, "source": d.source, "bus": d.bus, "device": d.device,
             "format": d.format, "type": d.source_type, "serial": d.serial,
             "readonly": d.readonly}
            for d in guest.disks
        ],
        "nics": [
            {"mac": n.mac, "bridge": n.bridge, "target": n.target, "model": n.model, "mtu": n.mtu}
            for n in guest.interfaces
        ],
        "console_log": console,
    }
    if stats:
        facts.update(cpu_time_ns=stats["cpu_time_ns"], memory_used_mb=stats["memory_kib"] // 1024,
                     vcpus_live=stats["vcpus"])
    return facts


DEFAULT_VOLUME_ROOTS = ("/var/lib/stratus/volumes", "/dev/stratus-volumes")


def volume_roots(given, conf: dict[str, str]) -> tuple[str, ...]:
    """The module's ``volume_roots``, else ``volume_roots = a, b`` of the compute config,
    else the block-storage role's defaults (its file directory and volume group)."""
    if given is None and conf.get("volume_roots"):
        given = [r.strip() for r in conf["volume_roots"].split(",") if r.strip()]
    roots = tuple(str(r).rstrip("/") for r in (given if given is not None else DEFAULT_VOLUME_ROOTS))
    for root in roots:
        if not root.startswith("/") or root.count("/") < 2:
            raise InvalidInput(f"volume root {root!r} must be an absolute directory below /, "
                               "like /var/lib/stratus/volumes or /dev/<volume group>")
    return roots


def check_volume_path(path: str, roots: tuple[str, ...], what: str) -> str:
    """``path`` if it is a volume of a backend: a file inside a directory root (links
    resolved), or ``/dev/<vg>/<lv>`` for a ``/dev/<vg>`` root (by text: an active LV
    is a link to /dev/dm-N). Anything else — /etc/shadow, a host disk — is refused."""
    for root in roots:
        if root.startswith("/dev/"):
            name = path[len(root) + 1:] if path.startswith(root + "/") else ""
            if name and os.path.normpath(path) == path and "/" not in name:
                try:
                    validate.resource_id(name, what=what, error=InvalidInput)
                except InvalidInput:
                    continue
                return path
            continue
        try:
            return str(validate.inside(path, root, what=what, error=InvalidInput))
        except InvalidInput:
            continue
    raise InvalidInput(f"{what} {path!r} is not a volume of this host: it must be inside "
                       f"{' or '.join(roots)} (the block-storage backends; see volume_roots)")
