#!/usr/bin/python
# Copyright: Stratus developers
# Apache-2.0
"""stratus.cloud.instance_info: facts about libvirt guests."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: instance_info
short_description: Facts about Stratus guests on a compute host
description:
  - Returns state, vCPUs, RAM, CPU time, disks and NICs of Stratus guests (domains with
    Stratus metadata) read from libvirt through C(LibvirtDriver)
    (C(plugins/module_utils/compute/libvirt_driver.py)). Changes nothing.
version_added: "0.1.0"
author: Stratus developers
options:
  uuid:
    description: Only the instance with this uuid (domain C(instance-<uuid>) unless O(name)).
    type: str
  name:
    description: Only the domain with this name.
    type: str
  all_domains:
    description: Also list domains that Stratus does not own.
    type: bool
    default: false
  uri:
    description: libvirt connection URI.
    type: str
    default: qemu:///system
attributes:
  check_mode:
    support: full
    details: Read-only; the same in check mode.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: One guest
  stratus.cloud.instance_info:
    uuid: 6f1c2f5e-1d5a-4c59-9d5e-0b7b3f1f0a11
  register: info

- name: Every Stratus guest on the host
  stratus.cloud.instance_info:
"""

RETURN = r"""
instances:
  description: One entry per guest ([] when the asked guest does not exist).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Domain name., type: str, returned: always}
    uuid: {description: Instance uuid (domain uuid)., type: str, returned: always}
    owned: {description: The domain carries Stratus metadata., type: bool, returned: always}
    display_name: {description: Display name., type: str, returned: always}
    image_id: {description: Base image., type: str, returned: always}
    state: {description: "running, paused, suspended, stopped or crashed.", type: str, returned: always}
    virt_type: {description: kvm or qemu., type: str, returned: always}
    machine: {description: Machine type., type: str, returned: always}
    vcpus: {description: vCPUs in the definition., type: int, returned: always}
    max_vcpus: {description: Most vCPUs a live resize may give., type: int, returned: always}
    memory_mb: {description: RAM in MiB., type: int, returned: always}
    max_memory_mb: {description: Most RAM a live resize may give., type: int, returned: always}
    root_gb: {description: Root disk GiB (0 = image size)., type: int, returned: always}
    ephemeral_gb: {description: Ephemeral disk GiB., type: int, returned: always}
    swap_mb: {description: Swap disk MiB., type: int, returned: always}
    disks: {description: "Disks: target, source, bus, device, format, type, serial, readonly.", type: list, elements: dict, returned: always}
    nics: {description: "NICs: mac, bridge, target, model, mtu.", type: list, elements: dict, returned: always}
    console_log: {description: Serial console log file., type: str, returned: always}
    cpu_time_ns: {description: CPU time used (0 when not running)., type: int, returned: always}
    memory_used_mb: {description: Current RAM of the running guest., type: int, returned: always}
    vcpus_live: {description: vCPUs of the running guest., type: int, returned: always}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import ComputeError
from ansible_collections.stratus.cloud.plugins.module_utils.compute.instance import guest_facts
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.paths import domain_name


def collect(drv: LibvirtDriver, names: list[str]) -> list[dict]:
    out = []
    for name in names:
        guest = drv.get_guest(name)
        if guest is None:
            continue
        out.append(guest_facts(guest, drv.power_state(name), drv.stats(name)))
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            uuid=dict(type="str"),
            name=dict(type="str"),
            all_domains=dict(type="bool", default=False),
            uri=dict(type="str", default="qemu:///system"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    drv = LibvirtDriver(p["uri"])
    try:
        if p["name"] or p["uuid"]:
            names = [p["name"] or domain_name(p["uuid"])]
        else:
            names = drv.list_guests(owned_only=not p["all_domains"])
        instances = collect(drv, names)
    except ComputeError as exc:
        module.fail_json(msg=str(exc), error=type(exc).__name__)
    finally:
        drv.close()
    module.exit_json(changed=False, instances=instances)


if __name__ == "__main__":
    main()
