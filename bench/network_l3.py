"""DHCP and L3 figures: dnsmasq reload vs restart, NAT tables per floating IP.

Run: .venv/bin/python bench/network_l3.py   (root; makes and removes its own
namespaces and bridge). Prints seconds and the ratios that matter:

* a port change served by SIGHUP (files rewritten, same dnsmasq) vs a restart;
* applying one floating IP's nft table vs deciding "unchanged" from nft -j list.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "collections"))

from ansible_collections.stratus.cloud.plugins.module_utils.net import nat  # noqa: E402
from ansible_collections.stratus.cloud.plugins.module_utils.net.dhcp import (  # noqa: E402
    DhcpService,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.dnsmasq import (  # noqa: E402
    Host,
    Subnet,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (  # noqa: E402
    bridge_name,
    subprocess_run,
)


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_dhcp(rounds: int = 5) -> dict:
    net, port = str(uuid.uuid4()), str(uuid.uuid4())
    br = bridge_name(net)
    sh("ip", "link", "add", br, "type", "bridge")
    svc = DhcpService(subprocess_run, net, state_base=f"/tmp/stratus-bench-dhcp-{net[:8]}")
    dport = {"id": port, "mac": "fa:16:3e:be:00:02", "ips": ["10.88.0.2"]}
    subnet = Subnet.from_dict({"id": "s", "cidr": "10.88.0.0/24", "gateway_ip": "10.88.0.1"})

    def cfg(n: int, mtu: int = 1450):
        hosts = [Host.from_dict({"mac": f"fa:16:3e:be:01:{i:02x}", "ips": [f"10.88.0.{10 + i}"]})
                 for i in range(n)]
        return svc.config(dport, [subnet], hosts, mtu=mtu)

    try:
        first = timed(lambda: svc.ensure_present(cfg(1), dport))
        reload_t, restart_t, noop_t = [], [], []
        for i in range(rounds):
            reload_t.append(timed(lambda i=i: svc.ensure_present(cfg(2 + i), dport)))
            noop_t.append(timed(lambda i=i: svc.ensure_present(cfg(2 + i), dport)))
            restart_t.append(timed(lambda i=i: svc.ensure_present(cfg(2 + i, 1400 - i), dport)))
    finally:
        svc.ensure_absent()
        sh("ip", "link", "del", br)
    return {"first": first, "reload": statistics.median(reload_t),
            "restart": statistics.median(restart_t), "noop": statistics.median(noop_t)}


def bench_nat(count: int = 50) -> dict:
    ns = f"stbench-{uuid.uuid4().hex[:6]}"
    sh("ip", "netns", "add", ns)
    tables = nat.NatTables.in_namespace(subprocess_run, ns)
    fips = [(f"203.0.113.{i + 1}", f"10.0.{i // 200}.{i % 200 + 10}") for i in range(count)]
    try:
        apply_t = timed(lambda: [tables.ensure(nat.fip_table(f, x, "qg-bench")) for f, x in fips])
        check_t = timed(lambda: [tables.ensure(nat.fip_table(f, x, "qg-bench")) for f, x in fips])
    finally:
        sh("ip", "netns", "del", ns)
    return {"apply": apply_t / count, "unchanged": check_t / count}


def main() -> None:
    d = bench_dhcp()
    print(f"dhcp: first start {d['first']:.3f}s  port added (SIGHUP) {d['reload']:.3f}s  "
          f"restart (flags changed) {d['restart']:.3f}s  unchanged {d['noop']:.3f}s")
    print(f"dhcp: restart/reload ratio {d['restart'] / d['reload']:.1f}x")
    n = bench_nat()
    print(f"nat: per floating IP apply {n['apply'] * 1000:.1f} ms  unchanged check "
          f"{n['unchanged'] * 1000:.1f} ms  (50 tables in one namespace)")
    print(f"nat: apply/unchanged ratio {n['apply'] / n['unchanged']:.1f}x")


if __name__ == "__main__":
    main()
