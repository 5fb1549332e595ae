#!/usr/bin/env python3
"""Plug 200 ports with security groups into one network; apply a 500-rule change.

Runs inside a throwaway network namespace standing in for the host (removed at the
end, even on failure), with the same drivers the modules use:

    .venv/bin/python bench/ports.py [--ports 200] [--rules 500]

Prints seconds per phase and ratios. Guest NICs are persistent taps, as libvirt's.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "collections"))
sys.path.insert(0, str(REPO))

from ansible_collections.stratus.cloud.plugins.module_utils.net.bridge import (  # noqa: E402
    LinuxBridgeNetwork,
    Segment,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.interface import (  # noqa: E402
    BridgeInterfaceDriver,
    PortSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (  # noqa: E402
    IPWrapper,
    tap_name,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.nft import Nft  # noqa: E402
from ansible_collections.stratus.cloud.plugins.module_utils.net.port_security import (  # noqa: E402
    PortSecurity,
    PortSecuritySpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.net.security_groups import (  # noqa: E402
    PortGroupsSpec,
    SecurityGroups,
)
from tests.helpers.ansible import run_module  # noqa: E402


def rules(n: int) -> list[dict]:
    out = []
    for i in range(n):
        out.append({"direction": "ingress" if i % 3 else "egress", "protocol": "tcp" if i % 2
                    else "udp", "port_range_min": 1000 + i, "port_range_max": 1000 + i,
                    "remote_ip_prefix": f"10.{i % 200}.{i % 250}.0/24"})
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ports", type=int, default=200)
    ap.add_argument("--rules", type=int, default=500)
    a = ap.parse_args()

    ns = f"st-bench-{uuid.uuid4().hex[:6]}"
    root = IPWrapper()
    root.netns.add(ns)
    try:
        ip, nft = IPWrapper(ns), Nft(namespace=ns)
        net = str(uuid.uuid4())
        LinuxBridgeNetwork(ip).ensure_present(Segment(net, "local"))
        plug, secure, groups = BridgeInterfaceDriver(ip), PortSecurity(nft), SecurityGroups(nft)
        ports = [(str(uuid.uuid4()), f"10.90.{i // 250}.{i % 250 + 1}") for i in range(a.ports)]
        members = {"default": [p[1] for p in ports]}

        t0 = time.perf_counter()
        for i, (port, addr) in enumerate(ports):
            mac = f"fa:16:3e:00:{i // 256:02x}:{i % 256:02x}"
            plug.ensure_present(PortSpec(port, net, "tap", mac, [f"{addr}/16"]))
            secure.ensure_present(PortSecuritySpec(tap_name(port), mac, [addr]))
            groups.ensure_present(PortGroupsSpec(tap_name(port), [{"id": "default"}], members))
        t_plug = time.perf_counter() - t0

        t0 = time.perf_counter()
        for i, (port, addr) in enumerate(ports[:20]):
            mac = f"fa:16:3e:00:{i // 256:02x}:{i % 256:02x}"
            assert not plug.ensure_present(PortSpec(port, net, "tap", mac, [f"{addr}/16"]))[0]
            assert not secure.ensure_present(PortSecuritySpec(tap_name(port), mac, [addr]))[0]
            assert not groups.ensure_present(
                PortGroupsSpec(tap_name(port), [{"id": "default"}], members))[0]
        t_noop = (time.perf_counter() - t0) / 20

        dev = tap_name(ports[0][0])
        big = PortGroupsSpec(dev, [{"id": "big", "rules": rules(a.rules)}], members)
        small = PortGroupsSpec(dev, [{"id": "small", "rules": rules(5)}], members)
        t0 = time.perf_counter()
        assert groups.ensure_present(big)[0]
        t_big = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert not groups.ensure_present(big)[0]
        t_big_noop = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert groups.ensure_present(small)[0]
        t_small = time.perf_counter() - t0

        port, addr = ports[1]
        margs = {"port_id": port, "network_id": net, "mac_address": "fa:16:3e:00:00:01",
                 "fixed_ips": [f"{addr}/16"], "namespace": ns}
        t0 = time.perf_counter()
        for _ in range(3):
            res = run_module("port", margs)
            assert not res.failed and not res.changed, res
        t_module = (time.perf_counter() - t0) / 3

        print(f"plug {a.ports} ports (tap + anti-spoofing + default group of {a.ports} members): "
              f"{t_plug:.2f} s total, {t_plug / a.ports * 1000:.1f} ms/port")
        print(f"re-run on a plugged port (all three unchanged, read from nft -j / ip -j): "
              f"{t_noop * 1000:.1f} ms/port")
        print(f"apply a {a.rules}-rule security group change to one port (one nft -f): "
              f"{t_big:.3f} s")
        print(f"same {a.rules} rules again (unchanged, decided from nft -j): {t_big_noop:.3f} s")
        print(f"change back to 5 rules: {t_small:.3f} s")
        print(f"the same no-op through Ansible (stratus.cloud.port, one ad-hoc run): "
              f"{t_module:.2f} s ({t_module / t_noop:.0f}x the driver alone)")
        print(f"ratio {a.rules}-rule apply / 5-rule apply: {t_big / t_small:.1f}x; "
              f"plug / no-op re-run: {t_plug / a.ports / t_noop:.1f}x")
    finally:
        root.netns.ensure_absent(ns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
