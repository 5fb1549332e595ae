#!/usr/bin/python
"""stratus.cloud.volume_export: make a volume reachable from another host over NBD."""

from __future__ import annotations

DOCUMENTATION = r"""
module: volume_export
short_description: Export a volume to a compute host over NBD, per attachment, with access control
description:
  - What Cinder's target drivers (iSCSI with tgt or LIO) do, with NBD. For each attachment, a
    C(qemu-storage-daemon) serves the volume as export C(volume-<volume id>-<attachment id>) on
    its own TCP port of the storage host's address O(host), and an nftables table
    (C(inet stratus_nbd)) lets only the O(allowed) initiator addresses reach that port (others
    get a TCP reset).
  - The daemon is started directly (no systemd) and detached; its state is kept in
    O(export_state_dir), so a re-run with the same arguments changes nothing, a changed
    allow-list is applied without restarting the daemon, and a daemon that died is started again.
  - O(state=absent) (on detach) stops the daemon and removes its access rule.
  - A volume that is not multiattach is exported for one attachment at a time.
version_added: "0.1.0"
author: Stratus
options:
  volume_id:
    description: The volume to export (on this host's backend).
    type: str
    required: true
  attachment_id:
    description: The attachment this export is for (Cinder's attachment id; letters, digits, C(.), C(_), C(-)).
    type: str
    required: true
  state:
    description: Whether the export exists.
    type: str
    choices: [present, absent]
    default: present
  host:
    description: IP address of this storage host the export listens on (no scope id). Required with O(state=present).
    type: str
  port:
    description: TCP port; unset picks the first free one from 10809 and keeps it on re-runs.
    type: int
  allowed:
    description:
      - Initiator (compute host) addresses or prefixes (C(192.0.2.21), C(192.0.2.0/28), no scope ids)
        allowed to connect. Required with O(state=present); exports fail closed, so an empty list is
        an error, and every other source gets a TCP reset.
    type: list
    elements: str
  netns:
    description: Run the daemon and the firewall rules in this network namespace (a storage host stand-in).
    type: str
    default: ""
  binary:
    description: The qemu-storage-daemon program.
    type: path
    default: /usr/bin/qemu-storage-daemon
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
- name: Export a volume for one attachment, reachable only from the compute host
  stratus.cloud.volume_export:
    volume_id: 0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33
    attachment_id: 9a1b2c3d
    backend: file
    host: 192.0.2.10
    allowed: [192.0.2.21]
  register: export

- name: Unexport on detach
  stratus.cloud.volume_export:
    volume_id: 0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33
    attachment_id: 9a1b2c3d
    backend: file
    state: absent
"""

RETURN = r"""
export:
  description: The export after the task (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: NBD export name., type: str, returned: when present}
    volume_id: {description: The volume., type: str, returned: when present}
    attachment_id: {description: The attachment., type: str, returned: when present}
    path: {description: The volume's file or device that is served., type: str, returned: when present}
    format: {description: Format of the volume file (the export serves its guest-visible data)., type: str, returned: when present}
    host: {description: Listening address., type: str, returned: when present}
    port: {description: Listening port., type: int, returned: when present}
    allowed: {description: Allowed initiator addresses., type: list, elements: str, returned: when present}
    multiattach: {description: Whether the volume may be exported to several attachments., type: bool, returned: when present}
    netns: {description: Network namespace of the daemon, or empty., type: str, returned: when present}
    pid: {description: Process id of the daemon (0 in check mode before it starts)., type: int, returned: when present}
    running: {description: Whether the daemon runs., type: bool, returned: when present}
    uri: {description: The export as an C(nbd://) URI., type: str, returned: when present}
    connection:
      description: What stratus.cloud.volume_attachment takes as O(connection) on the compute host.
      type: dict
      returned: when present
diff:
  description: The export before and after (C({}) when absent); shown under C(--diff).
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
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import StorageError
from ansible_collections.stratus.cloud.plugins.module_utils.storage.exports import (
    ExportDriver,
    ExportSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.nbd import NBDExporter
from ansible_collections.stratus.cloud.plugins.module_utils.storage.runner import make_runner


def main() -> None:
    argument_spec = {
        "volume_id": {"type": "str", "required": True},
        "attachment_id": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "host": {"type": "str"},
        "port": {"type": "int"},
        "allowed": {"type": "list", "elements": "str"},
        "netns": {"type": "str", "default": ""},
        "binary": {"type": "path", "default": "/usr/bin/qemu-storage-daemon"},
        **BACKEND_ARGS,
        **USAGE_ARGS,
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        spec = ExportSpec(volume_id=params["volume_id"], attachment_id=params["attachment_id"],
                          host=params["host"] or "", port=params["port"] or 0,
                          allowed=tuple(params["allowed"] or ()), netns=params["netns"])
        exporter = NBDExporter(
            make_runner(), params["export_state_dir"], netns=params["netns"], binary=params["binary"]
        )
        driver = ExportDriver(exporter, partial(open_backend, params))
        ensure = driver.ensure_present if params["state"] == "present" else driver.ensure_absent
        outcome = ensure(spec, check=module.check_mode)
    except StorageError as exc:
        module.fail_json(msg=str(exc), volume_id=params["volume_id"])
    exit_with(module, outcome, export=outcome.after)


if __name__ == "__main__":
    main()
