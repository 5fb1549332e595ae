#!/usr/bin/python
"""stratus.cloud.swift_ring: a Swift ring holding exactly the given devices."""

from __future__ import annotations

DOCUMENTATION = r"""
module: swift_ring
short_description: Build and rebalance a Swift account, container or object ring from the inventory
description:
  - Makes O(builder_dir) hold the builder file C(<ring>.builder) and the ring file
    C(<ring>.ring.gz) of exactly the given devices, parameters and replicas, with Swift's own
    C(RingBuilder), as C(swift-ring-builder) would (add, remove, set_weight, set_region,
    set_zone, set_info, rebalance, write_ring).
  - O(devices) is the whole ring; devices it does not list are removed (their partitions
    move to the others). A device is known by its O(devices[].ip), O(devices[].port) and
    O(devices[].device); changing one of them removes a device and adds another.
  - Rebalances only when devices, weights, zones, regions or replicas change. With nothing
    changed, a rebalance that could not finish before (partitions moved less than
    O(min_part_hours) ago) is tried again and kept only if it improves the balance or the
    dispersion by 1 or more, C(swift-ring-builder)'s own rule; otherwise the task reports no
    change. A missing ring file, or one that is not the builder's, is written from the builder
    without a rebalance.
  - Every builder it writes is also kept in O(builder_dir)C(/backups), as
    C(swift-ring-builder) keeps them.
  - Copy the ring files to every Swift host (storage and proxy) after this task; run it
    on one host only, which keeps the builders.
version_added: "0.1.0"
author: Stratus
requirements:
  - OpenStack Swift (the C(swift) Python package) in the interpreter that runs the module; set
    C(ansible_python_interpreter) to the python of the venv Swift is installed in.
options:
  ring:
    description:
      - The ring, named as Swift names its files; C(object-<n>) is the object ring of storage
        policy index C(n) (C(object) is policy 0's).
    type: str
    required: true
  builder_dir:
    description: The directory of the builder and ring files (Swift's C(swift_dir)).
    type: path
    default: /etc/swift
  part_power:
    description:
      - The ring has 2^part_power partitions. Fixed once the builder exists; a different value
        is refused.
    type: int
    default: 10
  replicas:
    description:
      - Copies of every partition; fractional values as Swift allows them. Needs at least as
        many devices of weight above 0.
    type: float
    default: 3
  min_part_hours:
    description: Hours before a partition moved by a rebalance may move again.
    type: int
    default: 1
  devices:
    description: Every device of the ring.
    type: list
    elements: dict
    required: true
    suboptions:
      region:
        description: The device's region.
        type: int
        default: 1
      zone:
        description: The device's zone; replicas go to distinct zones first.
        type: int
        required: true
      ip:
        description: The address its server listens on (IP address or host name).
        type: str
        required: true
      port:
        description: The port of its account, container or object server.
        type: int
        required: true
      device:
        description: The device's directory name under the server's C(devices) directory.
        type: str
        required: true
      weight:
        description: Its share of partitions relative to the others; C(0) drains it.
        type: float
        required: true
      replication_ip:
        description: Address for replication traffic; defaults to O(devices[].ip).
        type: str
      replication_port:
        description: Port for replication traffic; defaults to O(devices[].port).
        type: int
      meta:
        description: Free text kept with the device (a serial number, a date).
        type: str
        default: ""
attributes:
  check_mode:
    support: full
    details: The whole change, the rebalance included, is computed in memory; nothing is written.
  diff_mode:
    support: full
    details: The ring's parameters and one line per device, before and after.
"""

