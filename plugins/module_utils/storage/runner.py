"""The run(argv) callable the drivers take, and host probes shared by them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from ansible_collections.stratus.cloud.plugins.module_utils.common import command
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import CommandFailed

Runner = Callable[[list[str]], str]


def make_command_runner(
    env: Mapping[str, str] | None = None, prefix: list[str] | None = None
) -> command.Runner:
    """A run(argv, data=None) -> (rc, stdout, stderr) callable (``common.command.subprocess_run``
    in the C locale, LVM's fd warnings off), for drivers that check rc themselves (QemuImg).

    ``env`` adds variables (e.g. LVM_SYSTEM_DIR); ``prefix`` is put before every argv
    (e.g. ``["ip", "netns", "exec", NS]`` to run the tool inside a namespace).
    """
    full_env = {"LVM_SUPPRESS_FD_WARNINGS": "1", **(env or {})}
    pre = list(prefix or [])

    def run(argv: list[str], data: str | None = None) -> tuple[int, str, str]:
        return command.subprocess_run([*pre, *argv], data, full_env)

    return run


def make_runner(env: Mapping[str, str] | None = None, prefix: list[str] | None = None) -> Runner:
    """A run(argv) -> stdout callable over ``make_command_runner(env)``; raises storage's
    CommandFailed (argv with the prefix) on a non-zero exit."""
    raw = make_command_runner(env)
    pre = list(prefix or [])

    def run(argv: list[str]) -> str:
        return command.check_output(raw, [*pre, *argv], error=CommandFailed)

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
