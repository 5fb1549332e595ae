"""dnsmasq as the DHCP server of one network, the way Neutron's DHCP agent runs it.

Pure parts first: :class:`DhcpConfig` turns a network's subnets and ports into the
three things dnsmasq reads — its command line, a ``--dhcp-hostsfile`` (one fixed lease
per port: MAC to IP and hostname) and a ``--dhcp-optsfile`` (router, DNS servers, host
routes as option 121, …, tagged per subnet). Every range is ``static`` (or ``ra-only``
for SLAAC), so only known ports get leases.

Then :class:`Dnsmasq`, the process: started directly (no service manager) inside the
network's ``qdhcp-`` namespace with a pid file, reloaded with SIGHUP when only the
hosts/opts files changed (dnsmasq re-reads them and keeps its leases), restarted when
the command line changed, stopped with SIGTERM.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import time
from dataclasses import dataclass, field

from ansible_collections.stratus.cloud.plugins.module_utils.common import command, validate
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    CommandFailed,
    InvalidInput,
    NetError,
    netns_exec,
)

DEFAULT_DOMAIN = "openstacklocal"
DEFAULT_LEASE_SECONDS = 86400
IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")


class DnsmasqError(NetError):
    """Base of this module's errors."""


class InvalidDhcpConfig(DnsmasqError, InvalidInput):
    """The subnets/ports given cannot make a valid dnsmasq configuration."""


class DnsmasqFailed(CommandFailed, DnsmasqError):
    """dnsmasq exited non-zero when started (its argv, rc and stderr)."""


class DnsmasqNotStarted(DnsmasqError):
    """dnsmasq was started but wrote no pid file."""


def _ip(text, where: str):
    return ipaddress.ip_address(validate.ip_address(text, what=f"{where}: address",
                                                    error=InvalidDhcpConfig))


def _net(text, where: str):
    return ipaddress.ip_network(validate.ip_network(text, what=where, error=InvalidDhcpConfig))


def _id(text, what: str) -> str:
    return validate.resource_id(text, what=what, error=InvalidDhcpConfig)


@dataclass(frozen=True)
class Subnet:
    """A subnet as Neutron describes it; ``id`` tags its options in dnsmasq."""

    id: str
    cidr: str
    gateway_ip: str | None = None
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[tuple[str, str], ...] = ()  # (destination, nexthop)
    enable_dhcp: bool = True
    ipv6_address_mode: str | None = None  # slaac | dhcpv6-stateful | dhcpv6-stateless

    @classmethod
    def from_dict(cls, d: dict) -> Subnet:
        sid = _id(d.get("id"), "subnet id")
        net = _net(d.get("cidr"), f"subnet {sid}: cidr (its network address)")
        gw = d.get("gateway_ip")
        if gw and _ip(gw, f"subnet {sid} gateway_ip") not in net:
            raise InvalidDhcpConfig(
                f"subnet {d['id']}: gateway_ip {gw} is outside its cidr {net}; "
                "pick an address inside the subnet or leave gateway_ip empty"
            )
        mode = d.get("ipv6_address_mode")
        if net.version == 6:
            mode = mode or "dhcpv6-stateful"
            if mode not in IPV6_MODES:
                raise InvalidDhcpConfig(
                    f"subnet {d['id']}: ipv6_address_mode {mode!r} must be one of "
                    f"{', '.join(IPV6_MODES)}"
                )
        elif mode:
            raise InvalidDhcpConfig(f"subnet {d['id']}: ipv6_address_mode is for IPv6 subnets")
        routes = []
        for r in d.get("host_routes") or []:
            if not isinstance(r, dict):
                raise InvalidDhcpConfig(f"subnet {sid}: host route {r!r} must be a mapping "
                                        "with destination and nexthop")
            dest = _net(r.get("destination"), f"subnet {sid}: host route destination")
            hop = _ip(r.get("nexthop"), f"subnet {sid}: host route nexthop")
            if dest.version != net.version or hop.version != net.version:
                raise InvalidDhcpConfig(
                    f"subnet {d['id']}: host route {r} mixes IPv4 and IPv6 with cidr {net}"
                )
            routes.append((str(dest), str(hop)))
        servers = tuple(str(_ip(dns, f"subnet {sid}: dns_nameservers"))
                        for dns in d.get("dns_nameservers") or [])
        return cls(
            id=sid,
            cidr=str(net),
            gateway_ip=str(ipaddress.ip_address(gw)) if gw else None,
            dns_nameservers=servers,
            host_routes=tuple(routes),
            enable_dhcp=bool(d.get("enable_dhcp", True)),
            ipv6_address_mode=mode,
        )

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr)

    @property
    def version(self) -> int:
        return self.network.version

    @property
    def tag(self) -> str:
        return f"subnet-{self.id}"


