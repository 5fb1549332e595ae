"""Placement and host targeting at scale.

    .venv/bin/python bench/placement.py [REQUESTS] [--scheduler-only]

1. Plan → check → quota → placement → compile → record for one OS::Nova::Server
   request, with 100 and with 10,000 compute hosts in the registry (SQLite): ms per
   request (median, p95) and the ratio.
2. One real server job (boot the tiny guest on this machine's libvirt) with a registry
   of 1 host and with 1,000 hosts (inventory aliases of localhost with a local
   connection): the play names 1 host, the run's inventory holds 1 host, and the wall
   times are compared (target: within 1.2x). Needs libvirtd running and the tiny image
   (``make images``). The host fetches the image as from the image API, with a ticket:
   here a small HTTP server on loopback serves ``/images/<id>/file`` and stands in
   for it (``image_url_for_hosts``).
3. The scheduler (``place`` with a RequestSpec: every enabled filter, the weighers)
   against the plain capacity path, with 100 and 10,000 compute hosts, 1 in 4 of them
   in one of 50 aggregates (zones, ratios, metadata), the disabled services of 1 in
   100, and an anti-affinity group the requests join: ms per placement (median, p95),
   each placement's claim written as submit writes it (SQLite). ``--scheduler-only``
   runs just this part.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

from stratus.config import Settings  # noqa: E402
from stratus.db import models  # noqa: E402,F401 - registers the tables
from stratus.db.base import Base  # noqa: E402
from stratus.db.locks import write_lock  # noqa: E402
from stratus.db.models import compute as nova  # noqa: E402
from stratus.db.models.hosts import Host  # noqa: E402
from stratus.db.models.images import Image  # noqa: E402
from stratus.db.models.jobs import FINAL, SUCCEEDED, Job  # noqa: E402
from stratus.db.models.quotas import Allocation  # noqa: E402
from stratus.db.session import Database  # noqa: E402
from stratus.hosts import placement  # noqa: E402
from stratus.identity.fernet import FernetKeys  # noqa: E402
from stratus.jobs.worker import Options, Worker  # noqa: E402
from stratus.orchestration.resources import PlanContext, get_type  # noqa: E402
from stratus.orchestration.submit import PLACEMENT_LOCK, submit, submit_delete  # noqa: E402
from stratus.scheduler.spec import RequestSpec  # noqa: E402

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
PROJECT = "bench"


def server(image_id: str) -> dict:
    return {"heat_template_version": "2018-08-31", "resources": {"vm": {
        "type": "OS::Nova::Server",
        "properties": {"name": "bench", "flavor": "m1.nano", "image": image_id}}}}


def fresh_db(tmp: str, hosts: int, capacity: dict, image: dict) -> Database:
    """A registry of ``hosts`` and the image record (active, owned by PROJECT)."""
    db = Database(f"sqlite:///{tmp}/bench-{hosts}.db")
    Base.metadata.create_all(db.engine)
    with db.session() as s:
        s.add_all(Host(name=f"compute{i:05d}", groups=["compute"], capacity=dict(capacity), vars=dict(LOCAL))
                  for i in range(hosts))
        s.add(nova.Flavor(id="42", name="m1.nano", vcpus=1, memory_mb=128, root_gb=1))  # flavors live in the DB
        s.add(Image(id=image["id"], name="bench", status="active", visibility="private", owner=PROJECT,
                    disk_format="qcow2", container_format="bare", size=image["size"],
                    os_hash_algo="sha512", os_hash_value=image["sha512"]))
    return db


def plan_context(tmp: str, image_url: str) -> PlanContext:
    keys = FernetKeys(Path(tmp) / "keys")
    keys.setup()
    return PlanContext(Settings(image_url_for_hosts=image_url), keys)


def placement_ms(hosts: int, requests: int) -> list[float]:
    image = {"id": str(uuid.uuid4()), "size": 1 << 20, "sha512": "0" * 128}
    with tempfile.TemporaryDirectory(prefix="stratus-bench-") as tmp:
        db = fresh_db(tmp, hosts, {"vcpus": 64, "memory_mb": 262144, "disk_gb": 2000}, image)
        ctx = plan_context(tmp, "http://127.0.0.1:9/image/v2")
        times = []
        for _ in range(requests):
            t0 = time.perf_counter()
            with db.session() as s:
                submit(s, server(image["id"]), project_id=PROJECT, context=ctx)
            times.append((time.perf_counter() - t0) * 1000)
        db.dispose()
        return times


def serve_image(tmp: str, image: dict) -> http.server.ThreadingHTTPServer:
    """``/image/v2/images/<id>/file`` on loopback: the image API's download in miniature."""
    root = Path(tmp) / "www"
    (root / "image/v2/images" / image["id"]).mkdir(parents=True)
    shutil.copy(image["path"], root / "image/v2/images" / image["id"] / "file")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def job_seconds(hosts: int, image: dict) -> tuple[float, str, int]:
    """Wall time of one server boot job; (seconds, the play's hosts, inventory size)."""
    with tempfile.TemporaryDirectory(prefix="stratus-bench-") as tmp:
        db = fresh_db(tmp, hosts, {"vcpus": 8, "memory_mb": 8192, "disk_gb": 100}, image)
        httpd = serve_image(tmp, image)
        ctx = plan_context(tmp, f"http://127.0.0.1:{httpd.server_address[1]}/image/v2")
        worker = Worker(db, Options(state_dir=Path(tmp) / "state", poll_interval=0.05), get_type).start()
        try:
            with db.session() as s:
                job = submit(s, server(image["id"]), project_id=PROJECT, context=ctx)
                job_id, sid, play_hosts = job.id, job.resource_map["vm"], job.playbook[0]["hosts"]
            t0 = time.monotonic()
            worker.notify()
            status = wait(db, job_id)
            elapsed = time.monotonic() - t0
            assert status == SUCCEEDED, f"the boot job ended {status}"
            inventory = (Path(tmp) / "state" / "runs").glob("*/inventory/hosts.json")
            size = len(__import__("json").loads(next(inventory).read_text())["all"]["hosts"])
            with db.session() as s:
                delete = submit_delete(s, [sid]).id
            worker.notify()
            wait(db, delete)
        finally:
            worker.stop()
            httpd.shutdown()
            httpd.server_close()
            db.dispose()
        return elapsed, play_hosts, size


