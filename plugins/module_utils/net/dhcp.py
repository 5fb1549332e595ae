"""The DHCP service of one network: namespace, port, files, dnsmasq — as Neutron's agent.

``DhcpService(run, network_id).ensure_present(spec, *, check)`` (``spec`` from
:meth:`DhcpService.spec`: the dnsmasq config and the DHCP port) makes, in order:

1. namespace ``qdhcp-<network id>``;
2. the DHCP port: ``tap<port>`` in the network's bridge, ``ns-<port>`` in the namespace
   with the port's MAC and fixed IPs (the bridge must exist: BridgeMissing otherwise);
3. ``/var/lib/stratus/dhcp/<network id>/{host,opts}`` written when their text changed;
4. dnsmasq: started if not running, restarted if its command line changed, sent
   SIGHUP if only the files changed (leases kept), left alone otherwise.

A failure while creating removes what this call created. ``ensure_absent`` stops
dnsmasq and deletes the port, the namespace and the state directory. Both return an
``Outcome``.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from dataclasses import dataclass

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate
from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.net import service_port
from ansible_collections.stratus.cloud.plugins.module_utils.net.dnsmasq import (
    DhcpConfig,
    Dnsmasq,
    Host,
    InvalidDhcpConfig,
    Subnet,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    NS_DEV_PREFIX,
    InvalidInput,
    IPWrapper,
    dhcp_ns,
    normalize_mac,
    ns_name,
    resource_id,
    validate_ip,
)

STATE_BASE = "/var/lib/stratus/dhcp"


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _write_atomic(path: str, text: str) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


@dataclass
class DhcpSpec:
    """What to serve: dnsmasq's config and the DHCP port ({id, mac, ips})."""

    config: DhcpConfig
    port: dict


