"""What an image file is, read from its header in pure Python (Nova's format inspector).

``qemu-img`` trusts an image's header: a qcow2 that names a backing file or an external
data file makes qemu open that file (``/etc/shadow`` included) when the image is read or
converted, and a file declared ``raw`` whose bytes are a qcow2 header becomes one if
qemu is left to probe. So, as Nova and Glance do, every image a user supplied is read
here first, without qemu::

    facts = inspect("/var/lib/stratus/images/.x.part")   # ImageFacts
    check_safe(facts, declared="qcow2", error=InvalidInput)  # raises when unsafe

and ``qemu-img`` is then always given the format found here (``-f``, ``-F``).

Formats: ``raw`` (anything no other inspector claims), ``qcow2``; and, so they can be
named and refused (or converted when the caller allows it): ``vmdk``, ``vhd``, ``vhdx``,
``vdi``, ``iso``, plus ``luks``, ``qed`` and ``qcow`` (version 1), which are always
refused. Safety rules (an image breaking one is refused with the reason):

- qcow2: no backing file, no external data file (incompatible feature bit 2 or the
  data-file header extension), no encryption, not marked corrupt, no unknown
  incompatible feature;
- vmdk: a sparse file (``KDMV``) whose embedded descriptor is ``monolithicSparse`` or
  ``streamOptimized`` with one ``SPARSE`` extent (a text descriptor names other files);
- more than one format matching the header (a polyglot) is refused;
- the format found must be the declared one.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

SAFE_FORMATS = ("raw", "qcow2")
# Formats Glance lists that qemu-img can convert to raw/qcow2, when a caller allows it.
CONVERTIBLE = ("vmdk", "vhd", "vhdx", "vdi", "iso")
KNOWN = (*SAFE_FORMATS, *CONVERTIBLE)
# qemu's driver name of each format (``-f``); iso images are raw bytes to qemu.
QEMU_DRIVER = {"raw": "raw", "qcow2": "qcow2", "vmdk": "vmdk", "vhd": "vpc",
               "vhdx": "vhdx", "vdi": "vdi", "iso": "raw"}

_HEADER = 64 * 1024
_QCOW2_MAGIC = b"QFI\xfb"
_QCOW2_INCOMPAT_KNOWN = 0b11111  # dirty, corrupt, data file, compression type, extended L2
_QCOW2_INCOMPAT_CORRUPT = 1 << 1
_QCOW2_INCOMPAT_DATA_FILE = 1 << 2
_QCOW2_EXT_DATA_FILE = 0x44415441
_ISO_OFFSETS = (0x8001, 0x8801, 0x9001)


class UnsafeImage(ValueError):
    """An image that must not be handed to qemu (the default ``error`` of ``check_safe``)."""


@dataclass(frozen=True)
class ImageFacts:
    """What the header says: ``format``, ``virtual_size`` (bytes, 0 when unknown),
    ``backing_file`` / ``data_file`` ('' when none) and ``issues`` (why it is unsafe)."""

    path: str
    format: str
    virtual_size: int = 0
    backing_file: str = ""
    data_file: str = ""
    issues: tuple[str, ...] = field(default=())

    @property
    def safe(self) -> bool:
        return not self.issues

    @property
    def qemu_format(self) -> str:
        """The ``-f`` to give qemu-img for this image."""
        return QEMU_DRIVER.get(self.format, self.format)


def inspect(path: str | Path) -> ImageFacts:
    """Read the header of ``path`` and say what it is (never runs qemu)."""
    path = str(path)
    size = os.stat(path).st_size
    with open(path, "rb") as f:
        head = f.read(_HEADER)
        iso = _iso_match(f)
        found = [
            facts for facts in (
                _qcow2(f, head, path), _vmdk(f, head, path), _vhd(head, path),
                _vhdx(head, path), _vdi(head, path), _simple(head, path),
                ImageFacts(path, "iso", size) if iso else None,
            ) if facts is not None
        ]
    if not found:
        return ImageFacts(path, "raw", size)
    if len(found) > 1:
        names = ", ".join(sorted(f.format for f in found))
        return ImageFacts(path, found[0].format, found[0].virtual_size,
                          issues=(f"its header matches several formats ({names})",))
    return found[0]


def check_safe(
    facts: ImageFacts,
    declared: str,
    *,
    allowed: tuple[str, ...] = SAFE_FORMATS,
    what: str = "image",
    error: type[Exception] = UnsafeImage,
) -> ImageFacts:
    """``facts`` when the image is safe, of the ``declared`` format and that format is
    ``allowed``; else ``error(message)`` naming the image, the problem and the fix."""
    if facts.issues:
        raise error(f"{what} is refused: {'; '.join(facts.issues)}. Upload a self-contained "
                    f"image (qemu-img convert -O {facts.format if facts.format in SAFE_FORMATS else 'qcow2'} "
                    "flattens one).")
    if facts.format != declared:
        raise error(f"{what} was declared {declared} but its header is {facts.format}; "
                    f"declare its real format ({facts.format}) or upload a {declared} image.")
    if facts.format not in allowed:
        raise error(f"{what} is {facts.format}, which this cloud does not accept "
                    f"(allowed: {', '.join(allowed)}); convert it to qcow2 or raw first.")
    return facts


# inspectors: each returns ImageFacts when the header is its format, else None -----------

def _u32be(data: bytes, off: int) -> int:
    return struct.unpack_from(">I", data, off)[0] if len(data) >= off + 4 else 0


def _u64be(data: bytes, off: int) -> int:
    return struct.unpack_from(">Q", data, off)[0] if len(data) >= off + 8 else 0


def _read_at(f, offset: int, length: int) -> bytes:
    f.seek(offset)
    return f.read(length)


def _qcow2(f, head: bytes, path: str) -> ImageFacts | None:
    if not head.startswith(_QCOW2_MAGIC):
        return None
    version = _u32be(head, 4)
    if version == 1:
        return ImageFacts(path, "qcow", issues=("it is a qcow version 1 image",))
    issues = []
    if version not in (2, 3):
        issues.append(f"it is a qcow2 of unknown version {version}")
    backing_off, backing_len = _u64be(head, 8), _u32be(head, 16)
    backing = ""
    if backing_off:
        raw = _read_at(f, backing_off, min(backing_len, 4096))
        backing = raw.decode("utf-8", "replace") or "(unnamed)"
        issues.append(f"it has a backing file ({backing})")
    if _u32be(head, 32):
        issues.append("it is encrypted")
    data_file = ""
    ext_start = 72
    if version >= 3:
        incompat = _u64be(head, 72)
        if incompat & _QCOW2_INCOMPAT_DATA_FILE:
            data_file = "(external)"
        if incompat & _QCOW2_INCOMPAT_CORRUPT:
            issues.append("it is marked corrupt")
        if incompat & ~_QCOW2_INCOMPAT_KNOWN:
            issues.append(f"it uses unknown incompatible features ({incompat:#x})")
        ext_start = _u32be(head, 100) or 104
    for ext_type, data in _qcow2_extensions(head, ext_start):
        if ext_type == _QCOW2_EXT_DATA_FILE:
            data_file = data.decode("utf-8", "replace") or data_file or "(external)"
    if data_file:
        issues.append(f"it has an external data file ({data_file})")
    return ImageFacts(path, "qcow2", _u64be(head, 24), backing, data_file, tuple(issues))


def _qcow2_extensions(head: bytes, offset: int):
    """(type, data) of each header extension, up to the end marker (type 0)."""
    while offset + 8 <= len(head):
        ext_type, length = struct.unpack_from(">II", head, offset)
        if ext_type == 0:
            return
        yield ext_type, head[offset + 8 : offset + 8 + length]
        offset += 8 + (length + 7) // 8 * 8


_VMDK_TYPE = re.compile(rb'^\s*createType\s*=\s*"([^"]*)"', re.M)
_VMDK_EXTENT = re.compile(rb"^\s*(RW|RDONLY|NOACCESS)\s+\d+\s+(\w+)", re.M)


def _vmdk(f, head: bytes, path: str) -> ImageFacts | None:
    if head.lstrip().startswith(b"# Disk DescriptorFile"):
        return ImageFacts(path, "vmdk", issues=("it is a VMDK descriptor that names other files",))
    if not head.startswith(b"KDMV"):
        return None
    capacity, desc_off, desc_len = struct.unpack_from("<QxxxxxxxxQQ", head, 12)
    descriptor = _read_at(f, desc_off * 512, min(desc_len * 512, 64 * 1024)) if desc_off else b""
    kind = _VMDK_TYPE.search(descriptor)
    create_type = kind.group(1).decode("ascii", "replace") if kind else ""
    extents = _VMDK_EXTENT.findall(descriptor)
    issues = []
    if create_type not in ("monolithicSparse", "streamOptimized"):
        issues.append(f"its VMDK type {create_type or '(none)'!r} may name other files")
    elif len(extents) != 1 or extents[0][1] != b"SPARSE":
        issues.append("its VMDK descriptor names extents other than itself")
    return ImageFacts(path, "vmdk", capacity * 512, issues=tuple(issues))


def _vhd(head: bytes, path: str) -> ImageFacts | None:
    if not head.startswith(b"conectix"):
        return None
    return ImageFacts(path, "vhd", _u64be(head, 48))


def _vhdx(head: bytes, path: str) -> ImageFacts | None:
    return ImageFacts(path, "vhdx") if head.startswith(b"vhdxfile") else None


def _vdi(head: bytes, path: str) -> ImageFacts | None:
    if len(head) < 0x48 or struct.unpack_from("<I", head, 0x40)[0] != 0xBEDA107F:
        return None
    return ImageFacts(path, "vdi", struct.unpack_from("<Q", head, 0x170)[0] if len(head) >= 0x178 else 0)


def _simple(head: bytes, path: str) -> ImageFacts | None:
    """Formats that are only named, to be refused."""
    if head.startswith(b"LUKS\xba\xbe"):
        return ImageFacts(path, "luks", issues=("it is a LUKS encrypted image",))
    if head.startswith(b"QEF\x00"):
        return ImageFacts(path, "qed", issues=("it is a QED image (it may name a backing file)",))
    return None


def _iso_match(f) -> bool:
    return any(_read_at(f, offset, 5) == b"CD001" for offset in _ISO_OFFSETS)
