"""Placement and host targeting at scale.

    .venv/bin/python bench/placement.py [REQUESTS]

1. Plan → check → quota → placement → compile → record for one OS::Nova::Server
   request, with 100 and with 10,000 compute hosts in the registry (SQLite): ms per
   request (median, p95) and the ratio.
2. One real server job (boot the tiny guest on this machine's libvirt) with a registry
   of 1 host and with 1,000 hosts (inventory aliases of localhost with a local
   connection): the play names 1 host, the run's inventory holds 1 host, and the wall
   times are compared (target: within 1.2x). Needs libvirtd running and the tiny image
   (``make images``).
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tools"))

from stratus.db import models  # noqa: E402,F401 - registers the tables
from stratus.db.base import Base  # noqa: E402
from stratus.db.models.hosts import Host  # noqa: E402
from stratus.db.models.jobs import FINAL, SUCCEEDED, Job  # noqa: E402
from stratus.db.session import Database  # noqa: E402
from stratus.jobs.worker import Options, Worker  # noqa: E402
from stratus.orchestration.resources import get_type  # noqa: E402
from stratus.orchestration.submit import submit, submit_delete  # noqa: E402

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}


def server(image: dict | None = None) -> dict:
    image = image or {"id": "bench", "path": "/nonexistent", "sha256": "0" * 64}
    return {"heat_template_version": "2018-08-31", "resources": {"vm": {
        "type": "OS::Nova::Server",
        "properties": {"name": "bench", "flavor": "m1.nano", "image": image["id"],
                       "image_source": image["path"], "image_checksum": image["sha256"]}}}}


def fresh_db(tmp: str, hosts: int, capacity: dict) -> Database:
    db = Database(f"sqlite:///{tmp}/bench-{hosts}.db")
    Base.metadata.create_all(db.engine)
    with db.session() as s:
        s.add_all(Host(name=f"compute{i:05d}", groups=["compute"], capacity=dict(capacity), vars=dict(LOCAL))
                  for i in range(hosts))
    return db


def placement_ms(hosts: int, requests: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="stratus-bench-") as tmp:
        db = fresh_db(tmp, hosts, {"vcpus": 64, "memory_mb": 262144, "disk_gb": 2000})
        times = []
        for _ in range(requests):
            t0 = time.perf_counter()
            with db.session() as s:
                submit(s, server(), project_id=None)
            times.append((time.perf_counter() - t0) * 1000)
        db.dispose()
        return times


def job_seconds(hosts: int, image: dict) -> tuple[float, str, int]:
    """Wall time of one server boot job; (seconds, the play's hosts, inventory size)."""
    with tempfile.TemporaryDirectory(prefix="stratus-bench-") as tmp:
        db = fresh_db(tmp, hosts, {"vcpus": 8, "memory_mb": 8192, "disk_gb": 100})
        worker = Worker(db, Options(state_dir=Path(tmp) / "state", poll_interval=0.05), get_type).start()
        try:
            with db.session() as s:
                job = submit(s, server(image), project_id=None)
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


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    small, large = placement_ms(100, n), placement_ms(10_000, n)
    med_s, med_l = statistics.median(small), statistics.median(large)
    p95 = sorted(large)[int(0.95 * (len(large) - 1))]
    print(f"placement: {n} OS::Nova::Server requests (plan, check, quota, place, compile, record), SQLite")
    print(f"  100 hosts:    median {med_s:7.1f} ms")
    print(f"  10,000 hosts: median {med_l:7.1f} ms, p95 {p95:7.1f} ms  ({med_l / med_s:.1f}x the 100-host median)")

    from build_guest_image import build

    qcow2 = build()["qcow2"]
    image = {"id": f"bench-{uuid.uuid4().hex[:8]}", "path": str(qcow2),
             "sha256": hashlib.sha256(Path(qcow2).read_bytes()).hexdigest()}
    one, hosts1, inv1 = job_seconds(1, image)
    many, hosts2, inv2 = job_seconds(1000, image)
    print("one server job (boot the tiny guest), measured in one run")
    print(f"  1-host registry:     {one:6.2f} s  (play hosts: {hosts1}, inventory: {inv1} host)")
    print(f"  1,000-host registry: {many:6.2f} s  (play hosts: {hosts2}, inventory: {inv2} host)"
          f"  ratio {many / one:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
