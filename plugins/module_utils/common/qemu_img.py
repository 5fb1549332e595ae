"""``qemu-img``: the one runner compute and block storage share (JSON output where it has one).

``QemuImg(run, error=..., invalid=...)``: ``run(argv) -> (rc, stdout, stderr)`` (default
``subprocess_run``); a non-zero rc raises ``error(argv, rc, stderr, stdout)`` and a format
outside ``FORMATS`` raises ``invalid(message)``, so each area gets its own typed errors
(compute passes its ``CommandFailed``/``InvalidInput``, storage its ``CommandFailed``/
``InvalidRequest``; both subclass ``common.command.CommandFailed``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common.command import (
    CommandFailed,
    Runner,
    check_output,
    subprocess_run,
)

FORMATS = ("qcow2", "raw")


class QemuImg:
    """``.info``, ``.virtual_size``, ``.backing_file``, ``.create``, ``.create_overlay``,
    ``.convert``, ``.resize`` of one ``qemu-img`` binary."""

    def __init__(
        self,
        run: Runner | None = None,
        binary: str = "qemu-img",
        *,
        error: Callable[[Sequence[str], int, str, str], Exception] = CommandFailed,
        invalid: Callable[[str], Exception] = ValueError,
    ) -> None:
        self._run = run or subprocess_run
        self.binary = binary
        self.error = error
        self.invalid = invalid

    def _exec(self, *args: str) -> str:
        return check_output(self._run, [self.binary, *args], error=self.error)

    def _check_format(self, fmt: str) -> None:
        if fmt not in FORMATS:
            raise self.invalid(f"disk format {fmt!r} is not supported; use one of {', '.join(FORMATS)}.")

    # reads -----------------------------------------------------------------------
    def info(self, path: str | Path, fmt: str = "", *, force_share: bool = True) -> dict:
        """``qemu-img info --output=json`` of one image (``-U`` so a running guest's
        locked disk can be read; ``fmt`` pins the format instead of probing it). Give
        ``fmt`` for every image a user supplied, as found by ``common.image_format``:
        a probed format lets a raw image that looks like qcow2 become one."""
        args = ["info", "--output=json"]
        if force_share:
            args.append("-U")
        if fmt:
            args += ["-f", fmt]
        return json.loads(self._exec(*args, str(path)))

    def virtual_size(self, path: str | Path, fmt: str = "") -> int:
        return int(self.info(path, fmt)["virtual-size"])

    def backing_file(self, path: str | Path, fmt: str = "") -> str:
        """The absolute backing file of an image, '' when it has none."""
        info = self.info(path, fmt)
        return info.get("full-backing-filename") or info.get("backing-filename") or ""

    # writes ----------------------------------------------------------------------
    def create(self, path: str | Path, size_bytes: int, fmt: str = "qcow2", *, preallocation: str = "") -> None:
        """A blank image of ``size_bytes`` (``preallocation`` is passed as ``-o preallocation=``)."""
        self._check_format(fmt)
        args = ["create", "-q", "-f", fmt]
        if preallocation:
            args += ["-o", f"preallocation={preallocation}"]
        self._exec(*args, str(path), str(int(size_bytes)))

    def create_overlay(
        self, path: str | Path, backing: str | Path, backing_format: str, size_bytes: int = 0
    ) -> None:
        """A qcow2 overlay on ``backing`` (absolute path), grown to ``size_bytes`` if given."""
        self._check_format(backing_format)
        args = ["create", "-q", "-f", "qcow2", "-b", str(backing), "-F", backing_format, str(path)]
        if size_bytes:
            args.append(str(int(size_bytes)))
        self._exec(*args)

    def convert(
        self,
        src: str | Path,
        dst: str | Path,
        out_format: str,
        src_format: str = "",
        *,
        existing: bool = False,
        target_is_zero: bool = False,
        force_share: bool = False,
    ) -> None:
        """Copy ``src`` into ``dst`` in ``out_format``, sparse (zeros are not written).

        ``existing`` (-n) writes into an existing target (an LV) instead of creating a file,
        ``target_is_zero`` tells qemu-img that target reads as zeros; ``force_share`` (-U)
        reads a source a running guest holds open.
        """
        self._check_format(out_format)
        args = ["convert", "-q"]
        if force_share:
            args.append("-U")
        if src_format:
            args += ["-f", src_format]
        args += ["-O", out_format]
        if existing:
            args.append("-n")
            if target_is_zero:
                args.append("--target-is-zero")
        self._exec(*args, str(src), str(dst))

    def resize(self, path: str | Path, size_bytes: int, fmt: str = "qcow2") -> None:
        """Grow an image (never shrinks: qemu-img refuses without --shrink)."""
        self._exec("resize", "-q", "-f", fmt, str(path), str(int(size_bytes)))
