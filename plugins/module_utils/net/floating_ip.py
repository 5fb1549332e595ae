"""A floating IP: 1:1 NAT of a public address to a port's fixed IP inside a router.

As Neutron's legacy L3 agent: the floating IP is added (``/32``) to the router's
gateway device ``qg-…`` so that the router answers ARP for it, and the router's
namespace gets DNAT (floating -> fixed, for incoming and the namespace's own traffic)
and SNAT (fixed -> floating, leaving through ``qg-…``). The rules are one nft table
per floating IP (:func:`.nat.fip_table`), applied atomically; a gratuitous ARP can
announce the address after a change.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate
from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.net import nat
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    QG_PREFIX,
    QR_PREFIX,
    InvalidInput,
    IPWrapper,
    router_ns,
)


class FloatingIpError(InvalidInput):
    """The floating IP cannot be set up as asked; nothing was changed."""


def _v4(ip: str, what: str) -> str:
    """Floating IPs and the fixed IPs they map to are IPv4 (as Neutron's)."""
    return validate.ip_address(ip, what=what, version=4, error=FloatingIpError)


@dataclass
class FloatingIpSpec:
    """A floating IP mapped to a fixed IP; ``gratuitous_arp`` announces it after a change."""

    floating_ip: str
    fixed_ip: str
    gratuitous_arp: bool = True

    def validate(self) -> FloatingIpSpec:
        self.floating_ip = _v4(self.floating_ip, "floating IP")
        self.fixed_ip = _v4(self.fixed_ip, "fixed IP")
        return self


class FloatingIp:
    def __init__(self, run, router_id: str) -> None:
        self.run = run
        self.router_id = router_id
        self.namespace = router_ns(router_id)
        self.ns = IPWrapper(self.namespace, run=run)
        self.nat = nat.NatTables.in_namespace(run, self.namespace)

    def _devices(self, prefix: str) -> list[str]:
        return sorted(d.name for d in self.ns.get_devices() if d.name.startswith(prefix))

    def gateway_device(self) -> str:
        if not self.ns.namespace_exists():
            raise FloatingIpError(
                f"router {self.router_id} is not on this host (no namespace {self.namespace}): "
                "create it first with stratus.cloud.router")
        qg = self._devices(QG_PREFIX)
        if not qg:
            raise FloatingIpError(
                f"router {self.router_id} has no external gateway: set its external_gateway "
                "(stratus.cloud.router) before adding floating IPs")
        return qg[0]

    def facts(self, floating_ip: str) -> dict:
        if not self.ns.namespace_exists():
            return {}
        table = self.nat.get(nat.fip_table_name(floating_ip))
        qg = self._devices(QG_PREFIX)
        on_device = bool(qg) and f"{floating_ip}/32" in self.ns.device(qg[0]).addr.cidrs()
        if table is None and not on_device:
            return {}
        return {"floating_ip": floating_ip, "device": qg[0] if qg else "",
                "address": on_device, "nat": table.text() if table else ""}

    def ensure_present(self, spec: FloatingIpSpec, *, check: bool = False) -> Outcome:
        spec.validate()
        fip, fixed = spec.floating_ip, spec.fixed_ip
        qg = self.gateway_device()
        gw_addrs = [ipaddress.ip_interface(c) for c in self.ns.device(qg).addr.cidrs()]
        if any(a.ip == ipaddress.ip_address(fip) and a.network.prefixlen < 32 for a in gw_addrs):
            raise FloatingIpError(f"{fip} is router {self.router_id}'s own gateway IP; "
                                  "pick another address for the floating IP")
        subnets = [ipaddress.ip_interface(c).network
                   for dev in self._devices(QR_PREFIX)
                   for c in self.ns.device(dev).addr.cidrs()]
        if not any(ipaddress.ip_address(fixed) in n for n in subnets):
            raise FloatingIpError(
                f"fixed IP {fixed} is on none of router {self.router_id}'s subnets "
                f"({', '.join(map(str, subnets)) or 'none attached'}): attach the port's "
                "subnet to the router first")
        table = nat.fip_table(fip, fixed, qg)
        before = self.facts(fip)
        want = {"floating_ip": fip, "device": qg, "address": True, "nat": table.text()}
        actions = [f"map {fip} to {fixed}"] if before != want else []
        if before == want or check:
            return Outcome(before != want, before, want, actions)
        self.nat.ensure(table)
        if not before.get("address"):
            self.ns.device(qg).addr.add(f"{fip}/32")
        if spec.gratuitous_arp:
            self.announce(qg, fip)
            actions.append(f"announce {fip}")
        return Outcome(True, before, self.facts(fip), actions)

    def announce(self, device: str, ip: str) -> None:
        """Gratuitous ARP for ``ip`` (busybox arping), so neighbours update their caches."""
        self.ns.execute(["busybox", "arping", "-U", "-c", "1", "-I", device, ip])

    def ensure_absent(self, floating_ip: str, *, check: bool = False) -> Outcome:
        fip = _v4(floating_ip, "floating IP")
        before = self.facts(fip)
        if before and not check:
            self.nat.delete(nat.fip_table_name(fip))
            if before.get("address"):
                self.ns.device(before["device"]).addr.delete(f"{fip}/32")
        return Outcome(bool(before), before, {}, [f"release {fip}"] if before else [])
