"""Ports of network services (DHCP, routers) plugged into a network's bridge.

As in Neutron's Linux bridge agent: a veth pair whose bridge side is ``tap<port id>``
(a port of the network's ``brq…`` bridge) and whose other side lives in the service's
namespace under the role's name (``ns-…`` for DHCP, ``qr-…``/``qg-…`` for routers),
carrying the port's MAC and fixed IPs. The plugging itself is
:class:`.interface.BridgeInterfaceDriver`'s (``kind=namespace``); this module adds what
services need around it: checking every bridge before the first change, reading the
ports back, and unplugging a port known only by its device name.
"""

from __future__ import annotations

from ansible_collections.stratus.cloud.plugins.module_utils.net.interface import (
    BridgeInterfaceDriver,
    PortSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import IPWrapper


def spec(ns: IPWrapper, network_id: str, port_id: str, inner: str, mac: str,
         cidrs: list[str], mtu: int | None = None) -> PortSpec:
    return PortSpec(port_id=port_id, network_id=network_id, kind="namespace",
                    mac_address=mac, fixed_ips=list(cidrs), netns=ns.namespace,
                    device=inner, mtu=mtu).validate()


def check(root: IPWrapper, specs: list[PortSpec]) -> None:
    """Every port's bridge exists and its tap is not elsewhere (NetworkNotPlumbed, …)."""
    driver = BridgeInterfaceDriver(root)
    for s in specs:
        driver.check(s)


def plug(root: IPWrapper, port: PortSpec, keep=lambda cidr: False) -> bool:
    """Plug ``port``; addresses on its device become its fixed IPs plus those present
    for which ``keep(cidr)`` is true (a router keeps its floating IPs). True if changed."""
    current = root.device(port.tap).exists() and IPWrapper(port.netns, run=root.run)
    if current and current.device(port.device).exists():
        kept = [c for c in current.device(port.device).addr.cidrs() if keep(c)]
        port.fixed_ips = sorted({*port.fixed_ips, *kept})
    changed, _before, _after = BridgeInterfaceDriver(root).ensure_present(port)
    return changed


def unplug_device(root: IPWrapper, inner: str) -> bool:
    """Unplug the port whose namespace side is ``inner`` (``ns-X``, ``qr-X``, ``qg-X``):
    delete ``tapX`` (the kernel deletes its peer). True if it existed."""
    return root.ensure_device_absent("tap" + inner.split("-", 1)[1])


def port_facts(ns: IPWrapper, inner: str) -> dict:
    """The service port as it is in ``ns``: device, MAC, addresses; {} if absent."""
    dev = ns.device(inner)
    if not dev.exists():
        return {}
    return {"device": inner, "mac": dev.link.address, "addresses": sorted(dev.addr.cidrs())}
