#!/usr/bin/env python3
"""Block storage: time to create + attach + detach + delete N volumes, per backend.

    .venv/bin/python bench/volumes.py [N]      # default N=100

Driver level (the work the stratus.cloud.volume / volume_attachment modules do, without
Ansible's per-task start-up): a 1 GiB volume is created, attached to a defined (not
running) TCG domain (persistent config only), detached and deleted, N times per backend.
LVM runs on a sparse loop-device PV with activation off (this host has no working
device-mapper), so its LVs exist as metadata only: attaching one to the stopped domain
writes the <disk> into the definition, but nothing can open /dev/VG/volume-*.
A few volumes through the modules give the Ansible overhead per task for comparison.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "collections"))

import libvirt  # noqa: E402

from ansible_collections.stratus.cloud.plugins.module_utils.storage.attach import (  # noqa: E402
    VolumeAttacher,
    volume_disk,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.backends import (  # noqa: E402
    open_backend,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import GiB  # noqa: E402

ENV = {**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"}


def sh(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, env=ENV).stdout


def run_backend(label: str, backend, attacher: VolumeAttacher, domain: str, n: int) -> dict[str, float]:
    times = {"create": 0.0, "attach": 0.0, "detach": 0.0, "delete": 0.0}
    for _ in range(n):
        vid = str(uuid.uuid4())
        t0 = time.perf_counter()
        vol = backend.create_volume(vid, GiB)
        t1 = time.perf_counter()
        disk = volume_disk(vid, connection={"driver_volume_type": "local", "path": vol.path, "format": vol.format})
        attacher.attach(domain, attacher.plan_attach(domain, disk, False))
        t2 = time.perf_counter()
        attacher.detach(domain, vid)
        t3 = time.perf_counter()
        backend.delete_volume(vid)
        t4 = time.perf_counter()
        for key, dt in zip(times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            times[key] += dt
    total = sum(times.values())
    per = {k: 1000 * v / n for k, v in times.items()}
    print(f"{label:5s} {n} volumes: {total:7.2f} s total, {1000 * total / n:7.1f} ms/volume "
          f"(create {per['create']:.1f}, attach {per['attach']:.1f}, detach {per['detach']:.1f}, "
          f"delete {per['delete']:.1f} ms)", flush=True)
    return {"total": total, **times}


def module_overhead(directory: str, domain: str, n: int = 3) -> float:
    from tests.helpers.ansible import run_module

    t0 = time.perf_counter()
    for _ in range(n):
        vid = str(uuid.uuid4())
        base = {"id": vid, "backend": "file", "directory": directory}
        run_module("volume", {**base, "size": 1})
        run_module("volume_attachment", {"instance": domain, "volume_id": vid, "backend": "file", "directory": directory})
        run_module("volume_attachment", {"instance": domain, "volume_id": vid, "state": "absent"})
        run_module("volume", {**base, "state": "absent"})
    per = (time.perf_counter() - t0) / n
    print(f"file  {n} volumes through the modules (4 Ansible tasks each): {1000 * per:.0f} ms/volume", flush=True)
    return per


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    tag = uuid.uuid4().hex[:8]
    work = Path(tempfile.mkdtemp(prefix="stratus-bench-vol-", dir="/var/tmp"))
    work.chmod(0o755)
    vg = f"stv-bench-{tag}"
    domain = f"stratus-bench-vol-{tag}"
    conn = libvirt.open("qemu:///system")
    loop = ""
    dom = None
    try:
        pv = work / "pv.img"
        pv.touch()
        os.truncate(pv, (2 * n + 8) * GiB)
        loop = sh("losetup", "--find", "--show", str(pv)).strip()
        sh("pvcreate", "--driverloaded", "n", "-q", loop)
        sh("vgcreate", "--driverloaded", "n", "-q", vg, loop)
        (work / "volumes").mkdir(mode=0o755)
        t0 = time.perf_counter()
        dom = conn.defineXML(
            f"<domain type='qemu'><name>{domain}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
            "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices/></domain>"
        )
        print(f"defining the (stopped) bench domain took {time.perf_counter() - t0:.1f} s", flush=True)
        attacher = VolumeAttacher(conn=conn)
        common = {"vg": vg, "directory": str(work / "volumes"), "lvm_activation": "auto"}
        file_backend = open_backend({**common, "backend": "file"})
        lvm_backend = open_backend({**common, "backend": "lvm"})
        off = ("off (no device-mapper): LVs are metadata only; their attach is config-only "
               "and could not be opened by a guest")
        print(f"LVM activation: {'on' if lvm_backend.lvm.activation else off}")
        f = run_backend("file", file_backend, attacher, domain, n)
        lv = run_backend("lvm", lvm_backend, attacher, domain, n)
        print(f"ratio lvm/file: {lv['total'] / f['total']:.2f}x total, create {lv['create'] / f['create']:.2f}x, "
              f"delete {lv['delete'] / f['delete']:.2f}x")
        per_module = module_overhead(str(work / "volumes"), domain)
        print(f"ratio modules/driver (file): {per_module / (f['total'] / n):.1f}x")
    finally:
        if dom is not None:
            dom.undefine()
        subprocess.run(["vgremove", "--driverloaded", "n", "-f", "-y", vg], capture_output=True, env=ENV)
        if loop:
            subprocess.run(["pvremove", "--driverloaded", "n", "-q", "-y", loop], capture_output=True, env=ENV)
            subprocess.run(["losetup", "-d", loop], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
