#!/usr/bin/python
"""stratus.cloud.volume_snapshot: a snapshot of a volume on its storage host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: volume_snapshot
short_description: Create and delete volume snapshots (LVM snapshots or file copies)
description:
  - Makes a snapshot of a volume exist, as Cinder's volume service does. On C(lvm) it is an LVM
    snapshot LV C(_snapshot-<id>) (needs device-mapper); on C(file) a sparse copy
    C(snapshot-<id>) in the volume's format, independent of later writes to the volume.
  - As in Cinder, a volume in use by a guest or an export is only snapshotted with O(force=true)
    (the copy is then crash-consistent at best).
version_added: "0.1.0"
author: Stratus
options:
  id:
    description: The snapshot's id.
    type: str
    required: true
    aliases: [snapshot_id]
  volume_id:
    description: The volume to snapshot. Required with O(state=present).
    type: str
  state:
    description: Whether the snapshot exists.
    type: str
    choices: [present, absent]
    default: present
  force:
    description: Snapshot a volume that is in use.
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
"""

EXAMPLES = r"""
- name: Snapshot a detached file-backend volume
  stratus.cloud.volume_snapshot:
    id: 3c0f6f9e-7a55-4d3b-8d0e-5d9c2b1a4e77
    volume_id: 0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33
    backend: file

- name: Delete it
  stratus.cloud.volume_snapshot:
    id: 3c0f6f9e-7a55-4d3b-8d0e-5d9c2b1a4e77
    backend: file
    state: absent
"""

RETURN = r"""
snapshot:
  description: The snapshot after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id: {description: Snapshot id., type: str, returned: when present}
    volume_id: {description: The volume it was taken from., type: str, returned: when present}
    backend: {description: C(lvm) or C(file)., type: str, returned: when present}
    path: {description: The snapshot's LV or file., type: str, returned: when present}
    size: {description: Size in bytes., type: int, returned: when present}
    size_gb: {description: Size in GiB., type: float, returned: when present}
    format: {description: C(raw) or C(qcow2)., type: str, returned: when present}
diff:
  description: The snapshot before and after (C({}) when absent); shown under C(--diff).
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
from ansible_collections.stratus.cloud.plugins.module_utils.storage.snapshots import (
    SnapshotDriver,
    SnapshotSpec,
)


def main() -> None:
    argument_spec = {
        "id": {"type": "str", "required": True, "aliases": ["snapshot_id"]},
        "volume_id": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "force": {"type": "bool", "default": False},
        **BACKEND_ARGS,
        **USAGE_ARGS,
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        spec = SnapshotSpec(id=params["id"], volume_id=params["volume_id"] or "", force=params["force"])
        driver = SnapshotDriver(open_backend(params), users=partial(users_of, params=params))
        ensure = driver.ensure_present if params["state"] == "present" else driver.ensure_absent
        outcome = ensure(spec, check=module.check_mode)
    except StorageError as exc:
        module.fail_json(msg=str(exc), snapshot_id=params["id"])
    exit_with(module, outcome, snapshot=outcome.after)


if __name__ == "__main__":
    main()
