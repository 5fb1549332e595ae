"""Base images on a compute host: ``/var/lib/stratus/images/<image_id>`` (Nova's ``_base``).

``ImageCache(images_dir, instances_dir, qemu_img)``:

- ``plan_present`` / ``ensure_present(image_id, source, disk_format, hashes)``: fetch
  from a local path or an HTTP(S) URL into a ``.<id>.part`` file, verify Glance's
  checksums of the bytes as uploaded (``checksum`` = md5, ``os_hash_algo`` /
  ``os_hash_value``), convert with ``qemu-img`` to ``qcow2`` or ``raw`` and rename into
  place. A sidecar ``.meta/<id>.json`` records source, format and hashes, so a second run
  with the same arguments changes nothing. On any failure the partial files are removed.
- ``users(image_id)``: instance disks whose backing file is the image (``qemu-img info``
  of every file in ``instances_dir/*/``), so ``remove`` refuses an image in use unless
  forced, and ``prune`` removes only unused images.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common import command
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import FORMATS, QemuImg

from .errors import ChecksumMismatch, CommandFailed, ComputeError, Conflict, InvalidInput, NotFound
from .paths import IMAGES_DIR, INSTANCES_DIR, image_path

HASH_ALGOS = ("md5", "sha1", "sha256", "sha512")
CHUNK = 1024 * 1024
META_DIR = ".meta"


@dataclass(frozen=True)
class Hashes:
    """Expected checksums (Glance: ``checksum`` is md5, ``os_hash_*`` the multihash)."""

    checksum: str = ""  # md5 hex
    os_hash_algo: str = ""
    os_hash_value: str = ""

    def wanted(self) -> dict[str, str]:
        out = {}
        if self.checksum:
            out["md5"] = self.checksum.lower()
        if self.os_hash_value:
            algo = self.os_hash_algo or "sha512"
            if algo not in HASH_ALGOS:
                raise InvalidInput(f"os_hash_algo {algo!r} is not one of {', '.join(HASH_ALGOS)}.")
            out[algo] = self.os_hash_value.lower()
        return out


def _open_source(source: str, timeout: float):
    if source.startswith(("http://", "https://")):
        try:
            return urllib.request.urlopen(source, timeout=timeout)  # noqa: S310 - http(s) only
        except (urllib.error.URLError, OSError) as exc:
            raise NotFound(f"cannot download image from {source}: {exc}") from exc
    if "://" in source:
        raise InvalidInput(f"image source {source!r}: use a local path or an http(s) URL.")
    try:
        return open(source, "rb")  # noqa: SIM115 - closed by the caller's with
    except OSError as exc:
        raise NotFound(f"image source {source} cannot be read: {exc.strerror}.") from exc


class ImageCache:
    """The image cache of one host (see the module docstring)."""

    def __init__(
        self,
        images_dir: Path | str = IMAGES_DIR,
        instances_dir: Path | str = INSTANCES_DIR,
        qemu_img: QemuImg | None = None,
        timeout: float = 60.0,
    ):
        self.images_dir = Path(images_dir)
        self.instances_dir = Path(instances_dir)
        self.qemu_img = qemu_img or QemuImg(error=CommandFailed, invalid=InvalidInput)
        self.timeout = timeout

    # reads --------------------------------------------------------------------
    def path(self, image_id: str) -> Path:
        return image_path(image_id, self.images_dir)

    def _meta_path(self, image_id: str) -> Path:
        return self.images_dir / META_DIR / f"{image_id}.json"

    def get(self, image_id: str) -> dict | None:
        """Facts of a cached image (id, path, format, sizes, recorded hashes), or None."""
        path = self.path(image_id)
        if not path.is_file():
            return None
        info = self.qemu_img.info(path)
        try:
            meta = json.loads(self._meta_path(image_id).read_text())
        except (OSError, ValueError):
            meta = {}
        return {
            "id": image_id,
            "path": str(path),
            "format": info["format"],
            "virtual_size": int(info["virtual-size"]),
            "size": path.stat().st_size,
            "source": meta.get("source", ""),
            "hashes": meta.get("hashes", {}),
        }

    def list(self) -> list[str]:
        if not self.images_dir.is_dir():
            return []
        return sorted(
            p.name for p in self.images_dir.iterdir()
            if p.is_file() and not p.name.startswith(".")
        )

    def users(self, image_id: str) -> list[str]:
        """Instance files whose backing file is this image (or that are the image)."""
        target = str(self.path(image_id).resolve())
        found = []
        if not self.instances_dir.is_dir():
            return found
        for inst in sorted(self.instances_dir.iterdir()):
            if not inst.is_dir():
                continue
            for f in sorted(inst.iterdir()):
                if not f.is_file() or not f.name.startswith("disk"):
                    continue
                try:
                    backing = self.qemu_img.backing_file(f)
                except (command.CommandFailed, ValueError):  # any QemuImg's error type
                    continue
                if backing and os.path.realpath(backing) == target:
                    found.append(str(f))
        return found

    def is_current(self, image_id: str, disk_format: str, hashes: Hashes, source: str) -> bool:
        """True when the cached image has this format and was verified with these hashes
        (with no hashes asked: came from the same source)."""
        facts = self.get(image_id)
        if facts is None or facts["format"] != disk_format:
            return False
        wanted = hashes.wanted()
        if wanted:
            return all(facts["hashes"].get(k) == v for k, v in wanted.items())
        return facts["source"] == source or not facts["source"]

    # writes -------------------------------------------------------------------
    def ensure_present(
        self, image_id: str, source: str, disk_format: str, hashes: Hashes, *,
        force: bool = False, check_mode: bool = False,
    ) -> tuple[bool, dict | None, dict | None]:
        """Cache ``source`` as ``image_id`` in ``disk_format``: (changed, before, after).
        Replacing an image that instance disks use is a ``Conflict`` unless ``force``."""
        if disk_format not in FORMATS:
            raise InvalidInput(f"disk_format {disk_format!r} is not one of {', '.join(FORMATS)}.")
        before = self.get(image_id)
        if before is not None and self.is_current(image_id, disk_format, hashes, source):
            return False, before, before
        if before is not None and not force:
            users = self.users(image_id)
            if users:
                raise Conflict(
                    f"image {image_id} differs from the wanted one but is the backing file of "
                    f"{', '.join(users)}; replacing it would corrupt them (force: true overrides)."
                )
        if check_mode:
            return True, before, {"id": image_id, "path": str(self.path(image_id)),
                                  "format": disk_format, "source": source}
        self._fetch_verify_convert(image_id, source, disk_format, hashes)
        return True, before, self.get(image_id)

    def _fetch_verify_convert(self, image_id: str, source: str, disk_format: str, hashes: Hashes):
        self.images_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.images_dir, 0o755)
        final = self.path(image_id)
        part = self.images_dir / f".{image_id}.part"
        conv = self.images_dir / f".{image_id}.conv"
        wanted = hashes.wanted()
        algos = set(wanted) | {"md5", "sha256"}
        digests = {a: hashlib.new(a) for a in algos}
        try:
            with _open_source(source, self.timeout) as src, open(part, "wb") as out:
                while chunk := src.read(CHUNK):
                    out.write(chunk)
                    for d in digests.values():
                        d.update(chunk)
            got = {a: d.hexdigest() for a, d in digests.items()}
            for algo, value in wanted.items():
                if got[algo] != value:
                    raise ChecksumMismatch(
                        f"image {image_id} from {source}: {algo} is {got[algo]}, expected "
                        f"{value}; the download is corrupt or the checksum is wrong."
                    )
            src_format = self.qemu_img.info(part, force_share=False)["format"]
            if src_format == disk_format:
                os.replace(part, conv)
            else:
                self.qemu_img.convert(part, conv, disk_format, src_format=src_format)
            os.chmod(conv, 0o644)
            meta = self._meta_path(image_id)
            meta.parent.mkdir(exist_ok=True)
            meta.write_text(json.dumps({"source": source, "format": disk_format,
                                        "source_format": src_format, "hashes": got}))
            os.replace(conv, final)
        except (OSError, urllib.error.URLError) as exc:
            raise ComputeError(f"caching image {image_id} from {source} failed: {exc}") from exc
        finally:
            for p in (part, conv):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()

    def remove(self, image_id: str, *, force: bool = False, check_mode: bool = False) -> bool:
        """Remove a cached image; ``Conflict`` when instance disks use it, unless ``force``."""
        path = self.path(image_id)
        if not path.exists():
            return False
        users = self.users(image_id)
        if users and not force:
            raise Conflict(
                f"image {image_id} is the backing file of {', '.join(users)}; remove those "
                "instances first (or force: true)."
            )
        if not check_mode:
            path.unlink()
            with contextlib.suppress(FileNotFoundError):
                self._meta_path(image_id).unlink()
        return True

    def prune(self, *, keep: tuple[str, ...] = (), check_mode: bool = False) -> list[str]:
        """Remove every cached image no instance disk uses (except ``keep``); returns ids."""
        removed = []
        for image_id in self.list():
            if image_id in keep or self.users(image_id):
                continue
            self.remove(image_id, check_mode=check_mode)
            removed.append(image_id)
        return removed

