#!/usr/bin/python
"""stratus.cloud.storage_info: capacity and allocation of this host's block-storage backends."""

from __future__ import annotations

DOCUMENTATION = r"""
module: storage_info
short_description: Capacity and allocation of the block-storage backends on a host
description:
  - Reports, per backend, total and free bytes, provisioned (allocated) bytes and counts of
    volumes and snapshots, with Cinder's scheduler names (C(total_capacity_gb),
    C(free_capacity_gb), C(provisioned_capacity_gb), thin provisioning). It is what the
    block-storage scheduler reads. A backend that is not set up on the host is reported
    with C(available=false) and the reason.
version_added: "0.1.0"
author: Stratus
options:
  backends:
    description: The backends to report. Each has C(name), C(driver) (C(lvm) or C(file)) and C(vg) or C(directory).
    type: list
    elements: dict
    default:
      - {name: lvm, driver: lvm, vg: stratus-volumes}
      - {name: file, driver: file, directory: /var/lib/stratus/volumes}
  lvm_activation:
    description: As in stratus.cloud.volume; decides whether activation is reported as on.
    type: str
    choices: [auto, on, 'off']
    default: auto
  lvm_system_dir:
    description: LVM_SYSTEM_DIR for the LVM commands.
    type: path
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Capacity of this host's backends
  stratus.cloud.storage_info:
  register: storage

- name: Only a file backend in a custom directory
  stratus.cloud.storage_info:
    backends:
      - {name: local, driver: file, directory: /srv/volumes}
"""

RETURN = r"""
backends:
  description: Backend name to its report.
  returned: always
  type: dict
  contains:
    available: {description: Whether the backend exists on this host., type: bool, returned: always}
    reason: {description: Why it is not available., type: str, returned: when not available}
    driver: {description: C(lvm) or C(file)., type: str, returned: always}
    total_bytes: {description: Size of the VG or of the file system., type: int, returned: when available}
    free_bytes: {description: Free bytes in the VG or the file system., type: int, returned: when available}
    provisioned_bytes: {description: Sum of the volumes' sizes., type: int, returned: when available}
    volumes: {description: Number of volumes., type: int, returned: when available}
    snapshots: {description: Number of snapshots., type: int, returned: when available}
    thin_provisioning: {description: Whether volumes are thin (sparse files)., type: bool, returned: when available}
    activation: {description: Whether LVs can be activated (always true for file)., type: bool, returned: when available}
    total_capacity_gb: {description: Cinder's name for total_bytes in GiB., type: float, returned: when available}
    free_capacity_gb: {description: Cinder's name for free_bytes in GiB., type: float, returned: when available}
    provisioned_capacity_gb: {description: Cinder's name for provisioned_bytes in GiB., type: float, returned: when available}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.storage.backends import open_backend
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InvalidRequest,
    NotFound,
    StorageError,
)


def report(params: dict) -> dict:
    out = {}
    for spec in params["backends"]:
        name = spec.get("name") or spec.get("driver")
        driver = spec.get("driver")
        if driver not in ("lvm", "file"):
            raise InvalidRequest(f"backend {name!r}: driver must be lvm or file, not {driver!r}")
        backend = open_backend({**params, "backend": driver, "vg": spec.get("vg"), "directory": spec.get("directory")})
        backend.name = name
        try:
            out[name] = {"available": True, **backend.capacity().facts()}
        except NotFound as exc:
            out[name] = {"available": False, "driver": driver, "reason": str(exc)}
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "backends": {
                "type": "list",
                "elements": "dict",
                "default": [
                    {"name": "lvm", "driver": "lvm", "vg": "stratus-volumes"},
                    {"name": "file", "driver": "file", "directory": "/var/lib/stratus/volumes"},
                ],
            },
            "lvm_activation": {"type": "str", "choices": ["auto", "on", "off"], "default": "auto"},
            "lvm_system_dir": {"type": "path"},
        },
        supports_check_mode=True,
    )
    try:
        backends = report(module.params)
    except StorageError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, backends=backends)


if __name__ == "__main__":
    main()
