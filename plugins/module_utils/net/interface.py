"""Plugging ports into a network's bridge (like Neutron's ``BridgeInterfaceDriver``).

Two kinds of port:

``tap``        a guest NIC: the tap ``tap`` + 11 chars of the port id, made by libvirt
               (``<target dev='tap...'/>``) or here in advance (a persistent tuntap
               that libvirt can take over). It is enslaved to the bridge and set up; the
               guest's MAC lives in the guest, so it is used only by port security.
``namespace``  a service or test port: a veth pair ``tap<id>`` (bridge side) <->
               ``device`` (default ``ns-<id>``) whose peer is moved into the namespace
               ``netns`` (created if missing, never deleted here) with the port's MAC,
               fixed IPs (CIDRs), optional default gateway and MTU.

``ensure_present(spec, *, check)`` checks its input and that the bridge exists before
touching anything, and on failure removes the devices it created. ``ensure_absent``
deletes the tap (and so the veth peer). Both return an ``Outcome``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    DeviceNotFound,
    InvalidInput,
    IPWrapper,
    NetError,
    bridge_name,
    normalize_mac,
    ns_name,
    resource_id,
    tap_name,
    validate_cidr,
    validate_ip,
)


class NetworkNotPlumbed(NetError):
    """The port's network has no bridge on this host."""


@dataclass
class PortSpec:
    port_id: str
    network_id: str
    kind: str = "tap"
    mac_address: str | None = None
    fixed_ips: list[str] = field(default_factory=list)
    netns: str | None = None
    device: str | None = None
    gateway: str | None = None
    mtu: int | None = None

    def validate(self) -> PortSpec:
        if self.kind not in ("tap", "namespace"):
            raise InvalidInput(f"port kind {self.kind!r} is not tap or namespace")
        tap_name(self.port_id)
        bridge_name(self.network_id)
        if self.mac_address is not None:
            self.mac_address = normalize_mac(self.mac_address)
        self.fixed_ips = [validate_cidr(c) for c in self.fixed_ips or []]
        if self.kind == "namespace":
            if not self.netns:
                raise InvalidInput("a namespace port needs netns (the namespace to plug into)")
            resource_id(self.netns, "netns (a namespace name)")
            if not self.mac_address:
                raise InvalidInput("a namespace port needs mac_address")
            self.device = self.device or ns_name(self.port_id)
            IPWrapper().device(self.device)  # checks the name
            if self.gateway:
                self.gateway = validate_ip(self.gateway)
        elif self.gateway or self.netns or self.device:
            raise InvalidInput("netns, device and gateway are for namespace ports")
        if self.mtu is not None and not 68 <= int(self.mtu) <= 65535:
            raise InvalidInput(f"mtu {self.mtu} is out of range 68..65535")
        return self

    @property
    def tap(self) -> str:
        return tap_name(self.port_id)

    @property
    def bridge(self) -> str:
        return bridge_name(self.network_id)

    def facts(self) -> dict:
        d = {"tap": self.tap, "bridge": self.bridge, "kind": self.kind, "up": True}
        if self.mtu:
            d["mtu"] = self.mtu
        if self.kind == "namespace":
            d.update(netns=self.netns, device=self.device, mac_address=self.mac_address,
                     fixed_ips=sorted(self.fixed_ips), gateway=self.gateway)
        return d


