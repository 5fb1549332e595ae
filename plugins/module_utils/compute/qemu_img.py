"""``qemu-img`` runner: one class, argv lists, JSON output where the tool has it."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common.command import subprocess_run

from .errors import CommandFailed, InvalidInput

Runner = Callable[[Sequence[str]], tuple[int, str, str]]

FORMATS = ("qcow2", "raw")


class QemuImg:
    """``QemuImg(run).info(path)``, ``.create_overlay(...)``, ``.create(...)``, ``.convert(...)``,
    ``.resize(...)``. ``run(argv) -> (rc, stdout, stderr)``; a non-zero rc raises
    ``CommandFailed`` with argv, rc and stderr."""

    def __init__(self, run: Runner | None = None, binary: str = "qemu-img"):
        self._run = run or subprocess_run
        self.binary = binary

    def _exec(self, *args: str) -> str:
        argv = [self.binary, *args]
        rc, out, err = self._run(argv)
        if rc != 0:
            raise CommandFailed(argv, rc, err, out)
        return out

    # reads -----------------------------------------------------------------------
    def info(self, path: str | Path, *, force_share: bool = True) -> dict:
        """``qemu-img info --output=json`` of one image (``-U`` so a running guest's
        locked disk can be read)."""
        args = ["info", "--output=json"]
        if force_share:
            args.append("-U")
        return json.loads(self._exec(*args, str(path)))

    def virtual_size(self, path: str | Path) -> int:
        return int(self.info(path)["virtual-size"])

    def backing_file(self, path: str | Path) -> str:
        """The absolute backing file of an image, '' when it has none."""
        info = self.info(path)
        return info.get("full-backing-filename") or info.get("backing-filename") or ""

    # writes ----------------------------------------------------------------------
    def create(self, path: str | Path, size_bytes: int, fmt: str = "qcow2") -> None:
        """A blank image of ``size_bytes``."""
        _check_format(fmt)
        self._exec("create", "-q", "-f", fmt, str(path), str(int(size_bytes)))

    def create_overlay(
        self, path: str | Path, backing: str | Path, backing_format: str, size_bytes: int = 0
    ) -> None:
        """A qcow2 overlay on ``backing`` (absolute path), grown to ``size_bytes`` if given."""
        _check_format(backing_format)
        args = ["create", "-q", "-f", "qcow2", "-b", str(backing), "-F", backing_format, str(path)]
        if size_bytes:
            args.append(str(int(size_bytes)))
        self._exec(*args)

    def convert(self, src: str | Path, dst: str | Path, out_format: str, src_format: str = "") -> None:
        """``qemu-img convert`` ``src`` to ``dst`` in ``out_format``."""
        _check_format(out_format)
        args = ["convert", "-q"]
        if src_format:
            args += ["-f", src_format]
        self._exec(*args, "-O", out_format, str(src), str(dst))

    def resize(self, path: str | Path, size_bytes: int, fmt: str = "qcow2") -> None:
        """Grow an image (never shrinks: qemu-img refuses without --shrink)."""
        self._exec("resize", "-q", "-f", fmt, str(path), str(int(size_bytes)))


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidInput(f"disk format {fmt!r} is not supported; use one of {', '.join(FORMATS)}.")
