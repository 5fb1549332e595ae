"""``InstanceDriver``: one instance made present in a power state, or absent.

The compute side of the one driver contract every area follows::

    drv = InstanceDriver(LibvirtDriver(uri), qemu_img, instances_dir, images_dir)
    outcome = drv.ensure_present(spec, state="running", check=False)   # InstanceOutcome
    outcome = drv.ensure_absent(spec, check=False)

``before`` / ``after`` are ``{"state": <power state>, "xml": <domain XML>}`` (``{}`` when
there is no domain); ``actions`` the steps in order (``create files``, ``define``,
``start``, ``set vcpus live``...); ``resize`` how a change was applied (none, config,
live, cold, create) and ``facts`` the instance as ``guest_facts`` gives it. In check mode
every step is planned and nothing is changed. A failed create leaves nothing (the
domain is undefined and the files removed, ``LibvirtDriver.spawn``'s contract).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg

from .domain import Guest
from .errors import Conflict, InvalidInput
from .host import COMPUTE_CONF, resolve_virt_type
from .instance import (
    ROOT,
    InstanceFiles,
    InstanceSpec,
    build_guest,
    device_changes,
    guest_facts,
    plan_update,
)
from .libvirt_driver import LibvirtDriver
from .paths import IMAGES_DIR, INSTANCES_DIR, InstancePaths


@dataclass
class InstanceOutcome(Outcome):
    """``Outcome`` with how a change was applied and the instance's facts."""

    resize: str = "none"
    facts: dict = field(default_factory=dict)


def domain_view(guest: Guest | None, state: str) -> dict:
    """What the diff shows of a domain: its power state and normalized XML."""
    if guest is None:
        return {}
    return {"state": state, "xml": guest.normalized().to_xml()}


def _check_root(current: Guest, wanted: Guest, state: str) -> None:
    """The root disk (``vda``: the overlay, or the root volume) is never hot-swapped: a
    running guest whose root disk would change is a ``Conflict``; a stopped one is
    redefined with the new root disk."""
    def root(guest: Guest):
        return next((d for d in guest.disks if d.target == ROOT), None)

    before, after = root(current), root(wanted)
    if before != after and state not in ("stopped",):
        raise Conflict(
            f"the root disk of {current.name} would change from {before.source if before else 'none'} "
            f"to {after.source if after else 'none'} while the guest is {state}; stop it first "
            "(the root disk of a running guest is never swapped)."
        )


