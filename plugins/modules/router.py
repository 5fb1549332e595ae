#!/usr/bin/python
# Copyright: Stratus contributors
# Apache License 2.0

DOCUMENTATION = r"""
---
module: router
short_description: A router in a qrouter- namespace (interfaces, gateway, SNAT, routes)
description:
  - Makes a router the way Neutron's L3 agent does, in the namespace
    C(qrouter-<router id>) with IP forwarding on.
  - Each interface is a device C(qr-<port id>) whose peer C(tap<port id>) is plugged into
    the network's bridge C(brq<network id>); it holds the router's IP in the subnet
    (usually the subnet's gateway_ip).
  - The external gateway is a device C(qg-<port id>) on the external network's bridge
    with the router's external IP and a default route to the external subnet's gateway.
    With O(external_gateway.enable_snat), traffic of the attached IPv4 subnets leaving
    through it gets the gateway IP as source (nftables table C(stratus_snat) in the
    namespace, applied atomically).
  - Static O(routes) are kept exactly as given (C(proto static) routes in the namespace).
  - The whole request is checked before anything is changed - overlapping subnets on one
    router, a router or gateway IP outside its subnet, or a nexthop on none of the
    router's subnets fail with a message saying what to fix.
  - Floating IPs (M(stratus.cloud.floating_ip)) on the gateway device are left alone.
version_added: "0.1.0"
author: Stratus contributors
options:
  router_id:
    description: Id of the router; names its namespace.
    type: str
    required: true
  state:
    description: C(present) or C(absent) (deletes the namespace, its devices and rules).
    type: str
    choices: [present, absent]
    default: present
  interfaces:
    description: The subnets attached to the router, one port each.
    type: list
    elements: dict
    default: []
    suboptions:
      network_id:
        description: Network of the subnet (its bridge must exist on this host).
        type: str
        required: true
      port_id:
        description: Id of the router's port (names C(qr-…) and C(tap…)).
        type: str
        required: true
      mac:
        description: MAC address of the port.
        type: str
        required: true
      cidr:
        description: The subnet, in CIDR form.
        type: str
        required: true
      ip:
        description: The router's IP in the subnet (usually its gateway_ip).
        type: str
        required: true
  external_gateway:
    description: The router's port on the external network.
    type: dict
    suboptions:
      network_id:
        description: The external network (its bridge must exist on this host).
        type: str
        required: true
      port_id:
        description: Id of the gateway port (names C(qg-…) and C(tap…)).
        type: str
        required: true
      mac:
        description: MAC address of the gateway port.
        type: str
        required: true
      cidr:
        description: The external subnet, in CIDR form.
        type: str
        required: true
      ip:
        description: The router's IP on the external subnet.
        type: str
        required: true
      gateway_ip:
        description: The external subnet's gateway, the router's default route.
        type: str
      enable_snat:
        description: Source-NAT the attached IPv4 subnets to O(external_gateway.ip).
        type: bool
        default: true
  routes:
    description: Extra static routes.
    type: list
    elements: dict
    default: []
    suboptions:
      destination:
        description: Destination network in CIDR form.
        type: str
        required: true
      nexthop:
        description: Next hop, on one of the router's subnets.
        type: str
        required: true
  mtu:
    description: MTU of the router's devices.
    type: int
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: A router between two subnets with a gateway to the outside
  stratus.cloud.router:
    router_id: 7c0e5b9a-2d4f-4e8a-9b1c-3d5e7f9a1b2c
    interfaces:
      - {network_id: net-a, port_id: 11111111-aaaa-4000-8000-000000000001,
         mac: "fa:16:3e:00:01:01", cidr: 10.0.1.0/24, ip: 10.0.1.1}
      - {network_id: net-b, port_id: 22222222-bbbb-4000-8000-000000000002,
         mac: "fa:16:3e:00:02:01", cidr: 10.0.2.0/24, ip: 10.0.2.1}
    external_gateway:
      network_id: public
      port_id: 33333333-cccc-4000-8000-000000000003
      mac: "fa:16:3e:00:03:01"
      cidr: 203.0.113.0/24
      ip: 203.0.113.10
      gateway_ip: 203.0.113.1
    routes:
      - {destination: 172.16.0.0/16, nexthop: 10.0.1.254}

- name: Delete it
  stratus.cloud.router:
    router_id: 7c0e5b9a-2d4f-4e8a-9b1c-3d5e7f9a1b2c
    state: absent
"""

RETURN = r"""
namespace:
  description: The router's namespace.
  returned: always
  type: str
  sample: qrouter-7c0e5b9a-2d4f-4e8a-9b1c-3d5e7f9a1b2c
router:
  description: The router as it is after the run (as planned in check mode) -
    interfaces and gateway (device, mac, addresses), routes, SNAT ruleset text,
    ip_forward. Empty when absent.
  returned: always
  type: dict
actions:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: str
  sample: [set routes, set snat]
diff:
  description: The router before and after (shown with --diff).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    NetError,
    module_runner,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.router import (
    InvalidRouter,
    Router,
    RouterSpec,
)

PORT = dict(
    network_id=dict(type="str", required=True),
    port_id=dict(type="str", required=True),
    mac=dict(type="str", required=True),
    cidr=dict(type="str", required=True),
    ip=dict(type="str", required=True),
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            router_id=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            interfaces=dict(type="list", elements="dict", options=PORT, default=[]),
            external_gateway=dict(type="dict", options=dict(
                PORT, gateway_ip=dict(type="str"), enable_snat=dict(type="bool", default=True))),
            routes=dict(type="list", elements="dict", default=[], options=dict(
                destination=dict(type="str", required=True),
                nexthop=dict(type="str", required=True))),
            mtu=dict(type="int"),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        router = Router(module_runner(module), p["router_id"])
        if p["state"] == "absent":
            outcome = router.ensure_absent(check=module.check_mode)
        else:
            spec = RouterSpec.from_params(p["router_id"], p["interfaces"],
                                          p["external_gateway"], p["routes"], p["mtu"])
            outcome = router.ensure_present(spec, check=module.check_mode)
    except InvalidRouter as exc:
        module.fail_json(msg=str(exc))
    except NetError as exc:
        module.fail_json(msg=f"router {p['router_id']}: {exc}")
    exit_with(module, outcome, namespace=router.namespace, router=outcome.after)


if __name__ == "__main__":
    main()
