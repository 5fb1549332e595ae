#!/usr/bin/python
# Copyright: Stratus contributors
# Apache License 2.0

DOCUMENTATION = r"""
---
module: dhcp
short_description: The DHCP server of a network (dnsmasq in a qdhcp- namespace)
description:
  - Runs dnsmasq for one network the way Neutron's DHCP agent does. A namespace
    C(qdhcp-<network id>) holds the DHCP port C(ns-<port id>) whose peer
    C(tap<port id>) is plugged into the network's bridge C(brq<network id>).
  - Every port gets a fixed lease (MAC to IP and hostname, C(--dhcp-hostsfile)); the
    subnets' options are handed out (router, DNS servers, host routes as option 121,
    MTU as option 26, domain). Ranges are C(static), so only known ports get leases.
  - IPv6 subnets are served by mode - C(slaac) (router advertisements only),
    C(dhcpv6-stateless) (RA + DHCPv6 options) or C(dhcpv6-stateful) (DHCPv6 leases).
  - dnsmasq is started directly (no service manager) with its pid file, hosts, opts and
    lease files under O(state_dir)/<network id>/. A change of ports or options rewrites
    the files and sends SIGHUP (same process, leases kept); a change of its command line
    (subnets, MTU, domain, lease time) restarts it.
  - The network's bridge must exist (M(stratus.cloud.network) makes it).
version_added: "0.1.0"
author: Stratus contributors
options:
  network_id:
    description: Id of the network; names the namespace, bridge and state directory.
    type: str
    required: true
  state:
    description: C(present) to serve the network, C(absent) to stop dnsmasq and remove
      its namespace, port and files.
    type: str
    choices: [present, absent]
    default: present
  port:
    description: The DHCP port of the network. Required when O(state=present).
    type: dict
    suboptions:
      id:
        description: Port id (names C(ns-…)/C(tap…)).
        type: str
        required: true
      mac:
        description: MAC address of the port.
        type: str
        required: true
      ips:
        description: Its fixed IPs; one in every subnet that has DHCP enabled.
        type: list
        elements: str
        required: true
  subnets:
    description: The network's subnets, as Neutron describes them.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Subnet id (tags its options in dnsmasq).
        type: str
        required: true
      cidr:
        description: Network address in CIDR form.
        type: str
        required: true
      gateway_ip:
        description: The router's address in the subnet (DHCP option 3); none if empty.
        type: str
      dns_nameservers:
        description: DNS servers handed to guests.
        type: list
        elements: str
        default: []
      host_routes:
        description: Extra routes, handed out as classless static routes (option 121).
        type: list
        elements: dict
        default: []
      enable_dhcp:
        description: Serve this subnet.
        type: bool
        default: true
      ipv6_address_mode:
        description: For IPv6 subnets - C(slaac), C(dhcpv6-stateless) or
          C(dhcpv6-stateful) (the default for IPv6).
        type: str
        choices: [slaac, dhcpv6-stateless, dhcpv6-stateful]
  ports:
    description: The ports that get a fixed lease.
    type: list
    elements: dict
    default: []
    suboptions:
      id:
        description: Port id (used in messages).
        type: str
      mac:
        description: MAC address.
        type: str
        required: true
      ips:
        description: Fixed IPs of the port.
        type: list
        elements: str
        required: true
      hostname:
        description: Host name handed out (default C(host-<ip with dashes>)).
        type: str
  mtu:
    description: MTU of the network, handed out as DHCP option 26 and in RAs, and set
      on the DHCP port.
    type: int
  domain:
    description: DNS domain handed out.
    type: str
    default: openstacklocal
  lease_time:
    description: Lease time in seconds.
    type: int
    default: 86400
  state_dir:
    description: Base directory of the per-network dnsmasq files.
    type: path
    default: /var/lib/stratus/dhcp
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Serve DHCP on the private network
  stratus.cloud.dhcp:
    network_id: 5e0c2c39-8a8b-4a57-9e0e-3a4c3f0e1d11
    port: {id: 0b7d1c4e-2f7a-4b8e-9c6d-1a2b3c4d5e6f, mac: "fa:16:3e:00:00:02", ips: [10.0.0.2]}
    subnets:
      - id: 9a1b2c3d-0000-4000-8000-000000000001
        cidr: 10.0.0.0/24
        gateway_ip: 10.0.0.1
        dns_nameservers: [10.0.0.53]
        host_routes: [{destination: 172.16.0.0/16, nexthop: 10.0.0.9}]
    ports:
      - {id: p1, mac: "fa:16:3e:00:00:05", ips: [10.0.0.5], hostname: web1}
    mtu: 1450

- name: Stop serving it
  stratus.cloud.dhcp:
    network_id: 5e0c2c39-8a8b-4a57-9e0e-3a4c3f0e1d11
    state: absent
"""

