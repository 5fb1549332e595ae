"""A volume's data sent to the image service as an image (Cinder's
``os-volume_upload_image``).

``VolumeUpload(backend, policy, timeout).ensure_uploaded(volume_id, image_id, url,
headers, disk_format, check=...)``:

1. ``url`` must start with one of the allowed URL prefixes (the image cache's
   ``SourcePolicy``), ``headers`` (the upload ticket) are checked and never recorded -
   the same rules as an instance snapshot (``compute.image_upload``).
2. The volume is looked up by id on its backend (a file in the backend's directory or
   an LV in its VG; nothing outside them can be named). An LV's data can only be read
   with device-mapper (``lvm_activation``), so a host without it refuses.
3. ``qemu-img convert -U -f <the volume's recorded format> -O <disk_format>`` into
   ``<directory>/.upload-<image_id>.<disk_format>`` (``0600``; the backend directory
   O(directory), also on LVM hosts): the format is the one the backend recorded, never
   guessed from the data, so a tenant's raw volume that holds a qcow2 header is sent as
   the bytes it holds.
4. PUT, the idempotence contract (a 409: the image has its data already, not changed)
   and the removal of the copy are ``compute.image_upload.convert_and_put``'s.
"""

from __future__ import annotations

import os
from pathlib import Path

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate
from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.compute.image_source import (
    SourcePolicy,
    check_headers,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.image_upload import (
    convert_and_put,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InvalidRequest,
    NotFound,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import check_id

DISK_FORMATS = ("raw", "qcow2")


class VolumeUpload:
    """Uploads of the volumes of one backend (``backends.open_backend``); copies are made
    in ``work_dir`` (the file backend's directory)."""

    def __init__(self, backend, work_dir: str, policy: SourcePolicy | None = None,
                 timeout: float = 300.0) -> None:
        self.backend = backend
        self.work_dir = work_dir
        self.policy = policy or SourcePolicy()
        self.timeout = timeout

    def temp_path(self, image_id: str, disk_format: str) -> Path:
        if not os.path.isdir(self.work_dir):
            raise NotFound(f"directory {self.work_dir!r} for the copy of the volume does not exist; "
                           "create it (roles/block_storage) or set 'directory' to an existing one")
        name = f".upload-{check_id(image_id, 'image id')}.{disk_format}"
        return validate.path_under(self.work_dir, name, what="upload copy", error=InvalidRequest)

    def ensure_uploaded(self, volume_id: str, image_id: str, url: str, headers: dict | None = None,
                        disk_format: str = "raw", *, check: bool = False) -> Outcome:
        check_id(image_id, "image id")
        if disk_format not in DISK_FORMATS:
            raise InvalidRequest(f"disk_format {disk_format!r} is not one of {', '.join(DISK_FORMATS)}")
        self.policy.check_url(str(url or ""))
        headers = check_headers(headers)
        volume = self.backend.get_volume(check_id(volume_id, "volume id"))
        if volume is None:
            raise NotFound(f"volume {volume_id} does not exist on the {self.backend.name} backend of "
                           "this host; upload it from the storage host that holds it")
        if self.backend.driver == "lvm":
            self.backend._need_activation("uploading a volume's data")
        temp = self.temp_path(image_id, disk_format)
        action = f"convert volume {volume.id} ({volume.format}) to {disk_format} and PUT it to {url}"
        wanted = {"id": image_id, "url": url, "disk": volume.path, "volume_id": volume.id,
                  "format": disk_format, "virtual_size": volume.size}
        if check:
            return Outcome(True, {}, wanted, [action])
        return convert_and_put(self.backend.qemu_img, (volume.path, volume.format), temp, disk_format,
                               url, headers, self.timeout, wanted, action)
