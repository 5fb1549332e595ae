"""The run(argv) callable the drivers take, and host probes shared by them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping

from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import CommandFailed

Runner = Callable[[list[str]], str]


def make_runner(env: Mapping[str, str] | None = None, prefix: list[str] | None = None) -> Runner:
    """A run(argv) -> stdout callable; raises CommandFailed on a non-zero exit.

    ``env`` adds variables (e.g. LVM_SYSTEM_DIR); ``prefix`` is put before every argv
    (e.g. ``["ip", "netns", "exec", NS]`` to run the tool inside a namespace).
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("LVM_SUPPRESS_FD_WARNINGS", "1")
    full_env.setdefault("LC_ALL", "C")

    def run(argv: list[str]) -> str:
        argv = [*(prefix or []), *argv]
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=full_env, stdin=subprocess.DEVNULL
        )
        if proc.returncode != 0:
            raise CommandFailed(argv, proc.returncode, proc.stderr)
        return proc.stdout

    return run


def device_mapper_available(run: Runner, control: str = "/dev/mapper/control") -> bool:
    """True when the kernel's device-mapper answers: the control node exists AND
    ``dmsetup version`` reaches the driver (the node alone proves nothing)."""
    if not os.path.exists(control):
        return False
    try:
        run(["dmsetup", "version"])
    except (CommandFailed, OSError):
        return False
    return True


def resolve_activation(setting: str, run: Runner) -> bool:
    """``lvm_activation`` option (auto|on|off) -> whether LVs may be activated."""
    if setting == "on":
        return True
    if setting == "off":
        return False
    return device_mapper_available(run)
