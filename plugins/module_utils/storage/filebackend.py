"""The file backend: volumes as raw or qcow2 files in one directory (hosts without spare disks).

Layout, Cinder's names: ``volume-<id>`` (the data) beside ``volume-<id>.json`` (format,
multiattach), ``snapshot-<id>`` (a full sparse copy) beside ``snapshot-<id>.json``
(volume id, format). The sidecar is written last and removed first, so a volume exists
exactly when both are there; a failed create removes what it wrote.
"""

from __future__ import annotations

import contextlib
import json
import os

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import (
    FORMATS,
    QemuImg,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.clear import VolumeClear
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InvalidRequest,
    NotFound,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.images import image_source
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import (
    Capacity,
    Snapshot,
    Source,
    Volume,
    check_deletable,
    check_no_shrink,
    snapshot_name,
    volume_name,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.runner import (
    Runner,
    make_runner,
)

DEFAULT_DIRECTORY = "/var/lib/stratus/volumes"


def _valid_id(text: str) -> bool:
    try:
        validate.resource_id(text)
    except validate.InvalidValue:
        return False
    return True


class FileBackend:
    driver = "file"

    def __init__(
        self, qemu_img: QemuImg, directory: str = DEFAULT_DIRECTORY, name: str = "file", *,
        clear: VolumeClear | None = None, run: Runner | None = None,
    ) -> None:
        self.qemu_img = qemu_img
        self.directory = directory
        self.name = name
        self.clear = clear or VolumeClear()
        self.run = run or make_runner()  # for ``shred`` (volume_clear=shred)

    # paths and sidecars ------------------------------------------------------
    def _check_dir(self) -> None:
        if not os.path.isdir(self.directory):
            raise NotFound(
                f"volume directory {self.directory!r} does not exist; create it "
                "(roles/block_storage) or set 'directory' to an existing one"
            )

    def path_of(self, volume_id: str) -> str:
        return self._path(volume_name(volume_id))

    def _path(self, name: str) -> str:
        """``directory/name``, refused (InvalidRequest) unless it stays inside the directory
        (no '..', no absolute name, no symlink leading out)."""
        validate.path_under(self.directory, name, what="volume file", error=InvalidRequest)
        return os.path.join(self.directory, name)

    def check_path(self, path: str) -> str:
        """A volume file path given from outside (a connection's ``path``): refused unless
        it is inside this backend's directory."""
        validate.inside(path, self.directory, what="volume path", error=InvalidRequest)
        return path

    def _read_meta(self, name: str) -> dict | None:
        try:
            with open(self._path(name + ".json"), encoding="utf-8") as fh:
                return json.load(fh)
        except FileNotFoundError:
            return None

    def _write_meta(self, name: str, meta: dict) -> None:
        final = self._path(name + ".json")
        tmp = self._path(name + ".json.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(meta, fh, sort_keys=True)
        os.replace(tmp, final)

    def _remove(self, name: str) -> None:
        for path in (self._path(name + ".json"), self._path(name)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def _size(self, path: str, fmt: str) -> int:
        if fmt == "raw":
            return os.stat(path).st_size
        return self.qemu_img.virtual_size(path, fmt)

    def _snapshot_metas(self) -> dict[str, dict]:
        out = {}
        for entry in os.listdir(self.directory):
            if entry.startswith("snapshot-") and entry.endswith(".json"):
                sid = entry[len("snapshot-") : -len(".json")]
                if not _valid_id(sid):
                    continue  # not a name Stratus writes
                meta = self._read_meta(snapshot_name(sid))
                if meta is not None and os.path.exists(self._path(snapshot_name(sid))):
                    out[sid] = meta
        return out

    # reads -----------------------------------------------------------------
    def get_volume(self, volume_id: str, _snaps: dict[str, dict] | None = None) -> Volume | None:
        self._check_dir()
        name = volume_name(volume_id)
        meta = self._read_meta(name)
        path = self._path(name)
        if meta is None or not os.path.exists(path):
            return None
        snaps = self._snapshot_metas() if _snaps is None else _snaps
        return Volume(
            id=volume_id,
            backend=self.name,
            path=path,
            size=self._size(path, meta["format"]),
            format=meta["format"],
            multiattach=bool(meta.get("multiattach")),
            snapshots=tuple(sorted(s for s, m in snaps.items() if m.get("volume_id") == volume_id)),
        )

    def list_volumes(self) -> list[Volume]:
        self._check_dir()
        snaps = self._snapshot_metas()
        out = []
        for entry in sorted(os.listdir(self.directory)):
            if entry.startswith("volume-") and entry.endswith(".json") and _valid_id(entry[7:-5]):
                vol = self.get_volume(entry[len("volume-") : -len(".json")], snaps)
                if vol:
                    out.append(vol)
        return out

    def get_snapshot(self, snapshot_id: str) -> Snapshot | None:
        self._check_dir()
        name = snapshot_name(snapshot_id)
        meta = self._read_meta(name)
        path = self._path(name)
        if meta is None or not os.path.exists(path):
            return None
        return Snapshot(
            id=snapshot_id,
            volume_id=meta["volume_id"],
            backend=self.name,
            path=path,
            size=self._size(path, meta["format"]),
            format=meta["format"],
        )

    def capacity(self) -> Capacity:
        self._check_dir()
        st = os.statvfs(self.directory)
        volumes = self.list_volumes()
        snaps = self._snapshot_metas()
        return Capacity(
            backend=self.name,
            driver=self.driver,
            total_bytes=st.f_blocks * st.f_frsize,
            free_bytes=st.f_bavail * st.f_frsize,
            provisioned_bytes=sum(v.size for v in volumes),
            volumes=len(volumes),
            snapshots=len(snaps),
            thin_provisioning=True,
        )

    # writes ----------------------------------------------------------------
    def create_volume(
        self, volume_id: str, size: int, *, fmt: str = "raw", multiattach: bool = False,
        source: Source | None = None,
    ) -> Volume:
        self._check_dir()
        source = source or Source()
        if fmt not in FORMATS:
            raise InvalidRequest(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
        name = volume_name(volume_id)
        path = self._path(name)
        if os.path.exists(path):
            raise InvalidRequest(
                f"{path} exists without its metadata ({path}.json): a half-made volume from "
                "outside Stratus; remove the file or pick another volume id"
            )
        try:
            if source.kind == "empty":
                self.qemu_img.create(path, size, fmt, preallocation="off" if fmt == "raw" else "")
            else:
                src_path, src_fmt, src_size = self.source_of(source)
                if size < src_size:
                    raise InvalidRequest(
                        f"size {size} bytes is smaller than the {source.kind} {source.ref!r} "
                        f"({src_size} bytes); ask for at least its size"
                    )
                self.qemu_img.convert(src_path, path, fmt, src_fmt)
                if size > src_size:
                    self.qemu_img.resize(path, size, fmt)
            self._write_meta(name, {"format": fmt, "multiattach": multiattach})
        except BaseException:
            self._remove(name)
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
                raise NotFound(f"snapshot {source.ref!r} does not exist in {self.directory}")
            return snap.path, snap.format, snap.size
        if source.kind == "volume":
            vol = self.get_volume(source.ref)
            if vol is None:
                raise NotFound(f"source volume {source.ref!r} does not exist in {self.directory}")
            return vol.path, vol.format, vol.size
        raise InvalidRequest(f"unknown source kind {source.kind!r}")

    def extend_volume(self, volume_id: str, size: int) -> Volume:
        volume = self._existing(volume_id)
        check_no_shrink(volume, size)
        if size > volume.size:
            self.qemu_img.resize(volume.path, size, volume.format)
        return self._existing(volume_id)

    def set_multiattach(self, volume_id: str, flag: bool) -> Volume:
        volume = self._existing(volume_id)
        self._write_meta(volume_name(volume_id), {"format": volume.format, "multiattach": flag})
        return self._existing(volume_id)

    def delete_volume(self, volume_id: str, *, cascade: bool = False) -> list[str]:
        """Clear (``volume_clear``) and remove the volume and, with ``cascade``, its
        snapshots; the steps taken, as sentences."""
        volume = self._existing(volume_id)
        check_deletable(volume, cascade)
        actions: list[str] = []
        for snap in volume.snapshots:
            actions += self._clear_and_remove(snapshot_name(snap))
        return actions + self._clear_and_remove(volume_name(volume_id))

    def _clear_and_remove(self, name: str) -> list[str]:
        actions = []
        path = self._path(name)
        if self.clear.enabled and os.path.exists(path):
            # the sidecar goes first: a half-cleared file is no volume any more
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(name + ".json"))
            actions.append(self.clear.clear_file(path, self.run))
        self._remove(name)
        actions.append(f"removed {name} from {self.directory}")
        return actions

    def create_snapshot(self, snapshot_id: str, volume_id: str, *, force: bool = False) -> Snapshot:
        volume = self._existing(volume_id)
        name = snapshot_name(snapshot_id)
        try:
            self.qemu_img.convert(
                volume.path, self._path(name), volume.format, volume.format, force_share=force,
            )
            self._write_meta(name, {"volume_id": volume_id, "format": volume.format})
        except BaseException:
            self._remove(name)
            raise
        snap = self.get_snapshot(snapshot_id)
        assert snap is not None
        return snap

    def delete_snapshot(self, snapshot_id: str) -> list[str]:
        self._check_dir()
        return self._clear_and_remove(snapshot_name(snapshot_id))

    def _existing(self, volume_id: str) -> Volume:
        volume = self.get_volume(volume_id)
        if volume is None:
            raise NotFound(f"volume {volume_id} does not exist in {self.directory}")
        return volume
