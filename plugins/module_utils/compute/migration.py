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

Every libvirt call, on either host, goes through a ``LibvirtDriver`` (the destination's
is ``Migration.dest``); the destination's instance directory is made 0700 for the qemu
user and its files 0600, as on the source.

Either is a state: an instance already defined on the destination and absent here is
"not changed"; defined on both is a ``Conflict`` for a person to resolve.
"""

from __future__ import annotations

import contextlib
import pwd
import shutil
from pathlib import Path

from .actions import ActionResult, InstanceActions
from .domain import Guest
from .errors import ComputeError, Conflict, InvalidInput, LibvirtError, NotFound
from .image_cache import cached_image
from .libvirt_driver import LibvirtDriver
from .paths import QEMU_USER
from .storage_xml import Volume

try:
    import libvirt
except ImportError:  # pragma: no cover
    libvirt = None


class MigrationError(ComputeError):
    """A migration failed; the guest was left (or put back) on the source."""


class Migration:
    """Moves ``actions``' instance to ``dest_uri``. ``open_conn`` opens libvirt URIs."""

    def __init__(self, actions: InstanceActions, dest_uri: str, *, open_conn=None):
        """``open_conn(uri)`` opens the destination's connection (tests pass a fake)."""
        if not dest_uri:
            raise InvalidInput("migrate needs dest_uri, the libvirt URI of the destination host.")
        if dest_uri == actions.driver.uri:
            raise InvalidInput(f"dest_uri {dest_uri} is the instance's own host; give another host's URI.")
        self.actions = actions
        self.dest_uri = dest_uri
        self._dest = LibvirtDriver(dest_uri, open_conn=open_conn)

    @property
    def dest(self) -> LibvirtDriver:
        """The destination host's driver, connected."""
        try:
            self._dest.conn  # noqa: B018 - connect now, to fail before anything is touched
        except LibvirtError as exc:
            raise MigrationError(
                f"cannot reach the destination host {self.dest_uri}: {exc.message}; check the URI "
                "and that libvirtd runs there. The instance was not touched."
            ) from exc
        return self._dest

    def close(self) -> None:
        self._dest.close()

    def _dest_domain(self):
        return self.dest.lookup_uuid(self.actions.uuid)

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
                          "backing_format": (info.get("backing-filename-format")
                                             or (cached_image(backing).format if backing else "")),
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
        remote = self.dest
        copied: list[str] = []
        defined = False
        try:
            if was_running:
                details["clean_shutdown"] = a._shutdown(timeout)
            details["base_images_copied"] = self._copy_bases(bases, copied)
            self._instance_dir()
            for f in files:
                remote.upload_file(f["path"], f["path"])
                copied.append(f["path"])
            remote.define_xml(a.name, xml)
            defined = True
            if was_running:
                remote.start(a.name)
        except Exception as exc:
            self._rollback(copied, defined)
            if was_running:
                a.driver.start(a.name)
            raise MigrationError(
                f"cold migration of {a.uuid} to {self.dest_uri} failed: {exc}; the "
                "instance is back on the source as it was."
            ) from exc
        finally:
            remote.close()
        a.driver.undefine(a.name)
        shutil.rmtree(a.paths.directory, ignore_errors=True)
        return self._result(True, a.driver.uri, self.dest_uri, state, details)

    def _copy_bases(self, bases: set[str], copied: list[str]) -> list[str]:
        """Base images the destination lacks, uploaded into its image cache (0644 in a
        0755 directory: shared, read-only backing files)."""
        done = []
        for base in sorted(bases):
            self.dest.dir_pool(Path(base).parent, mode="0755")
            if not self.dest.file_exists(base):
                self.dest.upload_file(base, base, mode="0644")
                copied.append(base)
                done.append(base)
        return done

    def _instance_dir(self) -> None:
        """The instance directory on the destination: 0700, owned by the qemu user."""
        try:
            user = pwd.getpwnam(QEMU_USER)
            owner, group = user.pw_uid, user.pw_gid
        except KeyError:
            owner = group = -1
        self.dest.dir_pool(self.actions.paths.directory, mode="0700", owner=owner, group=group)

    def _rollback(self, copied: list[str], defined: bool) -> None:
        if defined:
            with contextlib.suppress(ComputeError):
                self.dest.destroy(self.actions.name)
                self.dest.undefine(self.actions.name)
        for path in reversed(copied):
            with contextlib.suppress(ComputeError):
                self.dest.delete_file(path)

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
        remote = self.dest
        copied: list[str] = []
        a.domain()
        try:
            details["base_images_copied"] = self._copy_bases(bases, copied)
            self._instance_dir()
            for f in files:
                if f in writable:
                    remote.create_file(f["path"], Volume(
                        name=Path(f["path"]).name, capacity=f["size"], format=f["disk"].format,
                        mode="0600", backing_path=f["backing"],
                        backing_format=f["backing_format"] if f["backing"] else "",
                    ))
                else:
                    remote.upload_file(f["path"], f["path"])
                copied.append(f["path"])
            a.driver.migrate(a.name, remote, params, flags, peer2peer=peer2peer)
        except Exception as exc:
            self._rollback(copied, defined=False)
            raise MigrationError(
                f"live migration of {a.uuid} to {self.dest_uri} failed: {exc}; the "
                f"instance still runs on {a.driver.uri}."
            ) from exc
        finally:
            remote.close()
        shutil.rmtree(a.paths.directory, ignore_errors=True)
        return self._result(True, a.driver.uri, self.dest_uri, state, details)
