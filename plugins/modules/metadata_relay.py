#!/usr/bin/python
# Copyright: Stratus developers
# Apache-2.0
"""stratus.cloud.metadata_relay: a network's relay from its guests to the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: metadata_relay
short_description: The metadata relay of a network (169.254.169.254 in its qdhcp- namespace)
description:
  - Runs the relay that lets a network's guests reach the controller at
    C(http://169.254.169.254/), as Neutron's isolated metadata proxy does. A process listens
    on 169.254.169.254:80 inside the network's DHCP namespace C(qdhcp-<network id>) (the
    address on the namespace's C(lo)) and relays each request to O(target) from the host's
    namespace, adding C(X-Forwarded-For) (the guest's address), C(X-Stratus-Network-Id) and
    C(X-Stratus-Relay-Ticket) (O(ticket)), so the controller knows which guest asks.
  - The network's DHCP server (M(stratus.cloud.dhcp)) must run on this host first, and its
    subnets hand out the route to 169.254.169.254 via the DHCP port (option 121).
  - The driver is C(plugins/module_utils/net/metadata_relay.py).
version_added: "0.1.0"
author: Stratus developers
options:
  network_id:
    description: Id of the network (names the namespace and the state directory).
    type: str
    required: true
  state:
    description: Whether the relay runs.
    type: str
    choices: [present, absent]
    default: present
  target:
    description: The controller's URL as hosts reach it. Required when O(state=present).
    type: str
  ticket:
    description: The controller's relay ticket for this network. Required when O(state=present).
    type: str
  state_dir:
    description: Where the relay keeps its program, config, pid file and log (per network).
    type: path
    default: /var/lib/stratus/metadata-relay
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Guests of the network reach the controller
  stratus.cloud.metadata_relay:
    network_id: 5e0c2c39-8a8b-4a57-9e0e-3a4c3f0e1d11
    target: http://controller:8774
    ticket: "{{ relay_ticket }}"

- name: Stop it
  stratus.cloud.metadata_relay:
    network_id: 5e0c2c39-8a8b-4a57-9e0e-3a4c3f0e1d11
    state: absent
"""

RETURN = r"""
namespace:
  description: The network's DHCP namespace.
  returned: always
  type: str
pid:
  description: The relay's process id (null when it does not run, or in check mode).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (  # noqa: E402
    NetError,
    module_runner,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.metadata_relay import MetadataRelay  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            network_id=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            target=dict(type="str"),
            ticket=dict(type="str", no_log=True),
            state_dir=dict(type="path", default="/var/lib/stratus/metadata-relay"),
        ),
        required_if=[("state", "present", ["target", "ticket"])],
        supports_check_mode=True,
    )
    p = module.params
    relay = MetadataRelay(module_runner(module), p["network_id"], p["state_dir"])
    try:
        if p["state"] == "absent":
            changed = relay.ensure_absent(check_mode=module.check_mode)
        else:
            changed, _ = relay.ensure_present(p["target"], p["ticket"], check_mode=module.check_mode)
    except NetError as exc:
        module.fail_json(msg=f"metadata relay of network {p['network_id']}: {exc}")
    module.exit_json(changed=changed, namespace=relay.namespace,
                     pid=None if module.check_mode else relay.pid())


if __name__ == "__main__":
    main()
