"""iproute2 driver in the shape of Neutron's ``agent/linux/ip_lib.py``.

``IPWrapper(namespace=None, run=...)`` is the entry point::

    ip = IPWrapper(namespace="qdhcp-<id>")
    ip.netns.add("qdhcp-<id>")
    tap, ns_dev = ip.add_veth("tap1234", "ns-1234", peer_namespace="qdhcp-<id>")
    dev = ip.device("eth0")
    dev.link.set_up(); dev.link.set_mtu(1450); dev.link.set_master("brq...")
    dev.addr.add("10.0.0.2/24"); dev.addr.list()
    dev.route.add_gateway("10.0.0.1"); dev.route.list()
    ip.device("vxlan-42").fdb.append("00:00:00:00:00:00", dst="192.0.2.2")

``run(argv, data=None) -> (rc, stdout, stderr)`` executes one command; the default runs
it with :mod:`subprocess`. Modules pass ``module.run_command``-like callables. All reads
use ``ip -j`` (JSON); kernel errors become typed exceptions (``DeviceNotFound``,
``AlreadyExists``, ``NamespaceNotFound``, ...), all subclasses of ``CommandFailed``.
A namespace given to ``IPWrapper`` makes every command run there (``ip -n NS``,
``bridge -n NS``, ``ip netns exec NS cmd`` for other tools).

Device and namespace names are pure functions of resource ids (``bridge_name``,
``tap_name``, ``vxlan_name``, ``qr_name``, ``qg_name``, ``ns_name``, ``router_ns``,
``dhcp_ns``), all within the kernel's 15-character limit, so that an operator can map
any host object back to its API resource.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import json
import os
import re
from collections.abc import Iterator, Sequence

from ansible_collections.stratus.cloud.plugins.module_utils.common import command, validate

Runner = command.Runner

DEV_NAME_MAX = 15
ID_CHARS = 11  # as Neutron: 3-char prefix + 11 chars of the id = 14
VNI_MAX = 2**24 - 1
VLAN_MAX = 4094
VXLAN_PORT = 4789

BRIDGE_PREFIX = "brq"
TAP_PREFIX = "tap"
VXLAN_PREFIX = "vxlan-"
QR_PREFIX = "qr-"
QG_PREFIX = "qg-"
NS_DEV_PREFIX = "ns-"
ROUTER_NS_PREFIX = "qrouter-"
DHCP_NS_PREFIX = "qdhcp-"


# --------------------------------------------------------------------------- errors


class NetError(Exception):
    """Base of every error raised by the net drivers."""


class InvalidInput(NetError, ValueError):
    """An argument is malformed (MAC, CIDR, name too long, VNI out of range, ...)."""


class CommandFailed(command.CommandFailed, NetError):
    """A command exited non-zero. Carries its argv, exit code, stderr and stdout."""


class DeviceNotFound(CommandFailed):
    """The named network device does not exist (in the namespace used)."""


class NamespaceNotFound(CommandFailed):
    """The named network namespace does not exist."""


class AlreadyExists(CommandFailed):
    """The kernel refused to create something that exists (device, address, route)."""


DeviceExists = AlreadyExists


class NotSupported(CommandFailed):
    """The kernel lacks the feature (e.g. no 8021q for VLAN devices)."""


class PermissionDenied(CommandFailed):
    """The command needs privileges it does not have."""


class InvalidArgument(CommandFailed):
    """The kernel or tool rejected an argument."""


_ERROR_PATTERNS: list[tuple[re.Pattern[str], type[CommandFailed]]] = [
    (re.compile(r"Cannot open network namespace|netns .* not found|Invalid netns", re.I),
     NamespaceNotFound),
    (re.compile(r"Cannot find device|does not exist|No such device|not found", re.I),
     DeviceNotFound),
    (re.compile(r"File exists|already exists", re.I), AlreadyExists),
    (re.compile(r"not supported|Unknown device type|Unknown link kind", re.I), NotSupported),
    (re.compile(r"Operation not permitted|Permission denied", re.I), PermissionDenied),
    (re.compile(r"Invalid argument|invalid|Error: argument|Numerical result out of range", re.I),
     InvalidArgument),
]


def classify_error(argv: Sequence[str], rc: int, stderr: str, stdout: str = "") -> CommandFailed:
    """The typed exception for a failed command, chosen from its stderr."""
    for pattern, cls in _ERROR_PATTERNS:
        if pattern.search(stderr or ""):
            return cls(argv, rc, stderr, stdout)
    return CommandFailed(argv, rc, stderr, stdout)


# --------------------------------------------------------------------------- running


subprocess_run = command.subprocess_run  # the default runner: argv, no shell, C locale


def check_output(run: Runner, argv: Sequence[str], data: str | None = None) -> str:
    """Run argv with ``run``; return stdout or raise the typed ``CommandFailed``."""
    return command.check_output(run, argv, data, error=classify_error)


def module_runner(module) -> Runner:
    """``run(argv, data=None)`` on top of ``AnsibleModule.run_command`` (argv, no shell,
    C locale so that the error patterns above match)."""

    def run(argv: Sequence[str], data: str | None = None) -> tuple[int, str, str]:
        return module.run_command(list(argv), data=data, environ_update={"LC_ALL": "C"})

    return run


LOCK_FILE = "/run/stratus/net.lock"


@contextlib.contextmanager
def host_lock(path: str = LOCK_FILE) -> Iterator[None]:
    """Serialize read-decide-write cycles of the net modules on one machine.

    Two jobs may plug ports on the same host at once; without this they could read
    the same free port mark, or both decide a VNI is free. One lock file for the
    machine (namespaces included): the cycles are short.
    """
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def netns_exec(argv: Sequence[str], namespace: str | None) -> list[str]:
    """argv to run a command inside ``namespace`` (unchanged when namespace is None)."""
    if not namespace:
        return list(argv)
    return ["ip", "netns", "exec", namespace, *argv]


# --------------------------------------------------------------------------- names


def device_name(name: str, what: str = "device name") -> str:
    """A Linux device name (1..15 of letters, digits, '_', '.', '-'): nothing that is
    syntax in the nft scripts and files built from it."""
    return validate.device_name(name, what=what, error=InvalidInput)


_check_name = device_name


def resource_id(value: str, what: str = "id") -> str:
    """A resource id safe as a path component, file name and config token."""
    return validate.resource_id(value, what=what, error=InvalidInput)


def _prefixed(prefix: str, resource_id_: str) -> str:
    return _check_name(prefix + resource_id(resource_id_, f"id of the {prefix!r} device")[:ID_CHARS])


def bridge_name(network_id: str) -> str:
    """Linux bridge of a network: ``brq`` + first 11 chars of the network id."""
    return _prefixed(BRIDGE_PREFIX, network_id)


def tap_name(port_id: str) -> str:
    """Bridge-side device of a port: ``tap`` + first 11 chars of the port id."""
    return _prefixed(TAP_PREFIX, port_id)


def qr_name(port_id: str) -> str:
    """Router-internal (namespace side) device of a router interface port."""
    return _prefixed(QR_PREFIX, port_id)


def qg_name(port_id: str) -> str:
    """Router gateway (namespace side) device of a router gateway port."""
    return _prefixed(QG_PREFIX, port_id)


def ns_name(port_id: str) -> str:
    """Namespace-side device of a DHCP (or other service) port; its peer is ``tap_name``."""
    return _prefixed(NS_DEV_PREFIX, port_id)


def vxlan_name(vni: int) -> str:
    """VXLAN device of a VNI: ``vxlan-<vni>``."""
    return _check_name(f"{VXLAN_PREFIX}{validate_vni(vni)}")


def vlan_name(physical: str, vlan_id: int) -> str:
    """VLAN sub-interface ``<physical>.<vlan id>`` (must fit in 15 chars)."""
    return _check_name(f"{physical}.{validate_vlan_id(vlan_id)}")


def router_ns(router_id: str) -> str:
    """Namespace of a router: ``qrouter-<router id>``."""
    return f"{ROUTER_NS_PREFIX}{resource_id(router_id, 'router id')}"


def dhcp_ns(network_id: str) -> str:
    """Namespace of a network's DHCP server: ``qdhcp-<network id>``."""
    return f"{DHCP_NS_PREFIX}{resource_id(network_id, 'network id')}"


