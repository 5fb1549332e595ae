"""A port on this host: plugged into its network's bridge, with or without port security.

The driver behind ``stratus.cloud.port``. It composes three drivers: the plug
(:class:`.interface.BridgeInterfaceDriver`), port security (anti-spoofing and the port's
packet mark, :class:`.port_security.PortSecurity`) and, on delete, the port's security
group chains (:class:`.security_groups.SecurityGroups`). The whole request is validated
and the bridge checked before the first change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.net.interface import (
    BridgeInterfaceDriver,
    PortSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    InvalidInput,
    IPWrapper,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import Nft
from ansible_collections.stratus.cloud.plugins.module_utils.net.port_security import (
    PortSecurity,
    PortSecuritySpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.security_groups import (
    SecurityGroups,
)


@dataclass
class PortRequest:
    """The plug (``PortSpec``) and what the port may send."""

    plug: PortSpec
    port_security_enabled: bool = True
    allowed_address_pairs: list[dict] = field(default_factory=list)

    @classmethod
    def from_params(cls, p: dict) -> PortRequest:
        """From the module's arguments."""
        plug = PortSpec(p["port_id"], p["network_id"], kind=p.get("kind") or "tap",
                        mac_address=p.get("mac_address"), fixed_ips=p.get("fixed_ips") or [],
                        netns=p.get("netns"), device=p.get("device"), gateway=p.get("gateway"),
                        mtu=p.get("mtu"))
        return cls(plug, p.get("port_security_enabled", True),
                   p.get("allowed_address_pairs") or [])

    def security(self) -> PortSecuritySpec | None:
        """The port security spec (validated), or None when it is off."""
        self.plug.validate()
        if not self.port_security_enabled:
            return None
        if not self.plug.mac_address:
            raise InvalidInput("port security needs mac_address "
                               "(or set port_security_enabled: false)")
        return PortSecuritySpec(self.plug.tap, self.plug.mac_address, list(self.plug.fixed_ips),
                                self.allowed_address_pairs).validate()


class PortDriver:
    """Ports of one host (or of a namespace standing in for one)."""

    def __init__(self, ip: IPWrapper, nft: Nft):
        self.plug = BridgeInterfaceDriver(ip)
        self.security = PortSecurity(nft)
        self.groups = SecurityGroups(nft)

    def ensure_present(self, request: PortRequest, *, check: bool = False) -> Outcome:
        """After: the plug facts plus ``port_security`` (mac_addresses, ipv4, ipv6,
        mark; None when off). Before: the plug facts plus the port's chains as found."""
        sec = request.security()
        spec = request.plug
        self.plug.check(spec)  # everything validated before the first change
        plugged = self.plug.ensure_present(spec, check=check)
        if sec is not None:
            secured = self.security.ensure_present(sec, check=check)
            sec_facts = dict(self.security.describe(sec), mark=secured.after["mark"])
        else:
            secured = self.security.ensure_absent(spec.tap, check=check)
            sec_facts = None
        before = plugged.before or secured.before
        return Outcome(
            plugged.changed or secured.changed,
            dict(plugged.before, port_security=secured.before or None) if before else {},
            dict(plugged.after, port_security=sec_facts),
            plugged.actions + secured.actions)

    def ensure_absent(self, port_id: str, network_id: str, *, check: bool = False) -> Outcome:
        """Remove the port's security group chains, port security and plug."""
        spec = PortSpec(port_id, network_id, kind="tap").validate()
        grouped = self.groups.ensure_absent(spec.tap, check=check)
        secured = self.security.ensure_absent(spec.tap, check=check)
        plugged = self.plug.ensure_absent(spec, check=check)
        exists = plugged.before or secured.before
        return Outcome(
            grouped.changed or secured.changed or plugged.changed,
            dict(plugged.before, port_security=secured.before or None) if exists else {},
            {},
            grouped.actions + secured.actions + plugged.actions)
