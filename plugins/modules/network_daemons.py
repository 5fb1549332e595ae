#!/usr/bin/python
"""stratus.cloud.network_daemons: bring back the DHCP servers and metadata relays recorded on a network host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: network_daemons
short_description: Bring back the DHCP servers and metadata relays recorded on this network host
description:
  - The DHCP server (C(dnsmasq), made by M(stratus.cloud.dhcp)) and the metadata relay (made by
    M(stratus.cloud.metadata_relay)) of each network run detached, without a service manager.
    This module starts every recorded one that does not run again, as it was (dnsmasq with the
    command line it last ran with, keeping its leases; the relay with its recorded target and
    ticket), when the network's C(qdhcp-) namespace exists.
  - Daemons that run are left alone, so a second run changes nothing.
  - A network whose namespace is gone (a host restart removes namespaces, ports and bridges) is
    not made here; it is returned in RV(missing), for the network's own tasks to make again.
  - The network role runs it on every run.
version_added: "0.1.0"
author: Stratus
options:
  dhcp_state_dir:
    description: Where M(stratus.cloud.dhcp) keeps each network's dnsmasq state (that module's C(state_dir)).
    type: path
    default: /var/lib/stratus/dhcp
  metadata_relay_state_dir:
    description: Where M(stratus.cloud.metadata_relay) keeps each network's relay (that module's C(state_dir)).
    type: path
    default: /var/lib/stratus/metadata-relay
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Bring back the DHCP servers and metadata relays of this host
  stratus.cloud.network_daemons:
  register: net_daemons

- name: Networks to make again (their namespaces are gone)
  ansible.builtin.debug:
    var: net_daemons.missing
"""

RETURN = r"""
networks:
  description: Every recorded network with whether each of its daemons runs after the task (would run, in check mode).
  returned: always
  type: dict
  sample: {"0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33": {"dhcp": true, "metadata_relay": true}}
missing:
  description: Recorded networks whose C(qdhcp-) namespace is gone; their daemons were not started.
  returned: always
  type: list
  elements: str
diff:
  description: The networks' daemons before and after; shown under C(--diff).
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
from ansible_collections.stratus.cloud.plugins.module_utils.net.daemons_restore import (
    restore_network_daemons,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    NetError,
    module_runner,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "dhcp_state_dir": {"type": "path", "default": "/var/lib/stratus/dhcp"},
            "metadata_relay_state_dir": {"type": "path", "default": "/var/lib/stratus/metadata-relay"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        outcome, missing = restore_network_daemons(
            module_runner(module), params["dhcp_state_dir"], params["metadata_relay_state_dir"],
            check=module.check_mode,
        )
    except NetError as exc:
        module.fail_json(msg=str(exc))
    if missing:
        module.warn(f"the namespaces of networks {', '.join(missing)} are gone (a host restart?): their "
                    "DHCP servers and metadata relays come back when the networks' tasks run again")
    exit_with(module, outcome, networks=outcome.after, missing=missing)


if __name__ == "__main__":
    main()