# --------------------------------------------------------------------------- validation

def normalize_mac(mac: str, what: str = "MAC address") -> str:
    return validate.mac(mac, what=what, error=InvalidInput)


def validate_ip(address: str, what: str = "IP address") -> str:
    return validate.ip_address(address, what=what, error=InvalidInput)


def validate_cidr(cidr: str, *, strict: bool = False, what: str = "CIDR") -> str:
    """A network (``strict``) or an interface (``10.0.0.5/24``) in canonical form."""
    return validate.ip_network(cidr, strict=strict, what=what, error=InvalidInput)


def validate_vni(vni: int) -> int:
    try:
        value = int(vni)
    except (TypeError, ValueError):
        raise InvalidInput(f"VNI {vni!r} is not a number") from None
    if not 1 <= value <= VNI_MAX:
        raise InvalidInput(f"VNI {value} is out of range 1..{VNI_MAX}")
    return value


def validate_vlan_id(vlan_id: int) -> int:
    try:
        value = int(vlan_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"VLAN id {vlan_id!r} is not a number") from None
    if not 1 <= value <= VLAN_MAX:
        raise InvalidInput(f"VLAN id {value} is out of range 1..{VLAN_MAX}")
    return value


# --------------------------------------------------------------------------- commands


class _SubCommand:
    def __init__(self, device: IPDevice):
        self.device = device
        self.wrapper = device.wrapper
        self.name = device.name

    def _ip(self, *args: str) -> str:
        return self.wrapper.ip(*args)

    def _ip_json(self, *args: str) -> list[dict]:
        return self.wrapper.ip_json(*args)


