"""Module glue shared by the block-storage modules: the backend options, the backend
object they describe, and who is using a volume on this host.

Volume types map to backends as in Cinder (``volume_backend_name``): ``volume_types``
maps a type name to ``lvm`` or ``file``; ``backend`` names one directly.
"""

from __future__ import annotations

from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.storage.clear import (
    CLEAR_METHODS,
    VolumeClear,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    CommandFailed,
    InvalidRequest,
    StorageError,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.filebackend import (
    DEFAULT_DIRECTORY,
    FileBackend,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.lvm import LVM, LVMBackend
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import Volume
from ansible_collections.stratus.cloud.plugins.module_utils.storage.nbd import (
    DEFAULT_STATE_DIR,
    NBDExporter,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.runner import (
    make_command_runner,
    make_runner,
    resolve_activation,
)

DEFAULT_VG = "stratus-volumes"
DEFAULT_VOLUME_TYPES = {"__DEFAULT__": "file", "lvm": "lvm", "file": "file"}

BACKEND_ARGS = {
    "backend": {"type": "str", "choices": ["lvm", "file"]},
    "volume_type": {"type": "str"},
    "volume_types": {"type": "dict", "default": DEFAULT_VOLUME_TYPES},
    "vg": {"type": "str", "default": DEFAULT_VG},
    "directory": {"type": "path", "default": DEFAULT_DIRECTORY},
    "lvm_activation": {"type": "str", "choices": ["auto", "on", "off"], "default": "auto"},
    "lvm_system_dir": {"type": "path"},
    "volume_clear": {"type": "str", "choices": list(CLEAR_METHODS), "default": "zero"},
    "volume_clear_size": {"type": "int", "default": 0},
}

USAGE_ARGS = {
    "libvirt_uri": {"type": "str", "default": "qemu:///system"},
    "export_state_dir": {"type": "path", "default": DEFAULT_STATE_DIR},
}


def backend_kind(params: dict) -> str:
    if params.get("backend"):
        return params["backend"]
    types = params.get("volume_types") or DEFAULT_VOLUME_TYPES
    vtype = params.get("volume_type") or "__DEFAULT__"
    if vtype not in types:
        raise InvalidRequest(
            f"volume type {vtype!r} is not mapped to a backend; known types: "
            f"{', '.join(sorted(types))} (set volume_types, or give backend)"
        )
    kind = types[vtype]
    if kind not in ("lvm", "file"):
        raise InvalidRequest(f"volume type {vtype!r} maps to {kind!r}, which is neither lvm nor file")
    return kind


def open_backend(params: dict) -> LVMBackend | FileBackend:
    """The backend the module's parameters describe."""
    kind = backend_kind(params)
    env = {"LVM_SYSTEM_DIR": params["lvm_system_dir"]} if params.get("lvm_system_dir") else {}
    run = make_runner(env)
    qemu_img = QemuImg(make_command_runner(env), error=CommandFailed, invalid=InvalidRequest)
    clear = VolumeClear(params.get("volume_clear") or "zero", params.get("volume_clear_size") or 0)
    if kind == "lvm":
        activation = resolve_activation(params.get("lvm_activation") or "auto", run)
        return LVMBackend(LVM(run, activation), qemu_img, params.get("vg") or DEFAULT_VG, clear=clear)
    return FileBackend(qemu_img, params.get("directory") or DEFAULT_DIRECTORY, clear=clear, run=run)


def users_of(volume: Volume, params: dict) -> list[str]:
    """Who holds the volume on this host: guests (libvirt) and NBD exports.

    A host without libvirt (a storage-only host) has no guests to ask."""
    users: list[str] = []
    try:
        from ansible_collections.stratus.cloud.plugins.module_utils.storage.attach import (
            VolumeAttacher,
        )

        attacher = VolumeAttacher(params.get("libvirt_uri") or "qemu:///system")
    except StorageError:
        attacher = None
    if attacher is not None:
        users += [f"guest {n}" for n in attacher.attached_to(volume.id, volume.path)]
    exporter = NBDExporter(make_runner(), params.get("export_state_dir") or DEFAULT_STATE_DIR)
    users += [f"export {e.name} (attachment {e.attachment_id})" for e in exporter.exports_of(volume.id)]
    return users
