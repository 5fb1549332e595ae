#!/usr/bin/python
"""stratus.cloud.volume_exports: bring back every NBD export recorded on a storage host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: volume_exports
short_description: Bring back every NBD export recorded on this storage host
description:
  - The exports that M(stratus.cloud.volume_export) made run as detached
    C(qemu-storage-daemon) processes (no systemd). After a host restart, or when a daemon was
    killed, this module starts every recorded export whose daemon is not running again, with
    what was recorded in O(export_state_dir) (volume data, address, port, allow-list), so the
    attachments reconnect to the same C(nbd://) URI.
  - Each network namespace's allow-list table (C(inet stratus_nbd)) is rewritten when it
    differs from its recorded exports. Exports that run and whose table matches are left
    alone, so a second run changes nothing.
  - The block_storage role runs it on every run.
version_added: "0.1.0"
author: Stratus
options:
  export_state_dir:
    description: Where M(stratus.cloud.volume_export) records the exports of this host.
    type: path
    default: /var/lib/stratus/exports
  binary:
    description: The qemu-storage-daemon program.
    type: path
    default: /usr/bin/qemu-storage-daemon
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Bring back the NBD exports of this storage host
  stratus.cloud.volume_exports:
    export_state_dir: /var/lib/stratus/exports
  register: exports

- name: Show what was started again
  ansible.builtin.debug:
    var: exports.actions
"""

RETURN = r"""
exports:
  description: Every recorded export after the task (as it would be, in check mode), by export name.
  returned: always
  type: dict
  sample:
    volume-0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33-9a1b2c3d:
      host: 192.0.2.10
      port: 10809
      allowed: [192.0.2.21]
      running: true
      uri: nbd://192.0.2.10:10809/volume-0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33-9a1b2c3d
diff:
  description: The exports before and after, by name (without process ids); shown under C(--diff).
  returned: always
  type: dict
actions:
  description: The steps taken (in check mode, the steps that would be taken), in order.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import StorageError
from ansible_collections.stratus.cloud.plugins.module_utils.storage.export_restore import (
    restore_exports,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.nbd import NBDExporter
from ansible_collections.stratus.cloud.plugins.module_utils.storage.runner import make_runner


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "export_state_dir": {"type": "path", "default": "/var/lib/stratus/exports"},
            "binary": {"type": "path", "default": "/usr/bin/qemu-storage-daemon"},
        },
        supports_check_mode=True,
    )
    params = module.params
    run = make_runner()
    try:
        outcome = restore_exports(
            lambda netns: NBDExporter(run, params["export_state_dir"], netns=netns, binary=params["binary"]),
            check=module.check_mode,
        )
    except StorageError as exc:
        module.fail_json(msg=str(exc), export_state_dir=params["export_state_dir"])
    exit_with(module, outcome, exports=outcome.after)


if __name__ == "__main__":
    main()