class IpLinkCommand(_SubCommand):
    """``ip link`` on one device."""

    def show(self) -> dict:
        """The device's ``ip -j -d link show`` record; DeviceNotFound if missing."""
        records = self._ip_json("-d", "link", "show", "dev", self.name)
        if not records:
            raise DeviceNotFound(["ip", "link", "show", self.name], 1, "Cannot find device")
        return records[0]

    def set_up(self) -> None:
        self._ip("link", "set", "dev", self.name, "up")

    def set_down(self) -> None:
        self._ip("link", "set", "dev", self.name, "down")

    def set_mtu(self, mtu: int) -> None:
        self._ip("link", "set", "dev", self.name, "mtu", str(int(mtu)))

    def set_address(self, mac: str) -> None:
        self._ip("link", "set", "dev", self.name, "address", normalize_mac(mac))

    def set_master(self, bridge: str) -> None:
        self._ip("link", "set", "dev", self.name, "master", bridge)

    def set_nomaster(self) -> None:
        self._ip("link", "set", "dev", self.name, "nomaster")

    def set_netns(self, namespace: str) -> None:
        """Move the device into ``namespace``; the device object then follows it."""
        self._ip("link", "set", "dev", self.name, "netns", namespace)
        self.wrapper = self.device.wrapper = IPWrapper(namespace, run=self.wrapper.run)

    def set_name(self, new_name: str) -> None:
        self._ip("link", "set", "dev", self.name, "name", _check_name(new_name))
        self.name = self.device.name = new_name

    def delete(self) -> None:
        self._ip("link", "delete", "dev", self.name)

    # attributes, read fresh each time
    @property
    def attributes(self) -> dict:
        rec = self.show()
        info = rec.get("linkinfo", {})
        return {
            "name": rec.get("ifname"),
            "mtu": rec.get("mtu"),
            "address": rec.get("address"),
            "master": rec.get("master"),
            "state": rec.get("operstate"),
            "up": "UP" in rec.get("flags", []),
            "kind": info.get("info_kind"),
            "info_data": info.get("info_data", {}),
            "link": rec.get("link"),
        }

    @property
    def mtu(self) -> int:
        return int(self.show()["mtu"])

    @property
    def address(self) -> str:
        return self.show().get("address", "")

    @property
    def master(self) -> str | None:
        return self.show().get("master")


