"""Cold and live migration of an instance to another libvirt host, given its URI.

Files travel over libvirt itself, so no SSH between compute hosts is needed: on the
destination a dir storage pool is opened on the instance directory (and on the image
cache), volumes are created there and filled with ``virStorageVolUpload`` streams.

- **Cold** (``Migration.cold``): stop the guest (ACPI shutdown, then destroy after the
  timeout), copy the base image if the destination lacks it, copy the instance's disk
  files (overlay, config drive, ephemeral, swap), define the domain there with the
  same XML (uuid, name, MACs unchanged), start it if it was running, then undefine it
  here and remove its directory. A failure before the guest runs on the destination
  removes what was copied and defined there and starts the guest here again.
- **Live** (``Migration.live``): copy the base image and the read-only config drive,
  pre-create empty qcow2 overlays on the same backing file, then
  ``virDomainMigrate3`` (client-managed; or ``virDomainMigrateToURI3`` with
  ``peer2peer``) with ``LIVE | PERSIST_DEST | UNDEFINE_SOURCE | NON_SHARED_INC``: qemu
  mirrors the overlays over NBD while RAM is copied. On failure libvirt keeps the guest
  running here; the pre-created files are removed there.

Either is a state: an instance already defined on the destination and absent here is
"not changed"; defined on both is a ``Conflict`` for a person to resolve.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid as uuidlib
import xml.etree.ElementTree as ET
from pathlib import Path

from .actions import ActionResult, InstanceActions, _err
from .domain import Guest
from .errors import ComputeError, Conflict, InvalidInput, LibvirtError, NotFound

try:
    import libvirt
except ImportError:  # pragma: no cover
    libvirt = None

CHUNK = 1024 * 1024


class MigrationError(ComputeError):
    """A migration failed; the guest was left (or put back) on the source."""


class RemoteFiles:
    """Files on a libvirt host reached by ``conn``, through dir storage pools."""

    def __init__(self, conn):
        self.conn = conn
        self._pools: dict[str, object] = {}
        self._transient: list = []

    def _pool(self, directory: str):
        directory = str(directory)
        if directory in self._pools:
            return self._pools[directory]
        pool = None
        for candidate in self.conn.listAllStoragePools(0):
            target = ET.fromstring(candidate.XMLDesc(0)).findtext("target/path") or ""
            if os.path.normpath(target) == os.path.normpath(directory):
                pool = candidate
                if not pool.isActive():
                    pool.create(0)
                break
        if pool is None:
            xml = (
                f"<pool type='dir'><name>stratus-{uuidlib.uuid4().hex[:12]}</name><target>"
                f"<path>{directory}</path><permissions><mode>0755</mode></permissions>"
                "</target></pool>"
            )
            pool = self.conn.storagePoolCreateXML(xml, libvirt.VIR_STORAGE_POOL_CREATE_WITH_BUILD)
            self._transient.append(pool)
        pool.refresh(0)
        self._pools[directory] = pool
        return pool

    def exists(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            self._pool(str(path.parent)).storageVolLookupByName(path.name)
            return True
        except libvirt.libvirtError:
            return False

    def upload(self, local: str | Path, remote: str | Path) -> None:
        """Copy the local file's bytes into ``remote`` (created or replaced)."""
        local, remote = Path(local), Path(remote)
        size = local.stat().st_size
        pool = self._pool(str(remote.parent))
        self.delete(remote)
        vol = pool.createXML(
            f"<volume><name>{remote.name}</name><capacity>{size}</capacity>"
            "<target><format type='raw'/><permissions><mode>0644</mode></permissions>"
            "</target></volume>",
            0,
        )
        stream = self.conn.newStream(0)
        vol.upload(stream, 0, size, 0)
        with open(local, "rb") as f:
            stream.sendAll(lambda _st, n, fh: fh.read(min(n, CHUNK)), f)
        stream.finish()

    def create_overlay(
        self, remote: str | Path, backing: str, backing_format: str, capacity: int, fmt: str = "qcow2"
    ) -> None:
        """An empty ``fmt`` image at ``remote`` on ``backing`` (none when '') for a live
        migration's mirror to fill."""
        remote = Path(remote)
        pool = self._pool(str(remote.parent))
        self.delete(remote)
        backing_xml = (
            f"<backingStore><path>{backing}</path><format type='{backing_format}'/></backingStore>"
            if backing
            else ""
        )
        pool.createXML(
            f"<volume><name>{remote.name}</name><capacity>{capacity}</capacity>"
            f"<target><format type='{fmt}'/><permissions><mode>0644</mode></permissions></target>"
            f"{backing_xml}</volume>",
            0,
        )

    def delete(self, remote: str | Path) -> None:
        remote = Path(remote)
        try:
            vol = self._pool(str(remote.parent)).storageVolLookupByName(remote.name)
        except libvirt.libvirtError:
            return
        vol.delete(0)

    def close(self) -> None:
        for pool in self._transient:
            with contextlib.suppress(libvirt.libvirtError):
                pool.destroy()
        self._transient.clear()
        self._pools.clear()


