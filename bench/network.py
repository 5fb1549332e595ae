#!/usr/bin/env python3
"""Network API: server create to a floating IP answering ping; port-create throughput
through the API and realised on the host.

    .venv/bin/python bench/network.py [--servers 2] [--ports 50] [--concurrent 10]

A controller (SQLite, as the API tests start it) whose one host is this machine
(compute + network), its physical network ``ext`` a veth into an "external" namespace
(removed at the end, even on failure). As the admin: an external flat network and
subnet, a tenant network + subnet (DHCP), a router with its gateway and interface, a
security group allowing ICMP, the tiny guest image and a flavor. Then:

1. **server → floating IP answering ping** (``--servers`` times, one after the other):
   ``POST /servers`` on the tenant network; as soon as its port exists a floating IP
   is created on it; the clock stops when the floating IP answers ping from the
   external namespace. Split: server ACTIVE, port ACTIVE, floating IP ACTIVE, first
   answered ping; the ratio of the whole to ACTIVE (what networking adds to a boot).
2. **port create**: ``--ports`` ports on the tenant network through
   ``POST /network/v2.0/ports``, ``--concurrent`` threads: per-request p50/p99 and
   ports/s (records only: not bound, nothing to realise); then the same number bound to
   this host (``binding:host_id``) until every one is ``ACTIVE`` with its tap on the
   host: ports/s realised, and the ratio API-only / realised throughput.

Figures are printed as they come and again at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tools"), str(REPO / "collections")]

from bench.compute import Figures, concurrently  # noqa: E402
from tests.e2e.network_world import ExternalWorld, links, pings, private_vni_range  # noqa: E402

NET = "/network/v2.0"
EXTERNAL_CIDR, EXTERNAL_GATEWAY = "203.0.113.0/24", "203.0.113.1"
TENANT_CIDR = "10.213.0.0/22"  # room for the ports


class NetworkBench:
    def __init__(self, work: Path, world: ExternalWorld) -> None:
        from tests.api.conftest import Controller

        self.ctl = Controller(work, f"sqlite:///{work}/stratus.db", network_vni_ranges=private_vni_range())
        try:
            self.ctl.setup()
        except BaseException:
            self.ctl.close()
            raise
        inventory = work / "inventory.yml"
        host = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
                "stratus_tunnel_ip": "127.0.0.1", "stratus_physical_interface_mappings": {"ext": world.interface}}
        inventory.write_text(json.dumps({"all": {"children": {
            "compute": {"hosts": {"bench1": host}}, "network": {"hosts": {"bench1": host}}}}}))
        self.ctl.stratus("host", "sync", "-i", str(inventory))
        self.ctl.stratus("host", "refresh")
        self.world = world
        self.servers: list[str] = []
        self.ports: list[str] = []
        self.fips: list[str] = []

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kw) -> dict:
        headers = {"OpenStack-API-Version": "compute 2.79", **kw.pop("headers", {})}
        r = self.ctl.request(method, path, headers=headers, **kw)
        if r.status_code not in expect:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content else {}

    def prepare(self, qcow2: str, ports: int) -> None:
        """The external network, the tenant network behind a router, a group allowing
        ICMP, the image, a flavor and room (quotas) for the ports."""
        from tests.api.compute.servers_helpers import add_flavors

        c = self.call
        project = self.ctl.request("GET", "/identity/v3/auth/tokens", headers={
            "X-Subject-Token": self.ctl.admin_token()}).json()["token"]["project"]["id"]
        c("PUT", f"{NET}/quotas/{project}", json={"quota": {"port": 10 * ports + 50, "floatingip": 50}})
        ext = c("POST", f"{NET}/networks", (201,), json={"network": {
            "name": "bench-ext", "router:external": True, "provider:network_type": "flat",
            "provider:physical_network": "ext"}})["network"]
        c("POST", f"{NET}/subnets", (201,), json={"subnet": {
            "network_id": ext["id"], "ip_version": 4, "cidr": EXTERNAL_CIDR, "gateway_ip": EXTERNAL_GATEWAY,
            "enable_dhcp": False, "allocation_pools": [{"start": "203.0.113.100", "end": "203.0.113.200"}]}})
        net = c("POST", f"{NET}/networks", (201,), json={"network": {"name": "bench-net"}})["network"]
        sub = c("POST", f"{NET}/subnets", (201,), json={"subnet": {
            "network_id": net["id"], "ip_version": 4, "cidr": TENANT_CIDR}})["subnet"]
        router = c("POST", f"{NET}/routers", (201,), json={"router": {
            "name": "bench-r", "external_gateway_info": {"network_id": ext["id"]}}})["router"]
        c("PUT", f"{NET}/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
        sg = c("POST", f"{NET}/security-groups", (201,), json={"security_group": {"name": "bench-icmp"}})
        sg = sg["security_group"]
        c("POST", f"{NET}/security-group-rules", (201,), json={"security_group_rule": {
            "security_group_id": sg["id"], "direction": "ingress", "ethertype": "IPv4", "protocol": "icmp"}})
        image = c("POST", "/image/v2/images", (201,), json={
            "name": "bench-network", "disk_format": "qcow2", "container_format": "bare", "visibility": "public"})
        self.ctl.request("PUT", f"/image/v2/images/{image['id']}/file", content=Path(qcow2).read_bytes(),
                         headers={"Content-Type": "application/octet-stream"})
        add_flavors(self.ctl)
        self.ext, self.net, self.router, self.sg, self.image = ext, net, router, sg, image["id"]

    def status(self, collection: str, rid: str) -> str:
        body = self.call("GET", f"{NET}/{collection}/{rid}")
        return body[collection[:-1]]["status"]

    # 1. server -> floating IP answering ping ------------------------------------------
    def server_to_ping(self, timeout: float = 900) -> dict[str, float]:
        t0 = time.monotonic()
        marks: dict[str, float] = {}
        sid = self.call("POST", "/compute/v2.1/servers", (202,), json={"server": {
            "name": f"bench-{uuid.uuid4().hex[:6]}", "imageRef": self.image, "flavorRef": "42",
            "networks": [{"uuid": self.net["id"]}], "security_groups": [{"name": self.sg["name"]}]}})["server"]["id"]
        self.servers.append(sid)
        port = fip = None
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            now = time.monotonic() - t0
            if "ACTIVE" not in marks:
                status = self.call("GET", f"/compute/v2.1/servers/{sid}")["server"]["status"]
                if status == "ERROR":
                    raise RuntimeError(f"server {sid} went to ERROR")
                if status == "ACTIVE":
                    marks["server ACTIVE"] = marks["ACTIVE"] = now
            if port is None:
                found = self.call("GET", f"{NET}/ports", params={"device_id": sid})["ports"]
                if found:
                    port = found[0]
                    fip = self.call("POST", f"{NET}/floatingips", (201,), json={"floatingip": {
                        "floating_network_id": self.ext["id"], "port_id": port["id"]}})["floatingip"]
                    self.fips.append(fip["id"])
            elif "port ACTIVE" not in marks and self.status("ports", port["id"]) == "ACTIVE":
                marks["port ACTIVE"] = now
            if fip is not None and "floating IP ACTIVE" not in marks and \
                    self.status("floatingips", fip["id"]) == "ACTIVE":
                marks["floating IP ACTIVE"] = now
            if fip is not None and pings(self.world.ns, fip["floating_ip_address"], wait=1):
                marks["ping answered"] = time.monotonic() - t0
                marks.pop("ACTIVE", None)
                return marks
            time.sleep(0.5)
        raise RuntimeError(f"the floating IP of server {sid} did not answer within {timeout}s: {marks}")

    # 2. port create -------------------------------------------------------------------
    def create_port(self, bound: bool) -> tuple[float, str]:
        body: dict = {"network_id": self.net["id"], "port_security_enabled": False}
        if bound:
            body.update({"binding:host_id": "bench1", "device_owner": "compute:nova",
                         "device_id": str(uuid.uuid4())})
        t0 = time.monotonic()
        port = self.call("POST", f"{NET}/ports", (201,), json={"port": body})["port"]
        return time.monotonic() - t0, port["id"]

    def ports_at_once(self, n: int, threads: int, bound: bool) -> tuple[list[float], float, list[str]]:
        ids: list[str] = []
        lock = threading.Lock()
        per_thread = [n // threads + (1 if i < n % threads else 0) for i in range(threads)]

        def worker(i: int) -> float:
            total = 0.0
            for _ in range(per_thread[i]):
                seconds, pid = self.create_port(bound)
                with lock:
                    ids.append(pid)
                    samples.append(seconds)
                total += seconds
            return total

        samples: list[float] = []
        _, wall = concurrently(worker, threads)
        self.ports += ids
        return samples, wall, ids

    def wait_realised(self, ids: list[str], timeout: float = 1200) -> float:
        """Seconds until every port is ACTIVE and its tap is on this host."""
        t0 = time.monotonic()
        pending = set(ids)
        while pending and time.monotonic() - t0 < timeout:
            listed = self.call("GET", f"{NET}/ports", params={"network_id": self.net["id"], "status": "ACTIVE",
                                                              "fields": ["id", "status"]})["ports"]
            devices = links()
            pending -= {p["id"] for p in listed if f"tap{p['id'][:11]}" in devices}
            if pending:
                time.sleep(0.5)
        if pending:
            raise RuntimeError(f"{len(pending)} of {len(ids)} ports not realised after {timeout}s")
        return time.monotonic() - t0

    def delete_all(self) -> None:
        for fid in self.fips:
            self.ctl.request("DELETE", f"{NET}/floatingips/{fid}")
        for sid in self.servers:
            self.ctl.request("DELETE", f"/compute/v2.1/servers/{sid}")
        for pid in self.ports:
            self.ctl.request("DELETE", f"{NET}/ports/{pid}")
        deadline = time.monotonic() + 300
        while self.servers and time.monotonic() < deadline:
            self.servers = [s for s in self.servers
                            if self.ctl.request("GET", f"/compute/v2.1/servers/{s}").status_code != 404]
            time.sleep(1)
        if getattr(self, "router", None):
            rid = self.router["id"]
            for p in self.call("GET", f"{NET}/ports", params={"device_id": rid})["ports"]:
                if p["device_owner"] == "network:router_interface":
                    self.ctl.request("PUT", f"{NET}/routers/{rid}/remove_router_interface",
                                     json={"port_id": p["id"]})
            self.ctl.request("PUT", f"{NET}/routers/{rid}", json={"router": {"external_gateway_info": {}}})
            self.ctl.request("DELETE", f"{NET}/routers/{rid}")
        for net in (getattr(self, "net", None), getattr(self, "ext", None)):
            if net:
                self.ctl.request("DELETE", f"{NET}/networks/{net['id']}")

    def close(self) -> None:
        try:
            self.delete_all()
        finally:
            self.ctl.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", type=int, default=2, help="servers booted one after the other (2)")
    ap.add_argument("--ports", type=int, default=50, help="ports created per phase (50)")
    ap.add_argument("--concurrent", type=int, default=10, help="threads creating ports (10)")
    ap.add_argument("--skip-boot", action="store_true", help="only the port figures")
    args = ap.parse_args()
    from build_guest_image import build

    fig = Figures()
    world = ExternalWorld(f"{EXTERNAL_GATEWAY}/24")
    try:
        with tempfile.TemporaryDirectory(prefix="stratus-bench-network-", dir="/var/tmp") as tmp:
            bench = NetworkBench(Path(tmp), world)
            try:
                bench.prepare(build()["qcow2"], args.ports)
                if not args.skip_boot:
                    print("== server create -> floating IP answering ping", flush=True)
                    runs = [bench.server_to_ping() for _ in range(args.servers)]
                    for mark in ("server ACTIVE", "port ACTIVE", "floating IP ACTIVE", "ping answered"):
                        got = [r[mark] for r in runs if mark in r]
                        if got:
                            fig.times(f"server: {mark}", got)
                    fig.ratio("server: ping answered / ACTIVE (p50)", "server: ping answered.p50",
                              "server: server ACTIVE.p50")
                print(f"== {args.ports} ports, {args.concurrent} threads", flush=True)
                samples, wall, _ = bench.ports_at_once(args.ports, args.concurrent, bound=False)
                fig.times("port create, records only (per request)", samples, wall)
                fig.add("port create, records only", f"{args.ports / wall:7.1f} ports/s")
                fig.values["api.rate"] = args.ports / wall
                t0 = time.monotonic()
                samples, wall, ids = bench.ports_at_once(args.ports, args.concurrent, bound=True)
                fig.times("port create bound to the host (per request)", samples, wall)
                after = bench.wait_realised(ids)
                total = time.monotonic() - t0
                fig.add("port create bound, until all ACTIVE + tap", f"{total:7.2f} s  "
                        f"{args.ports / total:7.1f} ports/s")
                fig.values["realised.rate"] = args.ports / total
                fig.add("  of which after the last API answer", f"{after:7.2f} s")
                fig.ratio("ports/s: records only / realised", "api.rate", "realised.rate")
            finally:
                bench.close()
    finally:
        world.close()
    print("\n== bench/network.py figures")
    for label, text in fig.rows:
        print(f"{label:<46} {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