class BridgeInterfaceDriver:
    """Plugs/unplugs ports into bridges in one namespace (the host's by default)."""

    def __init__(self, ip: IPWrapper):
        self.ip = ip

    def _peer_wrapper(self, netns: str) -> IPWrapper:
        return IPWrapper(netns, run=self.ip.run)

    def read(self, spec: PortSpec) -> dict | None:
        tap = self.ip.device(spec.tap)
        try:
            rec = tap.link.show()
        except DeviceNotFound:
            return None
        kind = "namespace" if rec.get("linkinfo", {}).get("info_kind") == "veth" else "tap"
        d = {"tap": spec.tap, "bridge": rec.get("master"), "kind": kind,
             "up": "UP" in rec.get("flags", [])}
        if spec.mtu:
            d["mtu"] = rec.get("mtu")
        if spec.kind == "namespace":
            d.update(netns=None, device=None, mac_address=None, fixed_ips=[], gateway=None)
            if spec.netns and self.ip.netns.exists(spec.netns):
                peer = self._peer_wrapper(spec.netns).device(spec.device)
                try:
                    prec = peer.link.show()
                except DeviceNotFound:
                    prec = None
                if prec is not None:
                    d.update(netns=spec.netns, device=spec.device,
                             mac_address=prec.get("address"),
                             fixed_ips=sorted(peer.addr.cidrs()),
                             gateway=peer.route.get_gateway(
                                 ipaddress.ip_address(spec.gateway).version
                                 if spec.gateway else 4))
                    d["up"] = d["up"] and "UP" in prec.get("flags", [])
                    if spec.mtu and prec.get("mtu") != spec.mtu:
                        d["mtu"] = prec.get("mtu")
        return d

    def check(self, spec: PortSpec) -> None:
        spec.validate()
        if not self.ip.device(spec.bridge).exists():
            raise NetworkNotPlumbed(
                f"network {spec.network_id} has no bridge {spec.bridge} on this host; create "
                "its segment with stratus.cloud.network first")
        master = None
        if self.ip.device(spec.tap).exists():
            master = self.ip.device(spec.tap).link.master
        if master not in (None, spec.bridge):
            raise NetError(f"device {spec.tap} is plugged into another bridge ({master}); "
                           "unplug the port from its old network first")

    def ensure_present(self, spec: PortSpec, *, check: bool = False) -> Outcome:
        self.check(spec)
        before = self.read(spec)
        want = spec.facts()
        if before == want:
            return Outcome(False, before, before)
        steps = [f"plug {spec.tap} into {spec.bridge}" if before is None
                 else f"update {spec.tap}"]
        if check:
            return Outcome(True, before or {}, want, steps)
        made = []
        try:
            self._apply(spec, before, made)
        except Exception:
            for name in made:
                self.ip.ensure_device_absent(name)
            raise
        return Outcome(True, before or {}, self.read(spec) or {}, steps)

    def _apply(self, spec: PortSpec, before: dict | None, made: list[str]) -> None:
        ip = self.ip
        if spec.kind == "namespace":
            IPWrapper(run=ip.run).netns.ensure(spec.netns)
            peer_w = self._peer_wrapper(spec.netns)
            if before is not None and (before["kind"] != "namespace" or
                                       before.get("device") is None):
                ip.ensure_device_absent(spec.tap)  # wrong kind or lost its peer: remake
                before = None
            if before is None:
                peer_w.ensure_device_absent(spec.device)
                ip.add_veth(spec.tap, spec.device, peer_namespace=spec.netns)
                made.append(spec.tap)
            peer = peer_w.device(spec.device)
            if peer.link.address != spec.mac_address:
                peer.link.set_address(spec.mac_address)
            if spec.mtu:
                peer_w.ensure_mtu(spec.device, spec.mtu)
            peer_w.ensure_up(spec.device)
            peer.addr.ensure(spec.fixed_ips)
            version = ipaddress.ip_address(spec.gateway).version if spec.gateway else 4
            current_gw = peer.route.get_gateway(version)
            if spec.gateway and current_gw != spec.gateway:
                peer.route.add_gateway(spec.gateway)
            elif not spec.gateway and current_gw:
                peer.route.delete_gateway(current_gw)
        elif before is None:
            ip.add_tap(spec.tap)
            made.append(spec.tap)
        if spec.mtu:
            ip.ensure_mtu(spec.tap, spec.mtu)
        ip.ensure_master(spec.tap, spec.bridge)
        ip.ensure_up(spec.tap)

    def ensure_absent(self, spec: PortSpec, *, check: bool = False) -> Outcome:
        before = self.read(spec)
        if before is None:
            return Outcome(False)
        if not check:
            self.ip.ensure_device_absent(spec.tap)
        return Outcome(True, before, {}, [f"delete {spec.tap}"])
