#!/usr/bin/python
# Copyright: Stratus developers
# Apache-2.0
"""stratus.cloud.hypervisor_info: what a compute host has and what Stratus guests take."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: hypervisor_info
short_description: A compute host's capacity and what Stratus guests use of it
description:
  - Returns the inputs a scheduler needs, as Nova's C(os-hypervisors) shows them - vCPUs,
    RAM and disk of the host, what Stratus guests are given (vCPUs, RAM, flavor disk),
    the virt type new guests get, and the number of guests.
  - Reads libvirt through C(LibvirtDriver) (C(plugins/module_utils/compute/libvirt_driver.py)).
version_added: "0.1.0"
author: Stratus developers
options:
  uri:
    description: libvirt connection URI.
    type: str
    default: qemu:///system
  virt_type:
    description: As in M(stratus.cloud.instance); V(auto) reports what the host config picks.
    type: str
    choices: [auto, kvm, qemu]
    default: auto
  instances_dir:
    description: Where instance disks live (its file system is the disk capacity).
    type: path
    default: /var/lib/stratus/instances
  images_dir:
    description: The image cache (reported for completeness).
    type: path
    default: /var/lib/stratus/images
attributes:
  check_mode:
    support: full
    details: Read-only; the same in check mode.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Capacity of this compute host
  stratus.cloud.hypervisor_info:
  register: hv
"""

RETURN = r"""
hypervisor:
  description: Host facts.
  returned: always
  type: dict
  contains:
    hostname: {description: Host name as libvirt sees it., type: str, returned: always}
    virt_type: {description: kvm or qemu for new guests., type: str, returned: always}
    cpu_model: {description: Host CPU architecture/model., type: str, returned: always}
    vcpus: {description: Host CPUs., type: int, returned: always}
    memory_mb: {description: Host RAM in MiB., type: int, returned: always}
    free_memory_mb: {description: Free host RAM in MiB., type: int, returned: always}
    disk_gb: {description: Size of the file system holding instances_dir., type: int, returned: always}
    free_disk_gb: {description: Free space there., type: int, returned: always}
    allocated:
      description: "What Stratus guests are given: guests, vcpus, memory_mb (maximums), disk_gb (flavor root + ephemeral + swap)."
      type: dict
      returned: always
    running_guests: {description: Stratus guests that are running or paused., type: int, returned: always}
    images_dir: {description: The image cache., type: str, returned: always}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import ComputeError
from ansible_collections.stratus.cloud.plugins.module_utils.compute.host import (
    allocated,
    disk_usage,
    resolve_virt_type,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)


def collect(drv: LibvirtDriver, p: dict) -> dict:
    host = drv.host_info()
    names = drv.list_guests(owned_only=True)
    guests = [g for g in (drv.get_guest(n) for n in names) if g is not None]
    running = sum(1 for n in names if drv.power_state(n) in ("running", "paused"))
    disk = disk_usage(p["instances_dir"])
    return {
        "hostname": host["hostname"],
        "virt_type": resolve_virt_type(p["virt_type"]),
        "cpu_model": host["cpu_model"],
        "vcpus": host["cpus"],
        "memory_mb": host["memory_mib"],
        "free_memory_mb": host["free_memory_mib"],
        "disk_gb": disk["total_gb"],
        "free_disk_gb": disk["free_gb"],
        "allocated": allocated(guests),
        "running_guests": running,
        "images_dir": p["images_dir"],
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            uri=dict(type="str", default="qemu:///system"),
            virt_type=dict(type="str", default="auto", choices=["auto", "kvm", "qemu"]),
            instances_dir=dict(type="path", default="/var/lib/stratus/instances"),
            images_dir=dict(type="path", default="/var/lib/stratus/images"),
        ),
        supports_check_mode=True,
    )
    drv = LibvirtDriver(module.params["uri"])
    try:
        facts = collect(drv, module.params)
    except ComputeError as exc:
        module.fail_json(msg=str(exc), error=type(exc).__name__)
    finally:
        drv.close()
    module.exit_json(changed=False, hypervisor=facts)


if __name__ == "__main__":
    main()
