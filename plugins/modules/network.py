#!/usr/bin/python
# Copyright: Stratus contributors
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
---
module: network
short_description: A network's L2 segment on a host (Linux bridge + flat/VLAN/VXLAN uplink)
description:
  - Makes the bridge C(brq) + first 11 characters of the network id and its uplink, as
    Neutron's Linux bridge agent does.
  - C(flat) enslaves a physical interface; C(vlan) makes the sub-interface
    C(<physical_interface>.<segmentation_id>); C(vxlan) makes C(vxlan-<VNI>) flooding
    either to a multicast group or, unicast, to the other hosts' tunnel IPs through
    all-zero FDB entries; C(local) has no uplink.
  - Deleting removes the bridge and the VXLAN/VLAN device with its FDB entries; a flat
    physical interface is released, not deleted.
  - Input and conflicts (VNI in use by another network's device, missing or taken
    physical interface, local_ip not on the host) are checked before any change; a
    failure leaves nothing half-made.
version_added: "0.1.0"
author: Stratus contributors
options:
  network_id:
    description: The network's id (UUID); the bridge is named from it.
    type: str
    required: true
  state:
    description: Whether the segment should exist.
    type: str
    choices: [present, absent]
    default: present
  type:
    description: The segment type (Neutron's provider:network_type).
    type: str
    choices: [local, flat, vlan, vxlan]
    default: vxlan
  segmentation_id:
    description: The VNI (1..16777215) for C(vxlan), the VLAN id (1..4094) for C(vlan).
    type: int
  physical_interface:
    description:
      - The host interface for C(flat) and C(vlan) networks; for C(vxlan) the underlay
        device (required with I(multicast_group)).
    type: str
  local_ip:
    description: C(vxlan) only. This host's tunnel IP (must be an address of the host).
    type: str
  remote_ips:
    description:
      - C(vxlan) only. The other hosts' tunnel IPs; broadcast and unknown traffic is
        flooded to exactly these (FDB entries are added and removed to match).
    type: list
    elements: str
    default: []
  multicast_group:
    description: C(vxlan) only. A multicast group to flood to instead of I(remote_ips).
    type: str
  dstport:
    description: C(vxlan) only. The UDP port of the tunnel.
    type: int
    default: 4789
  mtu:
    description: MTU of the bridge and of the VXLAN/VLAN device.
    type: int
  namespace:
    description:
      - Treat this network namespace as the host (multi-host simulation and tests).
        Default is the host itself.
    type: str
attributes:
  check_mode:
    support: full
    description: Plans the changes and reports them without making them.
  diff_mode:
    support: full
    description: The segment's facts before and after.
notes:
  - VLAN networks need the kernel's 8021q module on the host.
"""

EXAMPLES = r"""
- name: A VXLAN network joining this host to two others
  stratus.cloud.network:
    network_id: 3f2a9c1e-7b44-4d1a-9a8e-0c5d2f6b1a77
    type: vxlan
    segmentation_id: 1001
    local_ip: 192.0.2.11
    remote_ips: [192.0.2.12, 192.0.2.13]
    mtu: 1450

- name: A flat provider network on eth1
  stratus.cloud.network:
    network_id: 8c1d0b7a-1111-4e2e-8f00-5a9e2b7c0d42
    type: flat
    physical_interface: eth1

- name: Remove a network's segment
  stratus.cloud.network:
    network_id: 3f2a9c1e-7b44-4d1a-9a8e-0c5d2f6b1a77
    state: absent
"""

RETURN = r"""
bridge:
  description: The bridge's name.
  returned: always
  type: str
  sample: brq3f2a9c1e-7b
network:
  description:
    - The segment as found on the host after the run (C(null) when absent); keys
      bridge, type, uplink, segmentation_id, physical_interface, mtu, members, up, and for
      vxlan local_ip, multicast_group, remote_ips, dstport.
  returned: always
  type: dict
  sample: {"bridge": "brq3f2a9c1e-7b", "type": "vxlan", "uplink": "vxlan-1001",
           "segmentation_id": 1001, "mtu": 1450, "remote_ips": ["192.0.2.12"]}
actions:
  description: The steps taken (or in check mode planned), in order.
  returned: always
  type: list
  elements: str
  sample: [add_bridge brq3f2a9c1e-7b, add_vxlan vxlan-1001, set_up brq3f2a9c1e-7b]
diff:
  description: The segment's facts before and after (shown with --diff).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.net.bridge import (
    LinuxBridgeNetwork,
    segment_from_params,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    IPWrapper,
    NetError,
    bridge_name,
    host_lock,
    module_runner,
    resource_id,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            network_id=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            type=dict(type="str", choices=["local", "flat", "vlan", "vxlan"], default="vxlan"),
            segmentation_id=dict(type="int"),
            physical_interface=dict(type="str"),
            local_ip=dict(type="str"),
            remote_ips=dict(type="list", elements="str", default=[]),
            multicast_group=dict(type="str"),
            dstport=dict(type="int", default=4789),
            mtu=dict(type="int"),
            namespace=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        namespace = p["namespace"] and resource_id(p["namespace"], "namespace")
        driver = LinuxBridgeNetwork(IPWrapper(namespace, run=module_runner(module)))
        with host_lock():
            bridge = bridge_name(p["network_id"])
            if p["state"] == "absent":
                outcome = driver.ensure_absent(p["network_id"], check=module.check_mode)
            else:
                outcome = driver.ensure_present(segment_from_params(p), check=module.check_mode)
    except NetError as exc:
        module.fail_json(msg=f"network {p['network_id']}: {exc}")
    exit_with(module, outcome, bridge=bridge, network=outcome.after or None)


if __name__ == "__main__":
    main()
