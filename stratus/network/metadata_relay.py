"""The metadata relay in a network's DHCP host plan (``network_metadata_relay``): how a
guest reaches the controller at ``http://169.254.169.254/`` (Heat signals, software
deployments), as Neutron's isolated metadata proxy does.

With the setting on, every network served by DHCP gets, on its DHCP host, the relay
``stratus.cloud.metadata_relay`` (in the ``qdhcp-`` namespace, to the controller's
``endpoint_url``, with a relay ticket for the network), and each IPv4 DHCP subnet hands
out the route to 169.254.169.254/32 via the DHCP port's address (option 121). The
controller trusts the guest address a request carries only with that network's ticket
(``stratus.api.routes.orchestration.guest_metadata``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

ADDRESS = "169.254.169.254"
MODULE = "stratus.cloud.metadata_relay"


def enabled(settings: Any) -> bool:
    return bool(getattr(settings, "network_metadata_relay", False)) if settings is not None else False


def amend(dhcp: dict[str, Any] | None, settings: Any) -> dict[str, Any] | None:
    """Add the relay to a network's DHCP state (routes to 169.254.169.254 in its
    subnets' options, the relay's target); unchanged when the setting is off."""
    if dhcp is None or not enabled(settings):
        return dhcp
    dhcp["relay"] = {"target": settings.endpoint_url}
    if dhcp.get("state") != "present":
        return dhcp
    args = dhcp["args"]
    ips = [ipaddress.ip_address(ip) for ip in args["port"]["ips"]]
    for sub in args["subnets"]:
        net = ipaddress.ip_network(sub["cidr"])
        if net.version != 4 or not sub.get("enable_dhcp", True):
            continue
        mine = next((ip for ip in ips if ip in net), None)
        routes = [r for r in sub.get("host_routes") or [] if r.get("destination") != f"{ADDRESS}/32"]
        if mine is not None:
            sub["host_routes"] = [*routes, {"destination": f"{ADDRESS}/32", "nexthop": str(mine)}]
    return dhcp


def task_args(net_id: str, dhcp: dict[str, Any], keys: Any) -> dict[str, Any] | None:
    """The relay module's arguments for the DHCP state (None: no relay, or no keys to
    sign its ticket with: an offline plan)."""
    relay = dhcp.get("relay")
    if not relay:
        return None
    if dhcp.get("state") != "present":
        return {"network_id": net_id, "state": "absent"}
    if keys is None:
        return None
    from stratus.stacks import tickets

    return {"network_id": net_id, "state": "present", "target": relay["target"],
            "ticket": tickets.issue(keys, net_id, tickets.RELAY)}
