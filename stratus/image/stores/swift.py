"""The Swift store: images as objects in a container of the object store's service
account (Glance's ``swift`` store, single-tenant).

Settings (``image_stores.<name>``)::

    {type: swift, container: glance, segment_size: 209715200, description: ...}

URLs are ``swift://AUTH_<service project id>/<container>/<image id>``. The service
user's token is minted in-process (:mod:`stratus.object_store`). An image larger than
``segment_size`` bytes is a static large object: its segments
``<image id>/<upload id>/<n>`` live in ``<container>_segments`` (as swiftclient puts them)
and the manifest is the image's object. The base contracts hold:

- ``add`` / ``add_file`` keep all or nothing: the data is spooled to a local file first
  (so its size is known), and a failure removes the segments already written (the
  manifest, the only name readers see, is written last);
- ``open(url, start, length)`` is one ranged GET (Swift serves ranges of SLOs too),
  sent at once so a missing object fails before a response starts, and streamed;
- ``delete`` of a gone object returns False; a manifest goes with its segments.
"""

from __future__ import annotations

import json
import logging
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from stratus.image.stores.base import CHUNK, Store, StoreError, private_dir, read_chunks
from stratus.object_store import ObjectStoreError, SwiftClient, SwiftError
from stratus.object_store.auth import RESELLER_PREFIX, check_configured
from stratus.object_store.client import path as swift_path

log = logging.getLogger("stratus.image")

SCHEME = "swift"
DEFAULT_CONTAINER = "glance"
DEFAULT_SEGMENT_SIZE = 200 << 20  # Glance's swift_store_large_object_chunk_size
OCTET = "application/octet-stream"


