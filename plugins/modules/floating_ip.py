#!/usr/bin/python
# Copyright: Stratus contributors
# Apache License 2.0

DOCUMENTATION = r"""
---
module: floating_ip
short_description: A floating IP - 1:1 NAT to a port's fixed IP in a router namespace
description:
  - Maps a floating IP to a port's fixed IP inside router C(qrouter-<router id>), as
    Neutron's L3 agent does - the floating IP is added (/32) to the router's gateway
    device C(qg-…) and an nftables table C(stratus_fip_<a_b_c_d>) in the namespace DNATs
    the floating IP to the fixed IP and SNATs the fixed IP's outgoing traffic to the
    floating IP (before the router's own SNAT).
  - The rules are applied atomically (one C(nft -j -f) transaction); whether anything
    changed is decided from C(nft -j list).
  - The router (M(stratus.cloud.router)) must exist with an external gateway, and the
    fixed IP must be on one of its subnets.
version_added: "0.1.0"
author: Stratus contributors
options:
  router_id:
    description: The router that holds the floating IP.
    type: str
    required: true
  floating_ip:
    description: The floating (public) IPv4 address.
    type: str
    required: true
  fixed_ip:
    description: The port's fixed IP it maps to. Required when O(state=present).
    type: str
  gratuitous_arp:
    description: Send a gratuitous ARP from the gateway device after a change
      (C(busybox arping -U), busybox being in the network role's packages).
    type: bool
    default: true
  state:
    description: C(present) or C(absent).
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Give the web server a public address
  stratus.cloud.floating_ip:
    router_id: 7c0e5b9a-2d4f-4e8a-9b1c-3d5e7f9a1b2c
    floating_ip: 203.0.113.20
    fixed_ip: 10.0.1.5

- name: Release it
  stratus.cloud.floating_ip:
    router_id: 7c0e5b9a-2d4f-4e8a-9b1c-3d5e7f9a1b2c
    floating_ip: 203.0.113.20
    state: absent
"""

RETURN = r"""
namespace:
  description: The router's namespace.
  returned: always
  type: str
  sample: qrouter-7c0e5b9a-2d4f-4e8a-9b1c-3d5e7f9a1b2c
floating_ip:
  description: The floating IP as it is after the run (as planned in check mode) -
    floating_ip, device (the qg- device), address (whether it is on the device) and
    nat (the table's ruleset text). Empty when absent.
  returned: always
  type: dict
actions:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: str
  sample: [map 203.0.113.20 to 10.0.1.5, announce 203.0.113.20]
diff:
  description: The floating IP before and after (shown with --diff).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.net.floating_ip import (
    FloatingIp,
    FloatingIpError,
    FloatingIpSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    NetError,
    module_runner,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            router_id=dict(type="str", required=True),
            floating_ip=dict(type="str", required=True),
            fixed_ip=dict(type="str"),
            gratuitous_arp=dict(type="bool", default=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
        ),
        required_if=[("state", "present", ["fixed_ip"])],
        supports_check_mode=True,
    )
    p = module.params
    try:
        fip = FloatingIp(module_runner(module), p["router_id"])
        if p["state"] == "absent":
            outcome = fip.ensure_absent(p["floating_ip"], check=module.check_mode)
        else:
            spec = FloatingIpSpec(p["floating_ip"], p["fixed_ip"], p["gratuitous_arp"])
            outcome = fip.ensure_present(spec, check=module.check_mode)
    except FloatingIpError as exc:
        module.fail_json(msg=str(exc))
    except NetError as exc:
        module.fail_json(msg=f"floating IP {p['floating_ip']} on router {p['router_id']}: {exc}")
    exit_with(module, outcome, namespace=fip.namespace, floating_ip=outcome.after)


if __name__ == "__main__":
    main()
