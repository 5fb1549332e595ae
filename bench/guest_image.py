#!/usr/bin/env python3
"""The tiny test guest: build, cache hit, config drive and boot-to-ready times.

    .venv/bin/python bench/guest_image.py [--boots 3]

Builds the image cold into a throwaway cache (removed at the end), then warm; writes a
config drive; boots the qcow2 under plain QEMU/TCG (q35, virtio disk, config drive on a
SATA cdrom, as the instance module lays it out) and times each boot to the
``STRATUS-GUEST ready`` marker. Prints seconds and ratios.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "collections"))
sys.path.insert(0, str(REPO / "tools"))

from build_guest_image import build  # noqa: E402

from ansible_collections.stratus.cloud.plugins.module_utils.compute import (  # noqa: E402
    config_drive as cd,
)


def boot_to_ready(qcow2: str, drive: Path, log: Path, timeout: float = 180) -> tuple[float, float]:
    """Seconds from QEMU start to the first console byte of the kernel and to 'ready'."""
    argv = [
        "qemu-system-x86_64", "-machine", "q35", "-accel", "tcg", "-m", "256",
        "-display", "none", "-monitor", "none", "-nic", "none", "-no-reboot",
        "-drive", f"file={qcow2},if=none,id=d0,snapshot=on", "-device", "virtio-blk-pci,drive=d0",
        "-drive", f"file={drive},if=none,id=cd0,media=cdrom,readonly=on",
        "-device", "ide-cd,drive=cd0,bus=ide.0",
        "-serial", f"file:{log}",
    ]  # fmt: skip
    start = time.monotonic()
    qemu = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    try:
        while time.monotonic() - start < timeout:
            text = log.read_text(errors="replace") if log.exists() else ""
            if first is None and "STRATUS-GUEST hostname=" in text:
                first = time.monotonic() - start
            if "STRATUS-GUEST ready" in text:
                return first or 0.0, time.monotonic() - start
            time.sleep(0.05)
        raise SystemExit(f"guest not ready within {timeout}s; console:\n{text[-2000:]}")
    finally:
        qemu.kill()
        qemu.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boots", type=int, default=3)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="stratus-bench-guest-"))
    try:
        t = time.monotonic()
        img = build(tmp / "cache")
        cold = time.monotonic() - t
        t = time.monotonic()
        build(tmp / "cache")
        warm = time.monotonic() - t
        sizes = {k: Path(img[k]).stat().st_size / 2**20 for k in ("qcow2", "raw", "kernel", "initrd")}

        drive = tmp / "disk.config"
        content = (
            cd.meta_data(str(uuid.uuid4()), "bench"),
            "#!/bin/sh\nexit 0\n",
            cd.network_data([{"mac": "52:54:00:00:00:01", "dhcp": True}]),
        )
        t = time.monotonic()
        cd.ConfigDrive().ensure(str(drive), *content)
        drive_s = time.monotonic() - t
        t = time.monotonic()
        changed, _, _ = cd.ConfigDrive().ensure(str(drive), *content)
        idem = time.monotonic() - t
        assert not changed

        boots = [boot_to_ready(img["qcow2"], drive, tmp / f"serial{i}.log") for i in range(args.boots)]
        ready = [b[1] for b in boots]
        first = [b[0] for b in boots]

        print(f"image build, cold            {cold:7.2f} s")
        print(f"image build, cache hit       {warm:7.2f} s   (cold/hit ratio {cold / warm:6.1f}x)")
        print("image sizes MiB               " + ", ".join(f"{k} {v:.1f}" for k, v in sizes.items()))
        print(f"config drive write           {drive_s:7.3f} s")
        print(f"config drive ensure, no-op   {idem:7.3f} s   (reads the hash back with isoinfo)")
        print(f"boot to first marker (TCG)   {statistics.median(first):7.2f} s   median of {len(first)}")
        print(f"boot to ready (TCG)          {statistics.median(ready):7.2f} s   "
              f"min {min(ready):.2f} max {max(ready):.2f}")  # fmt: skip
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
