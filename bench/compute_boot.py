#!/usr/bin/env python3
"""Boot time of a Stratus guest, and the ``instance`` module's overhead over raw virsh.

1. ``stratus.cloud.instance`` (state running) through the ``ansible`` CLI: time until the
   module returns and until the first ``STRATUS-GUEST`` console marker.
2. The same domain XML (dumped from libvirt, files recreated as new) with
   ``virsh define`` + ``virsh start``: the same two times.

Prints the figures and the ratio module/raw, measured in this one run. Run:

    .venv/bin/python bench/compute_boot.py      (or: make bench)
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid as uuidlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tools"), str(REPO / "collections")]

from build_guest_image import build  # noqa: E402

from tests.helpers.ansible import run_module  # noqa: E402

MARKER = b"STRATUS-GUEST "


def wait_marker(log: Path, start: float, timeout: float = 300) -> float:
    deadline = start + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            if MARKER in log.read_bytes():
                return time.monotonic() - start
        time.sleep(0.05)
    raise RuntimeError(f"no console marker in {log} within {timeout}s")


def virsh(*args: str) -> None:
    subprocess.run(["virsh", "-q", "-c", "qemu:///system", *args], check=True,
                   stdout=subprocess.DEVNULL)


def main() -> int:
    image = build()
    base = Path(f"/var/lib/stratus/bench-compute-{secrets.token_hex(3)}")
    dirs = {"images_dir": str(base / "images"), "instances_dir": str(base / "instances")}
    uuid = str(uuidlib.uuid4())
    name = f"instance-{uuid}"
    base.mkdir(parents=True, mode=0o755)
    try:
        res = run_module("image_cache", {"image_id": "bench", "source": image["qcow2"], **dirs})
        assert not res.failed, res
        args = {"uuid": uuid, "image_id": "bench", "hostname": "bench", "memory_mb": 128,
                "user_data": "#!/bin/sh\necho bench\n", "shutdown_timeout": 0, **dirs}
        t0 = time.monotonic()
        res = run_module("instance", args)
        mod_return = time.monotonic() - t0
        assert res.changed and not res.failed, res
        log = Path(res["instance"]["console_log"])
        mod_marker = wait_marker(log, t0)

        # the same XML, by hand: fresh overlay, empty log, define + start
        xml = subprocess.run(["virsh", "-c", "qemu:///system", "dumpxml", "--inactive", name],
                             check=True, capture_output=True, text=True).stdout
        virsh("destroy", name)
        virsh("undefine", name)
        disk = log.parent / "disk"
        disk.unlink()
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                        str(base / "images" / "bench"), str(disk)], check=True)
        log.unlink(missing_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".xml") as f:
            f.write(xml)
            f.flush()
            t1 = time.monotonic()
            virsh("define", f.name)
            virsh("start", name)
            raw_return = time.monotonic() - t1
        raw_marker = wait_marker(log, t1)
    finally:
        subprocess.run(["virsh", "-q", "-c", "qemu:///system", "destroy", name],
                       capture_output=True)
        subprocess.run(["virsh", "-q", "-c", "qemu:///system", "undefine", name,
                        "--managed-save"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

    print(f"instance module (state=running) returned in    {mod_return:6.2f} s")
    print(f"  first console marker after                   {mod_marker:6.2f} s")
    print(f"virsh define + start returned in               {raw_return:6.2f} s")
    print(f"  first console marker after                   {raw_marker:6.2f} s")
    print(f"module overhead (module/raw, until return)     {mod_return / raw_return:6.2f}x "
          f"(+{mod_return - raw_return:.2f} s)")
    print(f"to first marker (module/raw)                   {mod_marker / raw_marker:6.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