class IpAddrCommand(_SubCommand):
    """``ip addr`` on one device."""

    def list(self, family: int | None = None) -> list[dict]:
        """``[{"cidr": "10.0.0.2/24", "family": 4, "scope": "global"}, ...]``."""
        records = self._ip_json("addr", "show", "dev", self.name)
        result = []
        for rec in records:
            for a in rec.get("addr_info", []):
                fam = 4 if a.get("family") == "inet" else 6
                if family and fam != family:
                    continue
                result.append(
                    {"cidr": f"{a['local']}/{a['prefixlen']}", "family": fam,
                     "scope": a.get("scope"), "dynamic": bool(a.get("dynamic"))}
                )
        return result

    def cidrs(self, scope: str = "global") -> list[str]:
        return [a["cidr"] for a in self.list() if scope is None or a["scope"] == scope]

    def add(self, cidr: str) -> None:
        cidr = validate_cidr(cidr)
        argv = ["addr", "add", cidr, "dev", self.name]
        if ipaddress.ip_interface(cidr).version == 4:
            argv[3:3] = ["brd", "+"]
        self._ip(*argv)

    def delete(self, cidr: str) -> None:
        self._ip("addr", "del", validate_cidr(cidr), "dev", self.name)

    def flush(self) -> None:
        self._ip("addr", "flush", "dev", self.name)

    def ensure(self, cidrs: Sequence[str], *, exclusive: bool = True) -> bool:
        """Make the global addresses exactly ``cidrs`` (or at least, if not exclusive)."""
        want = {validate_cidr(c) for c in cidrs}
        have = set(self.cidrs())
        changed = False
        if exclusive:  # first: deleting a primary address also drops its secondaries
            for c in sorted(have - want):
                self.delete(c)
                changed = True
        for c in sorted(want - set(self.cidrs()) if changed else want - have):
            self.add(c)
            changed = True
        return changed


class IpRouteCommand(_SubCommand):
    """``ip route`` for one device (and the namespace's table)."""

    def list(self, family: int = 4, table: str | None = None) -> list[dict]:
        argv = [f"-{family}", "route", "show", "dev", self.name]
        if table:
            argv += ["table", table]
        return self._ip_json(*argv)

    def add(self, cidr: str, via: str | None = None, *, table: str | None = None,
            metric: int | None = None, replace: bool = True) -> None:
        argv = ["route", "replace" if replace else "add", cidr]
        if via:
            argv += ["via", validate_ip(via)]
        argv += ["dev", self.name]
        if table:
            argv += ["table", table]
        if metric is not None:
            argv += ["metric", str(metric)]
        self._ip(*argv)

    def delete(self, cidr: str, via: str | None = None, *, table: str | None = None) -> None:
        argv = ["route", "del", cidr]
        if via:
            argv += ["via", via]
        argv += ["dev", self.name]
        if table:
            argv += ["table", table]
        self._ip(*argv)

    def add_gateway(self, gateway: str, metric: int | None = None) -> None:
        self.add("default", via=gateway, metric=metric)

    def delete_gateway(self, gateway: str | None = None) -> None:
        self.delete("default", via=gateway)

    def get_gateway(self, family: int = 4) -> str | None:
        for r in self.list(family):
            if r.get("dst") == "default":
                return r.get("gateway")
        return None


class IpNeighCommand(_SubCommand):
    """``ip neigh`` on one device."""

    def list(self) -> list[dict]:
        return self._ip_json("neigh", "show", "dev", self.name)

    def add(self, ip: str, mac: str) -> None:
        self._ip("neigh", "replace", validate_ip(ip), "lladdr", normalize_mac(mac),
                 "dev", self.name, "nud", "permanent")

    def delete(self, ip: str) -> None:
        self._ip("neigh", "del", validate_ip(ip), "dev", self.name)


class FdbCommand(_SubCommand):
    """``bridge fdb`` entries on one device (a VXLAN device or a bridge port)."""

    def _bridge(self, *args: str) -> str:
        return self.wrapper.bridge(*args)

    def list(self) -> list[dict]:
        out = self._bridge("-j", "fdb", "show", "dev", self.name)
        return json.loads(out) if out.strip() else []

    def destinations(self, mac: str = "00:00:00:00:00:00") -> list[str]:
        """Remote tunnel IPs flooded to for ``mac`` (default: the all-zero BUM entry)."""
        mac = normalize_mac(mac)
        return sorted(e["dst"] for e in self.list() if e.get("mac") == mac and e.get("dst"))

    def append(self, mac: str, dst: str) -> None:
        self._bridge("fdb", "append", normalize_mac(mac), "dev", self.name, "dst", validate_ip(dst))

    def delete(self, mac: str, dst: str | None = None) -> None:
        argv = ["fdb", "del", normalize_mac(mac), "dev", self.name]
        if dst:
            argv += ["dst", validate_ip(dst)]
        self._bridge(*argv)

    def ensure_destinations(self, dsts: Sequence[str], mac: str = "00:00:00:00:00:00") -> bool:
        """Make the flood list for ``mac`` exactly ``dsts``; True if changed."""
        want = {validate_ip(d) for d in dsts}
        have = set(self.destinations(mac))
        for d in sorted(want - have):
            self.append(mac, d)
        for d in sorted(have - want):
            self.delete(mac, d)
        return want != have


