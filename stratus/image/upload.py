"""Receiving image data (``PUT /v2/images/{id}/file`` and ``.../stage``), streamed.

The route reads the request body chunk by chunk into a :class:`Sink`: a temporary file
in the store's own directory, hashed (md5, sha512) and counted as it is written, and
refused as soon as it passes its cap (``min(image_size_cap, what the project's
image_size_total / image_stage_total quota leaves)``). The image is never held in
memory. The DB steps around it are plain functions that the route runs in a thread:

- :func:`begin` checks the image may receive data (``queued``, formats set, uploading
  count) and moves it to ``saving`` (upload) or ``uploading`` (stage);
- :func:`finish` inspects the header against ``disk_format`` (the hosts' inspector),
  then keeps the data (a rename into the store) and makes the image ``active`` with its
  size, checksums, virtual size, location and image_size_total usage;
- :func:`abort` removes the partial data and puts the image back to ``queued`` (a
  refused format, an oversized body, a client that went away), as Glance's _restore.
"""

from __future__ import annotations

import hashlib
import os
import queue
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.images import ACTIVE, QUEUED, SAVING, UPLOADING, Image, ImageLocation
from stratus.errors import ApiError, BadRequest, Conflict, OverLimit
from stratus.image import inspector, sizes
from stratus.image import stores as _stores
from stratus.image.data import remove_staged, staged_path

HASH_ALGO = "sha512"
# Containers whose data is an archive, not a disk: Glance inspects only disk data.
ARCHIVES = ("ova", "docker", "compressed")
# Disk formats the inspector cannot tell apart from raw (kernels, ramdisks, AMIs, ...):
# accepted when the data is raw-like, as Glance does for formats it cannot inspect.
KNOWN_FORMATS = (*inspector.KNOWN, "qcow", "qed", "luks")


class InvalidImageData(ApiError):
    """Data that is not of its declared format or is unsafe (Glance answers 415)."""

    status = 415


@dataclass(frozen=True)
class Digest:
    size: int
    md5: str
    sha512: str


class Hashes:
    """md5 (Glance's ``checksum``), sha512 (``os_hash_value``) and size of a stream."""

    def __init__(self) -> None:
        self.md5, self.sha512, self.size = hashlib.md5(usedforsecurity=False), hashlib.sha512(), 0

    def update(self, data: bytes | bytearray) -> None:
        self.md5.update(data)
        self.sha512.update(data)
        self.size += len(data)

    def digest(self) -> Digest:
        return Digest(self.size, self.md5.hexdigest(), self.sha512.hexdigest())

    @classmethod
    def of(cls, chunks) -> Digest:
        h = cls()
        for data in chunks:
            h.update(data)
        return h.digest()


class Sink:
    """A temporary file being received. Two writer threads (one writes the file and
    computes md5, the other sha512) work while the receiver reads the next chunks; at
    most ``DEPTH`` chunks wait for them, so memory stays bounded. ``too_large(size)``
    gives the error when ``size`` passes ``cap``."""

    DEPTH = 4

    def __init__(self, directory: Path, image_id: str, cap: int,
                 too_large: Callable[[int], ApiError]) -> None:
        fd, path = tempfile.mkstemp(dir=_stores.private_dir(directory), prefix=f".{image_id}.", suffix=".part")
        self.path = Path(path)
        self.file = os.fdopen(fd, "wb")
        self.cap, self.too_large = cap, too_large
        self.size = 0
        self.md5, self.sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
        self._error: BaseException | None = None
        self._lanes = [(queue.Queue(self.DEPTH), work) for work in (self._write, self.sha512.update)]
        self._threads = [threading.Thread(target=self._run, args=lane, name=f"image-sink-{image_id}", daemon=True)
                         for lane in self._lanes]
        for t in self._threads:
            t.start()

    def _write(self, data) -> None:
        self.file.write(data)
        self.md5.update(data)

    def _run(self, lane: queue.Queue, work) -> None:
        while (data := lane.get()) is not None:
            if self._error is None:
                try:
                    work(data)
                except BaseException as e:  # reported to the receiver by put() / close()
                    self._error = e

    def over(self, data: bytes | bytearray) -> int | None:
        """The size ``data`` would bring the file to when that passes the cap."""
        size = self.size + len(data)
        return size if size > self.cap else None

    def put_nowait(self, data: bytes | bytearray) -> bool:
        """Queue ``data`` when every lane has room (False: call :meth:`put`)."""
        if self._error is not None:
            raise self._error
        if any(lane.full() for lane, _ in self._lanes):  # one receiver: room stays room
            return False
        for lane, _ in self._lanes:
            lane.put_nowait(data)
        self.size += len(data)
        return True

    def put(self, data: bytes | bytearray) -> None:
        """Queue ``data``, waiting for room (in a thread: it blocks)."""
        if (size := self.over(data)) is not None:
            raise self.too_large(size)
        if self._error is not None:
            raise self._error
        for lane, _ in self._lanes:
            lane.put(data)
        self.size += len(data)

    def _stop(self) -> None:
        for (lane, _), t in zip(self._lanes, self._threads, strict=True):
            if t.is_alive():
                lane.put(None)
        for t in self._threads:
            t.join()
        self.file.close()

    def close(self) -> Digest:
        """Wait for the queued chunks to be written; the digest of everything."""
        self._stop()
        if self._error is not None:
            raise self._error
        return Digest(self.size, self.md5.hexdigest(), self.sha512.hexdigest())

    def discard(self) -> None:
        self._stop()
        self.path.unlink(missing_ok=True)