RETURN = r"""
namespace:
  description: The network's DHCP namespace.
  returned: always
  type: str
  sample: qdhcp-5e0c2c39-8a8b-4a57-9e0e-3a4c3f0e1d11
interface:
  description: The DHCP port's device in the namespace (empty when absent).
  returned: always
  type: str
  sample: ns-0b7d1c4e-2f
pid:
  description: Pid of the running dnsmasq (null when absent or in check mode).
  returned: always
  type: int
actions:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: str
  sample: [write files, reload dnsmasq]
dhcp:
  description: The DHCP service as it is after the run (as planned in check mode) -
    namespace, port (device, mac, addresses), dnsmasq argv, hosts and opts file text.
  returned: always
  type: dict
diff:
  description: The DHCP service before and after (shown with --diff).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.net.dhcp import DhcpService
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    NetError,
    module_runner,
    ns_name,
)

SUBNET = dict(
    id=dict(type="str", required=True),
    cidr=dict(type="str", required=True),
    gateway_ip=dict(type="str"),
    dns_nameservers=dict(type="list", elements="str", default=[]),
    host_routes=dict(type="list", elements="dict", default=[]),
    enable_dhcp=dict(type="bool", default=True),
    ipv6_address_mode=dict(type="str", choices=["slaac", "dhcpv6-stateless", "dhcpv6-stateful"]),
)
PORT = dict(
    id=dict(type="str"),
    mac=dict(type="str", required=True),
    ips=dict(type="list", elements="str", required=True),
    hostname=dict(type="str"),
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            network_id=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            port=dict(type="dict", options=dict(
                id=dict(type="str", required=True),
                mac=dict(type="str", required=True),
                ips=dict(type="list", elements="str", required=True),
            )),
            subnets=dict(type="list", elements="dict", options=SUBNET, default=[]),
            ports=dict(type="list", elements="dict", options=PORT, default=[]),
            mtu=dict(type="int"),
            domain=dict(type="str", default="openstacklocal"),
            lease_time=dict(type="int", default=86400),
            state_dir=dict(type="path", default="/var/lib/stratus/dhcp"),
        ),
        required_if=[("state", "present", ["port"])],
        supports_check_mode=True,
    )
    p = module.params
    try:
        service = DhcpService(module_runner(module), p["network_id"], p["state_dir"])
        if p["state"] == "absent":
            outcome = service.ensure_absent(check=module.check_mode)
            interface = ""
        else:
            spec = service.spec(p["port"], p["subnets"], p["ports"], mtu=p["mtu"],
                                domain=p["domain"], lease_seconds=p["lease_time"])
            outcome = service.ensure_present(spec, check=module.check_mode)
            interface = ns_name(p["port"]["id"])
    except NetError as exc:
        module.fail_json(msg=f"DHCP for network {p['network_id']}: {exc}")
    exit_with(module, outcome, namespace=service.namespace, interface=interface,
              pid=None if module.check_mode else service.pid(), dhcp=outcome.after)


if __name__ == "__main__":
    main()