class Migration:
    """Moves ``actions``' instance to ``dest_uri``. ``open_conn`` opens libvirt URIs."""

    def __init__(self, actions: InstanceActions, dest_uri: str, *, open_conn=None):
        if not dest_uri:
            raise InvalidInput("migrate needs dest_uri, the libvirt URI of the destination host.")
        if dest_uri == actions.driver.uri:
            raise InvalidInput(f"dest_uri {dest_uri} is the instance's own host; give another host's URI.")
        self.actions = actions
        self.dest_uri = dest_uri
        self._open = open_conn or (lambda uri: libvirt.open(uri))
        self._dconn = None

    @property
    def dconn(self):
        if self._dconn is None:
            try:
                self._dconn = self._open(self.dest_uri)
            except libvirt.libvirtError as exc:
                raise MigrationError(
                    f"cannot reach the destination host {self.dest_uri}: {_err(exc)}; check the URI "
                    "and that libvirtd runs there. The instance was not touched."
                ) from exc
        return self._dconn

    def close(self) -> None:
        if self._dconn is not None:
            self._dconn.close()
            self._dconn = None

    def _dest_domain(self):
        try:
            return self.dconn.lookupByUUIDString(self.actions.uuid)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise LibvirtError("lookup", self.actions.name, _err(exc)) from exc

    def _where(self) -> tuple[bool, bool]:
        here = bool(self.actions.driver.check_owned(self.actions.name, self.actions.uuid))
        there = self._dest_domain() is not None
        if here and there:
            raise Conflict(
                f"instance {self.actions.uuid} is defined on both {self.actions.driver.uri} and "
                f"{self.dest_uri}; remove the stale one before migrating."
            )
        if not here and not there:
            raise NotFound(
                f"instance {self.actions.uuid} is on neither {self.actions.driver.uri} nor {self.dest_uri}."
            )
        return here, there

    def _files(self, guest: Guest) -> tuple[list[dict], set[str]]:
        """Disk files under the instance directory and the backing images they need."""
        directory = self.actions.paths.directory
        files, bases = [], set()
        for disk in guest.disks:
            src = Path(disk.source)
            if src.parent != directory:
                raise InvalidInput(
                    f"disk {disk.target} ({disk.source}) is not in {directory}: only instance "
                    "disks can be migrated; detach volumes first."
                )
            info = self.actions.qemu_img.info(src, disk.format)
            backing = info.get("full-backing-filename") or info.get("backing-filename") or ""
            if backing:
                bases.add(backing)
            files.append({"disk": disk, "path": str(src), "backing": backing,
                          "backing_format": info.get("backing-filename-format", "qcow2"),
                          "size": int(info["virtual-size"])})
        return files, bases

    def _result(self, changed: bool, before_host: str, after_host: str, state: str, details: dict) -> ActionResult:
        return ActionResult(
            changed,
            {"host": before_host, "domain": self.actions.name, "power_state": state},
            {"host": after_host, "domain": self.actions.name, "power_state": state},
            details,
        )

    def _plan(self, live: bool):
        here, _there = self._where()
        if not here:
            return None
        if self.actions.rescued:
            raise Conflict(f"instance {self.actions.uuid} is rescued; unrescue it before migrating.")
        state = self.actions.driver.power_state(self.actions.name)
        if live and state != "running":
            raise Conflict(f"instance {self.actions.uuid} is {state}; live migration needs a running guest.")
        return state

    # cold -------------------------------------------------------------------------
    def cold(self, *, timeout: float = 60.0, check: bool = False) -> ActionResult:
        a = self.actions
        state = self._plan(live=False)
        if state is None:
            return self._result(False, self.dest_uri, self.dest_uri, "unknown", {"already_migrated": True})
        guest = a.driver.get_guest(a.name)
        files, bases = self._files(guest)
        details = {"mode": "cold", "dest_uri": self.dest_uri, "files": [f["path"] for f in files]}
        if check:
            return self._result(True, a.driver.uri, self.dest_uri, state, details)
        xml = a.driver.get_xml(a.name)
        was_running = state in ("running", "paused")
        remote = RemoteFiles(self.dconn)
        copied: list[str] = []
        defined = False
        try:
            if was_running:
                details["clean_shutdown"] = a._shutdown(timeout)
            details["base_images_copied"] = self._copy_bases(remote, bases, copied)
            for f in files:
                remote.upload(f["path"], f["path"])
                copied.append(f["path"])
            dom = self.dconn.defineXML(xml)
            defined = True
            if was_running:
                dom.create()
        except Exception as exc:
            self._rollback(remote, copied, defined)
            if was_running:
                a.driver.start(a.name)
            raise MigrationError(
                f"cold migration of {a.uuid} to {self.dest_uri} failed: {_err(exc)}; the "
                "instance is back on the source as it was."
            ) from exc
        finally:
            remote.close()
        a.driver.undefine(a.name)
        shutil.rmtree(a.paths.directory, ignore_errors=True)
        return self._result(True, a.driver.uri, self.dest_uri, state, details)

    def _copy_bases(self, remote: RemoteFiles, bases: set[str], copied: list[str]) -> list[str]:
        done = []
        for base in sorted(bases):
            if not remote.exists(base):
                remote.upload(base, base)
                copied.append(base)
                done.append(base)
        return done

    def _rollback(self, remote: RemoteFiles, copied: list[str], defined: bool) -> None:
        dom = self._dest_domain() if defined else None
        if dom is not None:
            try:
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
            except libvirt.libvirtError:
                pass
        for path in reversed(copied):
            with contextlib.suppress(libvirt.libvirtError):
                remote.delete(path)

    # live -------------------------------------------------------------------------
    def live_flags(self, peer2peer: bool) -> int:
        flags = (
            libvirt.VIR_MIGRATE_LIVE
            | libvirt.VIR_MIGRATE_PERSIST_DEST
            | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE
            | libvirt.VIR_MIGRATE_NON_SHARED_INC
        )
        if peer2peer:
            flags |= libvirt.VIR_MIGRATE_PEER2PEER
        return flags

    def live(
        self,
        *,
        migration_uri: str = "",
        peer2peer: bool = False,
        check: bool = False,
    ) -> ActionResult:
        a = self.actions
        state = self._plan(live=True)
        if state is None:
            return self._result(False, self.dest_uri, self.dest_uri, "running", {"already_migrated": True})
        guest = a.driver.get_guest(a.name)
        files, bases = self._files(guest)
        writable = [f for f in files if not f["disk"].readonly and f["disk"].device == "disk"]
        params = {libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS: [f["disk"].target for f in writable]}
        if migration_uri:
            params[libvirt.VIR_MIGRATE_PARAM_URI] = migration_uri
        flags = self.live_flags(peer2peer)
        details = {"mode": "live", "dest_uri": self.dest_uri, "peer2peer": peer2peer,
                   "migrate_disks": params[libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS],
                   "files": [f["path"] for f in files]}
        if check:
            return self._result(True, a.driver.uri, self.dest_uri, state, details)
        remote = RemoteFiles(self.dconn)
        copied: list[str] = []
        dom = a.domain()
        try:
            details["base_images_copied"] = self._copy_bases(remote, bases, copied)
            for f in files:
                if f in writable:
                    remote.create_overlay(
                        f["path"], f["backing"], f["backing_format"], f["size"], f["disk"].format
                    )
                else:
                    remote.upload(f["path"], f["path"])
                copied.append(f["path"])
            if peer2peer:
                dom.migrateToURI3(self.dest_uri, params, flags)
            else:
                dom.migrate3(self.dconn, params, flags)
        except Exception as exc:
            self._rollback(remote, copied, defined=False)
            raise MigrationError(
                f"live migration of {a.uuid} to {self.dest_uri} failed: {_err(exc)}; the "
                f"instance still runs on {a.driver.uri}."
            ) from exc
        finally:
            remote.close()
        shutil.rmtree(a.paths.directory, ignore_errors=True)
        return self._result(True, a.driver.uri, self.dest_uri, state, details)
