"""The compute host: which virt type to use and what Stratus guests take of it.

Virt type (``auto`` | ``kvm`` | ``qemu``): ``auto`` reads the host's compute config
``/etc/stratus/compute.conf`` (``virt_type = kvm``), which the ``compute`` role writes
from ``compute_virt_type``; without it, ``qemu`` (TCG). It never looks at
``/dev/kvm``: a device node (even a tiny guest that runs under ``-accel kvm``) does not
prove that real guests run, and on hosts with nested KVM that hang it would pick the
wrong one. Operators who know KVM works say so in the role.
"""

from __future__ import annotations

import os
from pathlib import Path

from .domain import Guest
from .errors import InvalidInput

COMPUTE_CONF = Path("/etc/stratus/compute.conf")
VIRT_TYPES = ("kvm", "qemu")


def read_conf(path: Path | str = COMPUTE_CONF) -> dict[str, str]:
    """``key = value`` lines of the compute config ('#' comments); {} when missing."""
    conf: dict[str, str] = {}
    try:
        text = Path(path).read_text()
    except OSError:
        return conf
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if "=" in line:
            key, value = line.split("=", 1)
            conf[key.strip()] = value.strip()
    return conf


def resolve_virt_type(requested: str = "auto", conf_path: Path | str = COMPUTE_CONF) -> str:
    """``kvm`` or ``qemu``: what was asked, or for ``auto`` the host config (default qemu)."""
    if requested in VIRT_TYPES:
        return requested
    if requested != "auto":
        raise InvalidInput(f"virt_type {requested!r} is not one of auto, kvm, qemu.")
    value = read_conf(conf_path).get("virt_type", "qemu")
    if value not in VIRT_TYPES:
        raise InvalidInput(
            f"{conf_path} sets virt_type = {value!r}; it must be kvm or qemu."
        )
    return value


def disk_usage(path: Path | str) -> dict:
    """Total/free GiB of the file system holding ``path`` (its nearest existing parent)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    st = os.statvfs(p)
    gib = 1024**3
    return {
        "path": str(path),
        "total_gb": st.f_blocks * st.f_frsize // gib,
        "free_gb": st.f_bavail * st.f_frsize // gib,
    }


def allocated(guests: list[Guest]) -> dict:
    """What Stratus guests take: vCPUs, RAM (MiB, the maximum) and flavor disk (GiB)."""
    vcpus = sum(g.vcpus for g in guests)
    ram = sum(g.memory_max_kib for g in guests) // 1024
    disk = 0
    for g in guests:
        if g.metadata is not None:
            disk += g.metadata.root_gb + g.metadata.ephemeral_gb
            disk += (g.metadata.swap_mb + 1023) // 1024
    return {"guests": len(guests), "vcpus": vcpus, "memory_mb": ram, "disk_gb": disk}
