"""Base images on a compute host: ``/var/lib/stratus/images/<image_id>`` (Nova's ``_base``).

``ImageCache(images_dir, instances_dir, qemu_img, policy=SourcePolicy(...))``:

- ``ensure_present(image_id, source, disk_format, hashes, source_format=..., check=...)``:
  the source is checked against the host's ``SourcePolicy`` (allowed roots and URL
  prefixes, a hash for downloads, ``max_size``), copied into a private ``.<id>.part``
  file, verified against Glance's checksums of the bytes as uploaded (``checksum`` = md5,
  ``os_hash_algo`` / ``os_hash_value``), then **inspected before qemu sees it**
  (``common.image_format``, Nova's format inspector): a backing file, an external data
  file, or a format other than the declared ``source_format`` is refused. Only then is
  it converted with ``qemu-img convert -f <inspected format>`` to ``qcow2`` or ``raw``
  and renamed into place. A sidecar ``.meta/<id>.json`` records source, formats and
  hashes, so a second run with the same arguments changes nothing. On any failure the
  partial files are removed: a refused image leaves nothing in the cache.
- ``users(image_id)``: instance disks whose backing file is the image (read from their
  qcow2 headers), so ``ensure_absent`` refuses an image in use unless forced, and
  ``prune`` removes only unused images.

Every method that changes the cache returns a ``common.outcome.Outcome``.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common import image_format
from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import FORMATS, QemuImg

from .errors import (
    ChecksumMismatch,
    ComputeError,
    Conflict,
    InvalidInput,
    UnsafeImage,
)
from .image_source import SourcePolicy, check_headers, copy_capped
from .paths import IMAGES_DIR, INSTANCES_DIR, image_path
from .qemu import compute_qemu_img

HASH_ALGOS = ("md5", "sha1", "sha256", "sha512")
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


def cached_image(path: Path | str) -> image_format.ImageFacts:
    """Header facts of a base image in the cache, ``UnsafeImage`` unless it is a
    self-contained raw or qcow2 (what every user of a cached image checks before it
    hands the image to qemu, with the format found here as ``-f`` / ``-F``)."""
    facts = image_format.inspect(path)
    return image_format.check_safe(facts, facts.format, what=f"cached image {path}", error=UnsafeImage)


def _double_check(info: dict, what: str) -> None:
    """qemu-img's view (opened with the inspected ``-f``) must agree: no backing file,
    no data file."""
    data = (info.get("format-specific") or {}).get("data") or {}
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise UnsafeImage(f"{what} is refused: qemu-img reports a backing file; upload a "
                          "self-contained image.")
    if data.get("data-file"):
        raise UnsafeImage(f"{what} is refused: qemu-img reports an external data file; "
                          "upload a self-contained image.")


class ImageCache:
    """The image cache of one host (see the module docstring).

    ``convert_formats``: formats besides raw and qcow2 (vmdk, vhd, vhdx, vdi, iso) that
    are accepted and converted; the default refuses them, as Nova's defaults do.
    """

    def __init__(
        self,
        images_dir: Path | str = IMAGES_DIR,
        instances_dir: Path | str = INSTANCES_DIR,
        qemu_img: QemuImg | None = None,
        timeout: float = 60.0,
        *,
        policy: SourcePolicy | None = None,
        convert_formats: tuple[str, ...] = (),
    ):
        self.images_dir = Path(images_dir)
        self.instances_dir = Path(instances_dir)
        self.qemu_img = qemu_img or compute_qemu_img()
        self.timeout = timeout
        policy = policy or SourcePolicy()
        self.policy = replace(policy, forbidden=(*policy.forbidden, str(self.images_dir),
                                                 str(self.instances_dir)))
        for fmt in convert_formats:
            if fmt not in image_format.CONVERTIBLE:
                raise InvalidInput(f"convert_formats: {fmt!r} is not one of "
                                   f"{', '.join(image_format.CONVERTIBLE)}.")
        self.convert_formats = tuple(convert_formats)

    # reads --------------------------------------------------------------------
    def path(self, image_id: str) -> Path:
        return image_path(image_id, self.images_dir)

    def _meta_path(self, image_id: str) -> Path:
        return self.images_dir / META_DIR / f"{image_id}.json"

    def _meta(self, image_id: str) -> dict:
        try:
            return json.loads(self._meta_path(image_id).read_text())
        except (OSError, ValueError):
            return {}

    def get(self, image_id: str) -> dict:
        """Facts of a cached image (id, path, format, sizes, recorded hashes), {} when
        it is not cached."""
        path = self.path(image_id)
        if not path.is_file():
            return {}
        facts = cached_image(path)
        meta = self._meta(image_id)
        if meta.get("format", facts.format) != facts.format:
            raise UnsafeImage(
                f"cached image {image_id} was recorded as {meta['format']} but its header is "
                f"{facts.format}; remove it (state: absent, force: true) and cache it again."
            )
        return {
            "id": image_id,
            "path": str(path),
            "format": facts.format,
            "source_format": meta.get("source_format", ""),
            "virtual_size": facts.virtual_size,
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
        """Instance files whose backing file is this image (read from their headers)."""
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
                    backing = image_format.inspect(f).backing_file
                except OSError:
                    continue
                if backing and os.path.realpath(backing) == target:
                    found.append(str(f))
        return found

    def is_current(self, image_id: str, disk_format: str, hashes: Hashes, source: str,
                   source_format: str = "") -> bool:
        """True when the cached image has this format, was declared ``source_format``
        and was verified with these hashes (with no hashes asked: same source)."""
        facts = self.get(image_id)
        if not facts or facts["format"] != disk_format:
            return False
        if source_format and facts["source_format"] not in ("", source_format):
            return False
        wanted = hashes.wanted()
        if wanted:
            return all(facts["hashes"].get(k) == v for k, v in wanted.items())
        return facts["source"] == source or not facts["source"]

    # writes -------------------------------------------------------------------
    def ensure_present(
        self, image_id: str, source: str, disk_format: str, hashes: Hashes, *,
        source_format: str = "", force: bool = False, check: bool = False,
        headers: dict[str, str] | None = None,
    ) -> Outcome:
        """Cache ``source`` (declared ``source_format``, default ``disk_format``) as
        ``image_id`` in ``disk_format``. Replacing an image that instance disks use is a
        ``Conflict`` unless ``force``. ``headers`` go with a download (a ticket); they
        are never recorded."""
        headers = check_headers(headers)
        if disk_format not in FORMATS:
            raise InvalidInput(f"disk_format {disk_format!r} is not one of {', '.join(FORMATS)}.")
        source_format = source_format or disk_format
        accepted = (*image_format.SAFE_FORMATS, *self.convert_formats)
        if source_format not in accepted:
            raise UnsafeImage(
                f"image {image_id}: source_format {source_format!r} is not accepted on this "
                f"host (accepted: {', '.join(accepted)}); convert it to qcow2 or raw first."
            )
        self.policy.check(source, hashes.wanted())
        before = self.get(image_id)
        if before and self.is_current(image_id, disk_format, hashes, source, source_format):
            return Outcome(False, before, before)
        if before and not force:
            users = self.users(image_id)
            if users:
                raise Conflict(
                    f"image {image_id} differs from the wanted one but is the backing file of "
                    f"{', '.join(users)}; replacing it would corrupt them (force: true overrides)."
                )
        fetch = f"fetch {source}, verify, inspect and keep as {disk_format}"
        if check:
            return Outcome(True, before, {"id": image_id, "path": str(self.path(image_id)),
                                          "format": disk_format, "source_format": source_format,
                                          "source": source}, [fetch])
        self._fetch_verify_convert(image_id, source, disk_format, source_format, hashes, headers)
        return Outcome(True, before, self.get(image_id), [fetch])

    def _fetch_verify_convert(self, image_id: str, source: str, disk_format: str,
                              source_format: str, hashes: Hashes, headers: dict[str, str]):
        self.images_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.images_dir, 0o711)  # QEMU reads images by path; nobody lists them
        final = self.path(image_id)
        part = self.images_dir / f".{image_id}.part"
        conv = self.images_dir / f".{image_id}.conv"
        what = f"image {image_id} from {source}"
        wanted = hashes.wanted()
        digests = {a: hashlib.new(a) for a in set(wanted) | {"md5", "sha256"}}
        try:
            for p in (part, conv):
                p.unlink(missing_ok=True)
            with self.policy.open(source, wanted, self.timeout, headers) as src, \
                    os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                copy_capped(src, out, self.policy.max_size, digests, source)
            got = {a: d.hexdigest() for a, d in digests.items()}
            for algo, value in wanted.items():
                if got[algo] != value:
                    raise ChecksumMismatch(
                        f"{what}: {algo} is {got[algo]}, expected {value}; the download is "
                        "corrupt or the checksum is wrong."
                    )
            facts = image_format.check_safe(
                image_format.inspect(part), source_format,
                allowed=(*image_format.SAFE_FORMATS, *self.convert_formats), what=what,
                error=UnsafeImage,
            )
            _double_check(self.qemu_img.info(part, facts.qemu_format, force_share=False), what)
            if facts.format == disk_format:
                os.replace(part, conv)
            else:
                self.qemu_img.convert(part, conv, disk_format, src_format=facts.qemu_format)
            os.chmod(conv, 0o644)
            meta = self._meta_path(image_id)
            meta.parent.mkdir(exist_ok=True)
            meta.write_text(json.dumps({"source": source, "format": disk_format,
                                        "source_format": facts.format, "hashes": got}))
            os.replace(conv, final)
        except (OSError, http.client.HTTPException) as exc:
            raise ComputeError(f"caching {what} failed: {exc}") from exc
        finally:
            for p in (part, conv):
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()

    def remove(self, image_id: str, *, force: bool = False, check: bool = False) -> bool:
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
        if not check:
            path.unlink()
            with contextlib.suppress(FileNotFoundError):
                self._meta_path(image_id).unlink()
        return True

    def ensure_absent(self, image_id: str, *, force: bool = False, check: bool = False) -> Outcome:
        """The image is not in the cache (see ``remove``)."""
        before = self.get(image_id)
        changed = self.remove(image_id, force=force, check=check)
        return Outcome(changed, before, {}, [f"remove {image_id}"] if changed else [])

    def prune(self, *, keep: tuple[str, ...] = (), check: bool = False) -> list[str]:
        """Remove every cached image no instance disk uses (except ``keep``); returns ids."""
        removed = []
        for image_id in self.list():
            if image_id in keep or self.users(image_id):
                continue
            self.remove(image_id, check=check)
            removed.append(image_id)
        return removed

    def ensure_pruned(self, *, keep: tuple[str, ...] = (), check: bool = False) -> Outcome:
        """Only images that instance disks use (or ``keep``) stay; before/after list ids."""
        before = self.list()
        removed = self.prune(keep=keep, check=check)
        after = [i for i in before if i not in removed]
        return Outcome(bool(removed), {"images": before}, {"images": after},
                       [f"remove {i}" for i in removed])
