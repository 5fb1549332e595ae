#!/usr/bin/env python3
"""`make aio` from a clean host and again (idempotent), and the cloud's footprint at rest.

    .venv/bin/python bench/aio.py            # about 6 min here

Prints, for `make aio` from clean and for the re-run: wall time, the peak summed RSS of
make's process tree (ansible-playbook, its workers, the commands they run) and the peak
rise of the host's used memory (which also counts the daemons and the guest it starts);
the re-run's changed count (0 expected); then, 20 s after, the RSS of every Stratus
process at rest, summed per program: the control plane (controller, Swift, memcached,
rsync, libvirtd, virtlogd, dnsmasq, relays, NBD exports) and apart from it the guests
(QEMU). An all-in-one found up is cleaned first and brought back at the end; one not up is
cleaned at the end, and what `make aio-clean` left (tools/aio_host_state.py) is printed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers.aio_make import BASELINE, host_state, run_make, stratus_processes  # noqa: E402

MIB = 1024 * 1024


def _program(argv: str) -> str:
    first = os.path.basename(argv.split(" ", 1)[0])
    if "stratus" in argv and " serve" in argv:
        return "stratus controller"
    if "bin/swift-" in argv:
        return "swift daemons"
    if "metadata-relay" in argv:
        return "metadata relays"
    return first


def _check(run, what: str) -> None:
    if run.rc != 0 or run.failed:
        print(run.output[-6000:])
        raise SystemExit(f"{what} failed (rc {run.rc}); its output ends above")


def _line(label: str, run) -> str:
    return (f"{label:<26} {run.seconds:7.1f} s   tree RSS peak {run.peak_tree_rss / MIB:7.0f} MiB   "
            f"host used +{run.peak_host_used_delta / MIB:6.0f} MiB   changed={run.changed}")


def main() -> int:
    state = host_state()
    was_up = BASELINE.exists()
    if was_up:
        print("an all-in-one is up: make aio-clean first", flush=True)
        _check(run_make("aio-clean"), "make aio-clean")
    before = state.snapshot()
    first = run_make("aio")
    _check(first, "make aio")
    print(_line("make aio (from clean)", first), flush=True)
    again = run_make("aio")
    _check(again, "make aio (again)")
    print(_line("make aio (again)", again), flush=True)
    if again.changed:
        print("  changed on the re-run:", ", ".join(again.summary.get("changed_tasks", [])))
    time.sleep(20)
    groups: dict[str, list[int]] = defaultdict(list)
    for argv, rss in stratus_processes().values():
        groups[_program(argv)].append(rss)
    guests = groups.pop("qemu-system-x86_64", [])
    control = sum(sum(v) for v in groups.values())
    print(f"Stratus processes at rest: control plane {control / MIB:.0f} MiB in "
          f"{sum(len(v) for v in groups.values())} processes; guests {sum(guests) / MIB:.0f} MiB in {len(guests)}")
    for name, rss in sorted(groups.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {name:<28} {len(rss):3d} x  {sum(rss) / MIB:7.1f} MiB")
    figures = {
        "aio_seconds": round(first.seconds, 1), "aio_tree_rss_peak_mib": round(first.peak_tree_rss / MIB),
        "aio_host_used_peak_mib": round(first.peak_host_used_delta / MIB),
        "rerun_seconds": round(again.seconds, 1), "rerun_tree_rss_peak_mib": round(again.peak_tree_rss / MIB),
        "rerun_host_used_peak_mib": round(again.peak_host_used_delta / MIB), "rerun_changed": again.changed,
        "control_plane_rss_mib": round(control / MIB), "guest_rss_mib": round(sum(guests) / MIB),
        "steps": {s["name"]: s["seconds"] for s in first.summary.get("steps", [])},
    }
    if not was_up:
        clean = run_make("aio-clean")
        _check(clean, "make aio-clean")
        left = state.leftovers(before, state.snapshot())
        print(f"make aio-clean {clean.seconds:.1f} s; left on the host: {json.dumps(left) if left else 'nothing'}")
        figures.update(clean_seconds=round(clean.seconds, 1), clean_left=left)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
