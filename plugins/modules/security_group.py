#!/usr/bin/python
# Copyright: Stratus contributors
# Apache License 2.0 (see LICENSE)

DOCUMENTATION = r"""
---
module: security_group
short_description: Apply a port's security groups as stateful nftables rules
description:
  - Applies the rules of the port's security groups to its traffic, statefully, with
    nftables (table C(inet stratus_sg)). Egress and ingress rules with protocol
    (tcp, udp, icmp, icmpv6, sctp, any or a number), port ranges, ICMP type/code
    (C(port_range_min)/C(port_range_max) as in Neutron), remote CIDR or remote group,
    and ethertype IPv4/IPv6. Replies to allowed traffic are allowed; everything else
    is dropped; DHCP and IPv6 neighbour discovery always pass.
  - A group given without I(rules) gets Neutron's default group rules, egress
    anywhere and ingress only from the group's own members.
  - The port must be plugged with M(stratus.cloud.port) with port security, which
    marks its frames in the bridge family; this module matches the marks in the inet
    forward hook, where connection tracking works (br_netfilter on; the
    C(stratus.cloud.network) role sets it up).
  - The port's whole ruleset is replaced in one C(nft -f) transaction; established
    connections survive rule changes. Whether anything changed is read from C(nft -j).
version_added: "0.1.0"
author: Stratus contributors
options:
  port_id:
    description: The port's id (its tap is C(tap) + 11 chars).
    type: str
    required: true
  device:
    description: The port's bridge-side device when not the default tap name.
    type: str
  state:
    description: C(absent) removes the port's security group chains (traffic then passes).
    type: str
    choices: [present, absent]
    default: present
  security_groups:
    description:
      - The port's groups, each C({id, rules}); C(rules) as Neutron's security group
        rules (direction, ethertype, protocol, port_range_min, port_range_max,
        remote_ip_prefix, remote_group_id). No C(rules) means the default group's rules.
    type: list
    elements: dict
    default: []
  remote_groups:
    description:
      - Members' IPs of every group a rule names as C(remote_group_id), a mapping of
        group id to a list of IPs.
    type: dict
    default: {}
  namespace:
    description: Treat this network namespace as the host (multi-host simulation and tests).
    type: str
attributes:
  check_mode:
    support: full
    description: Renders the ruleset and reports whether it would change, without applying it.
  diff_mode:
    support: full
    description: The port's rules as nft prints them before, and the rules wanted after.
"""

EXAMPLES = r"""
- name: SSH and ping from anywhere, everything from the same group, egress anywhere
  stratus.cloud.security_group:
    port_id: 5b2e7c11-90aa-4f3e-b1c2-6e0d9a7f3c21
    security_groups:
      - id: web
        rules:
          - {direction: ingress, protocol: tcp, port_range_min: 22, port_range_max: 22}
          - {direction: ingress, protocol: icmp, port_range_min: 8}
          - {direction: ingress, remote_group_id: web}
          - {direction: egress}
    remote_groups:
      web: [10.0.0.5, 10.0.0.6]

- name: Neutron's default group
  stratus.cloud.security_group:
    port_id: 5b2e7c11-90aa-4f3e-b1c2-6e0d9a7f3c21
    security_groups: [{id: default}]
    remote_groups: {default: [10.0.0.5, 10.0.0.7]}
"""

RETURN = r"""
device:
  description: The port's device.
  returned: always
  type: str
  sample: tap5b2e7c11-90
mark:
  description: The port's number in the packet marks; null when absent.
  returned: always
  type: int
  sample: 3
rules:
  description:
    - The port's rules by direction (C(egress), C(ingress)) as nft lists them after the
      run (in check mode, as rendered); empty when absent.
  returned: always
  type: dict
  sample: {"ingress": ["ct state established,related accept", "meta nfproto ipv4 meta l4proto 6 th dport 22 accept", "drop"]}
actions:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: str
  sample: [replace the rules of tap5b2e7c11-90]
diff:
  description: The port's rules before and after (shown with --diff).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    NetError,
    host_lock,
    module_runner,
    resource_id,
    tap_name,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import Nft
from ansible_collections.stratus.cloud.plugins.module_utils.net.security_groups import (
    PortGroupsSpec,
    SecurityGroups,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            port_id=dict(type="str", required=True),
            device=dict(type="str"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            security_groups=dict(type="list", elements="dict", default=[]),
            remote_groups=dict(type="dict", default={}),
            namespace=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        namespace = p["namespace"] and resource_id(p["namespace"], "namespace")
        driver = SecurityGroups(Nft(module_runner(module), namespace))
        with host_lock():
            device = p["device"] or tap_name(p["port_id"])
            if p["state"] == "absent":
                outcome = driver.ensure_absent(device, check=module.check_mode)
                mark = None
            else:
                spec = PortGroupsSpec(device, p["security_groups"], p["remote_groups"])
                outcome = driver.ensure_present(spec, check=module.check_mode)
                mark = driver.mark_of(device)
    except NetError as exc:
        module.fail_json(msg=f"security groups of port {p['port_id']}: {exc}")
    exit_with(module, outcome, device=device, mark=mark, rules=outcome.after)


if __name__ == "__main__":
    main()