class SwiftStore(Store):
    kind = "swift"

    def __init__(self, name: str, settings, container: str = DEFAULT_CONTAINER,
                 segment_size: int = DEFAULT_SEGMENT_SIZE, description: str = "") -> None:
        super().__init__(name, description or f"Images in Swift container {container} of the "
                                              f"{settings.object_store_project} account")
        self.settings = settings
        self.container = container
        self.segments = f"{container}_segments"
        self.segment_size = segment_size
        self.client = SwiftClient(settings)

    @classmethod
    def from_spec(cls, name: str, spec: dict, settings) -> SwiftStore:
        """The store of ``image_stores.<name>`` (a StoreError names a bad setting)."""
        try:
            check_configured(settings)
        except ObjectStoreError as e:
            raise StoreError(f"image store {name}: {e}") from None
        container = str(spec.get("container") or DEFAULT_CONTAINER)
        if "/" in container:
            raise StoreError(f"image store {name}: container {container!r} may not hold '/'")
        raw = spec.get("segment_size", DEFAULT_SEGMENT_SIZE)
        try:
            size = int(raw)
        except (TypeError, ValueError):
            size = 0
        if size < 1:
            raise StoreError(f"image store {name}: segment_size must be a number of bytes above 0, "
                             f"not {raw!r}")
        return cls(name, settings, container, size, str(spec.get("description") or ""))

    @classmethod
    def for_url(cls, url: str, settings=None) -> SwiftStore:
        """A store reading ``url`` when its store left the settings (to remove its data)."""
        container, _ = _parts(url)
        if settings is None:
            raise StoreError(f"{url} is in object storage: reading it needs the controller's settings")
        return cls.from_spec("swift", {"container": container}, settings)

    def holds(self, url: str) -> bool:
        return urlparse(url).scheme == SCHEME and _parts(url)[0] == self.container

    def scratch_dir(self) -> Path:
        return private_dir(Path(self.settings.state_dir) / "image-scratch" / self.name)

    def url(self, image_id: str) -> str:
        return f"{SCHEME}://{RESELLER_PREFIX}{self.client.project_id}/{self.container}/{image_id}"

    # add ---------------------------------------------------------------------------------
    def add(self, image_id: str, chunks: Iterable[bytes]) -> tuple[str, int]:
        fd, tmp = tempfile.mkstemp(dir=self.scratch_dir(), prefix=f".{image_id}.", suffix=".part")
        try:
            with open(fd, "wb") as f:
                for data in chunks:
                    f.write(data)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return self.add_file(image_id, Path(tmp))

    def add_file(self, image_id: str, path: Path) -> tuple[str, int]:
        try:
            size = path.stat().st_size
            try:
                self.client.put_container(self.container)
                if size <= self.segment_size:
                    self.client.put_object(self.container, image_id, content=lambda: read_chunks(path),
                                           headers={"Content-Length": str(size), "Content-Type": OCTET})
                else:
                    self._put_large(image_id, path, size)
            except ObjectStoreError as e:
                raise StoreError(f"swift store {self.name} could not keep image {image_id}: {e}") from None
            return self.url(image_id), size
        finally:
            path.unlink(missing_ok=True)

    def _put_large(self, image_id: str, path: Path, size: int) -> None:
        """Segments, then the manifest; the segments written go again if anything fails."""
        self.client.put_container(self.segments)
        prefix = f"{image_id}/{uuid.uuid4().hex}"
        written: list[dict] = []
        try:
            for n, start in enumerate(range(0, size, self.segment_size)):
                length = min(self.segment_size, size - start)
                name = f"{prefix}/{n:08d}"
                r = self.client.put_object(
                    self.segments, name, content=lambda s=start, n=length: read_chunks(path, s, n),
                    headers={"Content-Length": str(length), "Content-Type": OCTET})
                written.append({"path": f"/{self.segments}/{name}", "etag": r.headers["etag"].strip('"'),
                                "size_bytes": length})
            self.client.put_object(self.container, image_id, content=json.dumps(written).encode(),
                                   params={"multipart-manifest": "put"}, headers={"Content-Type": OCTET})
        except BaseException:
            for seg in written:
                try:
                    self.client.delete(self.segments, seg["path"].split("/", 2)[2])
                except ObjectStoreError as e:  # the upload's own error matters more
                    log.warning("swift store %s: segment %s of a failed upload of %s stays: %s",
                                self.name, seg["path"], image_id, e)
            raise

    # read ----------------------------------------------------------------------------------
    def open(self, url: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        container, name = self._where(url)
        if length == 0:
            return iter(())
        whole = start == 0 and length is None
        last = None if length is None else start + length - 1
        try:
            r = self.client.get_object(container, name, byte_range=None if whole else (start, last))
        except SwiftError as e:
            if e.status == 404:
                raise StoreError(f"the data of {url} is missing from swift store {self.name}") from None
            raise StoreError(f"swift store {self.name} could not read {url}: {e}") from None
        except ObjectStoreError as e:
            raise StoreError(f"swift store {self.name} could not read {url}: {e}") from None
        return _stream(r)

    def size(self, url: str) -> int:
        container, name = self._where(url)
        try:
            headers = self.client.head(container, name)
        except ObjectStoreError as e:
            raise StoreError(f"swift store {self.name} could not read {url}: {e}") from None
        if headers is None:
            raise StoreError(f"the data of {url} is missing from swift store {self.name}")
        return int(headers["content-length"])

    # delete --------------------------------------------------------------------------------
    def delete(self, url: str) -> bool:
        container, name = self._where(url)
        try:
            headers = self.client.head(container, name)
            if headers is None:
                return False
            if headers.get("x-static-large-object", "").lower() != "true":
                return self.client.delete(container, name)
            r = self.client.request("DELETE", swift_path(container, name), headers={"Accept": "application/json"},
                                    params={"multipart-manifest": "delete"})
            report = r.json()
        except (ObjectStoreError, ValueError) as e:
            raise StoreError(f"swift store {self.name} could not delete {url}: {e}") from None
        if not str(report.get("Response Status", "")).startswith("2") or report.get("Errors"):
            raise StoreError(f"swift store {self.name} could not delete all of {url}: Swift said "
                             f"{report.get('Response Status')}: {report.get('Errors')}")
        return bool(report.get("Number Deleted"))

    def _where(self, url: str) -> tuple[str, str]:
        container, name = _parts(url)
        if container != self.container:
            raise StoreError(f"{url} is not in swift store {self.name} (container {self.container})")
        return container, name


def _parts(url: str) -> tuple[str, str]:
    """(container, object) of a ``swift://AUTH_<project>/<container>/<object>`` URL."""
    u = urlparse(url)
    container, _, name = u.path.lstrip("/").partition("/")
    if u.scheme != SCHEME or not u.netloc.startswith(RESELLER_PREFIX) or not container or not name:
        raise StoreError(f"{url} is not a swift store URL (swift://AUTH_<project>/<container>/<image id>)")
    return unquote(container), unquote(name)


def _stream(response) -> Iterator[bytes]:
    try:
        yield from response.iter_bytes(CHUNK)
    finally:
        response.close()
