"""Nova's server actions on the host side: reboot, snapshot, rebuild, rescue/unrescue,
console log. Migration is in :mod:`.migration`.

``InstanceActions(driver, uuid)`` works on the domain ``instance-<uuid>`` of one
``LibvirtDriver`` and the files under ``/var/lib/stratus/instances/<uuid>/``. Every
action takes ``check`` and returns an ``ActionResult`` (``changed``, ``before``,
``after`` summaries, ``details``); in check mode it says what would happen and changes
nothing. Which actions are states (a second run changes nothing):

- ``rescue`` / ``unrescue``: rescued is a state (``unrescue.xml`` in the instance
  directory holds the original definition while rescued, as Nova keeps it).
- ``snapshot``: an image id that this instance already snapshotted to is done
  (recorded in ``snapshots.json`` in the instance directory); an image id that exists
  but came from elsewhere is a ``Conflict``.
- ``reboot`` and ``rebuild`` are events: each run does them again (as in Nova).

Snapshot method: a **stopped** guest's root disk is flattened with ``qemu-img convert``
(base + overlay into one standalone qcow2). A **running** guest is copied by libvirt's
``virDomainBlockCopy`` (qemu's ``blockdev-mirror``, full chain, not shallow) into a
new file; when the mirror is in sync the job is aborted without pivot, so the copy is
the disk as of that moment, crash-consistent, and the guest never pauses. The copy is
written as ``<image id>.part`` and renamed into place when complete, so a failed
snapshot leaves nothing in the image cache.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg

from .domain import Disk, Guest
from .errors import (
    Conflict,
    ImageNotFound,
    InvalidInput,
    NotFound,
)
from .image_cache import cached_image
from .paths import (
    IMAGES_DIR,
    INSTANCES_DIR,
    InstancePaths,
    domain_name,
    image_path,
    private_file,
    safe_id,
)
from .qemu import compute_qemu_img
from .storage_xml import CopyDestination

RESCUE_DISK = "disk.rescue"
UNRESCUE_XML = "unrescue.xml"
SNAPSHOTS_JSON = "snapshots.json"
ACTIONS = ("reboot", "snapshot", "rebuild", "rescue", "unrescue", "migrate", "console_log")


@dataclass
class ActionResult(Outcome):
    """The ``Outcome`` of an action (``before``/``after``: the instance's summary) with
    the action's ``details``."""

    details: dict = field(default_factory=dict)

    def __init__(self, changed: bool, before: dict | None = None, after: dict | None = None,
                 details: dict | None = None):
        super().__init__(changed, dict(before or {}), dict(after or {}), [])
        self.details = dict(details or {})


def root_disk(guest: Guest) -> Disk:
    """The guest's first virtio disk that is not a cdrom: Nova's root disk (``vda``)."""
    for disk in guest.disks:
        if disk.device == "disk":
            return disk
    raise InvalidInput(f"domain {guest.name} has no root disk to act on")


class InstanceActions:
    """Actions on one instance. ``driver`` is a ``LibvirtDriver``: every libvirt call
    goes through it (block copy and definitions included)."""

    def __init__(
        self,
        driver,
        uuid: str,
        *,
        qemu_img: QemuImg | None = None,
        config_drive=None,
        instances_dir: Path | str = INSTANCES_DIR,
        images_dir: Path | str = IMAGES_DIR,
    ):
        self.driver = driver
        self.uuid = safe_id(uuid, "instance uuid")
        self.name = domain_name(uuid)
        self.paths = InstancePaths.for_uuid(uuid, instances_dir)
        self.images_dir = Path(images_dir)
        self.qemu_img = qemu_img or compute_qemu_img()
        self._config_drive = config_drive

    # reads ------------------------------------------------------------------------
    def domain(self):
        """The ``virDomain``; ``NotFound`` when this host has no such instance."""
        if not self.driver.check_owned(self.name, self.uuid):
            raise NotFound(
                f"instance {self.uuid} has no domain {self.name} at {self.driver.uri}; "
                "check the uuid and the host (uri)."
            )
        return self.driver.lookup(self.name)

    def guest(self) -> Guest:
        self.domain()
        return self.driver.get_guest(self.name)

    @property
    def rescued(self) -> bool:
        return (self.paths.directory / UNRESCUE_XML).exists()

    def summary(self) -> dict:
        """What the diff shows: host, power state, disks, image, rescued."""
        guest = self.guest()
        meta = guest.metadata
        return {
            "host": self.driver.uri,
            "domain": self.name,
            "power_state": self.driver.power_state(self.name),
            "image_id": meta.image_id if meta else "",
            "rescued": self.rescued,
            "disks": {d.target: d.source for d in guest.disks},
            "macs": [i.mac for i in guest.interfaces],
        }

    # reboot -----------------------------------------------------------------------
    def reboot(self, kind: str = "soft", *, timeout: float = 60.0, check: bool = False) -> ActionResult:
        """Soft: ACPI shutdown, wait ``timeout`` seconds for the guest to stop, start it;
        a guest that does not stop in time is hard rebooted (Nova's fallback). Hard:
        destroy + start (a fresh QEMU process with the persistent definition). A hard
        reboot of a stopped guest starts it; a soft one is refused (Nova's rules)."""
        if kind not in ("soft", "hard"):
            raise InvalidInput(f"reboot_type {kind!r} is not valid; use soft or hard.")
        self.domain()
        before = self.summary()
        state = before["power_state"]
        if kind == "soft" and state != "running":
            raise Conflict(
                f"instance {self.uuid} is {state}: a soft reboot needs a running guest; "
                "use reboot_type=hard to start it."
            )
        if check:
            return ActionResult(True, before, {**before, "power_state": "running"}, {"method": kind})
        method = kind
        if kind == "soft":
            clean = self._shutdown(timeout)
            if not clean:
                method = "hard (soft timed out)"
        else:
            self.driver.destroy(self.name)
        if state == "suspended":  # a hard reboot boots afresh, not from the saved memory
            self.driver.discard_managed_save(self.name)
        self.driver.start(self.name)
        return ActionResult(True, before, self.summary(), {"method": method})

    def _shutdown(self, timeout: float) -> bool:
        """ACPI shutdown, destroy after ``timeout``; True when the guest stopped cleanly."""
        return bool(self.driver.shutdown(self.name, timeout=timeout))

    # snapshot ---------------------------------------------------------------------
    def _snapshot_record(self) -> dict:
        try:
            return json.loads((self.paths.directory / SNAPSHOTS_JSON).read_text())
        except (OSError, ValueError):
            return {}

    def snapshot(self, image_id: str, *, timeout: float = 600.0, check: bool = False) -> ActionResult:
        """Copy the root disk to a standalone qcow2 ``<images_dir>/<image_id>``."""
        target = image_path(image_id, self.images_dir)
        self.domain()
        if self.rescued:
            raise Conflict(f"instance {self.uuid} is rescued; unrescue it before a snapshot.")
        guest = self.driver.get_guest(self.name)
        root = root_disk(guest)
        state = self.driver.power_state(self.name)
        record = self._snapshot_record()
        before = {"image": str(target), "exists": target.exists()}
        if target.exists():
            if image_id in record:
                return ActionResult(False, before, before, {"image_id": image_id, **record[image_id]})
            raise Conflict(
                f"image {image_id} already exists in {self.images_dir} and is not a snapshot of "
                f"instance {self.uuid}; choose another image id."
            )
        method = "blockcopy" if state in ("running", "paused") else "qemu-img convert"
        after = {"image": str(target), "exists": True}
        details = {"image_id": image_id, "path": str(target), "method": method, "source": root.source}
        if check:
            return ActionResult(True, before, after, details)
        part = target.with_name(target.name + ".part")
        part.unlink(missing_ok=True)
        try:
            if method == "blockcopy":
                self.driver.block_copy(self.name, root.target, CopyDestination(str(part), "qcow2"),
                                       timeout=timeout)
            else:
                self.qemu_img.convert(root.source, part, "qcow2", src_format=root.format)
            os.chmod(part, 0o644)
            os.replace(part, target)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        details["virtual_size"] = self.qemu_img.virtual_size(target, "qcow2")
        record[image_id] = {"source": root.source, "method": method, "created": time.time()}
        _write_json(self.paths.directory / SNAPSHOTS_JSON, record)
        return ActionResult(True, before, after, details)

    # rebuild ----------------------------------------------------------------------
    def rebuild(
        self,
        image_id: str,
        *,
        config_drive: dict | None = None,
        timeout: float = 60.0,
        check: bool = False,
    ) -> ActionResult:
        """Re-create the root disk on ``image_id`` keeping uuid, name, MACs and size;
        rewrite the config drive when ``config_drive`` (meta_data/user_data/network_data)
        is given; the guest ends in the power state it had (running or stopped)."""
        base = image_path(image_id, self.images_dir)
        if not base.exists():
            raise ImageNotFound(f"image {image_id} is not in the image cache ({base}); fetch it first.")
        guest = self.guest()
        if self.rescued:
            raise Conflict(f"instance {self.uuid} is rescued; unrescue it before a rebuild.")
        root = root_disk(guest)
        state = self.driver.power_state(self.name)
        before = self.summary()
        meta = replace(guest.metadata, image_id=image_id)
        wanted = replace(guest, metadata=meta)
        after = {**before, "image_id": image_id}
        details = {"image_id": image_id, "config_drive": bool(config_drive)}
        details["xml_before"] = guest.to_xml()
        details["xml_after"] = wanted.to_xml()
        if check:
            return ActionResult(True, before, after, details)
        size = self.qemu_img.virtual_size(root.source, root.format)
        base_facts = cached_image(base)
        was_running = state in ("running", "paused")
        if state == "running":
            details["clean_shutdown"] = self._shutdown(timeout)
        self.driver.destroy(self.name)
        disk = Path(root.source)
        new = disk.with_name(disk.name + ".rebuild")
        new.unlink(missing_ok=True)
        try:
            self.qemu_img.create_overlay(new, base, base_facts.format,
                                         max(size, self.qemu_img.virtual_size(base, base_facts.format)))
            private_file(new)
            if config_drive:
                self._write_config_drive(config_drive)
            os.replace(new, disk)
        except BaseException:
            new.unlink(missing_ok=True)
            if was_running:
                self.driver.start(self.name)
            raise
        self.driver.define(wanted)
        if was_running:
            self.driver.start(self.name)
        return ActionResult(True, before, self.summary(), details)

    def _write_config_drive(self, spec: dict) -> None:
        from .config_drive import ConfigDrive

        md = dict(spec.get("meta_data") or {})
        md["uuid"] = self.uuid
        cd = self._config_drive or ConfigDrive()
        cd.ensure(
            str(self.paths.config_drive),
            md,
            spec.get("user_data"),
            spec.get("network_data"),
            spec.get("vendor_data"),
        )

    # rescue -----------------------------------------------------------------------
    def rescue(self, image_id: str = "", *, check: bool = False) -> ActionResult:
        """Boot from ``image_id`` (default: the instance's own image, as Nova does) with
        the original root disk as the second disk; the original definition is kept in
        ``unrescue.xml``. Already rescued: no change."""
        guest = self.guest()
        before = self.summary()
        if self.rescued:
            return ActionResult(False, before, before, {"rescued": True})
        image_id = image_id or (guest.metadata.image_id if guest.metadata else "")
        if not image_id:
            raise InvalidInput(f"instance {self.uuid} records no image; give image_id for the rescue image.")
        base = image_path(image_id, self.images_dir)
        if not base.exists():
            raise ImageNotFound(f"rescue image {image_id} is not in the image cache ({base}).")
        root = root_disk(guest)
        rescue_path = self.paths.directory / RESCUE_DISK
        rescue_disk = replace(root, source=str(rescue_path), format="qcow2", serial="")
        second = replace(root, target=_next_target(guest, root))
        others = tuple(d for d in guest.disks if d is not root)
        wanted = replace(guest, disks=(rescue_disk, second, *others))
        after = {**before, "rescued": True, "power_state": "running",
                 "disks": {d.target: d.source for d in wanted.disks}}
        details = {"rescue_image_id": image_id, "xml_before": guest.to_xml(), "xml_after": wanted.to_xml()}
        if check:
            return ActionResult(True, before, after, details)
        original_xml = self.driver.get_xml(self.name)
        base_format = cached_image(base).format
        rescue_path.unlink(missing_ok=True)
        self.qemu_img.create_overlay(rescue_path, base, base_format)
        private_file(rescue_path)
        _write_text(self.paths.directory / UNRESCUE_XML, original_xml)
        self.driver.destroy(self.name)
        try:
            self.driver.define(wanted)
            self.driver.start(self.name)
        except BaseException:
            self.driver.destroy(self.name)
            self._restore(original_xml, start=before["power_state"] == "running")
            raise
        return ActionResult(True, before, self.summary(), details)

    def unrescue(self, *, check: bool = False) -> ActionResult:
        """Restore the definition saved by ``rescue`` and start the guest from its own
        disk. Not rescued: no change."""
        self.domain()
        before = self.summary()
        if not self.rescued:
            return ActionResult(False, before, before, {"rescued": False})
        original_xml = (self.paths.directory / UNRESCUE_XML).read_text()
        original = Guest.from_xml(original_xml)
        after = {**before, "rescued": False, "power_state": "running",
                 "disks": {d.target: d.source for d in original.disks}}
        details = {"xml_before": self.driver.get_guest(self.name).to_xml(), "xml_after": original.to_xml()}
        if check:
            return ActionResult(True, before, after, details)
        self.driver.destroy(self.name)
        self._restore(original_xml, start=True)
        return ActionResult(True, before, self.summary(), details)

    def _restore(self, original_xml: str, *, start: bool) -> None:
        self.driver.define_xml(self.name, original_xml)
        (self.paths.directory / UNRESCUE_XML).unlink(missing_ok=True)
        (self.paths.directory / RESCUE_DISK).unlink(missing_ok=True)
        if start:
            self.driver.start(self.name)

    # console log ------------------------------------------------------------------
    def console_log(self, lines: int = 50) -> ActionResult:
        """The last ``lines`` lines of the serial console log (``console.log``)."""
        if lines < 1:
            raise InvalidInput(f"lines must be at least 1, not {lines}.")
        guest = self.guest()
        path = next((s.log_file for s in guest.serials if s.log_file), str(self.paths.console_log))
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                tail = [ln.rstrip("\r\n") for ln in deque(f, maxlen=lines)]
        except FileNotFoundError:
            tail = []
        return ActionResult(False, details={"path": path, "lines": tail, "text": "\n".join(tail)})


def _next_target(guest: Guest, root: Disk) -> str:
    """The next free target name on the root disk's bus (``vda`` → ``vdb``)."""
    used = {d.target for d in guest.disks}
    prefix = root.target[:-1]
    for letter in "bcdefghijklmnopqrstuvwxyz":
        if prefix + letter not in used:
            return prefix + letter
    raise InvalidInput(f"domain {guest.name} has no free disk target for the rescue")


def _write_text(path: Path, text: str) -> None:
    """Atomic write of an instance file (0600: it may hold the guest's definition)."""
    tmp = path.with_name(path.name + ".tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(text)
    private_file(tmp)
    os.replace(tmp, path)


def _write_json(path: Path, data: dict) -> None:
    _write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
