"""qemu-img: create, inspect, resize and copy disk images (JSON output where it has one)."""

from __future__ import annotations

import json

from ansible_collections.stratus.cloud.plugins.module_utils.storage.runner import Runner

FORMATS = ("raw", "qcow2")


class QemuImg:
    def __init__(self, run: Runner, binary: str = "qemu-img") -> None:
        self.run = run
        self.binary = binary

    def info(self, path: str, fmt: str | None = None) -> dict:
        """``qemu-img info --output=json``; ``-U`` so a disk in use by a guest can be read."""
        argv = [self.binary, "info", "--output=json", "-U"]
        if fmt:
            argv += ["-f", fmt]
        return json.loads(self.run([*argv, path]))

    def create(self, path: str, fmt: str, size: int) -> None:
        argv = [self.binary, "create", "-q", "-f", fmt]
        if fmt == "raw":
            argv += ["-o", "preallocation=off"]
        self.run([*argv, path, str(size)])

    def resize(self, path: str, fmt: str, size: int) -> None:
        self.run([self.binary, "resize", "-q", "-f", fmt, path, str(size)])

    def convert(
        self,
        src: str,
        dst: str,
        *,
        src_fmt: str | None,
        dst_fmt: str,
        target_is_zero: bool = False,
        existing: bool = False,
        force_share: bool = False,
    ) -> None:
        """Copy ``src`` into ``dst`` in ``dst_fmt``, sparse (zeros are not written).

        ``existing`` writes into an existing target (an LV) instead of creating a file;
        ``force_share`` (-U) reads a source a running guest holds open (a forced snapshot).
        """
        argv = [self.binary, "convert", "-q"]
        if force_share:
            argv.append("-U")
        if src_fmt:
            argv += ["-f", src_fmt]
        argv += ["-O", dst_fmt]
        if existing:
            argv.append("-n")
            if target_is_zero:
                argv.append("--target-is-zero")
        self.run([*argv, src, dst])
