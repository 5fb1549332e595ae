#!/usr/bin/env python3
"""Compute: server create -> ACTIVE latency through the API, against the ``instance``
module alone and raw ``virsh define`` + ``start``, in the same run; ``server list``
latency with 5,000 servers in the database; the controller's RSS after the run.

    .venv/bin/python bench/compute.py [--concurrent 20] [--servers 5000] [--skip-boot]

1. raw: the domain XML the module made (dumped once), with a fresh overlay disk and
   config drive per guest (made before the clock starts), ``virsh define`` + ``start``:
   the floor for putting a guest on the host.
2. module: ``stratus.cloud.instance`` (state running) through the ``ansible`` CLI, as
   the job pipeline runs it on a host: image overlay, config drive, domain, start.
3. API: ``POST /compute/v2.1/servers`` on a controller (SQLite, as the API tests start
   it; the local libvirt as its compute host) until ``GET`` shows ``ACTIVE``, then delete.
   Skipped with a note when this tree has no working server create yet.

Each is run for 1 guest, then for N at once (threads); p50 and p99 (nearest rank) of
the per-guest time and the wall time for all N; ratios API/module and module/raw.
"ACTIVE" is the guest started (the module returned, ``virsh start`` returned, the API
status), not the guest's OS being up. Every guest is destroyed right after its batch.

4. ``server list``: 5,000 rows inserted straight into ``compute_servers`` of the
   controller's database for the admin project, then ``GET /servers`` and
   ``GET /servers/detail`` (one page at the default limit) ten times each (p50, p99),
   every page over HTTP following ``servers_links`` (the controller's share), and the
   whole listing through openstacksdk's paging (what ``openstack server list`` does;
   the difference is the SDK building its objects).
5. The controller's RSS (``VmRSS``) and peak (``VmHWM``) after the run.
"""

from __future__ import annotations

import argparse
import math
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tools"), str(REPO / "collections")]

from tests.helpers.ansible import run_module  # noqa: E402

URI = "qemu:///system"
LISTED_SERVERS = 5000


# --- figures --------------------------------------------------------------------------


