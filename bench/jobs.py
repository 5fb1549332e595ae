"""Jobs per second through the whole pipeline (plan → compile → record → ansible-runner
→ events → resource states) for trivial one-task playbooks on localhost.

    .venv/bin/python bench/jobs.py [N]

Runs N jobs three ways on a fresh SQLite database: one run per job with concurrency 1,
one run per job with concurrency 2 (the default), and batched (jobs queued together
share one ansible-runner run). Prints jobs/s and the ratios.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stratus.db import models  # noqa: E402,F401 - registers the tables
from stratus.db.base import Base  # noqa: E402
from stratus.db.models.jobs import FINAL, SUCCEEDED, Job  # noqa: E402
from stratus.db.session import Database  # noqa: E402
from stratus.hosts import registry  # noqa: E402
from stratus.jobs.worker import Options, Worker  # noqa: E402
from stratus.orchestration.submit import submit  # noqa: E402

TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "resources": {"hello": {"type": "Stratus::Ansible::Task",
                            "properties": {"module": "ansible.builtin.debug", "args": {"msg": "hi"}}}},
}


def run(n: int, **opts) -> float:
    with tempfile.TemporaryDirectory(prefix="stratus-bench-") as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        Base.metadata.create_all(db.engine)
        with db.session() as s:
            registry.sync(s, [str(REPO / "inventories/aio")])
        worker = Worker(db, Options(state_dir=Path(tmp) / "state", poll_interval=0.05, **opts)).start()
        t0 = time.monotonic()
        with db.session() as s:
            ids = [submit(s, TEMPLATE, cloud_admin=True).id for _ in range(n)]
        worker.notify()
        while True:
            with db.session() as s:
                done = s.query(Job).filter(Job.status.in_(FINAL)).count()
            if done == n:
                break
            time.sleep(0.05)
        elapsed = time.monotonic() - t0
        with db.session() as s:
            ok = s.query(Job).filter(Job.id.in_(ids), Job.status == SUCCEEDED).count()
        worker.stop()
        db.dispose()
        assert ok == n, f"only {ok} of {n} jobs succeeded"
        return n / elapsed


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    single1 = run(n, concurrency=1)
    single2 = run(n, concurrency=2)
    batched = run(n, concurrency=2, batch_window=0.2, batch_max=50)
    print(f"jobs: {n} trivial one-task playbooks on localhost, SQLite")
    print(f"  one run per job, concurrency 1: {single1:6.2f} jobs/s")
    print(f"  one run per job, concurrency 2: {single2:6.2f} jobs/s  ({single2 / single1:.2f}x)")
    print(f"  batched (window 0.2 s, max 50): {batched:6.2f} jobs/s  ({batched / single1:.2f}x vs 1, "
          f"{batched / single2:.2f}x vs 2)")


if __name__ == "__main__":
    main()