class IPDevice:
    """One network device: ``.link``, ``.addr``, ``.route``, ``.neigh``, ``.fdb``."""

    def __init__(self, name: str, wrapper: IPWrapper):
        self.name = _check_name(name)
        self.wrapper = wrapper
        self.link = IpLinkCommand(self)
        self.addr = IpAddrCommand(self)
        self.route = IpRouteCommand(self)
        self.neigh = IpNeighCommand(self)
        self.fdb = FdbCommand(self)

    @property
    def namespace(self) -> str | None:
        return self.wrapper.namespace

    def exists(self) -> bool:
        try:
            self.link.show()
            return True
        except (DeviceNotFound, NamespaceNotFound):
            return False

    def __repr__(self) -> str:
        return f"IPDevice({self.name!r}, namespace={self.namespace!r})"


class IpNetnsCommand:
    """``ip netns``: add, delete, exists, list, execute."""

    def __init__(self, wrapper: IPWrapper):
        self.wrapper = wrapper

    def _run(self, *args: str) -> str:
        return check_output(self.wrapper.run, ["ip", "netns", *args])

    def list(self) -> list[str]:
        out = self._run("list")
        # lines like "qdhcp-x (id: 3)" ; -j is not supported by every iproute2 for netns
        return [line.split()[0] for line in out.splitlines() if line.strip()]

    def exists(self, name: str) -> bool:
        return name in self.list()

    def add(self, name: str) -> IPWrapper:
        self._run("add", name)
        ns = IPWrapper(name, run=self.wrapper.run)
        ns.device("lo").link.set_up()
        return ns

    def delete(self, name: str) -> None:
        try:
            self._run("delete", name)
        except CommandFailed as exc:
            if "No such file" in exc.stderr:
                raise NamespaceNotFound(exc.argv, exc.rc, exc.stderr) from None
            raise

    def ensure(self, name: str) -> bool:
        """Create ``name`` (with lo up) unless it exists; True if created."""
        if self.exists(name):
            return False
        self.add(name)
        return True

    def ensure_absent(self, name: str) -> bool:
        if not self.exists(name):
            return False
        self.delete(name)
        return True

    def execute(self, name: str, argv: Sequence[str], data: str | None = None) -> str:
        return check_output(self.wrapper.run, netns_exec(argv, name), data)


