#!/usr/bin/env python3
"""Orchestration: ``stratus compile`` time for generated templates of 10, 100 and 1,000
resources, and the time per resource (how compile time scales).

    .venv/bin/python bench/orchestration_compile_bench.py [--sizes 10,100,1000] [--repeat 3]

Each template is a mix of ``OS::Heat::Value``, ``OS::Heat::RandomString``,
``OS::Heat::TestResource`` and ``OS::Heat::None`` (a quarter each): chains of ten where
each resource reads the previous one with ``get_attr`` (``value``/``output``), and, every
ten chains, a ``None`` that fans in (``depends_on`` the ten chains' ends) with a
``TestResource`` fanning out from it, so the plays hold many resources per level and
some levels depend on many. Phases timed (median of ``--repeat`` runs):

- parse: YAML text → validated ``Template`` (``Template.from_dict`` after ``yaml``);
- plan: ids, parameters, properties resolved in dependency order (``planner.plan``);
- compile: the offline compile against an empty state file (plays per dependency level,
  the record play: ``offline_compile.compile_offline``, which plans again);
- write: the playbook as YAML text (``playbook_yaml``);
- total: ``stratus compile TEMPLATE -o PLAYBOOK`` in this process (all of the above).

Printed: each phase in ms, total ms per resource, and the per-resource ratio of each
size against the smallest (1.0 = linear).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]

import yaml  # noqa: E402

from stratus.cli.main import main as stratus  # noqa: E402
from stratus.jobs.runner import playbook_yaml  # noqa: E402
from stratus.orchestration import planner  # noqa: E402
from stratus.orchestration.offline_compile import compile_offline  # noqa: E402
from stratus.orchestration.template import Template  # noqa: E402

CHAIN = 10


def generate(n: int) -> dict:
    """A template of ``n`` resources (see the module's docstring)."""
    resources: dict[str, dict] = {}
    ends: list[str] = []
    i = 0
    while len(resources) < n:
        prev = None
        for step in range(CHAIN):
            if len(resources) >= n:
                break
            name = f"r{i}"
            kind = (i + i // CHAIN) % 4
            if kind == 0:
                rdef = {"type": "OS::Heat::RandomString", "properties": {"length": 12 + step}}
                if prev:
                    rdef["depends_on"] = [prev[0]]
            elif kind == 1:
                value = {"get_attr": [prev[0], prev[1]]} if prev else {"get_param": "seed"}
                rdef = {"type": "OS::Heat::TestResource", "properties": {"value": value, "wait_secs": 1}}
            elif kind == 2:
                value = {"get_attr": [prev[0], prev[1]]} if prev else {"get_param": "seed"}
                rdef = {"type": "OS::Heat::Value", "properties": {"value": {"list_join": ["-", [value, name]]}}}
            else:
                rdef = {"type": "OS::Heat::None", "properties": {"note": name},
                        "depends_on": [prev[0]] if prev else []}
            resources[name] = rdef
            attr = {0: "value", 1: "output", 2: "value"}.get(kind)
            if attr:
                prev = (name, attr)
            i += 1
        ends.append(f"r{i - 1}")
        if len(ends) == CHAIN and len(resources) + 2 <= n:
            hub = f"hub{i}"
            resources[hub] = {"type": "OS::Heat::None", "depends_on": list(ends)}
            resources[f"fan{i}"] = {"type": "OS::Heat::TestResource",
                                    "properties": {"value": {"get_resource": hub}}}
            ends = []
    return {"heat_template_version": "2018-08-31",
            "parameters": {"seed": {"type": "string", "default": "seed"}},
            "resources": resources,
            "outputs": {"last": {"value": {"get_resource": list(resources)[-1]}}}}


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - start) * 1000, out


def bench(n: int, repeat: int, tmp: Path) -> dict[str, float]:
    text = yaml.safe_dump(generate(n), sort_keys=False)
    path = tmp / f"bench{n}.yaml"
    path.write_text(text)
    runs: dict[str, list[float]] = {k: [] for k in ("parse", "plan", "compile", "write", "total")}
    for r in range(repeat):
        ms, tpl = timed(lambda raw: Template.from_dict(yaml.safe_load(raw)), text)
        runs["parse"].append(ms)
        runs["plan"].append(timed(planner.plan, tpl, {})[0])
        ms, out = timed(compile_offline, tpl, {}, tmp / f"state{n}-{r}.sqlite", "bench")
        runs["compile"].append(ms)
        runs["write"].append(timed(playbook_yaml, out.playbook)[0])
        with contextlib.redirect_stdout(io.StringIO()):
            ms, code = timed(stratus, ["compile", str(path), "--state", str(tmp / "cli.sqlite"),
                                       "-o", str(tmp / f"bench{n}.yml")])
        assert code == 0
        runs["total"].append(ms)
    got = {k: statistics.median(v) for k, v in runs.items()}
    got["resources"] = len(tpl.resources)
    got["plays"] = len(out.playbook)
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        bench(10, 1, Path(tmp))  # warm-up: imports, type registry
        results = [bench(n, args.repeat, Path(tmp)) for n in sizes]
    base = results[0]["total"] / results[0]["resources"]
    print(f"stratus compile, median of {args.repeat} (ms)")
    print(f"{'resources':>9} {'plays':>6} {'parse':>9} {'plan':>9} {'compile':>9} {'write':>9} "
          f"{'total':>9} {'ms/res':>8} {'ratio':>6}")
    for r in results:
        per = r["total"] / r["resources"]
        print(f"{r['resources']:>9} {r['plays']:>6} {r['parse']:>9.1f} {r['plan']:>9.1f} {r['compile']:>9.1f} "
              f"{r['write']:>9.1f} {r['total']:>9.1f} {per:>8.2f} {per / base:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