@dataclass(frozen=True)
class Host:
    """A port that gets a fixed lease: its MAC, its fixed IPs and hostname."""

    mac: str
    ips: tuple[str, ...]
    hostname: str

    @classmethod
    def from_dict(cls, d: dict) -> Host:
        where = f"port {d.get('id') or d.get('mac')!r}"
        mac = validate.mac(d.get("mac"), what=f"{where}: mac", error=InvalidDhcpConfig)
        ips = tuple(str(_ip(ip, where)) for ip in d.get("ips") or ())
        if not ips:
            raise InvalidDhcpConfig(f"{where}: no fixed IP given (ips: [...])")
        hostname = d.get("hostname") or "host-" + ips[0].replace(".", "-").replace(":", "-")
        # one label: the domain comes from the network
        validate.hostname(hostname, what=f"{where}: hostname", error=InvalidDhcpConfig)
        return cls(mac=mac, ips=ips, hostname=hostname)


@dataclass
class DhcpConfig:
    """Everything dnsmasq needs for one network: flags, hosts file, opts file."""

    network_id: str
    interface: str
    state_dir: str
    subnets: list[Subnet]
    hosts: list[Host]
    mtu: int | None = None
    domain: str = DEFAULT_DOMAIN
    lease_seconds: int = DEFAULT_LEASE_SECONDS
    ra_interval: int = 30
    _by_ip: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        _id(self.network_id, "network id")
        validate.device_name(self.interface, what="DHCP interface", error=InvalidDhcpConfig)
        validate.hostname(self.domain, what="domain", dots=True, error=InvalidDhcpConfig)
        for name, value, low in (("lease time", self.lease_seconds, 120),
                                 ("RA interval", self.ra_interval, 4),
                                 ("mtu", self.mtu or 1280, 68)):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidDhcpConfig(f"{name} {value!r} must be a whole number >= {low}")
        self.subnets = [s for s in self.subnets if s.enable_dhcp]
        if not self.subnets:
            raise InvalidDhcpConfig(
                f"network {self.network_id}: no subnet with enable_dhcp; give at least one"
            )
        nets = [s.network for s in self.subnets]
        for i, a in enumerate(nets):
            for b in nets[i + 1:]:
                if a.version == b.version and a.overlaps(b):
                    raise InvalidDhcpConfig(
                        f"network {self.network_id}: subnets {a} and {b} overlap"
                    )
        seen: dict[str, str] = {}
        for h in self.hosts:
            for ip in h.ips:
                if ip in seen and seen[ip] != h.mac:
                    raise InvalidDhcpConfig(f"IP {ip} is given to both {seen[ip]} and {h.mac}")
                seen[ip] = h.mac
        self._by_ip = seen

    # -- paths ---------------------------------------------------------------------
    def path(self, name: str) -> str:
        return os.path.join(self.state_dir, name)

    @property
    def pidfile(self) -> str:
        return self.path("pid")

    def subnet_of(self, ip: str) -> Subnet | None:
        addr = ipaddress.ip_address(ip)
        return next((s for s in self.subnets if addr in s.network), None)

    # -- files ---------------------------------------------------------------------
    def hosts_file(self) -> str:
        """One line per port: ``mac,ipv4,[ipv6],hostname`` (SLAAC addresses left out)."""
        lines = []
        for h in sorted(self.hosts, key=lambda h: h.mac):
            parts = [h.mac]
            for ip in h.ips:
                sub = self.subnet_of(ip)
                if sub is None or sub.ipv6_address_mode in ("slaac", "dhcpv6-stateless"):
                    continue
                parts.append(f"[{ip}]" if sub.version == 6 else ip)
            if len(parts) > 1:
                lines.append(",".join([*parts, h.hostname]))
        return "".join(line + "\n" for line in lines)

    def opts_file(self) -> str:
        """Per-subnet options: router (3), DNS (6), classless routes (121/249), domain."""
        lines = []
        for s in self.subnets:
            t = f"tag:{s.tag}"
            if s.version == 4:
                if s.gateway_ip:
                    lines.append(f"{t},option:router,{s.gateway_ip}")
                else:
                    lines.append(f"{t},option:router")
                if s.dns_nameservers:
                    lines.append(f"{t},option:dns-server,{','.join(s.dns_nameservers)}")
                routes = [f"{d},{n}" for d, n in s.host_routes]
                if routes:
                    # RFC 3442: with option 121 the client ignores option 3, so the
                    # default route goes into the list too (as Neutron does).
                    if s.gateway_ip and not any(d == "0.0.0.0/0" for d, _ in s.host_routes):
                        routes.append(f"0.0.0.0/0,{s.gateway_ip}")
                    lines.append(f"{t},option:classless-static-route,{','.join(routes)}")
                    lines.append(f"{t},249,{','.join(routes)}")
                lines.append(f"{t},option:domain-search,{self.domain}")
            else:
                if s.dns_nameservers:
                    servers = ",".join(f"[{d}]" for d in s.dns_nameservers)
                    lines.append(f"{t},option6:dns-server,{servers}")
                lines.append(f"{t},option6:domain-search,{self.domain}")
        return "".join(line + "\n" for line in lines)

    # -- command line ----------------------------------------------------------------
    def ranges(self) -> list[str]:
        out = []
        for s in self.subnets:
            net = s.network
            if s.version == 4:
                out.append(f"set:{s.tag},{net.network_address},static,{net.netmask},"
                           f"{self.lease_seconds}s")
            elif s.ipv6_address_mode == "slaac":
                out.append(f"set:{s.tag},{net.network_address},ra-only,{net.prefixlen}")
            elif s.ipv6_address_mode == "dhcpv6-stateless":
                out.append(f"set:{s.tag},{net.network_address},ra-stateless,{net.prefixlen}")
            else:
                out.append(f"set:{s.tag},{net.network_address},static,{net.prefixlen},"
                           f"{self.lease_seconds}s")
        return out

    def lease_max(self) -> int:
        total = sum(min(s.network.num_addresses, 2**24) for s in self.subnets)
        return max(16, min(total, 2**24))

    def argv(self) -> list[str]:
        argv = [
            "dnsmasq",
            "--no-hosts",
            "--no-resolv",
            "--port=0",  # DHCP only: no DNS server (dns_nameservers are handed out)
            f"--pid-file={self.pidfile}",
            f"--dhcp-hostsfile={self.path('host')}",
            f"--dhcp-optsfile={self.path('opts')}",
            f"--dhcp-leasefile={self.path('leases')}",
            f"--interface={self.interface}",
            "--except-interface=lo",
            "--bind-interfaces",
            "--conf-file=/dev/null",
            f"--domain={self.domain}",
            f"--dhcp-lease-max={self.lease_max()}",
        ]
        argv += [f"--dhcp-range={r}" for r in self.ranges()]
        if self.mtu:
            # Forced: busybox udhcpc and others do not ask for option 26.
            argv.append(f"--dhcp-option-force=option:mtu,{self.mtu}")
        if any(s.version == 6 for s in self.subnets):
            argv.append("--enable-ra")
            mtu = f"mtu:{self.mtu}," if self.mtu else ""
            # Router lifetime 0: the DHCP port announces prefixes, it is no router.
            argv.append(f"--ra-param={self.interface},{mtu}{self.ra_interval},0")
        return argv

    def files(self) -> dict[str, str]:
        return {"host": self.hosts_file(), "opts": self.opts_file()}


