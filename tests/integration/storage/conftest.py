"""Real storage for the block-storage tests: a loop-device VG, a volume directory, a
"storage host" network namespace, tiny guests. Every object gets a random name and is
removed afterwards, also when the test fails."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.helpers.ansible import run_module

pytestmark = pytest.mark.block_storage


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"}
    return subprocess.run(argv, capture_output=True, text=True, check=check, env=env)


def short() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def volume_dir():
    """A file-backend directory libvirt's QEMU can reach (tmp_path is 0700 under /tmp)."""
    path = Path(f"/var/tmp/stratus-vol-{short()}")
    path.mkdir(mode=0o755)
    yield str(path)
    shutil.rmtree(path, ignore_errors=True)


def device_mapper_works() -> bool:
    """The probe lvm_activation=auto makes: /dev/mapper/control AND ``dmsetup version``.
    Tests assert what the probe found (this CI host has no device-mapper; a full Debian
    host has it and activates LVs)."""
    if not os.path.exists("/dev/mapper/control"):
        return False
    return sh("dmsetup", "version", check=False).returncode == 0


@contextlib.contextmanager
def loop_vg_at(backing: Path, size_gb: int = 8):
    """A VG on a sparse ``size_gb`` loop-device PV over the file ``backing``, removed on
    exit (also after a failure): ``{"vg", "pv"}``. LVM commands here run with
    ``--driverloaded n``; where device-mapper works the modules activate LVs, so the VG
    is deactivated before it is removed."""
    vg = f"stv-{short()}"
    backing.touch()
    os.truncate(backing, size_gb * 1024**3)
    loop = sh("losetup", "--find", "--show", str(backing)).stdout.strip()
    try:
        sh("pvcreate", "--driverloaded", "n", "-q", loop)
        sh("vgcreate", "--driverloaded", "n", "-q", vg, loop)
        yield {"vg": vg, "pv": loop}
    finally:
        if device_mapper_works():
            sh("vgchange", "-an", vg, check=False)
        sh("vgremove", "--driverloaded", "n", "-f", "-y", vg, check=False)
        sh("pvremove", "--driverloaded", "n", "-q", "-y", loop, check=False)
        sh("losetup", "-d", loop, check=False)
        backing.unlink(missing_ok=True)


@pytest.fixture
def loop_vg(tmp_path):
    """A VG on a sparse 8 GiB loop-device PV (:func:`loop_vg_at`)."""
    with loop_vg_at(tmp_path / "pv.img") as vg:
        yield vg


@pytest.fixture
def storage_ns():
    """A network namespace standing in for a storage host, joined to this one by a veth.

    Yields {ns, host_ip (this side, the compute host), storage_ip (inside)}; on exit kills
    every process left in the namespace and deletes it."""
    tag = short()[:6]
    ns, here, there = f"stv-st-{tag}", f"stvh{tag}", f"stvs{tag}"
    net = int(tag[:2], 16) % 250
    host_ip, storage_ip = f"198.18.{net}.1", f"198.18.{net}.2"
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", here, "type", "veth", "peer", "name", there, "netns", ns)
        sh("ip", "addr", "add", f"{host_ip}/30", "dev", here)
        sh("ip", "link", "set", here, "up")
        sh("ip", "-n", ns, "addr", "add", f"{storage_ip}/30", "dev", there)
        sh("ip", "-n", ns, "link", "set", there, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield {"ns": ns, "host_ip": host_ip, "storage_ip": storage_ip}
    finally:
        for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        sh("ip", "link", "del", here, check=False)
        sh("ip", "netns", "del", ns, check=False)


@pytest.fixture(scope="module")
def cached_image(guest_image):
    """The tiny guest image in the host's image cache under a fresh id."""
    image_id = f"stv-img-{short()}"
    images = Path("/var/lib/stratus/images")
    images.mkdir(parents=True, exist_ok=True)
    shutil.copy(guest_image["qcow2"], images / image_id)
    (images / image_id).chmod(0o644)
    yield image_id
    (images / image_id).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def guests(libvirt_daemon, cached_image):
    """Start tiny guests through stratus.cloud.instance: ``start(n)`` -> domain names."""
    made: list[str] = []

    def start(count: int) -> list[str]:
        uuids = [str(uuid.uuid4()) for _ in range(count)]
        for u in uuids:
            made.append(u)
            res = run_module("instance", {"uuid": u, "image_id": cached_image, "vcpus": 1,
                                          "memory_mb": 192, "state": "running"})
            assert not res.failed, res.msg
        return [f"instance-{u}" for u in uuids]

    yield start
    for u in made:
        run_module("instance", {"uuid": u, "state": "absent", "shutdown_timeout": 0})