def p(samples: list[float], q: float) -> float:
    """The nearest-rank q-th percentile (q in 0..100)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


class Figures:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []
        self.values: dict[str, float] = {}

    def times(self, label: str, samples: list[float], wall: float | None = None) -> None:
        self.values[label + ".p50"] = p(samples, 50)
        self.values[label + ".p99"] = p(samples, 99)
        text = f"p50 {p(samples, 50):7.3f} s  p99 {p(samples, 99):7.3f} s  (n={len(samples)})"
        if wall is not None:
            self.values[label + ".wall"] = wall
            text += f"  all done in {wall:7.2f} s"
        self.add(label, text)

    def ratio(self, label: str, a: str, b: str) -> None:
        if a in self.values and b in self.values:
            self.add(label, f"{self.values[a] / self.values[b]:7.2f}x")

    def add(self, label: str, text: str) -> None:
        print(f"  {label:<44} {text}", flush=True)
        self.rows.append((label, text))

    def show(self) -> None:
        print("\n== bench/compute.py figures")
        for label, text in self.rows:
            print(f"{label:<46} {text}")


def concurrently(fn, n: int) -> tuple[list[float], float]:
    """Run ``fn(i)`` (returning its own seconds) for i < n in n threads at once:
    the per-call seconds and the wall time for all."""
    results: list[float | BaseException] = [0.0] * n
    start = threading.Barrier(n)

    def one(i: int) -> None:
        start.wait()
        try:
            results[i] = fn(i)
        except BaseException as exc:  # reported below, after every thread ended
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise RuntimeError(f"{len(errors)} of {n} failed; first: {errors[0]!r}") from errors[0]
    return [float(r) for r in results], wall


def virsh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["virsh", "-q", "-c", URI, *args], check=check, capture_output=True, text=True)


# --- module and raw virsh -------------------------------------------------------------


class HostBench:
    """Guests made by the instance module and by raw virsh under one scratch dir."""

    def __init__(self, base: Path, image_qcow2: str) -> None:
        self.base = base
        self.dirs = {"images_dir": str(base / "images"), "instances_dir": str(base / "instances")}
        self.image = base / "images" / "bench"
        self.made: list[str] = []  # domain names, removed at the end whatever happens
        res = run_module("image_cache", {"image_id": "bench", "source": image_qcow2, **self.dirs})
        if res.failed:
            raise RuntimeError(f"image_cache failed: {res.msg}")
        self.template: tuple[str, str] | None = None  # (uuid, inactive XML) of a module guest

    def module_args(self, uuid: str, state: str = "running") -> dict:
        return {"uuid": uuid, "image_id": "bench", "hostname": f"b-{uuid[:8]}", "memory_mb": 128,
                "user_data": "#!/bin/sh\necho bench\n", "shutdown_timeout": 0, "state": state,
                **self.dirs}

    def module_boot(self, _i: int = 0) -> float:
        uuid = str(uuidlib.uuid4())
        self.made.append(f"instance-{uuid}")
        t0 = time.monotonic()
        res = run_module("instance", self.module_args(uuid))
        took = time.monotonic() - t0
        if res.failed or not res.changed:
            raise RuntimeError(f"instance {uuid}: {res.msg or res}")
        if self.template is None:
            self.template = (uuid, virsh("dumpxml", "--inactive", f"instance-{uuid}").stdout)
        return took

    def raw_prepare(self) -> tuple[str, Path]:
        """A copy of the template guest under a new uuid: its files made (fresh overlay,
        the config drive copied), its XML written; nothing defined yet."""
        old, xml = self.template
        uuid = str(uuidlib.uuid4())
        src, dst = self.base / "instances" / old, self.base / "instances" / uuid
        dst.mkdir(parents=True)
        for f in src.iterdir():
            if f.name == "disk":
                subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                                str(self.image), str(dst / "disk")], check=True)
            elif f.is_file() and not f.name.endswith(".log"):
                shutil.copy2(f, dst / f.name)
        xml_file = dst / "domain.xml"
        xml_file.write_text(xml.replace(old, uuid))
        return uuid, xml_file

    def raw_boot(self, prepared: tuple[str, Path]) -> float:
        uuid, xml_file = prepared
        name = f"instance-{uuid}"
        self.made.append(name)
        t0 = time.monotonic()
        virsh("define", str(xml_file))
        virsh("start", name)
        return time.monotonic() - t0

    def destroy_guests(self) -> None:
        """Destroy and undefine every guest made so far (their files stay)."""
        for name in self.made:
            virsh("destroy", name, check=False)
            virsh("undefine", name, "--managed-save", check=False)
        self.made.clear()


def bench_host(fig: Figures, n: int) -> None:
    from build_guest_image import build

    base = Path(f"/var/lib/stratus/bench-compute-{secrets.token_hex(3)}")
    base.mkdir(parents=True, mode=0o755)
    try:
        hb = HostBench(base, build()["qcow2"])
        try:
            hb.module_boot()  # warm-up (Ansible's caches, the base image read) and the template
            prepared = [hb.raw_prepare() for _ in range(n + 1)]
            hb.destroy_guests()
            fig.times("raw virsh define+start: 1 guest", [hb.raw_boot(prepared[0])])
            hb.destroy_guests()
            samples, wall = concurrently(lambda i: hb.raw_boot(prepared[i + 1]), n)
            fig.times(f"raw virsh define+start: {n} at once", samples, wall)
            hb.destroy_guests()
            fig.times("module: 1 guest", [hb.module_boot()])
            hb.destroy_guests()
            samples, wall = concurrently(hb.module_boot, n)
            fig.times(f"module: {n} at once", samples, wall)
        finally:
            hb.destroy_guests()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    fig.ratio("module/raw, 1 guest", "module: 1 guest.p50", "raw virsh define+start: 1 guest.p50")
    for stat in ("p50", "p99", "wall"):
        fig.ratio(f"module/raw, {n} at once ({stat})", f"module: {n} at once.{stat}",
                  f"raw virsh define+start: {n} at once.{stat}")


# --- through the API --------------------------------------------------------------------


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class ApiBench:
    """A controller (SQLite) whose one compute host is this machine's libvirt."""

    def __init__(self, work: Path) -> None:
        from tests.api.conftest import Controller

        self.ctl = Controller(work, f"sqlite:///{work}/stratus.db")
        try:
            self.ctl.setup()
        except BaseException:
            self.ctl.close()  # a controller that did not answer in time is stopped too
            raise
        inventory = work / "inventory.yml"
        inventory.write_text(
            "all:\n  children:\n    compute:\n      hosts:\n        bench1:\n"
            f"          ansible_connection: local\n          stratus_libvirt_uri: '{URI}'\n")
        self.ctl.stratus("host", "sync", "-i", str(inventory))
        self.ctl.stratus("host", "refresh")
        self.image_id: str | None = None
        self.booted: list[str] = []
        self.v = {"OpenStack-API-Version": "compute 2.79"}

    def call(self, method: str, path: str, expect: tuple[int, ...] = (200,), **kw):
        r = self.ctl.request(method, path, headers={**self.v, **kw.pop("headers", {})}, **kw)
        if r.status_code not in expect:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r

    def project(self) -> tuple[str, str]:
        """(project id, user id) of the admin's token."""
        token = self.ctl.admin_token()
        r = self.ctl.request("GET", "/identity/v3/auth/tokens", headers={"X-Subject-Token": token})
        t = r.json()["token"]
        return t["project"]["id"], t["user"]["id"]

    def can_create(self) -> str | None:
        """None when this tree serves server create, else why not."""
        r = self.ctl.request("POST", "/compute/v2.1/servers", json={"server": {}}, headers=self.v)
        if r.status_code in (404, 405, 501):
            return f"POST /compute/v2.1/servers answers {r.status_code} on this tree (servers branch not merged)"
        return None

    def prepare_boot(self, qcow2: str, n: int) -> str:
        r = self.call("POST", "/image/v2/images", (201,), json={
            "name": "bench-compute", "disk_format": "qcow2", "container_format": "bare", "visibility": "public"})
        self.image_id = r.json()["id"]
        self.call("PUT", f"/image/v2/images/{self.image_id}/file", (204,), content=Path(qcow2).read_bytes(),
                  headers={"Content-Type": "application/octet-stream"})
        self.make_room(n)
        project, _ = self.project()
        self.call("PUT", f"/compute/v2.1/os-quota-sets/{project}", json={"quota_set": {
            "instances": 10 * n, "cores": 10 * n, "ram": 1024 * 10 * n}})
        return self.add_flavor()

    def make_room(self, n: int) -> None:
        """Let the host take n + 1 one-vCPU guests at once: its refreshed vCPU count
        raised (placement counts vCPUs 1:1 until allocation ratios come with the
        scheduler; the guests are tiny and live only until ACTIVE is seen)."""
        from stratus.db.models.hosts import Host
        from stratus.db.session import Database

        db = Database(self.ctl.database_url)
        try:
            with db.session() as s:
                host = s.get(Host, "bench1")
                host.capacity = {**host.capacity, "vcpus": max(host.capacity.get("vcpus", 0), n + 1)}
        finally:
            db.dispose()

    def add_flavor(self) -> str:
        """A 1 vCPU / 128 MiB / 1 GiB flavor, straight into the table (the flavor API is
        another branch's)."""
        from stratus.db.models.compute import Flavor
        from stratus.db.session import Database

        db = Database(self.ctl.database_url)
        try:
            with db.session() as s:
                s.add(Flavor(id="bench-nano", name="bench.nano", vcpus=1, memory_mb=128, root_gb=1))
        finally:
            db.dispose()
        return "bench-nano"

    def boot(self, flavor: str, i: int = 0, timeout: float = 600) -> float:
        """Seconds from POST to ACTIVE; the server is deleted later (``delete_all``):
        its delete job would queue behind the other creates and blur their times."""
        t0 = time.monotonic()
        r = self.call("POST", "/compute/v2.1/servers", (202,), json={"server": {
            "name": f"bench-{i}", "imageRef": self.image_id, "flavorRef": flavor, "networks": "none"}})
        sid = r.json()["server"]["id"]
        self.booted.append(sid)
        while time.monotonic() - t0 < timeout:
            server = self.call("GET", f"/compute/v2.1/servers/{sid}").json()["server"]
            if server["status"] == "ACTIVE":
                return time.monotonic() - t0
            if server["status"] == "ERROR":
                raise RuntimeError(f"server {sid} went ERROR: {server.get('fault')}")
            time.sleep(0.1)
        raise RuntimeError(f"server {sid} not ACTIVE after {timeout}s")

    def delete_all(self) -> float:
        """Delete every server booted so far; seconds until all are gone."""
        t0 = time.monotonic()
        for sid in self.booted:
            self.call("DELETE", f"/compute/v2.1/servers/{sid}", (204, 404))
        for sid in self.booted:
            self.wait_gone(sid, timeout=1200)
        self.booted.clear()
        return time.monotonic() - t0

    def wait_gone(self, sid: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ctl.request("GET", f"/compute/v2.1/servers/{sid}", headers=self.v).status_code == 404:
                return
            time.sleep(0.2)
        raise RuntimeError(f"server {sid} not gone after {timeout}s")

    def insert_servers(self, count: int) -> None:
        """``count`` ACTIVE servers of the admin's project, straight into the table."""
        from stratus.db.models.compute import Server
        from stratus.db.session import Database

        project, user = self.project()
        flavor = {"vcpus": 1, "ram": 128, "disk": 1, "ephemeral": 0, "swap": 0,
                  "name": "bench.nano", "extra_specs": {}}
        db = Database(self.ctl.database_url)
        try:
            with db.session() as s:
                s.add_all(Server(
                    id=str(uuidlib.uuid4()), project_id=project, user_id=user, name=f"listed-{i:05d}",
                    hostname=f"listed-{i:05d}", vm_state="active", power_state=1, flavor_id="bench-nano",
                    flavor=flavor, image_id=str(uuidlib.uuid4()), host="bench1", node="bench1",
                    availability_zone="nova", metadata_={}, system_metadata={},
                ) for i in range(count))
        finally:
            db.dispose()

    def close(self) -> None:
        if self.booted:
            self.delete_all()  # no guest outlives the bench
        if self.image_id:
            for path in (Path("/var/lib/stratus/images") / self.image_id,
                         Path("/var/lib/stratus/images/.meta") / f"{self.image_id}.json"):
                path.unlink(missing_ok=True)
        self.ctl.close()


def bench_api(fig: Figures, n: int, servers: int, boot: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="stratus-bench-compute-", dir="/var/tmp") as tmp:
        api = ApiBench(Path(tmp))
        try:
            why = api.can_create() if boot else "--skip-boot"
            if why:
                fig.add("API create -> ACTIVE", f"skipped: {why}")
            else:
                from build_guest_image import build

                flavor = api.prepare_boot(build()["qcow2"], n)
                api.boot(flavor)  # warm-up: the image into the host's cache
                api.delete_all()
                fig.times("API: 1 server", [api.boot(flavor)])
                api.delete_all()
                samples, wall = concurrently(lambda i: api.boot(flavor, i), n)
                fig.times(f"API: {n} at once", samples, wall)
                fig.add(f"API: deleting the {n} until gone", f"{api.delete_all():7.2f} s")
                fig.ratio("API/module, 1 server", "API: 1 server.p50", "module: 1 guest.p50")
                for stat in ("p50", "p99", "wall"):
                    fig.ratio(f"API/module, {n} at once ({stat})", f"API: {n} at once.{stat}",
                              f"module: {n} at once.{stat}")
                fig.ratio("API/raw, 1 server", "API: 1 server.p50", "raw virsh define+start: 1 guest.p50")
            bench_list(fig, api, servers)
            pid = api.ctl.proc.pid
            fig.add("controller RSS after the run", f"{status_kib(pid, 'VmRSS') / 1024:7.1f} MiB "
                    f"(peak {status_kib(pid, 'VmHWM') / 1024:.1f} MiB)")
        finally:
            api.close()


def bench_list(fig: Figures, api: ApiBench, count: int) -> None:
    r = api.ctl.request("GET", "/compute/v2.1/servers", headers=api.v)
    if r.status_code != 200:
        fig.add(f"server list, {count} servers", f"skipped: GET /servers answers {r.status_code} on this tree")
        return
    t0 = time.monotonic()
    api.insert_servers(count)
    fig.add(f"insert {count} server rows", f"{time.monotonic() - t0:7.2f} s")
    for path in ("/compute/v2.1/servers", "/compute/v2.1/servers/detail"):
        samples = []
        for _ in range(10):
            t0 = time.monotonic()
            r = api.call("GET", path)
            samples.append(time.monotonic() - t0)
        got = len(r.json()["servers"])
        fig.times(f"GET {path.rsplit('/v2.1', 1)[1]} ({got} of {count}, 1 page)", samples)
    samples = []
    for _ in range(3):  # every page over HTTP, following servers_links: the controller's share
        t0, url, got = time.monotonic(), "/compute/v2.1/servers/detail", 0
        while url:
            doc = api.call("GET", url).json()
            got += len(doc["servers"])
            url = next((link["href"] for link in doc.get("servers_links", []) if link["rel"] == "next"), None)
        samples.append(time.monotonic() - t0)
    fig.times(f"GET /servers/detail all pages ({got})", samples)
    conn = api.ctl.conn(compute_api_version="2.79")
    samples = []
    for _ in range(3):
        t0 = time.monotonic()
        got = sum(1 for _ in conn.compute.servers(details=True))
        samples.append(time.monotonic() - t0)
    fig.times(f"sdk servers(details) all pages ({got})", samples)  # + the SDK's object building
    if got < count:
        fig.add("  note", f"the listing returned {got} of {count} servers")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrent", type=int, default=20, help="guests booted at once (default 20)")
    ap.add_argument("--servers", type=int, default=LISTED_SERVERS, help="rows for the list latency (5000)")
    ap.add_argument("--skip-boot", action="store_true", help="only the list latency and RSS")
    args = ap.parse_args()
    fig = Figures()
    if not args.skip_boot:
        print("== guests on the host: raw virsh, then the instance module", flush=True)
        bench_host(fig, args.concurrent)
    print("== through the API", flush=True)
    bench_api(fig, args.concurrent, args.servers, not args.skip_boot)
    fig.show()
    return 0


if __name__ == "__main__":
    sys.exit(main())
