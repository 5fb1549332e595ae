"""An instance's root disk sent to the image service as an image (a server snapshot,
Nova's ``createImage``).

``ImageUpload(instances_dir, qemu_img, policy, timeout).ensure_uploaded(uuid, image_id,
url, headers, check=...)``:

1. ``url`` must start with one of the host's allowed URL prefixes (the same
   ``SourcePolicy`` as the image cache: ``image_allowed_sources`` of compute.conf), so a
   playbook cannot make a host send a tenant's disk anywhere else; ``headers`` (the
   upload ticket) are checked as the cache checks them and never recorded.
2. ``qemu-img convert -U -f <format> -O qcow2`` of ``<instances_dir>/<uuid>/disk`` into
   ``<instances_dir>/<uuid>/.snapshot-<image_id>.qcow2`` (``0600``, in the instance's
   private directory): the copy reads through the disk's backing file (the cached base
   image), so the result is a self-contained qcow2. A running guest's disk is read as
   it is at that moment (crash-consistent); stop the server first for a clean image.
3. ``PUT url`` with ``Content-Type: application/octet-stream``, ``Content-Length`` and
   ``headers``, streamed in 1 MiB chunks (md5, sha512 and size counted on the way).
   Redirects are not followed.
4. The temporary file is removed whatever happened.

The idempotence contract: the image service takes data only for a ``queued`` image.
A 2xx answer means this run uploaded (``changed``). A 409 means the image is no
longer queued - its data came with an earlier run of the same job (a retry) - so the
run changes nothing (``changed`` false, ``uploaded`` false, the service's message in
``message``). Any other answer fails with its status and message. Check mode says
what would be uploaded and contacts nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import ssl
import urllib.parse
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common import image_format
from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg

from .errors import NotFound, UnsafeImage, UploadFailed
from .image_source import CHUNK, SourcePolicy, check_headers
from .paths import INSTANCES_DIR, PRIVATE_FILE_MODE, InstancePaths, safe_id
from .qemu import compute_qemu_img

CONTENT_TYPE = "application/octet-stream"
NOT_QUEUED = 409


class ImageUpload:
    """Snapshots of the instances of one host (see the module docstring)."""

    def __init__(self, instances_dir: Path | str = INSTANCES_DIR, qemu_img: QemuImg | None = None,
                 policy: SourcePolicy | None = None, timeout: float = 300.0):
        self.instances_dir = Path(instances_dir)
        self.qemu_img = qemu_img or compute_qemu_img()
        self.policy = policy or SourcePolicy()
        self.timeout = timeout

    def temp_path(self, uuid: str, image_id: str) -> Path:
        paths = InstancePaths.for_uuid(uuid, self.instances_dir)
        return paths.directory / f".snapshot-{safe_id(image_id, 'image id')}.qcow2"

    def disk(self, uuid: str) -> tuple[Path, image_format.ImageFacts]:
        """The instance's root disk and its header facts; ``NotFound`` when absent."""
        disk = InstancePaths.for_uuid(uuid, self.instances_dir).disk
        if not disk.is_file():
            raise NotFound(f"instance {uuid} has no root disk at {disk}; snapshot the server on "
                           "the host it runs on.")
        facts = image_format.inspect(disk)
        if facts.format not in image_format.SAFE_FORMATS or facts.data_file:
            raise UnsafeImage(f"root disk {disk} of instance {uuid} is {facts.format}"
                              f"{' with a data file' if facts.data_file else ''}; only qcow2 and raw "
                              "disks are snapshotted.")
        return disk, facts

    def ensure_uploaded(self, uuid: str, image_id: str, url: str, headers: dict | None = None, *,
                        check: bool = False) -> Outcome:
        safe_id(image_id, "image id")
        self.policy.check_url(str(url or ""))
        headers = check_headers(headers)
        disk, facts = self.disk(uuid)
        action = f"convert {disk} to a self-contained qcow2 and PUT it to {url}"
        wanted = {"id": image_id, "url": url, "disk": str(disk), "format": "qcow2",
                  "virtual_size": facts.virtual_size}
        if check:
            return Outcome(True, {}, wanted, [action])
        return convert_and_put(self.qemu_img, (disk, facts.qemu_format), self.temp_path(uuid, image_id),
                               "qcow2", url, headers, self.timeout, wanted, action)


def convert_and_put(qemu_img: QemuImg, source: tuple[Path | str, str], temp: Path, out_format: str,
                    url: str, headers: dict[str, str], timeout: float, wanted: dict,
                    action: str) -> Outcome:
    """Copy ``source`` (path, its format - given, never guessed) with ``qemu-img convert -U``
    into the private file ``temp`` in ``out_format``, PUT it to ``url`` and remove it
    whatever happened; the ``Outcome`` of the idempotence contract (a 409: not changed)."""
    path, src_format = source
    try:
        temp.unlink(missing_ok=True)  # a crashed run's leftover
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
        qemu_img.convert(path, temp, out_format, src_format=src_format, force_share=True)
        status, message, sent = put_file(temp, url, headers, timeout)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    if status == NOT_QUEUED:
        after = {**wanted, "uploaded": False, "status": status, "message": message}
        return Outcome(False, after, after, [])
    return Outcome(True, {}, {**wanted, **sent, "uploaded": True, "status": status,
                              "message": message}, [action])


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    return conn, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def put_file(path: Path, url: str, headers: dict[str, str], timeout: float) -> tuple[int, str, dict]:
    """PUT ``path`` to ``url`` in chunks; (status, the service's message, facts of what
    was sent: size, checksum (md5), os_hash_algo/os_hash_value (sha512)). A 2xx or a
    409 returns; any other answer raises ``UploadFailed``."""
    size = path.stat().st_size
    md5, sha512 = hashlib.md5(usedforsecurity=False), hashlib.sha512()
    conn, target = _connection(url, timeout)
    unsent: Exception | None = None
    try:
        try:
            conn.putrequest("PUT", target, skip_accept_encoding=True)
            conn.putheader("Content-Type", CONTENT_TYPE)
            conn.putheader("Content-Length", str(size))
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()
            with open(path, "rb") as src:
                while chunk := src.read(CHUNK):
                    conn.send(chunk)
                    md5.update(chunk)
                    sha512.update(chunk)
        except (OSError, http.client.HTTPException) as exc:
            if conn.sock is None:  # never connected
                raise UploadFailed(f"uploading the image data to {url} failed: {exc}") from exc
            unsent = exc  # the service may have answered (409, 413) and hung up early
        try:
            response = conn.getresponse()
            body = response.read(4096).decode("utf-8", "replace").strip()
        except (OSError, http.client.HTTPException) as exc:
            raise UploadFailed(f"uploading the image data to {url} failed: {unsent or exc}") from exc
    finally:
        conn.close()
    message = _message(body) or response.reason
    if response.status == NOT_QUEUED or (200 <= response.status < 300 and unsent is None):
        return response.status, message, {"size": size, "checksum": md5.hexdigest(),
                                          "os_hash_algo": "sha512", "os_hash_value": sha512.hexdigest()}
    raise UploadFailed(f"the image service refused the image data upload to {url}: HTTP "
                       f"{response.status} {message}")


def _message(body: str) -> str:
    """The message of an OpenStack error body (Glance's ``{"message": ...}`` or a
    ``{"<fault>": {"message": ...}}``), else the body's first line."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body.splitlines()[0][:300] if body else ""
    if isinstance(doc, dict):
        if isinstance(doc.get("message"), str):
            return doc["message"]
        for value in doc.values():
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"]
    return body[:300]