def wait(db: Database, job_id: str, timeout: float = 600) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as s:
            status = s.get(Job, job_id).status
        if status in FINAL:
            return status
        time.sleep(0.05)
    raise TimeoutError(job_id)


def scheduler_db(tmp: str, hosts: int) -> tuple[Database, str]:
    """A registry of ``hosts`` compute hosts with aggregates, services and a group."""
    db = Database(f"sqlite:///{tmp}/sched-{hosts}.db")
    Base.metadata.create_all(db.engine)
    gid = str(uuid.uuid4())
    with db.session() as s:
        s.add_all(Host(name=f"compute{i:05d}", groups=["compute"], vars=dict(LOCAL),
                       capacity={"vcpus": 64, "memory_mb": 262144, "disk_gb": 2000},
                       reported={"cpu_model": "x86_64", "virt_type": "qemu"}) for i in range(hosts))
        for a in range(50):
            s.add(nova.Aggregate(id=a + 1, uuid=str(uuid.uuid4()), name=f"agg{a}"))
            s.add_all([nova.AggregateMetadata(aggregate_id=a + 1, key="availability_zone", value=f"az{a % 5}"),
                       nova.AggregateMetadata(aggregate_id=a + 1, key="cpu_allocation_ratio", value="8.0")])
        s.flush()
        s.add_all(nova.AggregateHost(aggregate_id=i % 50 + 1, host=f"compute{i:05d}") for i in range(0, hosts, 4))
        s.add_all(nova.ComputeService(uuid=str(uuid.uuid4()), host=f"compute{i:05d}", binary="nova-compute",
                                 disabled=i % 100 == 0) for i in range(hosts))
        s.add(nova.ServerGroup(id=gid, name="bench", project_id=PROJECT, user_id="bench", policy="anti-affinity",
                          rules={"max_server_per_host": 2}))
    return db, gid


