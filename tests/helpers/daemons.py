"""Start the host daemons a test needs when they are not running, and stop only those.

CI starts with no daemon running and no systemd; a developer's machine may already run
them. ``Daemons.ensure_*`` starts what is missing and remembers it, ``stop()`` stops
only what this process started.
"""

from __future__ import annotations

import grp
import os
import signal
import subprocess
import time
from pathlib import Path


def _pid_alive(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _wait_for(path: Path, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} did not appear within {seconds:.0f}s")
        time.sleep(0.1)


def kvm_device_permissions(device: Path = Path("/dev/kvm")) -> None:
    """Give /dev/kvm Debian's udev permissions (root:kvm 0660) where no udev set them.

    libvirt probes QEMU's capabilities as root (KVM found) but checks them as the qemu
    user; when that user cannot open /dev/kvm it throws the cache away and probes again
    on every call, so each define takes minutes. Guests still run as TCG where KVM does
    not work: Stratus picks the virt type by configuration, not by this device.
    The compute role does the same on hosts (roles/compute/tasks/main.yml).
    """
    if not device.exists():
        return
    st = device.stat()
    try:
        kvm_gid = grp.getgrnam("kvm").gr_gid
    except KeyError:
        return
    if st.st_gid != kvm_gid or (st.st_mode & 0o060) != 0o060:
        os.chown(device, 0, kvm_gid)
        os.chmod(device, 0o660)


class Daemons:
    def __init__(self) -> None:
        self.started: list[tuple[str, Path]] = []

    def _ensure(self, name: str, argv: list[str], pidfile: Path, socket: Path) -> None:
        if _pid_alive(pidfile) and socket.exists():
            return
        subprocess.run(argv, check=True)
        _wait_for(socket)
        self.started.append((name, pidfile))

    def ensure_libvirt(self) -> None:
        """virtlogd and libvirtd (qemu:///system) running, started as daemons if not."""
        kvm_device_permissions()
        self._ensure(
            "virtlogd",
            ["virtlogd", "-d"],
            Path("/run/virtlogd.pid"),
            Path("/run/libvirt/virtlogd-sock"),
        )
        self._ensure(
            "libvirtd",
            ["libvirtd", "-d"],
            Path("/run/libvirtd.pid"),
            Path("/run/libvirt/libvirt-sock"),
        )

    def stop(self) -> None:
        for _name, pidfile in reversed(self.started):
            pid = _pid_alive(pidfile)
            if pid:
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    if _pid_alive(pidfile) is None:
                        break
                    time.sleep(0.1)
        self.started.clear()
