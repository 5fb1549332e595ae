#!/usr/bin/env python3
"""Orchestration API: ``GET /stacks`` latency with 1,000 stacks (``--stacks N``).

    .venv/bin/python bench/orchestration_api_bench.py [--stacks 1000] [--runs 20]

A temporary controller (SQLite, as the API tests start it; no hosts: listing needs none)
gets N stacks of the admin's project inserted straight into ``stacks`` (each with a
realistic template, environment and parameters, a tag or two, every tenth one deleted,
every twentieth a nested stack), plus N stacks of another project. Then, over HTTP:

- ``GET /stacks`` (every live root stack of the project: the unpaged list heatclient
  asks for), ``?limit=20`` (one page), the page after a marker, ``?tags=blue``,
  ``?name=<one>``, ``?status=CREATE_COMPLETE&sort_keys=stack_name&sort_dir=asc``,
  ``?show_deleted=true&show_nested=true``, ``?with_count=true&limit=1`` and the
  administrator's ``?global_tenant=true`` — each ``--runs`` times: p50 and p99
  (nearest rank);
- every page of the list at ``limit=100`` following the ``next`` links;
- ``openstack stack list`` through the real CLI (in-process fork), once.

The list reads only its columns (never the templates), filters and sorts in SQL and
pages by keyset (``stratus.stacks.listing``), so its cost is the page, not the table.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "description": "a listed stack",
    "parameters": {"size": {"type": "number", "default": 1}, "key": {"type": "string", "default": "k"}},
    "resources": {f"v{i}": {"type": "OS::Heat::Value", "properties": {"value": {"get_param": "size"}}}
                  for i in range(20)},
    "outputs": {"first": {"value": {"get_attr": ["v0", "value"]}}},
}


def p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def insert_stacks(url: str, project: str, user: str, count: int, prefix: str) -> str:
    """``count`` stacks of ``project`` straight into the table; returns one live name."""
    from stratus.db.models.orchestration import Stack
    from stratus.db.session import Database
    from stratus.db.types import utcnow

    db = Database(url)
    start = utcnow() - timedelta(days=1)
    rows, parents = [], []
    for i in range(count):
        sid = str(uuid.uuid4())
        nested = i % 20 == 19 and parents
        deleted = i % 10 == 9 and not nested
        rows.append(Stack(
            id=sid, name=f"{prefix}-{i:05d}", project_id=project, user_id=user,
            parent_id=parents[-1] if nested else None, owner_resource="v0" if nested else None,
            action="DELETE" if deleted else "CREATE", status="COMPLETE", status_reason="done",
            template=TEMPLATE, files={}, environment={"parameters": {"size": i}}, parameters={"key": f"k{i}"},
            outputs=[{"output_key": "first", "output_value": i, "description": "No description given"}],
            disable_rollback=True, tags=["blue", f"t{i % 7}"] if i % 3 == 0 else [f"t{i % 7}"],
            created_at=start + timedelta(seconds=i), deleted_at=utcnow() if deleted else None))
        if not nested and not deleted:
            parents.append(sid)
    try:
        with db.session() as s:
            s.add_all(rows)
    finally:
        db.dispose()
    return f"{prefix}-{count // 2:05d}" if (count // 2) % 10 != 9 else f"{prefix}-00000"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stacks", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    from tests.api.conftest import Controller

    with tempfile.TemporaryDirectory(prefix="stratus-bench-heat-api-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        ctl = Controller(work, f"sqlite:///{work}/stratus.db")
        try:
            ctl.setup()
            token = ctl.admin_token()
            tok = ctl.request("GET", "/identity/v3/auth/tokens", headers={"X-Subject-Token": token}).json()["token"]
            project, user = tok["project"]["id"], tok["user"]["id"]
            t0 = time.monotonic()
            one = insert_stacks(ctl.database_url, project, user, args.stacks, "listed")
            insert_stacks(ctl.database_url, str(uuid.uuid4().hex), user, args.stacks, "other")
            print(f"insert {2 * args.stacks} stack rows (2 projects)          {time.monotonic() - t0:8.2f} s")
            base = f"/orchestration/v1/{project}/stacks"
            first = ctl.request("GET", f"{base}?limit=20").json()["stacks"]
            queries = {
                "GET /build_info (a call's fixed cost: token, policy)": "/../build_info",
                "GET /stacks (all live roots)": "",
                "GET /stacks?limit=20": "?limit=20",
                "GET /stacks?limit=20&marker=<20th>": f"?limit=20&marker={first[-1]['id']}",
                "GET /stacks?tags=blue": "?tags=blue",
                f"GET /stacks?name={one}": f"?name={one}",
                "GET /stacks?status=..&sort_keys=stack_name&asc": "?status=CREATE_COMPLETE&sort_keys=stack_name"
                                                                  "&sort_dir=asc",
                "GET /stacks?show_deleted&show_nested": "?show_deleted=true&show_nested=true",
                "GET /stacks?with_count=true&limit=1": "?with_count=true&limit=1",
                "GET /stacks?global_tenant=true (admin)": "?global_tenant=true",
            }
            print(f"{'call':56s} {'rows':>6s} {'p50':>9s} {'p99':>9s}")
            for label, query in queries.items():
                samples, got = [], 0
                for _ in range(args.runs):
                    t0 = time.monotonic()
                    r = ctl.request("GET", base + query)
                    samples.append(time.monotonic() - t0)
                    assert r.status_code == 200, r.text
                    got = len(r.json().get("stacks", []))
                print(f"{label:56s} {got:6d} {p(samples, 50) * 1000:7.1f}ms {p(samples, 99) * 1000:7.1f}ms")
            t0, url, got, pages = time.monotonic(), f"{base}?limit=100", 0, 0
            while url:
                doc = ctl.request("GET", url).json()
                got, pages = got + len(doc["stacks"]), pages + 1
                url = next((link["href"] for link in doc.get("links", []) if link["rel"] == "next"), None)
            print(f"{'every page at limit=100 (' + str(pages) + ' pages)':56s} {got:6d} "
                  f"{(time.monotonic() - t0) * 1000:7.1f}ms total")
            t0 = time.monotonic()
            listed = ctl.cli("stack", "list", "-f", "json")
            print(f"{'openstack stack list (CLI, heatclient)':56s} {len(listed):6d} "
                  f"{(time.monotonic() - t0) * 1000:7.1f}ms once")
        finally:
            ctl.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