@dataclass
class Target:
    """Where a receive writes and within which limits (what :func:`begin` decided)."""

    image_id: str
    owner: str | None
    stage: bool
    directory: Path
    cap: int
    size_cap: int
    quota_room: int | None
    store: str = ""  # the store an upload goes to (``X-Image-Meta-Store``; "" the default)

    def too_large(self, db_factory, overrides) -> Callable[[int], ApiError]:
        def error(size: int) -> ApiError:
            if self.quota_room is None or size > self.size_cap:
                return too_large()
            resource = sizes.STAGE_TOTAL if self.stage else sizes.SIZE_TOTAL
            with db_factory() as db:
                usage = sizes.usage(db, self.owner, overrides)[resource]
            return sizes.over_limit(self.owner, resource, usage["limit"], usage["usage"], sizes.mib(size))
        return error

    def sink(self, db_factory, overrides) -> Sink:
        return Sink(self.directory, self.image_id, self.cap, self.too_large(db_factory, overrides))


def begin(db: Session, image: Image, settings, *, stage: bool, declared_size: int | None,
          store: str | None = None) -> Target:
    """Check ``image`` may receive data and move it to saving / uploading. ``store``: the
    ``X-Image-Meta-Store`` of an upload (Glance's multi-store; the default store without)."""
    new = UPLOADING if stage else SAVING
    configured = _stores.stores(settings)
    if store and not stage and store not in configured:
        raise Conflict(f"Store for scheme {store} not found: the configured stores are "
                       f"{', '.join(configured)} (GET /v2/info/stores).")
    store = "" if stage else store or next(iter(configured))
    if image.status != QUEUED:
        raise Conflict(f"Image status transition from {image.status} to {new} is not allowed")
    missing = [n for n in ("disk_format", "container_format") if not getattr(image, n)]
    if missing:
        raise BadRequest(f"Properties {', '.join(missing)} must be set prior to saving data.")
    overrides = settings.quota_defaults
    resource = sizes.STAGE_TOTAL if stage else sizes.SIZE_TOTAL
    if declared_size is not None and declared_size > settings.image_size_cap:
        raise too_large()
    quotas.lock_project(db, image.owner or "")
    if image.owner:
        sizes.check(db, image.owner, resource, sizes.mib(declared_size or 0), overrides)
        sizes.check(db, image.owner, sizes.COUNT_UPLOADING, 1, overrides)
    room = sizes.room(db, image.owner, resource, overrides) if image.owner else None
    moved = db.execute(update(Image).where(Image.id == image.id, Image.status == QUEUED)
                       .values(status=new)).rowcount
    if not moved:
        raise Conflict(f"Image status transition from {image.status} to {new} is not allowed")
    directory = _stores.staging_dir(settings) if stage else configured[store].scratch_dir()
    cap = settings.image_size_cap if room is None else min(settings.image_size_cap, room)
    return Target(image.id, image.owner, stage, directory, cap, settings.image_size_cap, room, store)


