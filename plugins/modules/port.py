#!/usr/bin/python
# Copyright: Stratus contributors
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
---
module: port
short_description: Plug a port into its network's bridge, with port security (anti-spoofing)
description:
  - Plugs a guest NIC (C(kind=tap), the tap C(tap) + 11 chars of the port id, made by
    libvirt or made here in advance) or a namespace device (C(kind=namespace), a veth
    whose peer is put into I(netns) with the port's MAC, fixed IPs and gateway, as
    Neutron's interface driver does) into the bridge of I(network_id).
  - With I(port_security_enabled), only frames with the port's MAC and fixed IPs (and
    allowed address pairs) may leave the port; everything else, including ARP for other
    IPs, DHCP server replies, IPv6 router advertisements and DHCPv6 server replies,
    is dropped by nftables' bridge family (table
    C(bridge stratus_ports)). The port also gets the packet mark that
    M(stratus.cloud.security_group) matches.
  - Deleting removes the tap (and its veth peer), the port's nft chains, map elements
    and security group chains. A namespace made for the port is left to its owner.
version_added: "0.1.0"
author: Stratus contributors
options:
  port_id:
    description: The port's id; the tap is named C(tap) + its first 11 characters.
    type: str
    required: true
  network_id:
    description: The port's network; its bridge must exist (M(stratus.cloud.network)).
    type: str
    required: true
  state:
    description: Whether the port should be plugged.
    type: str
    choices: [present, absent]
    default: present
  kind:
    description: C(tap) for a guest NIC, C(namespace) for a veth into I(netns).
    type: str
    choices: [tap, namespace]
    default: tap
  mac_address:
    description: The port's MAC; required for namespace ports and for port security.
    type: str
  fixed_ips:
    description:
      - The port's addresses as CIDRs (C(10.0.0.5/24)); set on a namespace device, and
        the only source IPs port security lets out.
    type: list
    elements: str
    default: []
  allowed_address_pairs:
    description: Extra (ip_address[, mac_address]) pairs the port may send from.
    type: list
    elements: dict
    default: []
  port_security_enabled:
    description: Drop frames with other source MACs/IPs than the port's own.
    type: bool
    default: true
  netns:
    description: C(kind=namespace) only. The namespace the device goes into.
    type: str
  device:
    description: C(kind=namespace) only. The device's name in I(netns) (default C(ns-) + 11 chars).
    type: str
  gateway:
    description: C(kind=namespace) only. Default route of I(netns) through the device.
    type: str
  mtu:
    description: MTU of the tap and of the namespace device.
    type: int
  namespace:
    description: Treat this network namespace as the host (multi-host simulation and tests).
    type: str
attributes:
  check_mode:
    support: full
    description: Plans the changes and reports them without making them.
  diff_mode:
    support: full
    description: The port's plug facts and port security before and after.
"""

EXAMPLES = r"""
- name: Plug a guest's NIC with anti-spoofing
  stratus.cloud.port:
    port_id: 5b2e7c11-90aa-4f3e-b1c2-6e0d9a7f3c21
    network_id: 3f2a9c1e-7b44-4d1a-9a8e-0c5d2f6b1a77
    mac_address: fa:16:3e:12:34:56
    fixed_ips: [10.0.0.5/24]

- name: Plug a service port into a namespace
  stratus.cloud.port:
    port_id: 9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a
    network_id: 3f2a9c1e-7b44-4d1a-9a8e-0c5d2f6b1a77
    kind: namespace
    netns: qdhcp-3f2a9c1e-7b44-4d1a-9a8e-0c5d2f6b1a77
    mac_address: fa:16:3e:00:00:02
    fixed_ips: [10.0.0.2/24]
    port_security_enabled: false

- name: Unplug
  stratus.cloud.port:
    port_id: 5b2e7c11-90aa-4f3e-b1c2-6e0d9a7f3c21
    network_id: 3f2a9c1e-7b44-4d1a-9a8e-0c5d2f6b1a77
    state: absent
"""

RETURN = r"""
tap:
  description: The bridge-side device of the port.
  returned: always
  type: str
  sample: tap5b2e7c11-90
port:
  description: The plug facts after the run (tap, bridge, kind, up, and for namespace ports netns, device, mac_address, fixed_ips, gateway); null when absent.
  returned: always
  type: dict
  sample: {"tap": "tap5b2e7c11-90", "bridge": "brq3f2a9c1e-7b", "kind": "tap", "up": true}
port_security:
  description: What the port may send (mac_addresses, ipv4, ipv6) and its packet mark; null when disabled or absent.
  returned: always
  type: dict
  sample: {"mac_addresses": ["fa:16:3e:12:34:56"], "ipv4": ["10.0.0.5"], "ipv6": [], "mark": 1}
actions:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: str
  sample: [plug tap5b2e7c11-90 into brq3f2a9c1e-7b, apply port security of tap5b2e7c11-90]
diff:
  description: The port's plug facts and port security before and after (shown with --diff).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    IPWrapper,
    NetError,
    host_lock,
    module_runner,
    resource_id,
    tap_name,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import Nft
from ansible_collections.stratus.cloud.plugins.module_utils.net.port import PortDriver, PortRequest


def main():
    module = AnsibleModule(
        argument_spec=dict(
            port_id=dict(type="str", required=True),
            network_id=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            kind=dict(type="str", choices=["tap", "namespace"], default="tap"),
            mac_address=dict(type="str"),
            fixed_ips=dict(type="list", elements="str", default=[]),
            allowed_address_pairs=dict(type="list", elements="dict", default=[]),
            port_security_enabled=dict(type="bool", default=True),
            netns=dict(type="str"),
            device=dict(type="str"),
            gateway=dict(type="str"),
            mtu=dict(type="int"),
            namespace=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        namespace = p["namespace"] and resource_id(p["namespace"], "namespace")
        run = module_runner(module)
        driver = PortDriver(IPWrapper(namespace, run=run), Nft(run, namespace))
        with host_lock():
            tap = tap_name(p["port_id"])
            if p["state"] == "absent":
                outcome = driver.ensure_absent(p["port_id"], p["network_id"],
                                               check=module.check_mode)
            else:
                outcome = driver.ensure_present(PortRequest.from_params(p),
                                                check=module.check_mode)
    except NetError as exc:
        module.fail_json(msg=f"port {p['port_id']}: {exc}")
    port = {k: v for k, v in outcome.after.items() if k != "port_security"} or None
    exit_with(module, outcome, tap=tap, port=port,
              port_security=outcome.after.get("port_security"))


if __name__ == "__main__":
    main()
