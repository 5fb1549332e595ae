"""``LibvirtDriver``: every call Stratus makes into libvirt, with the contracts in docstrings.

The shape of Nova's ``virt/driver.py`` + ``virt/libvirt/driver.py``, cut to what the
``instance``, ``instance_info``, ``hypervisor_info`` and ``instance_action`` modules need::

    drv = LibvirtDriver("qemu:///system")
    guest = drv.get_guest("instance-<uuid>")       # parsed Guest or None
    drv.define(wanted)                              # Guest -> persistent domain
    drv.set_power_state(wanted.name, "running")     # running/paused/suspended/stopped
    drv.destroy(name); drv.undefine(name)           # both succeed when it is gone

It is the only place that calls libvirt: block copy (``block_copy``), migration
(``migrate``), definitions from saved XML (``define_xml``) and files on another host
through dir storage pools (``dir_pool``, ``upload_file``, ``create_file``,
``delete_file``), with pool, volume and copy XML built from the objects of
``storage_xml.py``.

Power states are Nova's words: ``running``, ``paused``, ``suspended`` (libvirt managed
save: shut off with a saved memory image), ``stopped`` (shut off), ``crashed``,
``absent`` (no such domain). Every libvirt failure is raised as ``LibvirtError``.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid as uuidlib
from collections.abc import Callable
from pathlib import Path

from .domain import Disk, Guest, InstanceMetadata, Interface, metadata_of
from .errors import ActionTimeout, Conflict, LibvirtError, NotFound
from .storage_xml import CopyDestination, DirPool, Volume

try:  # libvirt-python is on every compute host (Debian's python3-libvirt)
    import libvirt
except ImportError:  # pragma: no cover - reported when a driver is made
    libvirt = None

POWER_STATES = ("running", "paused", "suspended", "stopped")


def _err(exc: Exception) -> str:
    get = getattr(exc, "get_error_message", None)
    return (get() if get else None) or str(exc)


class LibvirtDriver:
    """One connection to a libvirt URI. Connects on first use; ``close()`` ends it.

    Capability flags, as Nova's drivers declare them:
    """

    supports_live_resize = True  # vCPUs/RAM within the domain's maximums
    supports_hotplug = True  # disks and NICs on a running guest (attach/detach)
    supports_managed_save = True  # the "suspended" state

    def __init__(
        self,
        uri: str = "qemu:///system",
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        open_conn: Callable[[str], object] | None = None,
    ):
        self.uri = uri
        self._conn = None
        self._sleep = sleep
        self._clock = clock
        self._open = open_conn
        self._pools: dict[str, object] = {}
        self._transient_pools: list = []

    # connection -------------------------------------------------------------------
    @property
    def conn(self):
        if self._conn is None:
            if libvirt is None:
                raise LibvirtError("import", "libvirt", "python3-libvirt is not installed on this host")
            # libvirt's default handler prints every error on stderr; they are raised instead
            libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
            try:
                self._conn = (self._open or libvirt.open)(self.uri)
            except libvirt.libvirtError as exc:
                raise LibvirtError("connect", self.uri, _err(exc)) from exc
        return self._conn

    def close(self) -> None:
        """Stop the transient pools this driver opened, then close the connection."""
        for pool in self._transient_pools:
            with contextlib.suppress(libvirt.libvirtError):
                pool.destroy()
        self._transient_pools.clear()
        self._pools.clear()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _call(self, operation: str, name: str, func, *args):
        try:
            return func(*args)
        except libvirt.libvirtError as exc:
            raise LibvirtError(operation, name, _err(exc)) from exc

    # reads ------------------------------------------------------------------------
    def lookup(self, name: str):
        """The ``virDomain`` called ``name``, or None when there is none."""
        return self._find(self.conn.lookupByName, name)

    def _find(self, func, key: str):
        try:
            return func(key)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise LibvirtError("lookup", key, _err(exc)) from exc

    def _domain(self, name: str):
        dom = self.lookup(name)
        if dom is None:
            raise NotFound(f"libvirt has no domain {name!r} at {self.uri}.")
        return dom

    def lookup_uuid(self, uuid: str):
        """The ``virDomain`` with this uuid, or None when there is none."""
        return self._find(self.conn.lookupByUUIDString, uuid)

    def get_xml(self, name: str, *, inactive: bool = True) -> str | None:
        """The domain's XML (the persistent definition unless ``inactive=False``), or None."""
        dom = self.lookup(name)
        if dom is None:
            return None
        flags = libvirt.VIR_DOMAIN_XML_INACTIVE if inactive else 0
        return self._call("dumpxml", name, dom.XMLDesc, flags)

    def get_guest(self, name: str, *, inactive: bool = True) -> Guest | None:
        """The domain parsed into a ``Guest`` (only the parts Stratus manages), or None."""
        xml = self.get_xml(name, inactive=inactive)
        return Guest.from_xml(xml) if xml is not None else None

    def metadata(self, name: str) -> InstanceMetadata | None:
        """Stratus's metadata of the domain; None when it is missing or not Stratus's."""
        xml = self.get_xml(name)
        return metadata_of(xml) if xml is not None else None

    def check_owned(self, name: str, uuid: str | None = None) -> bool:
        """True when ``name`` exists and is Stratus's (for ``uuid`` if given), False when
        it does not exist. Raises ``Conflict`` for a domain Stratus does not own."""
        xml = self.get_xml(name)
        if xml is None:
            return False
        meta = metadata_of(xml)
        if meta is None:
            raise Conflict(
                f"a libvirt domain named {name!r} exists but Stratus does not own it (no "
                "stratus:instance metadata); choose another name or remove that domain yourself."
            )
        if uuid and meta.uuid != uuid:
            raise Conflict(
                f"domain {name!r} belongs to Stratus instance {meta.uuid}, not {uuid}; "
                "use another domain name."
            )
        return True

    def power_state(self, name: str) -> str:
        """``running``, ``paused``, ``suspended``, ``stopped``, ``crashed`` or ``absent``."""
        dom = self.lookup(name)
        if dom is None:
            return "absent"
        state, _reason = self._call("state", name, dom.state)
        if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
            return "running"
        if state in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PMSUSPENDED):
            return "paused"
        if state == libvirt.VIR_DOMAIN_CRASHED:
            return "crashed"
        if state == libvirt.VIR_DOMAIN_SHUTDOWN:
            return "running"  # shutting down: still has a process
        if self._call("hasManagedSaveImage", name, dom.hasManagedSaveImage, 0):
            return "suspended"
        return "stopped"

    def list_guests(self, *, owned_only: bool = True) -> list[str]:
        """Names of all domains (only Stratus's unless ``owned_only=False``), sorted."""
        doms = self._call("list", self.uri, self.conn.listAllDomains, 0)
        names = []
        for dom in doms:
            if owned_only and metadata_of(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)) is None:
                continue
            names.append(dom.name())
        return sorted(names)

    def stats(self, name: str) -> dict:
        """Runtime figures: ``cpu_time_ns``, ``memory_kib`` (current), ``max_memory_kib``,
        ``vcpus`` (live count)."""
        dom = self._domain(name)
        state, max_mem, mem, vcpus, cpu_time = self._call("info", name, dom.info)
        return {
            "cpu_time_ns": int(cpu_time),
            "memory_kib": int(mem),
            "max_memory_kib": int(max_mem),
            "vcpus": int(vcpus),
        }

    def host_info(self) -> dict:
        """Host figures from libvirt: ``cpus``, ``memory_mib``, ``free_memory_mib``,
        ``cpu_model``, ``mhz``, ``sockets``, ``cores``, ``threads``, ``hostname``."""
        model, mem_mib, cpus, mhz, _nodes, sockets, cores, threads = self._call(
            "getInfo", self.uri, self.conn.getInfo
        )
        free = self._call("getFreeMemory", self.uri, self.conn.getFreeMemory)
        return {
            "cpu_model": model,
            "memory_mib": int(mem_mib),
            "free_memory_mib": int(free) // (1024 * 1024),
            "cpus": int(cpus),
            "mhz": int(mhz),
            "sockets": int(sockets),
            "cores": int(cores),
            "threads": int(threads),
            "hostname": self._call("getHostname", self.uri, self.conn.getHostname),
        }

    # writes -----------------------------------------------------------------------
    def define(self, guest: Guest) -> None:
        """Make ``guest`` the persistent definition (create or replace). A running domain
        keeps running with its old live config; the new one applies from its next start."""
        self.define_xml(guest.name, guest.to_xml())

    def define_xml(self, name: str, xml: str) -> None:
        """Define a domain from XML libvirt itself wrote (a saved definition restored,
        or a domain moved to this host); ``define`` for a ``Guest``."""
        self._call("define", name, self.conn.defineXML, xml)

    def start(self, name: str, *, paused: bool = False) -> None:
        """Start a shut-off domain; restores its managed-save image when it has one."""
        dom = self._domain(name)
        flags = libvirt.VIR_DOMAIN_START_PAUSED if paused else 0
        self._call("start", name, dom.createWithFlags, flags)

    def spawn(
        self,
        guest: Guest,
        *,
        state: str = "running",
        shutdown_timeout: float = 60.0,
        cleanup: Callable[[], None] | None = None,
    ) -> None:
        """Define ``guest`` and bring it to ``state`` (one of ``POWER_STATES``; running by
        default). Contract: a failed spawn cleans up — the domain is destroyed and
        undefined (and ``cleanup()`` is called, e.g. to remove the instance's files)
        before the error is raised."""
        try:
            self.define(guest)
            self.set_power_state(guest.name, state, shutdown_timeout=shutdown_timeout)
        except Exception:
            self.destroy(guest.name)
            self.undefine(guest.name)
            if cleanup:
                cleanup()
            raise

    def shutdown(self, name: str, *, timeout: float = 60.0) -> bool:
        """Stop a running domain: ACPI shutdown, then (after ``timeout`` seconds) destroy.
        Returns True when the guest stopped cleanly. ``timeout=0`` destroys at once."""
        dom = self._domain(name)
        if timeout > 0:
            with contextlib.suppress(libvirt.libvirtError):
                dom.shutdown()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if not dom.isActive():
                    return True
                self._sleep(0.2)
        self.destroy(name)
        return False

    def destroy(self, name: str) -> None:
        """Hard power-off. Contract: destroying a missing or stopped domain succeeds."""
        dom = self.lookup(name)
        if dom is None or not dom.isActive():
            return
        try:
            dom.destroy()
        except libvirt.libvirtError as exc:
            if dom.isActive():
                raise LibvirtError("destroy", name, _err(exc)) from exc

    def undefine(self, name: str) -> None:
        """Remove the persistent definition with its managed-save image, snapshot and
        checkpoint metadata and NVRAM. Contract: undefining a missing domain succeeds."""
        dom = self.lookup(name)
        if dom is None:
            return
        flags = (
            libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
            | libvirt.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
            | libvirt.VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA
            | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
        )
        self._call("undefine", name, dom.undefineFlags, flags)

    def pause(self, name: str) -> None:
        self._call("suspend", name, self._domain(name).suspend)

    def resume(self, name: str) -> None:
        self._call("resume", name, self._domain(name).resume)

    def managed_save(self, name: str) -> None:
        """Save memory to libvirt's managed-save image and stop ("suspended"); the next
        ``start`` restores it running."""
        flags = libvirt.VIR_DOMAIN_SAVE_RUNNING
        self._call("managedSave", name, self._domain(name).managedSave, flags)

    def discard_managed_save(self, name: str) -> None:
        self._call("managedSaveRemove", name, self._domain(name).managedSaveRemove, 0)

    def set_power_state(self, name: str, wanted: str, *, shutdown_timeout: float = 60.0) -> list[str]:
        """Move the domain to ``wanted`` (one of ``POWER_STATES``) from wherever it is.
        Returns the steps taken (empty: already there). ``plan_power_state`` gives the
        same steps without acting, for check mode."""
        steps = self.plan_power_state(self.power_state(name), wanted)
        actions = {
            "start": lambda: self.start(name),
            "start_paused": lambda: self.start(name, paused=True),
            "resume": lambda: self.resume(name),
            "pause": lambda: self.pause(name),
            "managed_save": lambda: self.managed_save(name),
            "discard_managed_save": lambda: self.discard_managed_save(name),
            "shutdown": lambda: self.shutdown(name, timeout=shutdown_timeout),
            "destroy": lambda: self.destroy(name),
        }
        for step in steps:
            actions[step]()
        return steps

    @staticmethod
    def plan_power_state(current: str, wanted: str) -> list[str]:
        """The steps from ``current`` to ``wanted`` power state (pure; see
        ``set_power_state``)."""
        if wanted not in POWER_STATES:
            raise ValueError(f"unknown power state {wanted!r}")
        if current == wanted:
            return []
        if current == "absent":
            raise NotFound("the domain is not defined")
        table = {
            ("stopped", "running"): ["start"],
            ("suspended", "running"): ["start"],
            ("paused", "running"): ["resume"],
            ("crashed", "running"): ["destroy", "start"],
            ("running", "paused"): ["pause"],
            ("stopped", "paused"): ["start_paused"],
            ("suspended", "paused"): ["start", "pause"],
            ("crashed", "paused"): ["destroy", "start_paused"],
            ("running", "suspended"): ["managed_save"],
            ("paused", "suspended"): ["managed_save"],
            ("stopped", "suspended"): ["start", "managed_save"],
            ("crashed", "suspended"): ["destroy", "start", "managed_save"],
            ("running", "stopped"): ["shutdown"],
            ("paused", "stopped"): ["destroy"],
            ("crashed", "stopped"): ["destroy"],
            ("suspended", "stopped"): ["discard_managed_save"],
        }
        return list(table[(current, wanted)])

    def set_vcpus(self, name: str, count: int, *, live: bool) -> None:
        """Set the vCPU count within the domain's maximum (live and in the config when
        ``live``; config only otherwise)."""
        dom = self._domain(name)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if live:
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        self._call("setVcpus", name, dom.setVcpusFlags, count, flags)

    def set_memory(self, name: str, kib: int, *, live: bool) -> None:
        """Set current memory (the balloon target) within the domain's maximum."""
        dom = self._domain(name)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG
        if live:
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        self._call("setMemory", name, dom.setMemoryFlags, kib, flags)

    def attach(self, name: str, device: Disk | Interface, *, live: bool) -> None:
        """Hot-plug a disk or NIC (and add it to the config)."""
        self._device_op("attach", name, device, live)

    def detach(
        self,
        name: str,
        device: Disk | Interface,
        *,
        live: bool,
        attempts: int = 6,
        attempt_timeout: float = 8.0,
    ) -> None:
        """Unplug a disk or NIC (and drop it from the config). On a running guest the
        unplug finishes when the guest lets go of the device; a guest may miss the request
        (Linux cancels a PCIe unplug when a second attention-button event comes within
        5 s, and a guest still booting ignores it), so, like Nova's detach with retry,
        the live unplug is sent again until the device is gone. Raises ``LibvirtError``
        when the guest still holds it after ``attempts`` × ``attempt_timeout`` seconds."""
        self._device_op("detach", name, device, live)
        if not live or self.power_state(name) != "running":
            return
        for _ in range(attempts):
            deadline = time.monotonic() + attempt_timeout
            while time.monotonic() < deadline:
                if not self._live_has(name, device):
                    return
                self._sleep(0.2)
            if not self._live_has(name, device):
                return
            with contextlib.suppress(LibvirtError):  # "not found": gone in between
                self._device_op("detach", name, device, live=True, config=False)
        raise LibvirtError(
            "detach", name,
            f"the guest did not release {_device_label(device)} after {attempts} requests "
            f"({attempts * attempt_timeout:.0f}s); its OS must accept the hot-unplug — "
            "retry, or stop the guest and run again",
        )

    def _live_has(self, name: str, device: Disk | Interface) -> bool:
        guest = self.get_guest(name, inactive=False)
        if guest is None:
            return False
        if isinstance(device, Disk):
            return any(d.target == device.target for d in guest.disks)
        return any(i.mac == device.mac for i in guest.interfaces)

    def _device_op(
        self, op: str, name: str, device: Disk | Interface, live: bool, *, config: bool = True
    ) -> None:
        import xml.etree.ElementTree as ET

        dom = self._domain(name)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG if config else 0
        if live:
            flags |= libvirt.VIR_DOMAIN_AFFECT_LIVE
        xml = ET.tostring(device.to_element(), encoding="unicode")
        func = dom.attachDeviceFlags if op == "attach" else dom.detachDeviceFlags
        self._call(op, name, func, xml, flags)

    def set_block_iotune(self, name: str, target: str, limits: dict[str, int], *, live: bool) -> None:
        """Set the ``<iotune>`` limits of the disk ``target`` (libvirt's names, e.g.
        ``total_bytes_sec``) in the config and, when ``live``, in the running guest
        (``virDomainSetBlockIoTune``). A name given as 0 removes that limit."""
        dom = self._domain(name)
        params = {key: int(value) for key, value in limits.items()}
        # libvirt-python reads the parameter types with getBlockIoTune(flags), which takes
        # one of LIVE / CONFIG only: so one call per side, live first.
        sides = [libvirt.VIR_DOMAIN_AFFECT_LIVE] if live else []
        for flags in (*sides, libvirt.VIR_DOMAIN_AFFECT_CONFIG):
            self._call("setBlockIoTune", name, dom.setBlockIoTune, target, params, flags)

    def block_resize(self, name: str, target: str, size_bytes: int) -> None:
        """Grow a running guest's disk (qemu resizes the image it has open)."""
        dom = self._domain(name)
        flags = libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES
        self._call("blockResize", name, dom.blockResize, target, size_bytes, flags)


    # block jobs and migration -----------------------------------------------------
    def block_copy(self, name: str, target: str, dest: CopyDestination, *, timeout: float) -> None:
        """Copy the disk ``target`` of a running guest (its whole chain) into ``dest``
        with ``virDomainBlockCopy``; when the mirror is in sync the job is aborted
        without pivot, so the guest stays on its disk and ``dest`` holds the disk as of
        that moment. Raises ``LibvirtError`` or ``ActionTimeout`` (the job is aborted)."""
        dom = self._domain(name)
        flags = libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB
        self._call("blockCopy", name, dom.blockCopy, target, dest.to_xml(), None, flags)
        deadline = self._clock() + timeout
        try:
            while True:
                info = self._call("blockJobInfo", name, dom.blockJobInfo, target, 0)
                if info and info.get("end", 0) > 0 and info.get("cur") == info.get("end"):
                    return
                if not info:
                    raise LibvirtError("blockCopy", name, "the copy job ended before it was in sync")
                if self._clock() > deadline:
                    raise ActionTimeout(f"block copy of {name} did not finish in {timeout:.0f}s")
                self._sleep(0.1)
        finally:
            with contextlib.suppress(libvirt.libvirtError):
                dom.blockJobAbort(target, 0)  # no pivot

    def migrate(self, name: str, dest: LibvirtDriver, params: dict, flags: int, *,
                peer2peer: bool = False) -> None:
        """Migrate ``name`` to ``dest`` (``virDomainMigrateToURI3`` when ``peer2peer``,
        else client-managed ``virDomainMigrate3``). On failure libvirt leaves the guest
        running here."""
        dom = self._domain(name)
        if peer2peer:
            self._call("migrate", name, dom.migrateToURI3, dest.uri, params, flags)
        else:
            self._call("migrate", name, dom.migrate3, dest.conn, params, flags)

    # files through storage pools (no SSH between hosts) ---------------------------
    def dir_pool(self, directory: str | Path, *, mode: str = "0755", owner: int = -1, group: int = -1):
        """The active dir pool on ``directory``: an existing one, else a transient one
        (built with ``mode``/``owner``/``group``) that ``close()`` stops."""
        directory = os.path.normpath(str(directory))
        if directory in self._pools:
            return self._pools[directory]
        pool = None
        for candidate in self._call("listAllStoragePools", self.uri, self.conn.listAllStoragePools, 0):
            if os.path.normpath(DirPool.from_xml(candidate.XMLDesc(0)).path) == directory:
                pool = candidate
                if not pool.isActive():
                    self._call("pool start", directory, pool.create, 0)
                break
        if pool is None:
            xml = DirPool(name=f"stratus-{uuidlib.uuid4().hex[:12]}", path=directory, mode=mode,
                          owner=owner, group=group).to_xml()
            pool = self._call("pool create", directory, self.conn.storagePoolCreateXML, xml,
                              libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
            self._transient_pools.append(pool)
        self._call("pool refresh", directory, pool.refresh, 0)
        self._pools[directory] = pool
        return pool

    def _volume(self, path: Path):
        try:
            return self.dir_pool(path.parent).storageVolLookupByName(path.name)
        except libvirt.libvirtError:
            return None

    def file_exists(self, path: str | Path) -> bool:
        """Whether this host has the file ``path`` (seen through its directory's pool)."""
        return self._volume(Path(path)) is not None

    def delete_file(self, path: str | Path) -> None:
        """Remove ``path`` on this host; a missing file is no error."""
        vol = self._volume(Path(path))
        if vol is not None:
            self._call("volume delete", str(path), vol.delete, 0)

    def upload_file(self, local: str | Path, remote: str | Path, *, mode: str = "0600") -> None:
        """Copy the local file's bytes into ``remote`` on this host (created or replaced)."""
        local, remote = Path(local), Path(remote)
        size = local.stat().st_size
        pool = self.dir_pool(remote.parent)
        self.delete_file(remote)
        xml = Volume(name=remote.name, capacity=size, format="raw", mode=mode).to_xml()
        vol = self._call("volume create", str(remote), pool.createXML, xml, 0)
        stream = self.conn.newStream(0)
        self._call("volume upload", str(remote), vol.upload, stream, 0, size, 0)
        with open(local, "rb") as f:
            stream.sendAll(lambda _st, n, fh: fh.read(min(n, 1024 * 1024)), f)
        stream.finish()

    def create_file(self, remote: str | Path, volume: Volume) -> None:
        """Create the image ``volume`` describes at ``remote`` (its name is the file's)."""
        remote = Path(remote)
        pool = self.dir_pool(remote.parent)
        self.delete_file(remote)
        self._call("volume create", str(remote), pool.createXML, volume.to_xml(), 0)


def _device_label(device: Disk | Interface) -> str:
    return f"disk {device.target}" if isinstance(device, Disk) else f"NIC {device.mac}"
