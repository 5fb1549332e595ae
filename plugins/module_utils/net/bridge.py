"""A network's L2 segment on one host: a Linux bridge plus its uplink (like Neutron's
Linux bridge agent).

Every network gets the bridge ``brq`` + 11 chars of its id. Its uplink depends on the
segment type:

``local``  no uplink: the bridge joins ports on this host only.
``flat``   a physical interface is enslaved to the bridge (it must exist and must not
           belong to another bridge).
``vlan``   the sub-interface ``<physical>.<vlan id>`` (kernel 8021q) is made and enslaved.
``vxlan``  the device ``vxlan-<vni>`` is made and enslaved. Broadcast/unknown traffic
           goes either to a multicast ``group`` or, unicast, to the other hosts' tunnel
           IPs through all-zero FDB entries (``bridge fdb append 00:00:00:00:00:00 dst
           IP dev vxlan-N``), kept exactly equal to ``remote_ips``.

``LinuxBridgeNetwork.ensure_present(segment, *, check)`` reconciles the host with a
``Segment`` and returns an :class:`~.common.outcome.Outcome` (before/after facts,
``{}`` when absent; the planned steps as actions); with ``check=True`` it only plans. All input
is validated and conflicts are checked (VNI used by another network's device, physical
interface missing or in another bridge) before the first change, so a failed call
leaves nothing half-made. ``ensure_absent`` removes the bridge and the vxlan/vlan device
(and so its FDB entries); a flat physical interface is only released.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    VXLAN_PORT,
    DeviceNotFound,
    InvalidInput,
    IPWrapper,
    NetError,
    NotSupported,
    bridge_name,
    device_name,
    validate_ip,
    validate_vlan_id,
    validate_vni,
    vlan_name,
    vxlan_name,
)

SEGMENT_TYPES = ("local", "flat", "vlan", "vxlan")
UPLINK_KINDS = ("vxlan", "vlan")


class SegmentConflict(NetError):
    """The segment cannot be made because something on the host is in the way."""


@dataclass
class Segment:
    network_id: str
    type: str = "vxlan"
    segmentation_id: int | None = None  # VNI for vxlan, VLAN id for vlan
    physical_interface: str | None = None  # flat/vlan uplink; vxlan underlay device
    local_ip: str | None = None  # vxlan: local tunnel IP
    remote_ips: list[str] = field(default_factory=list)  # vxlan unicast flood list
    multicast_group: str | None = None  # vxlan: group instead of unicast flooding
    mtu: int | None = None
    dstport: int = VXLAN_PORT

    def validate(self) -> Segment:
        if self.type not in SEGMENT_TYPES:
            raise InvalidInput(f"network type {self.type!r} is not one of {', '.join(SEGMENT_TYPES)}")
        bridge_name(self.network_id)
        if self.physical_interface is not None:
            device_name(self.physical_interface, "physical_interface")
        if self.type == "vxlan":
            if self.segmentation_id is None:
                raise InvalidInput("a vxlan network needs segmentation_id (its VNI)")
            self.segmentation_id = validate_vni(self.segmentation_id)
            if self.multicast_group and self.remote_ips:
                raise InvalidInput("give either multicast_group or remote_ips, not both")
            if self.multicast_group:
                self.multicast_group = validate_ip(self.multicast_group)
                if not _is_multicast(self.multicast_group):
                    raise InvalidInput(f"{self.multicast_group} is not a multicast address")
                if not self.physical_interface:
                    raise InvalidInput("a multicast vxlan network needs physical_interface "
                                       "(the underlay device to join the group on)")
            if self.local_ip:
                self.local_ip = validate_ip(self.local_ip)
            self.remote_ips = sorted({validate_ip(ip) for ip in self.remote_ips or []})
            if self.local_ip in self.remote_ips:
                self.remote_ips.remove(self.local_ip)
        elif self.type == "vlan":
            if self.segmentation_id is None or not self.physical_interface:
                raise InvalidInput("a vlan network needs segmentation_id and physical_interface")
            self.segmentation_id = validate_vlan_id(self.segmentation_id)
            vlan_name(self.physical_interface, self.segmentation_id)
        elif self.type == "flat":
            if not self.physical_interface:
                raise InvalidInput("a flat network needs physical_interface")
            if self.segmentation_id is not None:
                raise InvalidInput("a flat network takes no segmentation_id")
        else:
            if self.segmentation_id is not None or self.physical_interface:
                raise InvalidInput("a local network takes no segmentation_id or physical_interface")
        if self.type != "vxlan" and (self.remote_ips or self.multicast_group or self.local_ip):
            raise InvalidInput("local_ip, remote_ips and multicast_group are for vxlan networks")
        if self.mtu is not None and not 68 <= int(self.mtu) <= 65535:
            raise InvalidInput(f"mtu {self.mtu} is out of range 68..65535")
        return self

    @property
    def bridge(self) -> str:
        return bridge_name(self.network_id)

    @property
    def uplink(self) -> str | None:
        if self.type == "vxlan":
            return vxlan_name(self.segmentation_id)
        if self.type == "vlan":
            return vlan_name(self.physical_interface, self.segmentation_id)
        if self.type == "flat":
            return self.physical_interface
        return None

    def facts(self) -> dict:
        """The state this segment should have on the host (same shape as ``read``)."""
        d = {
            "bridge": self.bridge,
            "type": self.type,
            "uplink": self.uplink,
            "segmentation_id": self.segmentation_id,
            "physical_interface": self.physical_interface,
            "mtu": self.mtu,
        }
        if self.type == "vxlan":
            d.update(local_ip=self.local_ip, multicast_group=self.multicast_group,
                     remote_ips=[] if self.multicast_group else list(self.remote_ips),
                     dstport=self.dstport)
        return d


def _is_multicast(ip: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(ip).is_multicast


class LinuxBridgeNetwork:
    """Bridges and their uplinks in one namespace (the host's by default)."""

    def __init__(self, ip: IPWrapper):
        self.ip = ip

    # ------------------------------------------------------------------ reads
    def _links(self) -> dict[str, dict]:
        return {r["ifname"]: r for r in self.ip.list_links()}

    def read(self, network_id: str) -> dict | None:
        """The segment of ``network_id`` as found on the host, or None."""
        return self._read(bridge_name(network_id), self._links())

    def _read(self, bridge: str, links: dict[str, dict]) -> dict | None:
        rec = links.get(bridge)
        if rec is None:
            return None
        members = sorted(n for n, r in links.items() if r.get("master") == bridge)
        facts: dict = {"bridge": bridge, "type": "local", "uplink": None,
                       "segmentation_id": None, "physical_interface": None,
                       "mtu": rec.get("mtu"), "members": members,
                       "up": "UP" in rec.get("flags", [])}
        ifindex = {r.get("ifindex"): n for n, r in links.items()}
        for name in members:
            info = links[name].get("linkinfo", {})
            kind = info.get("info_kind")
            data = info.get("info_data", {})
            if kind == "vxlan":
                link = data.get("link")
                facts.update(type="vxlan", uplink=name, segmentation_id=data.get("id"),
                             physical_interface=ifindex.get(link, link) if link else None,
                             local_ip=data.get("local"), multicast_group=data.get("group"),
                             dstport=data.get("port"),
                             remote_ips=[d for d in self.ip.device(name).fdb.destinations()
                                         if d != data.get("group")],  # the kernel's own
                             uplink_mtu=links[name].get("mtu"))
                break
            if kind == "vlan":
                facts.update(type="vlan", uplink=name, segmentation_id=data.get("id"),
                             physical_interface=links[name].get("link"),
                             uplink_mtu=links[name].get("mtu"))
                break
            if kind in (None, "dummy", "veth", "bond", "team") and not name.startswith("tap") \
                    and not name.startswith("vxlan-"):
                # a physical (or stand-in) interface: flat
                facts.update(type="flat", uplink=name, physical_interface=name)
        return facts

    def list_networks(self) -> list[dict]:
        links = self._links()
        return [self._read(n, links) for n, r in links.items()
                if n.startswith("brq") and r.get("linkinfo", {}).get("info_kind") == "bridge"]

    def ports(self, network_id: str) -> list[str]:
        """Ports (taps) of the network's bridge."""
        facts = self.read(network_id)
        if not facts:
            return []
        return [m for m in facts["members"] if m != facts["uplink"]]

    # ------------------------------------------------------------------ checks
    def check_conflicts(self, seg: Segment, links: dict[str, dict] | None = None) -> None:
        """Raise SegmentConflict/InvalidInput if the segment cannot be made here."""
        links = self._links() if links is None else links
        bridge = seg.bridge
        if seg.type == "vxlan":
            for name, rec in links.items():
                info = rec.get("linkinfo", {})
                if info.get("info_kind") != "vxlan":
                    continue
                data = info.get("info_data", {})
                same_vni = data.get("id") == seg.segmentation_id and \
                    data.get("port", VXLAN_PORT) == seg.dstport
                if (same_vni or name == seg.uplink) and rec.get("master") != bridge:
                    owner = rec.get("master")
                    where = f"bridge {owner}" if owner else "no bridge"
                    raise SegmentConflict(
                        f"VNI {seg.segmentation_id} is already in use on this host by device "
                        f"{name} (on {where}); pick another segmentation_id or delete that "
                        "network first")
            if seg.physical_interface and seg.physical_interface not in links:
                raise SegmentConflict(
                    f"underlay interface {seg.physical_interface} does not exist on this host")
            if seg.local_ip and not self._has_local_address(seg.local_ip):
                raise SegmentConflict(
                    f"local_ip {seg.local_ip} is not an address of this host; give the IP of "
                    "the tunnel (underlay) interface")
        if seg.type in ("flat", "vlan"):
            phys = links.get(seg.physical_interface)
            if phys is None:
                raise SegmentConflict(
                    f"physical interface {seg.physical_interface} does not exist on this host; "
                    "check the network's physical_interface (ip link shows the host's devices)")
            if seg.type == "flat" and phys.get("master") not in (None, bridge):
                raise SegmentConflict(
                    f"physical interface {seg.physical_interface} already belongs to bridge "
                    f"{phys['master']}; a flat network needs it for itself")
            if phys.get("linkinfo", {}).get("info_kind") == "bridge":
                raise SegmentConflict(f"{seg.physical_interface} is a bridge, not an interface")
        if seg.type == "vlan":
            rec = links.get(seg.uplink)
            if rec is not None and rec.get("master") not in (None, bridge):
                raise SegmentConflict(
                    f"VLAN device {seg.uplink} already belongs to bridge {rec['master']}")

    def _has_local_address(self, ip: str) -> bool:
        for rec in self.ip.ip_json("addr", "show"):
            for a in rec.get("addr_info", []):
                if a.get("local") == ip:
                    return True
        return False

    # ------------------------------------------------------------------ plan/apply
    def plan(self, seg: Segment) -> tuple[dict | None, list[tuple]]:
        """(current facts, actions) to bring the host to ``seg``; validates first."""
        seg.validate()
        links = self._links()
        current = self._read(seg.bridge, links)
        self.check_conflicts(seg, links)
        actions: list[tuple] = []
        bridge = seg.bridge
        if current is None:
            actions.append(("add_bridge", bridge))
            current_uplink = None
        else:
            current_uplink = current["uplink"]
            if current_uplink and current_uplink != seg.uplink:
                actions.append(("remove_uplink", current_uplink, current["type"]))
                current_uplink = None
        if seg.type == "vxlan":
            if current_uplink == seg.uplink and not self._vxlan_matches(current, seg):
                actions.append(("remove_uplink", current_uplink, "vxlan"))
                current_uplink = None
            if current_uplink is None:
                actions.append(("add_vxlan", seg.uplink))
                have_fdb: list[str] = []
            else:
                have_fdb = current.get("remote_ips", [])
            want_fdb = [] if seg.multicast_group else seg.remote_ips
            for ip in sorted(set(want_fdb) - set(have_fdb)):
                actions.append(("fdb_append", seg.uplink, ip))
            for ip in sorted(set(have_fdb) - set(want_fdb)):
                actions.append(("fdb_delete", seg.uplink, ip))
        elif seg.type == "vlan" and current_uplink is None:
            if seg.uplink not in links:
                actions.append(("add_vlan", seg.uplink))
            actions.append(("set_master", seg.uplink, bridge))
        elif seg.type == "flat" and current_uplink is None:
            actions.append(("set_master", seg.uplink, bridge))
        if seg.uplink and seg.type != "flat":
            up = links.get(seg.uplink)
            need_mtu = seg.mtu and (up is None or up.get("mtu") != seg.mtu or
                                    any(a[0] == "remove_uplink" and a[1] == seg.uplink
                                        for a in actions))
            if need_mtu:
                actions.append(("set_mtu", seg.uplink, seg.mtu))
        if seg.uplink:
            up = links.get(seg.uplink)
            if up is None or "UP" not in up.get("flags", []) or any(
                    a[1] == seg.uplink for a in actions if a[0] in ("remove_uplink", "add_vxlan")):
                actions.append(("set_up", seg.uplink))
        if seg.mtu and (current is None or current["mtu"] != seg.mtu):
            actions.append(("set_mtu", bridge, seg.mtu))
        if current is None or not current.get("up"):
            actions.append(("set_up", bridge))
        return current, actions

    def _vxlan_matches(self, current: dict, seg: Segment) -> bool:
        return (current.get("segmentation_id") == seg.segmentation_id
                and (current.get("local_ip") or None) == seg.local_ip
                and (current.get("multicast_group") or None) == seg.multicast_group
                and (seg.physical_interface is None
                     or current.get("physical_interface") == seg.physical_interface)
                and current.get("dstport", VXLAN_PORT) == seg.dstport)

    def apply(self, seg: Segment, actions: list[tuple]) -> None:
        made: list[str] = []
        try:
            for action in actions:
                self._do(seg, action, made)
        except Exception:
            # nothing half-made: remove what this call created
            for name in reversed(made):
                self.ip.ensure_device_absent(name)
            raise

    def _do(self, seg: Segment, action: tuple, made: list[str]) -> None:
        op, name = action[0], action[1]
        ip = self.ip
        if op == "add_bridge":
            ip.add_bridge(name)
            made.append(name)
        elif op == "remove_uplink":
            if action[2] == "flat":
                ip.device(name).link.set_nomaster()
            else:
                ip.ensure_device_absent(name)
        elif op == "add_vxlan":
            ip.add_vxlan(name, seg.segmentation_id, local=seg.local_ip,
                         dev=seg.physical_interface, group=seg.multicast_group,
                         dstport=seg.dstport, learning=True)
            made.append(name)
            ip.device(name).link.set_master(seg.bridge)
        elif op == "add_vlan":
            try:
                ip.add_vlan(name, seg.physical_interface, seg.segmentation_id)
            except NotSupported as exc:
                raise SegmentConflict(
                    f"cannot make VLAN device {name}: the kernel has no VLAN support "
                    f"(load the 8021q module); {exc}") from None
            made.append(name)
        elif op == "set_master":
            ip.device(name).link.set_master(action[2])
        elif op == "fdb_append":
            ip.device(name).fdb.append("00:00:00:00:00:00", action[2])
        elif op == "fdb_delete":
            ip.device(name).fdb.delete("00:00:00:00:00:00", action[2])
        elif op == "set_mtu":
            ip.device(name).link.set_mtu(action[2])
        elif op == "set_up":
            ip.device(name).link.set_up()
        else:  # pragma: no cover
            raise ValueError(op)

    def ensure_present(self, seg: Segment, *, check: bool = False) -> Outcome:
        before, actions = self.plan(seg)
        steps = [" ".join(map(str, a)) for a in actions]
        if not actions:
            return Outcome(False, before or {}, before or {})
        if check:
            return Outcome(True, before or {}, dict(before or {}, **seg.facts()), steps)
        self.apply(seg, actions)
        return Outcome(True, before or {}, self.read(seg.network_id) or {}, steps)

    def ensure_absent(self, network_id: str, *, check: bool = False) -> Outcome:
        before = self.read(network_id)
        if before is None:
            return Outcome(False)
        steps = [f"delete {before['uplink']}"] if before["type"] in UPLINK_KINDS and \
            before["uplink"] else []
        steps.append(f"delete {before['bridge']}")
        if not check:
            if before["type"] in UPLINK_KINDS and before["uplink"]:
                self.ip.ensure_device_absent(before["uplink"])
            with contextlib.suppress(DeviceNotFound):
                self.ip.device(before["bridge"]).link.delete()
        return Outcome(True, before, {}, steps)


def segment_from_params(params: dict) -> Segment:
    fields = set(Segment.__dataclass_fields__)
    return Segment(**{k: v for k, v in params.items() if k in fields and v is not None})


