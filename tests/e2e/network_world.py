"""What the network journeys share: a controller whose hosts are this machine (compute +
network), an "external" world (a network namespace at the far end of a veth whose
near end is a physical network's interface), and the host objects a network leaves
behind, named as Neutron names them (``brq``/``tap`` + 11 characters of the id,
``qdhcp-``/``qrouter-`` + the id, ``vxlan-<vni>``), so a test can ask whether anything
of its networks, ports and routers is still on the host."""

from __future__ import annotations

import json
import random
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.integration.pipeline.conftest import sync_hosts

GUEST_READY = "STRATUS-GUEST ready"


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def in_ns(ns: str, *argv: str, check: bool = False) -> subprocess.CompletedProcess:
    return run("ip", "netns", "exec", ns, *argv, check=check)


def wait_until(what: str, fn: Callable[[], object], timeout: float = 180, every: float = 1.0):
    """``fn()`` once it is truthy; AssertionError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"{what}: not so after {timeout:.0f}s (last: {last!r})")


def wait_none_left(what: str, fn: Callable[[], list], timeout: float = 180, every: float = 1.0) -> None:
    """Poll ``fn()`` (what is left) until it is empty; AssertionError listing what is left."""
    deadline = time.monotonic() + timeout
    left = fn()
    while left and time.monotonic() < deadline:
        time.sleep(every)
        left = fn()
    assert not left, f"{what}: still there after {timeout:.0f}s: {left}"


def pings(ns: str, address: str, count: int = 1, wait: int = 2) -> bool:
    """One ICMP echo from namespace ``ns`` to ``address`` is answered."""
    return in_ns(ns, "ping", "-n", "-c", str(count), "-W", str(wait), address).returncode == 0


def tcp_banner(ns: str, address: str, port: int, timeout: float = 4) -> str:
    """The first line a TCP server at ``address:port`` sends to a client in ``ns`` ("" when
    the connection is refused, dropped or silent)."""
    code = (
        "import socket,sys\n"
        "s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=float(sys.argv[3]))\n"
        "print(s.recv(100).decode(errors='replace').strip())\n"
    )
    r = in_ns(ns, "python3", "-c", code, address, str(port), str(timeout))
    return r.stdout.strip() if r.returncode == 0 else ""


class ExternalWorld:
    """A namespace ``ext-<tag>`` holding ``gateway`` on one end of a veth; the other end
    (``interface``, in this namespace) is what a flat physical network maps to."""

    def __init__(self, gateway_cidr: str) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns = f"jext-{tag}"
        self.interface = f"jx{tag}"  # the host end: a physnet's interface
        self.peer = f"jy{tag}"
        self.gateway = gateway_cidr.split("/")[0]
        run("ip", "netns", "add", self.ns)
        run("ip", "link", "add", self.interface, "type", "veth", "peer", "name", self.peer)
        run("ip", "link", "set", self.peer, "netns", self.ns)
        in_ns(self.ns, "ip", "link", "set", "lo", "up", check=True)
        in_ns(self.ns, "ip", "addr", "add", gateway_cidr, "dev", self.peer, check=True)
        in_ns(self.ns, "ip", "link", "set", self.peer, "up", check=True)
        run("ip", "link", "set", self.interface, "up")

    def close(self) -> None:
        run("ip", "link", "del", self.interface, check=False)
        run("ip", "netns", "del", self.ns, check=False)


def private_vni_range(size: int = 100) -> list[str]:
    """``network_vni_ranges`` of a controller of its own: VNIs apart from those of the
    other controllers testing on this machine (each would start at 1001)."""
    first = random.randrange(100_000, 16_000_000 - size)
    return [f"{first}:{first + size - 1}"]


def network_cloud(factory, tmp: Path, hosts: dict[str, dict], backend: str = "sqlite", **settings):
    """A controller (from ``factory``; VNIs of its own) whose ``hosts`` (name → host
    variables) are this machine, each in the groups compute and network; hosts are
    refreshed (capacity)."""
    settings.setdefault("network_vni_ranges", private_vni_range())
    ctl = factory(backend, **settings)
    sync_hosts(ctl, tmp, {name: {"ansible_connection": "local", **v} for name, v in hosts.items()},
               ["compute", "network"])
    ctl.stratus("host", "refresh")
    return ctl


# --- what the host holds ------------------------------------------------------------


def namespaces() -> set[str]:
    return {line.split()[0] for line in run("ip", "netns", "list").stdout.splitlines() if line.strip()}


def links() -> set[str]:
    return {link["ifname"] for link in json.loads(run("ip", "-j", "link", "show").stdout or "[]")}


def nft_ruleset() -> str:
    return run("nft", "list", "ruleset", check=False).stdout


def dnsmasq_cmdlines() -> list[str]:
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"dnsmasq"):
            out.append(b" ".join(argv).decode(errors="replace"))
    return out


def leftovers(networks: Iterable[str] = (), ports: Iterable[str] = (), routers: Iterable[str] = (),
              vnis: Iterable[int] = ()) -> list[str]:
    """The host objects of these networks, ports, routers and VXLAN ids still present on
    this host (namespace, bridge, tap, VXLAN device, nft rule, dnsmasq): [] when none."""
    ns, devs, rules, dhcp = namespaces(), links(), nft_ruleset(), dnsmasq_cmdlines()
    found = []
    for net in networks:
        found += [n for n in (f"qdhcp-{net}",) if n in ns]
        found += [d for d in (f"brq{net[:11]}",) if d in devs]
        found += [f"dnsmasq: {c}" for c in dhcp if net in c]
    for port in ports:
        for name in (f"tap{port[:11]}", f"qr-{port[:11]}", f"qg-{port[:11]}"):
            if name in devs:
                found.append(name)
            if name in rules:
                found.append(f"nft rule naming {name}")
        if port[:11] in rules:
            found.append(f"nft rule naming port {port}")
    for router in routers:
        found += [n for n in (f"qrouter-{router}",) if n in ns]
    for vni in vnis:
        found += [d for d in (f"vxlan-{vni}",) if d in devs]
    return found
