#!/usr/bin/python
"""stratus.cloud.volume: a block-storage volume on its storage host (what cinder-volume does)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: volume
short_description: Create, extend and delete block-storage volumes (LVM or file backend)
description:
  - Makes a volume C(volume-<id>) exist on this storage host, as Cinder's volume service does,
    as an LV in a volume group (C(lvm)) or a raw or qcow2 file in a directory (C(file)).
  - A new volume is empty, a copy of an image (converted with qemu-img), of a snapshot, or
    a clone of another volume. An existing volume only grows; its source and format are fixed.
  - Deleting fails while a guest on this host or an NBD export uses the volume, and while it
    has snapshots unless O(cascade=true) (Cinder's rules). A failed create leaves nothing behind.
version_added: "0.1.0"
author: Stratus
options:
  id:
    description:
      - The volume's id (Cinder's UUID); the volume is named C(volume-<id>).
      - 1 to 128 letters, digits, C(.), C(_) or C(-); anything else (C(/), C(..), spaces) is refused.
    type: str
    required: true
    aliases: [volume_id]
  state:
    description: Whether the volume exists.
    type: str
    choices: [present, absent]
    default: present
  size:
    description:
      - Size in GiB. Required to create an empty volume; for a copy it defaults to the source's size.
      - A larger size on an existing volume extends it (the volume must be detached); a smaller one is an error.
    type: int
  format:
    description: File format of a C(file) backend volume (C(lvm) volumes are raw).
    type: str
    choices: [raw, qcow2]
    default: raw
  multiattach:
    description: Whether several guests may attach the volume at once. Unset keeps what the volume has (false on create).
    type: bool
  image:
    description:
      - Path of an image file on this host to copy into the new volume.
      - Its format is never guessed from its bytes; it is O(image_format), or the format the image
        cache recorded for it (C(<images dir>/.meta/<id>.json)). Without either the task fails.
    type: path
  image_format:
    description: The format recorded for O(image) (Glance's C(disk_format)); passed to qemu-img with C(-f).
    type: str
    choices: [raw, qcow2]
  snapshot_id:
    description: Create the volume from this snapshot (same backend).
    type: str
  source_volid:
    description: Create the volume as a clone of this volume (same backend).
    type: str
  cascade:
    description: With O(state=absent), delete the volume's snapshots too.
    type: bool
    default: false
extends_documentation_fragment:
  - stratus.cloud.storage_backend
  - stratus.cloud.storage_backend.usage
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - Without device-mapper (O(lvm_activation=off)), LVM volumes can only be created empty, extended
    and deleted; copies into an LV fail with a clear error. Use the C(file) backend on such hosts.
"""

EXAMPLES = r"""
- name: An empty 10 GiB volume on the LVM backend
  stratus.cloud.volume:
    id: 6b8e4f5c-3f2a-4c59-9d8c-0c1f6a2b7e10
    size: 10
    backend: lvm
    vg: stratus-volumes

- name: A bootable volume from an image on the file backend, as qcow2
  stratus.cloud.volume:
    id: 0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33
    volume_type: file
    image: /var/lib/stratus/images/cirros.qcow2
    image_format: qcow2
    format: qcow2
    size: 2

- name: Delete a volume and its snapshots
  stratus.cloud.volume:
    id: 6b8e4f5c-3f2a-4c59-9d8c-0c1f6a2b7e10
    backend: lvm
    state: absent
    cascade: true
"""

RETURN = r"""
volume:
  description: The volume as it is after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id: {description: Volume id., type: str, returned: when present}
    name: {description: Host name of the volume (C(volume-<id>)), type: str, returned: when present}
    backend: {description: Backend holding it (C(lvm) or C(file)), type: str, returned: when present}
    path: {description: Block device or file of the volume on this host, type: str, returned: when present}
    size: {description: Size in bytes, type: int, returned: when present}
    size_gb: {description: Size in GiB, type: float, returned: when present}
    format: {description: C(raw) or C(qcow2), type: str, returned: when present}
    multiattach: {description: Whether several guests may attach it, type: bool, returned: when present}
    snapshots: {description: Ids of its snapshots, type: list, elements: str, returned: when present}
diff:
  description: The volume before and after (C({}) when absent); shown under C(--diff).
  returned: always
  type: dict
actions:
  description: The steps taken (in check mode, the steps that would be taken), in order.
  returned: always
  type: list
  elements: str
"""

from functools import partial

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.storage.backends import (
    BACKEND_ARGS,
    USAGE_ARGS,
    open_backend,
    users_of,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import StorageError
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import Source
from ansible_collections.stratus.cloud.plugins.module_utils.storage.volumes import (
    VolumeDriver,
    VolumeSpec,
)


def _source(params: dict) -> Source:
    if params["image"]:
        return Source("image", params["image"], params["image_format"] or "")
    if params["snapshot_id"]:
        return Source("snapshot", params["snapshot_id"])
    if params["source_volid"]:
        return Source("volume", params["source_volid"])
    return Source()


def main() -> None:
    argument_spec = {
        "id": {"type": "str", "required": True, "aliases": ["volume_id"]},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "size": {"type": "int"},
        "format": {"type": "str", "choices": ["raw", "qcow2"], "default": "raw"},
        "multiattach": {"type": "bool"},
        "image": {"type": "path"},
        "image_format": {"type": "str", "choices": ["raw", "qcow2"]},
        "snapshot_id": {"type": "str"},
        "source_volid": {"type": "str"},
        "cascade": {"type": "bool", "default": False},
        **BACKEND_ARGS,
        **USAGE_ARGS,
    }
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[["image", "snapshot_id", "source_volid"]],
        supports_check_mode=True,
    )
    params = module.params
    try:
        spec = VolumeSpec(id=params["id"], size_gb=params["size"], format=params["format"],
                          multiattach=params["multiattach"], source=_source(params), cascade=params["cascade"])
        driver = VolumeDriver(open_backend(params), users=partial(users_of, params=params))
        ensure = driver.ensure_present if params["state"] == "present" else driver.ensure_absent
        outcome = ensure(spec, check=module.check_mode)
    except StorageError as exc:
        module.fail_json(msg=str(exc), volume_id=params["id"])
    exit_with(module, outcome, volume=outcome.after)


if __name__ == "__main__":
    main()
