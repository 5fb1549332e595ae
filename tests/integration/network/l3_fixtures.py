"""Real namespaces, bridges and "guests" for the DHCP/router/floating IP tests.

A guest is a network namespace with one veth (``eth0``) plugged into a network's
bridge; everything made here is recorded and removed by the fixture's finalizer,
whatever the test's outcome, and only what this test made.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import uuid

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import bridge_name
from tests.helpers.ansible import run_module


def sh(*argv: str, check: bool = True, timeout: int = 60) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{argv} failed rc={proc.returncode}: {proc.stderr}")
    return proc


def in_ns(ns: str, *argv: str, **kw) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns, *argv, **kw)


def namespaces() -> set[str]:
    return {line.split()[0] for line in sh("ip", "netns", "list").stdout.splitlines() if line}


def links() -> set[str]:
    return {line.split(":")[1].strip().split("@")[0]
            for line in sh("ip", "-o", "link").stdout.splitlines()}


def pids_of(pattern: str) -> list[int]:
    out = sh("pgrep", "-f", pattern, check=False).stdout
    return [int(p) for p in out.split()]


UDHCPC_SCRIPT = textwrap.dedent("""\
    #!/bin/sh
    [ "$1" = bound ] || [ "$1" = renew ] || exit 0
    {
      echo "ip=$ip"; echo "mask=$mask"; echo "router=$router"; echo "dns=$dns"
      echo "mtu=$mtu"; echo "staticroutes=$staticroutes"; echo "hostname=$hostname"
      echo "domain=$domain"; echo "serverid=$serverid"
    } > "$OUT"
    ip addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    """)


class Lab:
    """Namespaces, bridges and guests of one test, removed at the end."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.suffix = uuid.uuid4().hex[:6]
        self.ns: list[str] = []
        self.devs: list[str] = []
        self.cleanups: list = []

    def network_id(self) -> str:
        return str(uuid.uuid4())

    def bridge(self, network_id: str) -> str:
        """The network's bridge as stratus.cloud.network would make it (type local)."""
        br = bridge_name(network_id)
        sh("ip", "link", "add", br, "type", "bridge", "forward_delay", "0")
        self.devs.append(br)
        sh("ip", "link", "set", br, "up")
        return br

    def namespace(self, role: str) -> str:
        name = f"st-{role}-{self.suffix}"
        sh("ip", "netns", "add", name)
        self.ns.append(name)
        in_ns(name, "ip", "link", "set", "lo", "up")
        return name

    def guest(self, role: str, bridge: str, mac: str, cidr: str | None = None,
              gateway: str | None = None) -> str:
        """A namespace with ``eth0`` (MAC ``mac``) plugged into ``bridge``."""
        ns = self.namespace(role)
        outer = f"g{role[:6]}{self.suffix}"
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns)
        self.devs.append(outer)
        sh("ip", "link", "set", outer, "master", bridge, "up")
        in_ns(ns, "ip", "link", "set", "eth0", "address", mac)
        in_ns(ns, "ip", "link", "set", "eth0", "up")
        if cidr:
            in_ns(ns, "ip", "addr", "add", cidr, "dev", "eth0")
        if gateway:
            in_ns(ns, "ip", "route", "add", "default", "via", gateway)
        return ns

    def udhcpc(self, ns: str, dev: str = "eth0", tries: int = 8) -> dict:
        """Ask for a lease with busybox udhcpc; returns the options it got."""
        script = self.tmp / f"udhcpc-{ns}.sh"
        out = self.tmp / f"udhcpc-{ns}.out"
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
        if out.exists():
            out.unlink()
        env = dict(os.environ, OUT=str(out))
        proc = subprocess.run(
            ["ip", "netns", "exec", ns, "busybox", "udhcpc", "-i", dev, "-n", "-q", "-f",
             "-t", str(tries), "-T", "1", "-A", "1", "-s", str(script),
             "-O", "staticroutes", "-O", "mtu", "-O", "domain", "-O", "dns", "-O", "router"],
            capture_output=True, text=True, timeout=60, env=env)
        assert out.exists(), f"no lease in {ns}: {proc.stdout}{proc.stderr}"
        return dict(line.split("=", 1) for line in out.read_text().splitlines())

    def close(self) -> None:
        errors = []
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as exc:  # keep cleaning; report at the end
                errors.append(exc)
        for ns in self.ns:
            sh("ip", "netns", "delete", ns, check=False)
        for dev in self.devs:
            sh("ip", "link", "delete", dev, check=False)
        if errors:
            raise errors[0]


