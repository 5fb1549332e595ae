"""Ports of network services (DHCP, routers) plugged into a network's bridge.

As in Neutron's Linux bridge agent: a veth pair whose bridge side is ``tap<port id>``
(a port of the network's ``brq…`` bridge) and whose other side lives in the service's
namespace under the role's name (``ns-…`` for DHCP, ``qr-…``/``qg-…`` for routers),
carrying the port's MAC and fixed IPs.
"""

from __future__ import annotations

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    IPWrapper,
    NetError,
    bridge_name,
    normalize_mac,
    tap_name,
)


class BridgeMissing(NetError):
    """The network's bridge is not on this host."""


def require_bridge(root: IPWrapper, network_id: str) -> str:
    """The bridge of ``network_id``; BridgeMissing with what to do if it is absent."""
    bridge = bridge_name(network_id)
    if not root.device(bridge).exists():
        raise BridgeMissing(
            f"network {network_id} has no bridge {bridge} on this host: create the network "
            "first (stratus.cloud.network) and then plug services into it"
        )
    return bridge


def plug(root: IPWrapper, ns: IPWrapper, network_id: str, port_id: str, inner: str,
         mac: str, cidrs: list[str], mtu: int | None = None, keep=lambda cidr: False) -> bool:
    """Make the veth ``tap<port>``/``inner`` exist, plugged, addressed and up; True if changed.

    The namespace ``ns`` must exist. Addresses on ``inner`` become exactly ``cidrs``,
    plus those present for which ``keep(cidr)`` is true (a router keeps floating IPs).
    """
    bridge = require_bridge(root, network_id)
    tap = tap_name(port_id)
    mac = normalize_mac(mac)
    changed = False
    dev = ns.device(inner)
    if not dev.exists():
        root.ensure_device_absent(tap)  # a stale half of an old pair
        root.add_veth(tap, inner, peer_namespace=ns.namespace)
        changed = True
    if dev.link.address != mac:
        dev.link.set_address(mac)
        changed = True
    changed |= ns.ensure_mtu(inner, mtu)
    changed |= root.ensure_mtu(tap, mtu)
    changed |= root.ensure_master(tap, bridge)
    changed |= root.ensure_up(tap)
    changed |= ns.ensure_up(inner)
    kept = [c for c in dev.addr.cidrs() if keep(c)]
    changed |= dev.addr.ensure([*cidrs, *kept])
    return changed


def unplug(root: IPWrapper, port_id: str) -> bool:
    """Delete the bridge side (the kernel deletes its peer); True if it existed."""
    return root.ensure_device_absent(tap_name(port_id))


def port_facts(ns: IPWrapper, inner: str) -> dict:
    """The service port as it is in ``ns``: device, MAC, addresses; {} if absent."""
    dev = ns.device(inner)
    if not dev.exists():
        return {}
    return {"device": inner, "mac": dev.link.address, "addresses": sorted(dev.addr.cidrs())}