def read_cmdline(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    return [a.decode() for a in raw.split(b"\0") if a]


DAEMON_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class Dnsmasq:
    """The dnsmasq process of one network, driven through ``run(argv, data)``."""

    def __init__(self, run, namespace: str, state_dir: str) -> None:
        self.run = run
        self.namespace = namespace
        self.state_dir = state_dir
        self.pidfile = os.path.join(state_dir, "pid")

    def pid(self) -> int | None:
        """The pid of a live dnsmasq started for this network, else None."""
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return None
        cmd = read_cmdline(pid)
        if not cmd or os.path.basename(cmd[0]) != "dnsmasq" or f"--pid-file={self.pidfile}" not in cmd:
            return None
        return pid

    def running_argv(self) -> list[str] | None:
        pid = self.pid()
        return read_cmdline(pid) if pid else None

    @property
    def argv_file(self) -> str:
        """The command line it was last started with (JSON), kept so that a dnsmasq that
        died can be started again as it was (``net.daemons_restore``)."""
        return os.path.join(self.state_dir, "argv")

    def recorded_argv(self) -> list[str] | None:
        try:
            with open(self.argv_file) as f:
                argv = json.load(f)
        except (OSError, ValueError):
            return None
        ok = isinstance(argv, list) and argv[:1] == ["dnsmasq"] and all(isinstance(a, str) for a in argv)
        return argv if ok and f"--pid-file={self.pidfile}" in argv else None

    def start(self, argv: list[str]) -> int:
        """Start the daemon with an empty environment: nothing of the Ansible run that
        starts it (its variables, the controller's run marker, by which the run's
        leftovers are stopped when it ends) reaches the long-lived process."""
        tmp = f"{self.argv_file}.tmp"
        with open(tmp, "w") as f:
            json.dump(list(argv), f)
        os.replace(tmp, self.argv_file)
        clean = ["env", "-i", f"PATH={DAEMON_PATH}", *argv]
        command.check_output(self.run, netns_exec(clean, self.namespace), error=DnsmasqFailed)
        for _ in range(50):
            pid = self.pid()
            if pid:
                return pid
            time.sleep(0.1)
        raise DnsmasqNotStarted(f"dnsmasq for {self.namespace} wrote no pid file {self.pidfile}; "
                                "see the host's syslog for dnsmasq's reason")

    def reload(self) -> None:
        """SIGHUP: dnsmasq re-reads hosts and opts files and keeps its leases."""
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGHUP)

    def stop(self) -> bool:
        pid = self.pid()
        if not pid:
            return False
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not read_cmdline(pid):  # gone (None) or a zombie (empty)
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
        return True