@pytest.fixture(name="lab")
def lab_fixture(tmp_path):
    lab = Lab(tmp_path)
    yield lab
    lab.close()


def absent(module: str, args: dict) -> None:
    """Finalizer: remove a resource made by ``module`` and insist it is gone."""
    result = run_module(module, {**args, "state": "absent"})
    assert not result.failed, result.msg


def nft_counter(ns: str, table: str) -> int:
    """Packets counted by the single counter rule of ``table`` in ``ns``."""
    out = in_ns(ns, "nft", "-j", "list", "table", "ip", table).stdout
    for item in json.loads(out)["nftables"]:
        for expr in item.get("rule", {}).get("expr", []):
            if "counter" in expr:
                return expr["counter"]["packets"]
    raise AssertionError(f"no counter in {table}")


def count_sources(ns: str, source: str) -> str:
    """Count, in ``ns``, packets that arrive from ``source``; returns the nft table's name."""
    table = "stratus_seen_" + source.replace(".", "_")
    rules = textwrap.dedent(f"""\
        table ip {table} {{
          chain input {{
            type filter hook input priority 0; policy accept;
            ip saddr {source} counter
          }}
        }}
        """)
    proc = subprocess.run(["ip", "netns", "exec", ns, "nft", "-f", "-"], input=rules,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return table


def ping(ns: str, target: str, count: int = 1) -> bool:
    return in_ns(ns, "ping", "-c", str(count), "-W", "2", target, check=False).returncode == 0


class Topology:
    """Two tenant networks with a guest each and an external network with a host.

    A: 10.51.1.0/24 (guest 10.51.1.5), B: 10.51.2.0/24 (guest 10.51.2.5), external
    203.0.113.0/24 whose "upstream" namespace holds 203.0.113.1 and has no route to
    the tenant subnets (so replies only come back through the router's NAT).
    """

    def __init__(self, lab: Lab):
        self.lab = lab
        self.net_a, self.net_b, self.net_ext = (lab.network_id() for _ in range(3))
        self.router_id = str(uuid.uuid4())
        self.br_a, self.br_b, self.br_ext = (lab.bridge(n) for n in
                                             (self.net_a, self.net_b, self.net_ext))
        self.guest_a = lab.guest("ga", self.br_a, "fa:16:3e:51:01:05", "10.51.1.5/24", "10.51.1.1")
        self.guest_b = lab.guest("gb", self.br_b, "fa:16:3e:51:02:05", "10.51.2.5/24", "10.51.2.1")
        self.ext = lab.guest("ext", self.br_ext, "fa:16:3e:51:0e:01", "203.0.113.1/24")
        self.ports = {k: str(uuid.uuid4()) for k in ("a", "b", "gw")}
        lab.cleanups.append(lambda: absent("router", {"router_id": self.router_id}))

    def interface(self, key: str) -> dict:
        n = {"a": 1, "b": 2}[key]
        return {"network_id": {"a": self.net_a, "b": self.net_b}[key],
                "port_id": self.ports[key], "mac": f"fa:16:3e:51:0{n}:01",
                "cidr": f"10.51.{n}.0/24", "ip": f"10.51.{n}.1"}

    def gateway(self, **kw) -> dict:
        return {"network_id": self.net_ext, "port_id": self.ports["gw"],
                "mac": "fa:16:3e:51:0e:0a", "cidr": "203.0.113.0/24", "ip": "203.0.113.10",
                "gateway_ip": "203.0.113.1", **kw}

    def router_args(self, **kw) -> dict:
        return {"router_id": self.router_id,
                "interfaces": [self.interface("a"), self.interface("b")],
                "external_gateway": self.gateway(), **kw}

    @property
    def namespace(self) -> str:
        return f"qrouter-{self.router_id}"