def abort(db: Session, target: Target, sink: Sink | None) -> None:
    """Drop what was received and put the image back to queued."""
    if sink is not None:
        sink.discard()
    was = UPLOADING if target.stage else SAVING
    db.execute(update(Image).where(Image.id == target.image_id, Image.status == was).values(status=QUEUED))


def judge(path: Path, disk_format: str, container_format: str | None, what: str) -> inspector.ImageFacts | None:
    """The facts of the data at ``path`` when it may be kept as ``disk_format``;
    :class:`InvalidImageData` (Glance's wording, then why and what to do) otherwise.
    None when the data is an archive container that is not inspected (Glance)."""
    if container_format in ARCHIVES:
        return None
    facts = inspector.inspect(path)
    if disk_format not in KNOWN_FORMATS:
        # kernels, ramdisks, AMIs: not inspectable, so allowed when nothing was recognised
        if facts.format == "raw" and facts.safe:
            return facts
        raise InvalidImageData(
            f"Image disk_format {disk_format} does not match stream data {facts.format}: "
            f"{what} holds a {facts.format} image; declare disk_format {facts.format} or upload "
            f"the {disk_format} data itself.")
    try:
        return inspector.check_safe(facts, disk_format, allowed=inspector.KNOWN, what=what, error=InvalidImageData)
    except InvalidImageData as e:
        head = ("Image failed safety checks" if facts.issues
                else f"Image disk_format {disk_format} does not match stream data {facts.format}")
        raise InvalidImageData(f"{head}: {e.message}") from None


def keep(db: Session, image: Image, store: _stores.Store, path: Path, digest: Digest,
         facts: inspector.ImageFacts | None, settings) -> tuple[_stores.Store, str]:
    """Move the received file at ``path`` into ``store`` and make ``image`` active with
    its data (the caller commits; on an error the data is removed again). The data goes
    into the store before the project's quota lock is taken: a store on the network
    (swift) takes its time and must not hold the database's write lock meanwhile."""
    url, _ = store.add_file(image.id, path)
    try:
        quotas.lock_project(db, image.owner or "")
        if image.owner:
            sizes.check(db, image.owner, sizes.SIZE_TOTAL, sizes.mib(digest.size), settings.quota_defaults)
        image.locations.append(ImageLocation(store=store.name, url=url))
        image.size = digest.size
        image.checksum = digest.md5
        image.os_hash_algo = HASH_ALGO
        image.os_hash_value = digest.sha512
        image.virtual_size = (facts.virtual_size or None) if facts else None
        image.status = ACTIVE
        if image.owner:
            sizes.allocate(db, image, sizes.SIZE_TOTAL, digest.size)
        db.flush()
    except BaseException:
        store.delete(url)
        raise
    return store, url


def finish_upload(db: Session, target: Target, sink: Sink, settings) -> tuple[_stores.Store, str]:
    """Inspect and keep a completed ``PUT .../file``; refused data is removed and the
    image goes back to queued (the caller commits that in its own transaction)."""
    digest = sink.close()
    image = db.get(Image, target.image_id)
    if image is None or image.status != SAVING:
        sink.discard()
        raise gone(target.image_id)
    facts = judge(sink.path, image.disk_format, image.container_format, f"image {image.id}")
    configured = _stores.stores(settings)
    store = configured.get(target.store) or next(iter(configured.values()))
    return keep(db, image, store, sink.path, digest, facts, settings)


def finish_stage(db: Session, target: Target, sink: Sink, settings) -> None:
    """Keep completed staged data at ``<state_dir>/image-staging/<id>`` (not inspected
    yet: the import does that) with its image_stage_total usage."""
    digest = sink.close()
    image = db.get(Image, target.image_id)
    if image is None or image.status != UPLOADING:
        sink.discard()
        raise gone(target.image_id)
    os.replace(sink.path, staged_path(settings, image.id))
    image.size = digest.size
    if image.owner:
        sizes.allocate(db, image, sizes.STAGE_TOTAL, digest.size)


def unstage(db: Session, settings, image: Image, status: str = QUEUED) -> None:
    remove_staged(db, settings, image.id)
    image.status = status


def too_large() -> OverLimit:
    """Glance's answer to data past image_size_cap."""
    return OverLimit("The incoming image is too large: The provided image is too large.")


def gone(image_id: str) -> ApiError:
    return ApiError(f"Image {image_id} could not be found after upload. The image may have been "
                    "deleted during the upload, cleaning up the chunks uploaded.", status=410)
