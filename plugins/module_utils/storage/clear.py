"""Clearing a volume's data before it is deleted, as Cinder's ``volume_clear`` does, so
no tenant reads another's data from reused blocks.

``VolumeClear(method, size_mib)``: ``zero`` (the default) overwrites the data with zeros,
``shred`` overwrites it three times with random data (``shred -n 3``), ``none`` leaves it.
``size_mib`` (Cinder's ``volume_clear_size``) limits the clear to the first MiB; 0 clears
the whole volume.

- Block devices (LVs) are cleared with ``dd if=/dev/zero ... oflag=direct`` (or ``shred``).
- Files are cleared in place: only their data extents (``SEEK_DATA``/``SEEK_HOLE``) are
  overwritten (holes hold nothing and read as zeros), then flushed with ``fsync`` before the
  file is unlinked, so the blocks the file had hold zeros when the filesystem reuses them.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import InvalidRequest
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import MiB

CLEAR_METHODS = ("zero", "none", "shred")
_ZEROS = bytes(MiB)


@dataclass(frozen=True)
class VolumeClear:
    method: str = "zero"
    size_mib: int = 0  # 0: the whole volume

    def __post_init__(self) -> None:
        if self.method not in CLEAR_METHODS:
            raise InvalidRequest(f"volume_clear {self.method!r} is not one of {', '.join(CLEAR_METHODS)}")
        if int(self.size_mib) < 0:
            raise InvalidRequest(f"volume_clear_size {self.size_mib} is negative; give MiB, or 0 for the whole volume")

    @property
    def enabled(self) -> bool:
        return self.method != "none"

    def limit(self, size: int) -> int:
        """How many bytes from the start are cleared of a volume of ``size`` bytes."""
        return min(size, self.size_mib * MiB) if self.size_mib else size

    def device_argv(self, device: str, size: int) -> list[str]:
        """The command that clears the first ``limit(size)`` bytes of a block device."""
        count = self.limit(size)
        if self.method == "shred":
            return ["shred", "-n", "3", "-s", str(count), device]
        return ["dd", "if=/dev/zero", f"of={device}", "bs=1M", f"count={count}", "iflag=count_bytes",
                "oflag=direct", "conv=fdatasync"]

    def clear_file(self, path: str, run) -> str:
        """Clear a volume file in place; the action as a sentence."""
        size = os.stat(path).st_size
        if self.method == "shred":
            run(["shred", "-n", "3", "-s", str(self.limit(size)), path])
            return f"shredded {self.limit(size)} bytes of {os.path.basename(path)}"
        written = zero_data(path, self.limit(size))
        return f"zeroed {written} bytes of data of {os.path.basename(path)}"


def zero_data(path: str, limit: int) -> int:
    """Overwrite with zeros every data extent of ``path`` below ``limit`` and fsync; the
    number of bytes written. Holes are left as they are (they hold nothing)."""
    written = 0
    fd = os.open(path, os.O_WRONLY)
    try:
        end = min(os.fstat(fd).st_size, limit)
        pos = 0
        while pos < end:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # no data after pos
                    break
                raise
            if start >= end:
                break
            stop = min(os.lseek(fd, start, os.SEEK_HOLE), end)
            off = start
            while off < stop:
                n = min(MiB, stop - off)
                off += os.pwrite(fd, _ZEROS[:n] if n < MiB else _ZEROS, off)
            written += stop - start
            pos = stop
        os.fsync(fd)
    finally:
        os.close(fd)
    return written
