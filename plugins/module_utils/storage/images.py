"""Images as the source of a new volume: the format is the one recorded for the image,
never what qemu-img would guess from the bytes.

A probed format is a hole (a "raw" upload that starts with a qcow2 header naming
``/etc/shadow`` as its backing file is read as qcow2), so the source format comes from
the request (``image_format``, Glance's ``disk_format``) or from the sidecar the image
cache wrote beside the image (``<images dir>/.meta/<id>.json``), and is passed to
qemu-img with ``-f`` for both ``info`` and ``convert``. Checking what is inside the
image (backing files, data files) is the image format inspector's job
(``module_utils/common/image_format.py``).
"""

from __future__ import annotations

import json
import os

from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import (
    FORMATS,
    QemuImg,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InvalidRequest,
    NotFound,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import Source

CACHE_META_DIR = ".meta"  # the image cache's sidecar directory (compute/image_cache.py)


def recorded_format(path: str, given: str = "") -> str:
    """The image's recorded format: ``given`` or the image cache's sidecar; InvalidRequest
    when there is none (the bytes are never probed for it)."""
    fmt = given
    if not fmt:
        meta = os.path.join(os.path.dirname(path), CACHE_META_DIR, os.path.basename(path) + ".json")
        try:
            with open(meta, encoding="utf-8") as fh:
                fmt = str(json.load(fh).get("format") or "")
        except (OSError, ValueError):
            fmt = ""
    if not fmt:
        raise InvalidRequest(
            f"image {path!r} has no recorded format (no image cache record beside it); give "
            f"image_format (Glance's disk_format: {', '.join(FORMATS)})"
        )
    if fmt not in FORMATS:
        raise InvalidRequest(f"image format {fmt!r} of {path!r} is not one of {', '.join(FORMATS)}")
    return fmt


def image_source(qemu_img: QemuImg, source: Source) -> tuple[str, str, int]:
    """(path, recorded format, virtual size) of an image source, read with ``-f``."""
    if not os.path.exists(source.ref):
        raise NotFound(f"image file {source.ref!r} does not exist on this host")
    fmt = recorded_format(source.ref, source.format)
    info = qemu_img.info(source.ref, fmt)
    return source.ref, fmt, int(info["virtual-size"])