class DhcpService:
    def __init__(self, run, network_id: str, state_base: str = STATE_BASE) -> None:
        self.run = run
        self.network_id = resource_id(network_id, "network id")
        self.namespace = dhcp_ns(network_id)
        self.root = IPWrapper(run=run)
        self.ns = IPWrapper(self.namespace, run=run)
        # the only directory this service writes and removes: refused unless inside the base
        self.state_dir = str(validate.path_under(state_base, self.network_id,
                                                 what="DHCP state directory", error=InvalidInput))
        self.dnsmasq = Dnsmasq(run, self.namespace, self.state_dir)

    # -- reading -------------------------------------------------------------------
    def config(self, port: dict, subnets, hosts, **kw) -> DhcpConfig:
        return DhcpConfig(network_id=self.network_id, interface=ns_name(port["id"]),
                          state_dir=self.state_dir, subnets=subnets, hosts=hosts, **kw)

    def spec(self, port: dict, subnets: list[dict], hosts: list[dict], **kw) -> DhcpSpec:
        """The spec from Neutron-shaped dicts (the module's arguments), validated."""
        return DhcpSpec(self.config(port, [Subnet.from_dict(s) for s in subnets],
                                    [Host.from_dict(h) for h in hosts], **kw), port)

    def pid(self) -> int | None:
        """The pid of this network's running dnsmasq."""
        return self.dnsmasq.pid()

    def port_cidrs(self, cfg: DhcpConfig, port: dict) -> list[str]:
        """The DHCP port's fixed IPs with their subnets' prefix; each subnet needs one."""
        cidrs = []
        for ip in port.get("ips") or []:
            ip = validate_ip(ip, f"DHCP port {port['id']} IP")
            sub = cfg.subnet_of(ip)
            if sub is None:
                raise InvalidDhcpConfig(
                    f"DHCP port {port['id']}: IP {ip} is in none of the network's subnets")
            cidrs.append(f"{ip}/{sub.network.prefixlen}")
        for sub in cfg.subnets:
            if not any(ipaddress.ip_interface(c).ip in sub.network for c in cidrs):
                raise InvalidDhcpConfig(
                    f"DHCP port {port['id']} has no IP in subnet {sub.id} ({sub.cidr}); "
                    "dnsmasq can only serve subnets it has an address in: add one to port.ips")
        return sorted(cidrs)

    def _ports_in_ns(self) -> list[str]:
        if not self.ns.namespace_exists():
            return []
        return [d.name for d in self.ns.get_devices() if d.name.startswith(NS_DEV_PREFIX)]

    def facts(self) -> dict:
        """What is on the host now, as the module's before/after."""
        if not self.ns.namespace_exists():
            return {}
        ports = [service_port.port_facts(self.ns, n) for n in self._ports_in_ns()]
        argv = self.dnsmasq.running_argv()
        return {
            "namespace": self.namespace,
            "port": ports[0] if ports else {},
            "dnsmasq": {"pid": self.dnsmasq.pid(), "argv": argv or []},
            "hosts": _read(os.path.join(self.state_dir, "host")) or "",
            "opts": _read(os.path.join(self.state_dir, "opts")) or "",
        }

    @staticmethod
    def _diffable(facts: dict) -> dict:
        """Facts without the pid (a restart is seen in argv; the pid is noise)."""
        if not facts:
            return {}
        out = dict(facts)
        out["dnsmasq"] = {"argv": facts["dnsmasq"]["argv"]}
        return out

    # -- changing ------------------------------------------------------------------
    def ensure_present(self, spec: DhcpSpec, *, check: bool = False) -> Outcome:
        cfg, port = spec.config, spec.port
        cidrs = self.port_cidrs(cfg, port)
        inner = ns_name(port["id"])
        mac = normalize_mac(port["mac"])
        port_spec = service_port.spec(self.ns, self.network_id, port["id"], inner, mac, cidrs,
                                      cfg.mtu)
        service_port.check(self.root, [port_spec])
        before = self.facts()
        files = cfg.files()
        argv = cfg.argv()
        want = {
            "namespace": self.namespace,
            "port": {"device": inner, "mac": mac, "addresses": cidrs},
            "dnsmasq": {"argv": argv},
            "hosts": files["host"],
            "opts": files["opts"],
        }
        actions = []
        running = before.get("dnsmasq", {}).get("argv") or None
        if not before:
            actions.append("create namespace")
        if before.get("port") != want["port"]:
            actions.append("plug port")
        stale = [n for n in self._ports_in_ns() if n != inner]
        if stale:
            actions.append("unplug old ports")
        files_changed = before.get("hosts") != files["host"] or before.get("opts") != files["opts"]
        if files_changed:
            actions.append("write files")
        if running is None:
            actions.append("start dnsmasq")
        elif running != argv:
            actions.append("restart dnsmasq")
        elif files_changed:
            actions.append("reload dnsmasq")
        if not actions or check:
            return Outcome(bool(actions), self._diffable(before), want, actions)

        created = self.ns.netns.ensure(self.namespace)
        try:
            # No DAD in the service namespace (addresses usable at once), and no RAs taken
            # in (dnsmasq's own would give the port a second, SLAAC address).
            for key in ("accept_dad", "accept_ra", "autoconf"):
                self.ns.sysctl(f"net.ipv6.conf.default.{key}", 0)
                self.ns.sysctl(f"net.ipv6.conf.all.{key}", 0)
            for name in stale:
                service_port.unplug_device(self.root, name)
            service_port.plug(self.root, port_spec)
            os.makedirs(self.state_dir, mode=0o755, exist_ok=True)
            if files_changed:
                _write_atomic(os.path.join(self.state_dir, "host"), files["host"])
                _write_atomic(os.path.join(self.state_dir, "opts"), files["opts"])
            if running is None:
                self.dnsmasq.start(argv)
            elif running != argv:
                self.dnsmasq.stop()
                self.dnsmasq.start(argv)
            elif files_changed:
                self.dnsmasq.reload()
        except Exception:
            if created:
                self._remove()
            raise
        return Outcome(True, self._diffable(before), self._diffable(self.facts()), actions)

    def _remove(self) -> None:
        self.dnsmasq.stop()
        for name in self._ports_in_ns():
            service_port.unplug_device(self.root, name)
        self.ns.netns.ensure_absent(self.namespace)
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def ensure_absent(self, *, check: bool = False) -> Outcome:
        before = self.facts()
        exists = bool(before) or os.path.exists(self.state_dir) or self.dnsmasq.pid()
        if exists and not check:
            self._remove()
        actions = ["stop dnsmasq, delete port, namespace and files"] if exists else []
        return Outcome(bool(exists), self._diffable(before), {}, actions)