EXAMPLES = r"""
- name: The object ring of three devices in three zones
  stratus.cloud.swift_ring:
    ring: object
    builder_dir: /etc/swift
    part_power: 10
    replicas: 3
    min_part_hours: 1
    devices:
      - {region: 1, zone: 1, ip: 10.0.0.11, port: 6200, device: sdb, weight: 100}
      - {region: 1, zone: 2, ip: 10.0.0.12, port: 6200, device: sdb, weight: 100}
      - {region: 1, zone: 3, ip: 10.0.0.13, port: 6200, device: sdb, weight: 100}
  vars:
    ansible_python_interpreter: /opt/swift/bin/python

- name: Account and container rings on the same disks, with their own ports
  stratus.cloud.swift_ring:
    ring: "{{ item.ring }}"
    devices:
      - {zone: 1, ip: 10.0.0.11, port: "{{ item.port }}", device: sdb, weight: 100}
      - {zone: 2, ip: 10.0.0.12, port: "{{ item.port }}", device: sdb, weight: 100}
      - {zone: 3, ip: 10.0.0.13, port: "{{ item.port }}", device: sdb, weight: 100}
  loop:
    - {ring: account, port: 6202}
    - {ring: container, port: 6201}
  vars:
    ansible_python_interpreter: /opt/swift/bin/python
"""

RETURN = r"""
ring_file:
  description: The ring file the servers read.
  returned: always
  type: str
  sample: /etc/swift/object.ring.gz
builder_file:
  description: The builder file (keep it; it is the ring's memory).
  returned: always
  type: str
  sample: /etc/swift/object.builder
devices:
  description: The ring's devices after the task (in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  contains:
    id: {description: The builder's device id., type: int}
    region: {description: Region., type: int}
    zone: {description: Zone., type: int}
    ip: {description: Address., type: str}
    port: {description: Port., type: int}
    device: {description: Device name., type: str}
    weight: {description: Weight., type: float}
    replication_ip: {description: Replication address., type: str}
    replication_port: {description: Replication port., type: int}
    meta: {description: Free text., type: str}
    parts: {description: Partition replicas assigned to it., type: int}
rebalanced:
  description: Whether partitions were (or would be) reassigned.
  returned: always
  type: bool
balance:
  description: Swift's balance of the ring after the task (0 is perfect; percent off the wanted share).
  returned: always
  type: float
dispersion:
  description: Swift's dispersion (percent of partitions not spread as widely as they could be).
  returned: always
  type: float
part_power:
  description: The ring's partition power.
  returned: always
  type: int
replicas:
  description: The ring's replica count.
  returned: always
  type: float
min_part_hours:
  description: The builder's min_part_hours.
  returned: always
  type: int
diff:
  description: Parameters and one line per device (C(d<id> r<region>z<zone>-<ip>:<port>/<device> weight <w>)) before and after.
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
from ansible_collections.stratus.cloud.plugins.module_utils.object_store.ring import (
    RingError,
    ensure_ring,
    parse_spec,
)

DEVICE_OPTIONS = {
    "region": {"type": "int", "default": 1},
    "zone": {"type": "int", "required": True},
    "ip": {"type": "str", "required": True},
    "port": {"type": "int", "required": True},
    "device": {"type": "str", "required": True},
    "weight": {"type": "float", "required": True},
    "replication_ip": {"type": "str"},
    "replication_port": {"type": "int"},
    "meta": {"type": "str", "default": ""},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "ring": {"type": "str", "required": True},
            "builder_dir": {"type": "path", "default": "/etc/swift"},
            "part_power": {"type": "int", "default": 10},
            "replicas": {"type": "float", "default": 3},
            "min_part_hours": {"type": "int", "default": 1},
            "devices": {"type": "list", "elements": "dict", "required": True, "options": DEVICE_OPTIONS},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        spec = parse_spec(ring=params["ring"], builder_dir=params["builder_dir"],
                          part_power=params["part_power"], replicas=params["replicas"],
                          min_part_hours=params["min_part_hours"], devices=params["devices"])
        result = ensure_ring(spec, check=module.check_mode)
    except RingError as exc:
        module.fail_json(msg=str(exc), ring=params["ring"])
    for warning in result.warnings:
        module.warn(warning)
    exit_with(module, result.outcome, **result.facts)


if __name__ == "__main__":
    main()