class InstanceDriver:
    """Instances of one host (``libvirt``: a ``LibvirtDriver``)."""

    def __init__(
        self,
        libvirt: LibvirtDriver,
        qemu_img: QemuImg,
        instances_dir: Path | str = INSTANCES_DIR,
        images_dir: Path | str = IMAGES_DIR,
        *,
        virt_type: str = "auto",
        shutdown_timeout: float = 60.0,
        conf_path: Path | str = COMPUTE_CONF,
    ):
        self.libvirt = libvirt
        self.qemu_img = qemu_img
        self.instances_dir = Path(instances_dir)
        self.images_dir = Path(images_dir)
        self.virt_type = virt_type
        self.shutdown_timeout = shutdown_timeout
        self.conf_path = conf_path

    def files(self, spec: InstanceSpec) -> InstanceFiles:
        return InstanceFiles(spec, InstancePaths.for_uuid(spec.uuid, self.instances_dir),
                             self.images_dir, self.qemu_img)

    def _current(self, spec: InstanceSpec) -> tuple[Guest | None, str]:
        exists = self.libvirt.check_owned(spec.name, spec.uuid)
        current = self.libvirt.get_guest(spec.name) if exists else None
        return current, self.libvirt.power_state(spec.name)

    # absent -----------------------------------------------------------------------
    def ensure_absent(self, spec: InstanceSpec, *, check: bool = False) -> InstanceOutcome:
        """Destroy and undefine the domain, remove the instance directory."""
        current, before_state = self._current(spec)
        files = self.files(spec)
        steps = []
        if current is not None:
            steps += ["destroy", "undefine"]
        if files.paths.directory.exists():
            steps.append("remove files")
        if steps and not check:
            self.libvirt.destroy(spec.name)
            self.libvirt.undefine(spec.name)
            files.remove()
        return InstanceOutcome(bool(steps), domain_view(current, before_state), {}, steps)

    # present ----------------------------------------------------------------------
    def ensure_present(self, spec: InstanceSpec, *, state: str = "running",
                       check: bool = False) -> InstanceOutcome:
        """The guest defined as ``spec`` says, in power ``state``."""
        current, before_state = self._current(spec)
        self._check_memory(spec)
        virt_type = resolve_virt_type(self.virt_type, self.conf_path)
        if current is not None and self.virt_type == "auto":
            virt_type = current.virt_type  # auto never flips an existing guest
        files = self.files(spec)
        wanted = build_guest(spec, virt_type, files.paths, current)
        if current is None:
            steps, kind = self._create(spec, files, wanted, state, check), "create"
        else:
            steps, kind = self._update(spec, files, current, wanted, before_state, state, check)
        if check:
            after_guest, after_state = wanted, state
        else:
            after_guest, after_state = self.libvirt.get_guest(spec.name), self.libvirt.power_state(spec.name)
        return InstanceOutcome(
            bool(steps), domain_view(current, before_state), domain_view(after_guest, after_state),
            steps, resize=kind, facts=guest_facts(after_guest, after_state),
        )

    def _check_memory(self, spec: InstanceSpec) -> None:
        """More RAM than the host has is refused before anything is made."""
        host_mib = self.libvirt.host_info()["memory_mib"]
        wanted = max(spec.memory_mb, spec.max_memory_mb)
        if wanted > host_mib:
            raise InvalidInput(
                f"memory_mb {wanted} is more than this host's {host_mib} MiB of RAM; "
                "choose a smaller flavor or another host."
            )

    def _create(self, spec, files, wanted, state, check) -> list[str]:
        """New guest: check image, make files, define, reach the power state. On
        failure nothing is left: domain undefined, files removed."""
        files.check_image()
        steps = ["create files", "define"] + self.libvirt.plan_power_state("stopped", state)
        if check:
            return steps
        files.create()
        self.libvirt.spawn(wanted, state=state, shutdown_timeout=self.shutdown_timeout,
                           cleanup=files.remove)
        return steps

    def _update(self, spec, files, current, wanted, before_state, state, check):
        """Existing guest: files, definition (config/live/cold), then the power state."""
        drv, timeout = self.libvirt, self.shutdown_timeout
        steps = []
        _check_root(current, wanted, before_state)
        kind = plan_update(current, wanted)
        missing = files.missing()
        drive_stale = not files.config_drive_current()
        grow = files.root_grow(current.metadata.root_gb if current.metadata else 0)
        if missing or drive_stale:
            steps.append("create files" if missing else "rebuild config drive")
        if grow:
            steps.append("grow root disk")
        live = before_state == "running"
        if kind == "config" or (kind == "live" and not live) or (kind == "cold" and before_state == "stopped"):
            steps.append("define")
        elif kind == "live":
            add, remove = device_changes(current, wanted)
            if wanted.vcpus != current.vcpus:
                steps.append("set vcpus live")
            if wanted.memory_kib != current.memory_kib:
                steps.append("set memory live")
            steps += [f"attach {getattr(d, 'target', '') or d.mac}" for d in add]
            steps += [f"detach {getattr(d, 'target', '') or d.mac}" for d in remove]
            steps.append("define")
        elif kind == "cold":
            steps += ["stop for resize", "define"]
        restore = before_state if kind == "cold" and before_state != "stopped" else None
        steps += drv.plan_power_state("stopped" if restore else before_state, state)
        if check:
            return steps, kind
        if missing or drive_stale:
            files.create()
        if grow:
            if drv.power_state(spec.name) in ("running", "paused"):
                drv.block_resize(spec.name, "vda", grow)
            else:
                files.qemu_img.resize(files.paths.disk, grow)
        if kind == "live" and live:
            add, remove = device_changes(current, wanted)
            if wanted.vcpus != current.vcpus:
                drv.set_vcpus(spec.name, wanted.vcpus, live=True)
            if wanted.memory_kib != current.memory_kib:
                drv.set_memory(spec.name, wanted.memory_kib, live=True)
            for dev in remove:
                drv.detach(spec.name, dev, live=True)
            for dev in add:
                drv.attach(spec.name, dev, live=True)
            drv.define(wanted)
        elif kind == "cold" and restore:
            if restore == "suspended":
                drv.discard_managed_save(spec.name)
            elif restore == "paused":
                drv.destroy(spec.name)
            else:
                drv.shutdown(spec.name, timeout=timeout)
            drv.define(wanted)
        elif kind != "none":
            drv.define(wanted)
        drv.set_power_state(spec.name, state, shutdown_timeout=timeout)
        return steps, kind