def scheduler_ms(hosts: int, requests: int, scheduled: bool, zone: str | None = None) -> list[float]:
    """ms per placement of one server (write lock, place, its claim and membership);
    a refused placement (no host in ``zone``) is timed as well, and writes nothing."""
    need = {"vcpus": 2, "memory_mb": 4096, "disk_gb": 20}
    with tempfile.TemporaryDirectory(prefix="stratus-bench-") as tmp:
        db, gid = scheduler_db(tmp, hosts)
        times = []
        for i in range(requests + 1):  # the first fills the registry cache: not counted
            sid = str(uuid.uuid4())
            spec = RequestSpec(sid, project_id=PROJECT, group_id=gid, image_properties={"hw_architecture": "x86_64"},
                               flavor={"vcpus": 2, "ram": 4096, "disk": 20, "extra_specs": {}}, availability_zone=zone)
            t0 = time.perf_counter()
            try:
                with db.session() as s:
                    write_lock(s, PLACEMENT_LOCK)
                    s.add(nova.ServerGroupMember(group_id=gid, server_id=sid))
                    specs = {"vm": spec} if scheduled else None
                    host = placement.place(s, {"vm": need}, {"vm": "compute"}, specs)["vm"]
                    s.add_all(Allocation(consumer_id=sid, project_id=PROJECT, resource=k, amount=v, host=host)
                              for k, v in need.items())
            except placement.NoValidHost:
                pass
            if i:
                times.append((time.perf_counter() - t0) * 1000)
        db.dispose()
        return times


def scheduler_main(n: int) -> None:
    print(f"scheduler: {n} placements of one server each (place + claim), SQLite")
    for hosts in (100, 10_000):
        plain = statistics.median(scheduler_ms(hosts, n, scheduled=False))
        got = scheduler_ms(hosts, n, scheduled=True)
        med, p95 = statistics.median(got), sorted(got)[int(0.95 * (len(got) - 1))]
        print(f"  {hosts:>6,} hosts: scheduler median {med:7.1f} ms, p95 {p95:7.1f} ms;"
              f" plain capacity path median {plain:6.1f} ms ({med / plain:.1f}x)")
    for zone, what in (("az3", "a zone (1 in 20 hosts)"), ("az-none", "a zone no host is in (refused)")):
        got = scheduler_ms(10_000, n, scheduled=True, zone=zone)
        print(f"  10,000 hosts, {what}: median {statistics.median(got):7.1f} ms")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 50
    if "--scheduler-only" in sys.argv:
        scheduler_main(n)
        return
    small, large = placement_ms(100, n), placement_ms(10_000, n)
    med_s, med_l = statistics.median(small), statistics.median(large)
    p95 = sorted(large)[int(0.95 * (len(large) - 1))]
    print(f"placement: {n} OS::Nova::Server requests (plan, check, quota, place, compile, record), SQLite")
    print(f"  100 hosts:    median {med_s:7.1f} ms")
    print(f"  10,000 hosts: median {med_l:7.1f} ms, p95 {p95:7.1f} ms  ({med_l / med_s:.1f}x the 100-host median)")

    from build_guest_image import build

    qcow2 = build()["qcow2"]
    data = Path(qcow2).read_bytes()
    image = {"id": str(uuid.uuid4()), "path": str(qcow2), "size": len(data),
             "sha512": hashlib.sha512(data).hexdigest()}
    try:
        one, hosts1, inv1 = job_seconds(1, image)
        many, hosts2, inv2 = job_seconds(1000, image)
    finally:  # the boot cached the image on this host: leave the cache as it was
        cache = Path("/var/lib/stratus/images")
        for path in (cache / image["id"], cache / ".meta" / f"{image['id']}.json"):
            path.unlink(missing_ok=True)
    print("one server job (boot the tiny guest), measured in one run")
    print(f"  1-host registry:     {one:6.2f} s  (play hosts: {hosts1}, inventory: {inv1} host)")
    print(f"  1,000-host registry: {many:6.2f} s  (play hosts: {hosts2}, inventory: {inv2} host)"
          f"  ratio {many / one:.2f}x (target <= 1.2x)")
    scheduler_main(n)


if __name__ == "__main__":
    main()
