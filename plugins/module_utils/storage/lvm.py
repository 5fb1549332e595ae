"""LVM: the ``lvm`` tools as a runner class, and a volume backend on one volume group.

Every report is read with ``--reportformat json --units b --nosuffix``. With activation
off (no device-mapper: containers, CI) every command gets ``--driverloaded n`` and new
LVs are created inactive and unzeroed (``-an -Zn``); metadata operations (create,
extend, remove, tags) work, anything that reads or writes LV data (copying an image,
snapshot or volume into an LV, LVM snapshots themselves) raises ``Unsupported``.
"""

from __future__ import annotations

import json
import os

from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.storage.clear import VolumeClear
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    CommandFailed,
    InvalidRequest,
    NoSpace,
    NotFound,
    Unsupported,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.images import image_source
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import (
    Capacity,
    Snapshot,
    Source,
    Volume,
    check_deletable,
    check_id,
    check_no_shrink,
    snapshot_name,
    volume_name,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.runner import Runner

MULTIATTACH_TAG = "stratus.multiattach"
VG_FIELDS = "vg_name,vg_size,vg_free,vg_extent_size,lv_count"
LV_FIELDS = "lv_name,lv_size,lv_path,lv_tags,origin,lv_attr"


def snapshot_lv_name(snapshot_id: str) -> str:
    """Cinder's LVM driver names snapshot LVs ``_snapshot-<id>`` (the id validated)."""
    return f"_{snapshot_name(snapshot_id)}"


def _not_found(exc: CommandFailed) -> bool:
    text = exc.stderr.lower()
    return "not found" in text or "failed to find" in text


def _cow_device(vg: str, lv_name: str) -> str:
    """A snapshot LV's copy-on-write device (device-mapper doubles '-' inside names)."""
    return f"/dev/mapper/{vg.replace('-', '--')}-{lv_name.replace('-', '--')}-cow"


class LVM:
    """The lvm2 command-line tools; argv building and JSON report parsing only."""

    def __init__(self, run: Runner, activation: bool = True) -> None:
        self.run = run
        self.activation = activation

    def _argv(self, tool: str, *args: str) -> list[str]:
        flags = [] if self.activation else ["--driverloaded", "n"]
        return [tool, *flags, *args]

    def _report(self, tool: str, kind: str, fields: str, *targets: str) -> list[dict]:
        argv = self._argv(
            tool, "--reportformat", "json", "--units", "b", "--nosuffix", "-o", fields, *targets
        )
        data = json.loads(self.run(argv))
        rows: list[dict] = []
        for report in data.get("report", []):
            rows.extend(report.get(kind, []))
        return rows

    def vg(self, vg: str) -> dict | None:
        """The volume group's report row with integer sizes, or None if it does not exist."""
        try:
            rows = self._report("vgs", "vg", VG_FIELDS, vg)
        except CommandFailed as exc:
            if _not_found(exc):
                return None
            raise
        if not rows:
            return None
        row = rows[0]
        return {
            "name": row["vg_name"],
            "size": int(row["vg_size"]),
            "free": int(row["vg_free"]),
            "extent_size": int(row["vg_extent_size"]),
            "lv_count": int(row.get("lv_count") or 0),
        }

    def lvs(self, vg: str) -> list[dict]:
        rows = self._report("lvs", "lv", LV_FIELDS, vg)
        return [
            {
                "name": r["lv_name"],
                "size": int(r["lv_size"]),
                "path": r.get("lv_path") or f"/dev/{vg}/{r['lv_name']}",
                "tags": [t for t in r.get("lv_tags", "").split(",") if t],
                "origin": r.get("origin", ""),
                "attr": r.get("lv_attr", ""),
            }
            for r in rows
        ]

    def lvcreate(self, vg: str, name: str, size: int, tags: tuple[str, ...] = ()) -> None:
        args = ["-y", "-n", name, "-L", f"{size}b"]
        for tag in tags:
            args += ["--addtag", tag]
        if not self.activation:
            args += ["-an", "-Zn"]
        self.run(self._argv("lvcreate", *args, vg))

    def lvsnapshot(self, vg: str, origin: str, name: str, size: int) -> None:
        self.run(self._argv("lvcreate", "-y", "-s", "-n", name, "-L", f"{size}b", f"{vg}/{origin}"))

    def lvextend(self, vg: str, name: str, size: int) -> None:
        self.run(self._argv("lvextend", "-L", f"{size}b", f"{vg}/{name}"))

    def lvremove(self, vg: str, name: str) -> None:
        self.run(self._argv("lvremove", "-y", f"{vg}/{name}"))

    def lvtags(self, vg: str, name: str, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> None:
        args: list[str] = []
        for tag in add:
            args += ["--addtag", tag]
        for tag in remove:
            args += ["--deltag", tag]
        if args:
            self.run(self._argv("lvchange", *args, f"{vg}/{name}"))


class LVMBackend:
    """Volumes as LVs ``volume-<id>`` in one volume group, snapshots as ``_snapshot-<id>``."""

    driver = "lvm"

    def __init__(
        self, lvm: LVM, qemu_img: QemuImg, vg: str, name: str = "lvm", *, clear: VolumeClear | None = None,
    ) -> None:
        self.lvm = lvm
        self.qemu_img = qemu_img
        self.vg_name = check_id(vg, "volume group name")
        self.name = name
        self.clear = clear or VolumeClear()

    # reads ---------------------------------------------------------------
    def path_of(self, volume_id: str) -> str:
        return self._lv_path(volume_name(volume_id))

    def _lv_path(self, lv_name: str) -> str:
        # Both parts are validated ids (no '/', no '..'): the path stays in /dev/<vg>/.
        # Lexical on purpose: an active LV's /dev/<vg>/<lv> is a symlink to /dev/dm-N.
        return f"/dev/{self.vg_name}/{check_id(lv_name, 'logical volume name')}"

    def check_path(self, path: str) -> str:
        """A device path given from outside (a connection's ``path``): refused unless it is
        exactly ``/dev/<this vg>/<an LV name>``."""
        text = str(path or "")
        parent, _, lv_name = text.rpartition("/")
        if parent != f"/dev/{self.vg_name}" or os.path.normpath(text) != text:
            raise InvalidRequest(
                f"volume path {path!r} is not an LV of volume group {self.vg_name!r}; only "
                f"/dev/{self.vg_name}/<volume> devices of this backend may be used"
            )
        return self._lv_path(lv_name)

    def _vg(self) -> dict:
        vg = self.lvm.vg(self.vg_name)
        if vg is None:
            raise NotFound(
                f"volume group {self.vg_name!r} does not exist on this host; create it "
                "(roles/block_storage, or pvcreate + vgcreate) or set 'vg' to an existing one"
            )
        return vg

    def _lvs(self) -> dict[str, dict]:
        try:
            rows = self.lvm.lvs(self.vg_name)
        except CommandFailed as exc:
            if _not_found(exc):
                self._vg()  # raises the NotFound that tells how to make the VG
            raise
        return {lv["name"]: lv for lv in rows}

    @staticmethod
    def _round(size: int, vg: dict) -> int:
        extent = vg["extent_size"]
        return -(-size // extent) * extent

    def _volume(self, lv: dict, lvs: dict[str, dict]) -> Volume:
        snaps = tuple(
            sorted(
                n.removeprefix("_snapshot-")
                for n, s in lvs.items()
                if s["origin"] == lv["name"] and n.startswith("_snapshot-")
            )
        )
        return Volume(
            id=lv["name"].removeprefix("volume-"),
            backend=self.name,
            path=lv["path"],
            size=lv["size"],
            format="raw",
            multiattach=MULTIATTACH_TAG in lv["tags"],
            snapshots=snaps,
        )

    def get_volume(self, volume_id: str) -> Volume | None:
        lvs = self._lvs()
        lv = lvs.get(volume_name(volume_id))
        return self._volume(lv, lvs) if lv else None

    def list_volumes(self) -> list[Volume]:
        lvs = self._lvs()
        return [self._volume(lv, lvs) for n, lv in sorted(lvs.items()) if n.startswith("volume-")]

    def get_snapshot(self, snapshot_id: str) -> Snapshot | None:
        lv = self._lvs().get(snapshot_lv_name(snapshot_id))
        if not lv:
            return None
        return Snapshot(
            id=snapshot_id,
            volume_id=lv["origin"].removeprefix("volume-"),
            backend=self.name,
            path=lv["path"],
            size=lv["size"],
        )

    def capacity(self) -> Capacity:
        vg = self._vg()
        lvs = self.lvm.lvs(self.vg_name)
        return Capacity(
            backend=self.name,
            driver=self.driver,
            total_bytes=vg["size"],
            free_bytes=vg["free"],
            provisioned_bytes=sum(lv["size"] for lv in lvs),
            volumes=sum(1 for lv in lvs if lv["name"].startswith("volume-")),
            snapshots=sum(1 for lv in lvs if lv["name"].startswith("_snapshot-")),
            thin_provisioning=False,
            activation=self.lvm.activation,
        )

    # writes --------------------------------------------------------------
    def _need_activation(self, what: str) -> None:
        if not self.lvm.activation:
            raise Unsupported(
                f"{what} on LVM needs device-mapper (LV data must be opened), and activation is "
                "off on this host; use the 'file' backend here, or lvm_activation=on on a host "
                "with device-mapper"
            )

    def _need_space(self, size: int, what: str, vg: dict | None = None) -> None:
        vg = vg or self._vg()
        if size > vg["free"]:
            raise NoSpace(
                f"volume group {self.vg_name!r} has {vg['free']} bytes free, {what} needs "
                f"{size}; free space in the VG, add a PV (vgextend) or use another backend"
            )

    def create_volume(
        self, volume_id: str, size: int, *, fmt: str = "raw", multiattach: bool = False,
        source: Source | None = None,
    ) -> Volume:
        if fmt != "raw":
            raise InvalidRequest(f"LVM volumes are raw block devices; format {fmt!r} is not possible")
        name = volume_name(volume_id)
        vg = self._vg()
        size = self._round(size, vg)
        source = source or Source()
        src_path = src_fmt = None
        if source.kind != "empty":
            self._need_activation(f"creating a volume from a {source.kind}")
            src_path, src_fmt, src_size = self.source_of(source)
            if size < src_size:
                raise InvalidRequest(
                    f"size {size} bytes is smaller than the {source.kind} {source.ref!r} "
                    f"({src_size} bytes); ask for at least its size"
                )
        self._need_space(size, f"volume {name}", vg)
        tags = (MULTIATTACH_TAG,) if multiattach else ()
        self.lvm.lvcreate(self.vg_name, name, size, tags)
        if src_path:
            try:
                self.qemu_img.convert(
                    src_path, self._lv_path(name), "raw", src_fmt, existing=True,
                )
            except Exception:
                self.lvm.lvremove(self.vg_name, name)
                raise
        volume = self.get_volume(volume_id)
        assert volume is not None
        return volume

    def source_of(self, source: Source) -> tuple[str, str, int]:
        """(path, format, size in bytes) of a new volume's image, snapshot or volume source."""
        if source.kind == "image":
            return image_source(self.qemu_img, source)
        if source.kind == "snapshot":
            snap = self.get_snapshot(source.ref)
            if snap is None:
                raise NotFound(f"snapshot {source.ref!r} does not exist in VG {self.vg_name!r}")
            return snap.path, "raw", snap.size
        if source.kind == "volume":
            vol = self.get_volume(source.ref)
            if vol is None:
                raise NotFound(f"source volume {source.ref!r} does not exist in VG {self.vg_name!r}")
            return vol.path, "raw", vol.size
        raise InvalidRequest(f"unknown source kind {source.kind!r}")

    def extend_volume(self, volume_id: str, size: int) -> Volume:
        volume = self._existing(volume_id)
        size = self._round(size, self._vg())
        check_no_shrink(volume, size)
        if size > volume.size:
            self._need_space(size - volume.size, f"extending volume {volume_id}")
            self.lvm.lvextend(self.vg_name, volume_name(volume_id), size)
        return self._existing(volume_id)

    def set_multiattach(self, volume_id: str, flag: bool) -> Volume:
        name = volume_name(volume_id)
        if flag:
            self.lvm.lvtags(self.vg_name, name, add=(MULTIATTACH_TAG,))
        else:
            self.lvm.lvtags(self.vg_name, name, remove=(MULTIATTACH_TAG,))
        return self._existing(volume_id)

    def delete_volume(self, volume_id: str, *, cascade: bool = False) -> list[str]:
        """Clear (``volume_clear``) and remove the LV and, with ``cascade``, its snapshots;
        the steps taken, as sentences."""
        volume = self._existing(volume_id)
        check_deletable(volume, cascade)
        actions: list[str] = []
        lvs = self._lvs()
        for snap in volume.snapshots:
            actions += self._clear_and_remove(snapshot_lv_name(snap), lvs)
        return actions + self._clear_and_remove(volume_name(volume_id), lvs)

    def _clear_and_remove(self, lv_name: str, lvs: dict[str, dict]) -> list[str]:
        lv = lvs.get(lv_name)
        if lv is None:
            return []
        actions = []
        if self.clear.enabled:
            if self.lvm.activation:
                # A snapshot's own data is its copy-on-write store (Cinder clears "<snap>-cow").
                device = _cow_device(self.vg_name, lv_name) if lv["origin"] else self._lv_path(lv_name)
                self.lvm.run(self.clear.device_argv(device, lv["size"]))
                actions.append(f"cleared {self.clear.limit(lv['size'])} bytes of {device} ({self.clear.method})")
            else:
                actions.append(
                    f"not cleared {lv_name}: LV activation is off on this host, so its data was never "
                    "opened or written"
                )
        self.lvm.lvremove(self.vg_name, lv_name)
        actions.append(f"removed LV {self.vg_name}/{lv_name}")
        return actions

    def create_snapshot(self, snapshot_id: str, volume_id: str, *, force: bool = False) -> Snapshot:
        volume = self._existing(volume_id)
        self._need_activation("a snapshot")
        self._need_space(volume.size, f"snapshot {snapshot_id}")
        self.lvm.lvsnapshot(self.vg_name, volume_name(volume_id), snapshot_lv_name(snapshot_id), volume.size)
        snap = self.get_snapshot(snapshot_id)
        assert snap is not None
        return snap

    def delete_snapshot(self, snapshot_id: str) -> list[str]:
        return self._clear_and_remove(snapshot_lv_name(snapshot_id), self._lvs())

    def _existing(self, volume_id: str) -> Volume:
        volume = self.get_volume(volume_id)
        if volume is None:
            raise NotFound(f"volume {volume_id} does not exist in VG {self.vg_name!r}")
        return volume
