"""Port security (anti-spoofing) and per-port packet marks, with nftables' bridge family.

Design (shared with :mod:`.security_groups`):

* The bridge family filters per bridge port but has no conntrack. So this driver only
  does what needs no state: in ``table bridge stratus_ports``, a base chain on the
  ``forward`` hook at priority -200 (before br_netfilter's hook at -1, which passes
  bridged IP packets through the inet ``forward`` hook) dispatches with verdict maps::

      iifname vmap @egress     # frames a port sends   -> chain o-<tap>
      oifname vmap @ingress    # frames sent to a port -> chain i-<tap>

* ``o-<tap>`` drops what the port may not send: other source MACs, other source IPs
  (fixed IPs and allowed address pairs; ``0.0.0.0`` only for DHCP discovery and ARP
  probes, ``::`` and ``fe80::/64`` for IPv6 DAD/ND), ARP claiming other IPs/MACs, DHCP
  server replies, IPv6 router advertisements (ICMPv6 type 134) and DHCPv6 server
  replies (UDP 547 -> 546), and any ethertype other than IPv4/IPv6/ARP (so no VLAN tags). Then
  it writes the port's number into the low 16 bits of the packet mark. ``i-<tap>``
  writes it into the high 16 bits.
* :mod:`.security_groups` matches those marks in ``table inet stratus_sg`` on the inet
  ``forward`` hook, where ``ct state`` works (with br_netfilter on,
  ``net.bridge.bridge-nf-call-iptables=1`` and ``...-ip6tables=1``).

Port numbers (1..65535, per host/namespace) live in the map ``@marks`` (ifname : mark)
of the same table. A port's whole ruleset is one ``nft -f`` transaction; "changed" is
decided from ``nft -j list``: every rule carries a comment with a digest of its text,
and the list of digests (plus the map elements) is compared with the wanted one.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    InvalidInput,
    NetError,
    device_name,
    normalize_mac,
    validate_cidr,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import (
    Nft,
    delete_chain,
    digest,
    dispatch_table,
    quote,
    replace_chain,
)

FAMILY = "bridge"
TABLE = "stratus_ports"
MARK_MAX = 0xFFFF


class MarksExhausted(NetError):
    """No free port number (more than 65535 secured ports in one namespace)."""


def base_script() -> str:
    """The shared table, base chain and maps (idempotent: add, flush, re-add rules)."""
    return dispatch_table(FAMILY, TABLE, -200, "ifname", "iifname", "oifname",
                          (("marks", "ifname : mark"),))


def out_chain(device: str) -> str:
    return f"o-{device}"


def in_chain(device: str) -> str:
    return f"i-{device}"


@dataclass
class PortSecuritySpec:
    device: str
    mac_address: str
    fixed_ips: list[str] = field(default_factory=list)  # addresses or CIDRs
    allowed_address_pairs: list[dict] = field(default_factory=list)  # {ip_address, mac_address}

    def validate(self) -> PortSecuritySpec:
        device_name(self.device, "port device")
        self.mac_address = normalize_mac(self.mac_address)
        self.fixed_ips = [str(ipaddress.ip_interface(validate_cidr(ip)).ip)
                          for ip in self.fixed_ips]
        pairs = []
        for pair in self.allowed_address_pairs or []:
            if not isinstance(pair, dict) or not pair.get("ip_address"):
                raise InvalidInput(f"allowed address pair {pair!r} needs ip_address")
            ip = validate_cidr(pair["ip_address"])
            iface = ipaddress.ip_interface(ip)
            ip = str(iface.ip) if iface.network.prefixlen == iface.max_prefixlen else \
                str(iface.network)
            mac = normalize_mac(pair["mac_address"]) if pair.get("mac_address") else None
            pairs.append({"ip_address": ip, "mac_address": mac})
        self.allowed_address_pairs = pairs
        return self

    @property
    def macs(self) -> list[str]:
        macs = {self.mac_address}
        macs.update(p["mac_address"] for p in self.allowed_address_pairs if p["mac_address"])
        return sorted(macs)

    def ips(self, version: int) -> list[str]:
        ips = set(self.fixed_ips) | {p["ip_address"] for p in self.allowed_address_pairs}
        return sorted(i for i in ips if ipaddress.ip_network(i, strict=False).version == version)


def _set(items: list[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def _not_in(expr: str, items: list[str]) -> str:
    """``expr != x`` for one item (no set object in the kernel), else ``!= { ... }``."""
    return f"{expr} != {items[0]}" if len(items) == 1 else f"{expr} != {_set(items)}"


def port_rules(spec: PortSecuritySpec, mark: int) -> tuple[list[str], list[str]]:
    """The rule texts of o-<tap> and i-<tap>.

    Single MACs/IPs are plain comparisons rather than anonymous sets: the kernel keeps
    every anonymous set as an object and nft lists them all, so hundreds of ports with
    small sets would slow every read.
    """
    v4, v6, macs = spec.ips(4), spec.ips(6), spec.macs
    set_mark = f"meta mark set meta mark & 0xffff0000 | {mark:#x}"
    out = [
        f"{_not_in('ether saddr', macs)} drop",
        f"ether type arp {_not_in('arp saddr ether', macs)} drop",
        "ether type arp arp saddr ip 0.0.0.0 return",  # ARP probes (address conflict checks)
        f"ether type arp {_not_in('arp saddr ip', v4)} drop" if v4 else "ether type arp drop",
        "ether type ip udp sport 67 udp dport 68 drop",  # no DHCP servers in guests
        # ... nor IPv6 routers or DHCPv6 servers (before link-local sources are let out)
        "ether type ip6 icmpv6 type nd-router-advert drop",
        "ether type ip6 udp sport 547 udp dport 546 drop",
        "ether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 "
        f"{set_mark} return",
        f"ether type ip {_not_in('ip saddr', v4)} drop" if v4 else "ether type ip drop",
        f"ether type ip6 ip6 saddr fe80::/64 {set_mark} return",
        f"ether type ip6 ip6 saddr :: {set_mark} return",  # duplicate address detection
        f"ether type ip6 {_not_in('ip6 saddr', v6)} drop" if v6 else "ether type ip6 drop",
        "ether type != ip ether type != ip6 ether type != arp drop",
        set_mark,
    ]
    inn = [f"meta mark set meta mark & 0x0000ffff | {mark << 16:#x}"]
    return out, inn


class PortSecurity:
    """Anti-spoofing chains and port marks of one host (or namespace)."""

    def __init__(self, nft: Nft):
        self.nft = nft

    def marks(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.nft.map_elements(FAMILY, TABLE, "marks").items()}

    def mark_of(self, device: str) -> int | None:
        return self.marks().get(device)

    def read(self, device: str, marks: dict[str, int] | None = None) -> dict | None:
        """The port's chains as found: {device, mark, rules: [digest,...], ...} or None."""
        device_name(device, "port device")
        mark = (self.marks() if marks is None else marks).get(device)
        out = self.nft.chain_rules(FAMILY, TABLE, out_chain(device))
        inn = self.nft.chain_rules(FAMILY, TABLE, in_chain(device))
        if mark is None and out is None and inn is None:
            return None
        return {
            "device": device,
            "mark": mark,
            "out_rules": [r.get("comment") for r in out or []],
            "in_rules": [r.get("comment") for r in inn or []],
        }

    def _allocate(self, device: str, marks: dict[str, int]) -> int:
        if device in marks:
            return marks[device]
        used = set(marks.values())
        for n in range(1, MARK_MAX + 1):
            if n not in used:
                return n
        raise MarksExhausted("no free port number left (65535 secured ports on this host)")

    def render(self, spec: PortSecuritySpec, mark: int) -> tuple[str, dict]:
        """(nft script, wanted facts) for the port."""
        out, inn = port_rules(spec, mark)
        t = f"{FAMILY} {TABLE}"
        dev, oc, ic = spec.device, out_chain(spec.device), in_chain(spec.device)
        lines = [base_script(), *replace_chain(FAMILY, TABLE, oc, out),
                 *replace_chain(FAMILY, TABLE, ic, inn)]
        lines += [
            f"add element {t} marks {{ {quote(dev)} : {mark} }}",
            f"add element {t} egress {{ {quote(dev)} : jump {oc} }}",
            f"add element {t} ingress {{ {quote(dev)} : jump {ic} }}",
        ]
        want = {"device": dev, "mark": mark, "out_rules": [digest(r) for r in out],
                "in_rules": [digest(r) for r in inn]}
        return "\n".join(lines) + "\n", want

    def describe(self, spec: PortSecuritySpec) -> dict:
        return {"mac_addresses": spec.macs, "ipv4": spec.ips(4), "ipv6": spec.ips(6)}

    def ensure_present(self, spec: PortSecuritySpec, *, check: bool = False) -> Outcome:
        spec.validate()
        marks = self.marks()
        before = self.read(spec.device, marks)
        mark = self._allocate(spec.device, marks)
        script, want = self.render(spec, mark)
        if before == want:
            return Outcome(False, before, before)
        if not check:
            self.nft.apply(script)
        return Outcome(True, before or {}, want, [f"apply port security of {spec.device}"])

    def remove_script(self, device: str) -> str:
        t = f"{FAMILY} {TABLE}"
        lines = []
        elements = {
            "marks": self.nft.map_elements(FAMILY, TABLE, "marks"),
            "egress": self.nft.map_elements(FAMILY, TABLE, "egress"),
            "ingress": self.nft.map_elements(FAMILY, TABLE, "ingress"),
        }
        for name, elems in elements.items():
            if device in elems:
                lines.append(f"delete element {t} {name} {{ {quote(device)} }}")
        for chain in (out_chain(device), in_chain(device)):
            if self.nft.chain_rules(FAMILY, TABLE, chain) is not None:
                lines += delete_chain(FAMILY, TABLE, chain)
        return "\n".join(lines) + "\n" if lines else ""

    def ensure_absent(self, device: str, *, check: bool = False) -> Outcome:
        before = self.read(device)
        if before is None:
            return Outcome(False)
        if not check:
            script = self.remove_script(device)
            if script:
                self.nft.apply(script)
            self.cleanup_table()
        return Outcome(True, before, {}, [f"remove port security of {device}"])

    def cleanup_table(self) -> bool:
        """Delete the table when no port uses it any more."""
        if self.nft.table_exists(FAMILY, TABLE) and not self.marks() and not \
                self.nft.map_elements(FAMILY, TABLE, "egress"):
            self.nft.apply(f"delete table {FAMILY} {TABLE}\n")
            return True
        return False
