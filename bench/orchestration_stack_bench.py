#!/usr/bin/env python3
"""Stack create wall time against the template's critical path: how much of the
independence in a template the engine turns into parallel work.

    .venv/bin/python bench/orchestration_stack_bench.py [--chains 4] [--length 5] [--wait 2]

The template: ``chains`` independent chains of ``length`` OS::Heat::TestResource each
waiting ``wait`` seconds (``wait_secs``), each depending on the one before it in its
chain (e.g. 20 resources of 2 s in 4 chains of 5: 40 s of waiting in all, a critical
path of 10 s). A temporary controller (a fresh SQLite database with the all-in-one host
registry, the stack engine and a real job worker running ansible-runner against
localhost) creates the stack through ``stratus.stacks.create`` and the clock stops when
the stack is CREATE_COMPLETE (settled by the engine's job-end hook).

Printed: wall time, sum of waits, critical path, the parallelism ratio (sum of waits /
wall: ``chains`` at best) and the overhead over the critical path (wall − critical path).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stratus.db import models  # noqa: E402,F401 - registers the tables
from stratus.db.base import Base  # noqa: E402
from stratus.db.models.orchestration import Stack  # noqa: E402
from stratus.db.session import Database  # noqa: E402
from stratus.hosts import registry  # noqa: E402
from stratus.jobs.worker import Options, Worker  # noqa: E402
from stratus.orchestration.resources import get_type  # noqa: E402
from stratus.stacks import create  # noqa: E402


@dataclass
class Caller:
    project_id: str = "bench"
    user_id: str = "bench"
    is_admin: bool = False
    roles: list[str] = field(default_factory=lambda: ["member"])


def template(chains: int, length: int, wait: float) -> dict:
    resources = {}
    for c in range(chains):
        for i in range(length):
            res = {"type": "OS::Heat::TestResource", "properties": {"value": f"{c}-{i}", "wait_secs": wait}}
            if i:
                res["depends_on"] = [f"c{c}r{i - 1}"]
            resources[f"c{c}r{i}"] = res
    return {"heat_template_version": "2018-08-31", "resources": resources}


def run(chains: int, length: int, wait: float, timeout: float) -> float:
    with tempfile.TemporaryDirectory(prefix="stratus-stack-bench-") as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        Base.metadata.create_all(db.engine)
        with db.session() as s:
            registry.sync(s, [str(REPO / "inventories/aio")])
        worker = Worker(db, Options(state_dir=Path(tmp) / "state", poll_interval=0.05), get_type).start()
        try:
            start = time.monotonic()
            with db.session() as s:
                sid = create.create(s, Caller(), name="bench", template=template(chains, length, wait)).id
            while time.monotonic() - start < timeout:
                with db.session() as s:
                    st = s.get(Stack, sid)
                    status, reason = st.stack_status, st.status_reason
                if status == "CREATE_COMPLETE":
                    return time.monotonic() - start
                if not status.endswith("IN_PROGRESS"):
                    raise SystemExit(f"the stack went to {status}: {reason}")
                time.sleep(0.05)
            raise SystemExit(f"the stack was not CREATE_COMPLETE within {timeout:.0f} s")
        finally:
            worker.stop(timeout=20)
            db.dispose()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--length", type=int, default=5)
    ap.add_argument("--wait", type=float, default=2.0, help="seconds each resource waits")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args(argv)
    total = args.chains * args.length * args.wait
    critical = args.length * args.wait
    wall = run(args.chains, args.length, args.wait, args.timeout)
    print(f"stack of {args.chains * args.length} TestResources ({args.chains} chains of {args.length}, "
          f"{args.wait:g} s each)")
    print(f"  wall time          {wall:8.2f} s")
    print(f"  sum of waits       {total:8.2f} s")
    print(f"  critical path      {critical:8.2f} s")
    print(f"  parallelism ratio  {total / wall:8.2f}  (sum of waits / wall; at best {args.chains})")
    print(f"  over critical path {wall - critical:8.2f} s  (wall / critical path = {wall / critical:.2f})")


if __name__ == "__main__":
    main()
