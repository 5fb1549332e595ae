"""The interoperable image import (``POST /v2/images/{id}/import``), as Glance's
``api_image_import`` flow:

- ``glance-direct``: data staged by ``PUT .../stage`` (image ``uploading``);
- ``web-download``: the controller fetches an allowed URL into the staging area
  (image ``queued``, see :mod:`.webdownload`).

:func:`start` checks the request and the image, marks it ``importing`` with
``os_glance_importing_to_stores`` and runs :func:`run` in a background thread of the
controller (the API answers 202 at once). The staged data is inspected against the
image's ``disk_format`` (the same rules as an upload), converted when the operator set
``image_conversion_format`` (Glance's image conversion: ``qemu-img convert -f
<inspected> -O <fmt>``, the image's ``disk_format`` follows), hashed and copied to each
store. On success the image is ``active``; on failure its data is removed, the stores go
to ``os_glance_failed_import`` and the image back to ``queued``, as Glance.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from dataclasses import astuple
from pathlib import Path

from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.images import (
    ACTIVE,
    IMPORTING,
    QUEUED,
    UPLOADING,
    Image,
    ImageLocation,
    ImageProperty,
)
from stratus.db.session import Database
from stratus.errors import ApiError, BadRequest, Conflict
from stratus.image import inspector, sizes, webdownload
from stratus.image import stores as _stores
from stratus.image.data import remove_staged, staged_path
from stratus.image.upload import HASH_ALGO, Hashes, InvalidImageData, judge

log = logging.getLogger("stratus.image")

IMPORTING_TO, FAILED = "os_glance_importing_to_stores", "os_glance_failed_import"
CONVERT_TIMEOUT = 3600


def parse(body, settings, header_store: str | None = None) -> tuple[str, str | None, list[str]]:
    """(method, uri, store names) of an import request, checked as Glance does
    (``header_store``: the ``X-Image-Meta-Store`` header)."""
    if not isinstance(body, dict):
        raise BadRequest("Import request requires a 'method' field.")
    method = body.get("method")
    if not isinstance(method, dict):
        raise BadRequest("Import request requires a 'method' field.")
    name = method.get("name")
    if name is None:
        raise BadRequest("Import request requires a 'name' field.")
    if name not in settings.image_import_methods or name not in ("glance-direct", "web-download"):
        raise BadRequest(f"Unknown import method name '{name}'.")
    for flag in ("all_stores_must_succeed", "all_stores"):
        if not isinstance(body.get(flag, flag == "all_stores_must_succeed"), bool):
            raise BadRequest(f"'{flag}' must be boolean value only")
    configured = _stores.stores(settings)
    if body.get("all_stores"):
        if "stores" in body or header_store:
            raise BadRequest("All_stores parameter can't be used with x-image-meta-store header or stores parameter")
        names = list(configured)
    else:
        if "stores" in body and header_store:
            raise BadRequest("Stores parameter and x-image-meta-store header can't be both specified")
        names = body.get("stores") or [header_store or next(iter(configured))]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadRequest("'stores' must be a list of store names (GET /v2/info/stores lists them).")
        unknown = [n for n in names if n not in configured]
        if unknown:
            raise Conflict(f"Unknown scheme '{unknown[0]}' found in URI: the configured stores are "
                           f"{', '.join(configured)} (GET /v2/info/stores).")
    uri = None
    if name == "web-download":
        uri = method.get("uri")
        if not isinstance(uri, str):
            raise BadRequest("The web-download import method needs 'uri' in 'method'.")
        webdownload.check_uri(uri, settings.image_web_download_allowed)
    return name, uri, list(dict.fromkeys(names))


def begin(db: Session, image: Image, method: str, store_names: list[str], settings) -> None:
    """Check ``image`` may be imported by ``method`` and mark it importing."""
    if image.status == ACTIVE:
        raise Conflict("Image with status active cannot be target for import")
    if method == "web-download" and image.status != QUEUED:
        raise Conflict(f"Image needs to be in 'queued' state to use '{method}' method")
    if method == "glance-direct" and image.status != UPLOADING:
        raise Conflict("Image needs to be staged before 'glance-direct' method can be used")
    for attr in ("container_format", "disk_format"):
        if not getattr(image, attr):
            raise Conflict(f"'{attr}' needs to be set before import")
    if image.owner:
        sizes.check(db, image.owner, sizes.SIZE_TOTAL, 0, settings.quota_defaults)
    image.status = IMPORTING
    set_property(image, IMPORTING_TO, ",".join(store_names))
    set_property(image, FAILED, "")


def set_property(image: Image, name: str, value: str) -> None:
    for p in image.properties:
        if p.name == name:
            p.value = value
            return
    image.properties.append(ImageProperty(name=name, value=value))


def start(db: Database, settings, image_id: str, method: str, uri: str | None, store_names: list[str]) -> threading.Thread:
    t = threading.Thread(target=run, args=(db, settings, image_id, method, uri, store_names),
                         name=f"image-import-{image_id}", daemon=True)
    t.start()
    return t


def run(db: Database, settings, image_id: str, method: str, uri: str | None, store_names: list[str]) -> None:
    """The import itself (in its own thread); never raises."""
    staged = staged_path(settings, image_id)
    kept: list[tuple[_stores.Store, str]] = []
    try:
        if method == "web-download":
            _download(db, settings, image_id, uri, staged)
        with db.session() as s:
            image = s.get(Image, image_id)
            disk_format, container_format = image.disk_format, image.container_format
        facts = judge(staged, disk_format, container_format, f"image {image_id}")
        target = settings.image_conversion_format
        if facts is not None and target and facts.format not in (target, "iso"):
            facts = convert(staged, facts, target, image_id)
            disk_format = target
        size, md5, sha512 = astuple(Hashes.of(_stores.read_chunks(staged)))
        configured = _stores.stores(settings)
        # the data goes into the stores before the transaction below: a store on the network
        # (swift) takes its time, and must not hold the database's write lock meanwhile
        for i, name in enumerate(store_names):
            store = configured[name]
            last = i == len(store_names) - 1
            url = (store.add_file(image_id, staged) if last
                   else store.add(image_id, _stores.read_chunks(staged)))[0]
            kept.append((store, url))
        with db.session() as s:
            image = s.get(Image, image_id)
            if image is None or image.status != IMPORTING:
                raise Conflict(f"image {image_id} was deleted or changed during its import")
            quotas.lock_project(s, image.owner or "")
            if image.owner:
                sizes.check(s, image.owner, sizes.SIZE_TOTAL, sizes.mib(size), settings.quota_defaults)
            for store, url in kept:
                image.locations.append(ImageLocation(store=store.name, url=url))
            image.size, image.checksum = size, md5
            image.os_hash_algo, image.os_hash_value = HASH_ALGO, sha512
            image.virtual_size = (facts.virtual_size or None) if facts else None
            image.disk_format = disk_format
            image.status = ACTIVE
            set_property(image, IMPORTING_TO, "")
            if image.owner:
                sizes.allocate(s, image, sizes.SIZE_TOTAL, size)
            remove_staged(s, settings, image_id)
        log.info("image %s imported by %s into %s", image_id, method, ", ".join(store_names))
    except BaseException as e:
        reason = e.message if isinstance(e, ApiError) else str(e)
        log.warning("image %s: %s import failed: %s", image_id, method, reason)
        for store, url in kept:
            store.delete(url)
        _failed(db, settings, image_id, store_names)


def _failed(db: Database, settings, image_id: str, store_names: list[str]) -> None:
    try:
        with db.session() as s:
            remove_staged(s, settings, image_id)
            image = s.get(Image, image_id)
            if image is None:
                return
            if image.status == IMPORTING:
                image.status = QUEUED
                image.size = None
            set_property(image, IMPORTING_TO, "")
            set_property(image, FAILED, ",".join(store_names))
    except Exception:
        log.exception("image %s: could not record its failed import", image_id)


def _download(db: Database, settings, image_id: str, uri: str, staged: Path) -> None:
    with db.session() as s:
        owner = s.get(Image, image_id).owner
        room = sizes.room(s, owner, sizes.SIZE_TOTAL, settings.quota_defaults) if owner else None
    cap = settings.image_size_cap if room is None else min(room, settings.image_size_cap)
    tmp = webdownload.fetch(uri, settings.image_web_download_allowed, staged.parent, image_id, cap)
    os.replace(tmp, staged)


def convert(path: Path, facts: inspector.ImageFacts, target: str, image_id: str) -> inspector.ImageFacts:
    """Glance's image conversion: ``path`` rewritten as ``target`` by qemu-img, given
    the inspected format (never probed); the result inspected again."""
    out = path.with_name(f".{path.name}.{target}")
    argv = ["qemu-img", "convert", "-f", facts.qemu_format, "-O", target, str(path), str(out)]
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=CONVERT_TIMEOUT,
                           env={**os.environ, "LC_ALL": "C"}, check=False)
        if r.returncode != 0:
            raise InvalidImageData(f"Image conversion of image {image_id} to {target} failed: "
                                   f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
        converted = inspector.check_safe(inspector.inspect(out), target, what=f"converted image {image_id}",
                                         error=InvalidImageData)
        os.replace(out, path)
    finally:
        out.unlink(missing_ok=True)
    return inspector.ImageFacts(str(path), converted.format, converted.virtual_size)
