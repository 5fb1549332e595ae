"""Compute's ``qemu-img``: the shared runner (``common.qemu_img``) raising compute's
typed errors, for drivers (``compute_qemu_img()``) and modules (``module_qemu_img``,
which runs it through the module's ``run_command``)."""

from __future__ import annotations

from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg

from .errors import CommandFailed, InvalidInput


def compute_qemu_img(run=None) -> QemuImg:
    """``QemuImg`` raising ``CommandFailed`` / ``InvalidInput`` (``run``: default subprocess)."""
    return QemuImg(run, error=CommandFailed, invalid=InvalidInput)


def module_qemu_img(module) -> QemuImg:
    """``compute_qemu_img`` running ``qemu-img`` through ``module.run_command``."""
    return compute_qemu_img(lambda argv: module.run_command(list(argv)))