class IPWrapper:
    """iproute2 in one network namespace (``None``: the caller's own)."""

    def __init__(self, namespace: str | None = None, run: Runner | None = None):
        self.namespace = namespace or None
        self.run: Runner = run or subprocess_run
        self.netns = IpNetnsCommand(self)

    # -- plumbing
    def _ns_args(self) -> list[str]:
        return ["-n", self.namespace] if self.namespace else []

    def ip(self, *args: str) -> str:
        return check_output(self.run, ["ip", *self._ns_args(), *args])

    def ip_json(self, *args: str) -> list[dict]:
        out = self.ip("-j", *args)
        return json.loads(out) if out.strip() else []

    def bridge(self, *args: str) -> str:
        return check_output(self.run, ["bridge", *self._ns_args(), *args])

    def execute(self, argv: Sequence[str], data: str | None = None) -> str:
        """Run any command in this namespace (``ip netns exec``) and return stdout."""
        return check_output(self.run, netns_exec(argv, self.namespace), data)

    def sysctl(self, key: str, value: str | int) -> None:
        self.execute(["sysctl", "-q", "-w", f"{key}={value}"])

    def read_sysctl(self, key: str) -> str:
        return self.execute(["sysctl", "-n", key]).strip()

    # -- devices
    def device(self, name: str) -> IPDevice:
        return IPDevice(name, self)

    def list_links(self) -> list[dict]:
        return self.ip_json("-d", "link", "show")

    def get_devices(self, exclude_loopback: bool = True) -> list[IPDevice]:
        return [
            self.device(r["ifname"])
            for r in self.list_links()
            if not (exclude_loopback and r["ifname"] == "lo")
        ]

    def namespace_exists(self) -> bool:
        return self.namespace is None or self.netns.exists(self.namespace)

    def _add_link(self, name: str, kind: str, *args: str) -> IPDevice:
        self.ip("link", "add", _check_name(name), *args, "type", kind)
        return self.device(name)

    def add_bridge(self, name: str, *, stp: bool = False) -> IPDevice:
        dev = self._add_link(name, "bridge")
        self.ip("link", "set", "dev", name, "type", "bridge", "stp_state", "1" if stp else "0",
                "forward_delay", "0")
        return dev

    def add_tap(self, name: str) -> IPDevice:
        """A persistent tap device (for a guest NIC made in advance of libvirt)."""
        self.ip("tuntap", "add", "dev", _check_name(name), "mode", "tap")
        return self.device(name)

    def add_dummy(self, name: str) -> IPDevice:
        return self._add_link(name, "dummy")

    def add_veth(self, name: str, peer: str, peer_namespace: str | None = None
                 ) -> tuple[IPDevice, IPDevice]:
        """A veth pair ``name``<->``peer``; the peer is created in ``peer_namespace``."""
        peer_args = ["peer", "name", _check_name(peer)]
        if peer_namespace:
            peer_args += ["netns", peer_namespace]
        self.ip("link", "add", _check_name(name), "type", "veth", *peer_args)
        peer_wrapper = IPWrapper(peer_namespace, run=self.run) if peer_namespace else self
        return self.device(name), peer_wrapper.device(peer)

    def vxlan_args(self, name: str, vni: int, *, local: str | None = None, dev: str | None = None,
                   group: str | None = None, dstport: int = VXLAN_PORT, ttl: int | None = None,
                   learning: bool = True) -> list[str]:
        argv = ["link", "add", _check_name(name), "type", "vxlan", "id", str(validate_vni(vni))]
        if group:
            argv += ["group", validate_ip(group)]
        if local:
            argv += ["local", validate_ip(local)]
        if dev:
            argv += ["dev", _check_name(dev)]
        argv += ["dstport", str(int(dstport))]
        if ttl is not None:
            argv += ["ttl", str(int(ttl))]
        if not learning:
            argv.append("nolearning")
        return argv

    def add_vxlan(self, name: str, vni: int, **kwargs) -> IPDevice:
        """A VXLAN device; kwargs: local, dev, group, dstport, ttl, learning."""
        self.ip(*self.vxlan_args(name, vni, **kwargs))
        return self.device(name)

    def add_vlan(self, name: str, physical: str, vlan_id: int) -> IPDevice:
        self.ip("link", "add", "link", _check_name(physical), "name", _check_name(name),
                "type", "vlan", "id", str(validate_vlan_id(vlan_id)))
        return self.device(name)

    # -- idempotent helpers
    def ensure_device_absent(self, name: str) -> bool:
        dev = self.device(name)
        if not dev.exists():
            return False
        try:
            dev.link.delete()
        except DeviceNotFound:
            return False
        return True

    def ensure_bridge(self, name: str) -> tuple[IPDevice, bool]:
        dev = self.device(name)
        if dev.exists():
            return dev, False
        return self.add_bridge(name), True

    def ensure_up(self, name: str) -> bool:
        dev = self.device(name)
        if "UP" in dev.link.show().get("flags", []):
            return False
        dev.link.set_up()
        return True

    def ensure_mtu(self, name: str, mtu: int | None) -> bool:
        if not mtu:
            return False
        dev = self.device(name)
        if dev.link.mtu == int(mtu):
            return False
        dev.link.set_mtu(mtu)
        return True

    def ensure_master(self, name: str, bridge: str | None) -> bool:
        dev = self.device(name)
        current = dev.link.master
        if current == bridge:
            return False
        if bridge is None:
            dev.link.set_nomaster()
        else:
            dev.link.set_master(bridge)
        return True


def device_exists(name: str, namespace: str | None = None, run: Runner | None = None) -> bool:
    return IPWrapper(namespace, run=run).device(name).exists()
