#!/usr/bin/python
# Copyright: Stratus developers
# Apache-2.0
"""stratus.cloud.image_upload: an instance's root disk (a snapshot) or a volume uploaded as an image."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_upload
short_description: Upload an instance's root disk or a volume to the image service as an image
description:
  - Sends the root disk of instance O(uuid) (C(<instances_dir>/<uuid>/disk)) to the image
    service as the data of image O(image_id) - a server snapshot (Nova's C(createImage)) -
    or, with O(volume_id), the data of that volume on this storage host (Cinder's
    C(os-volume_upload_image)).
  - An instance disk is copied with C(qemu-img convert -O qcow2) into a temporary file in the
    instance's own directory, reading through its backing file (the cached base image),
    so the image is a self-contained qcow2.
  - A volume is found by id on the backend the storage options name (O(backend) or
    O(volume_type); a file C(volume-<id>) in O(directory) or an LV C(volume-<id>) in O(vg)),
    so nothing outside the backend can be named. It is copied with
    C(qemu-img convert -f <the format the backend recorded> -O <disk_format>) into
    C(<directory>/.upload-<image_id>.<disk_format>) (O(directory) also on LVM hosts). An LV
    is read only with device-mapper (O(lvm_activation)); a host without it refuses.
  - The copy is sent with HTTP C(PUT) to O(url) as
    C(application/octet-stream), streamed in chunks, with O(headers) (the upload ticket);
    the temporary file is removed afterwards, also when the upload failed.
  - O(url) must start with one of O(allowed_sources)' URL prefixes, the same list the
    image cache (M(stratus.cloud.image_cache)) downloads from, so a tenant's disk goes only
    to the image service. Redirects are not followed.
  - A running guest's disk is read as it is at that moment (crash-consistent); stop the
    server first for a clean image.
  - Work is done by C(ImageUpload) in C(plugins/module_utils/compute/image_upload.py) and
    C(VolumeUpload) in C(plugins/module_utils/storage/upload.py).
version_added: "0.1.0"
author: Stratus developers
options:
  uuid:
    description:
      - The instance (server) id whose root disk is uploaded.
      - Exactly one of O(uuid) and O(volume_id) is given.
    type: str
  volume_id:
    description:
      - The volume whose data is uploaded, on the backend the storage options describe.
    type: str
  disk_format:
    description:
      - The format of the uploaded data (the image's C(disk_format)).
      - Default C(qcow2) for an instance (the only choice there), C(raw) for a volume.
    type: str
    choices: [raw, qcow2]
  image_id:
    description:
      - The image the data is for; the image service created it (status C(queued)).
      - Names the temporary file and the result; O(url) is where the data goes.
    type: str
    required: true
  url:
    description: The image's data URL, C(<image service>/images/<image_id>/file).
    type: str
    required: true
  headers:
    description:
      - HTTP request headers sent with the upload, e.g. C(X-Image-Ticket). Names are HTTP
        tokens, values single lines. Values are secrets, never logged.
    type: dict
  allowed_sources:
    description:
      - URL prefixes (C(http://host:port/path/) or C(https://...)) of the image service that O(url) must
        start with. Default, when not given, is C(image_allowed_sources) of
        C(/etc/stratus/compute.conf) (written by the compute role), the list the image
        cache uses.
    type: list
    elements: str
  timeout:
    description: Seconds to wait for the image service at each step.
    type: int
    default: 300
  instances_dir:
    description: Where instance directories are.
    type: path
    default: /var/lib/stratus/instances
extends_documentation_fragment:
  - stratus.cloud.storage_backend
attributes:
  check_mode:
    support: full
    details: Says what would be uploaded; converts and sends nothing.
  diff_mode:
    support: full
    details: Before is empty, after the facts of the uploaded image.
notes:
  - The idempotence contract. The image service takes data only for a C(queued) image. A
    2xx answer means this run uploaded (C(changed)). An answer C(409 Conflict) means the
    image is no longer queued - its data came with an earlier run of the same job - so
    the run reports ok, not changed, with RV(image.uploaded=false) and the service's
    message. Any other answer fails with the HTTP status and message.
  - The disk is converted before the image service is asked, so a run that ends in a 409
    still spent the time of the copy.
  - The storage options (O(backend), O(directory), O(vg), ...) matter only with O(volume_id);
    O(volume_clear) and O(volume_clear_size) are not used.
"""

EXAMPLES = r"""
- name: Snapshot a server into the image the controller created
  stratus.cloud.image_upload:
    uuid: 6b8e3f0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b
    image_id: 0f3c6a5e-7c1b-4d8e-9a55-6d1c2e3f4a5b
    url: http://controller:8700/image/v2/images/0f3c6a5e-7c1b-4d8e-9a55-6d1c2e3f4a5b/file
    allowed_sources:
      - http://controller:8700/image/v2/images/
    headers:
      X-Image-Ticket: "{{ upload_ticket }}"

- name: Upload a volume of the file backend as a raw image (os-volume_upload_image)
  stratus.cloud.image_upload:
    volume_id: 2a7d0c4e-9f1b-4c3a-8e5d-6b7a8c9d0e1f
    backend: file
    directory: /var/lib/stratus/volumes
    disk_format: raw
    image_id: 0f3c6a5e-7c1b-4d8e-9a55-6d1c2e3f4a5b
    url: http://controller:8700/image/v2/images/0f3c6a5e-7c1b-4d8e-9a55-6d1c2e3f4a5b/file
    allowed_sources:
      - http://controller:8700/image/v2/images/
    headers:
      X-Image-Ticket: "{{ upload_ticket }}"
"""

RETURN = r"""
image:
  description: What was (or, in check mode, would be) uploaded.
  returned: always
  type: dict
  contains:
    id: {description: The image id., type: str, returned: always}
    url: {description: Where the data went., type: str, returned: always}
    disk: {description: The instance disk or volume (file or LV) that was copied., type: str, returned: always}
    volume_id: {description: The volume uploaded., type: str, returned: with volume_id}
    format: {description: The uploaded data's format (O(disk_format))., type: str, returned: always}
    virtual_size: {description: Virtual size of the disk in bytes., type: int, returned: always}
    uploaded: {description: True when this run's data was taken., type: bool, returned: not in check mode}
    status: {description: The HTTP status of the image service's answer., type: int, returned: not in check mode}
    message: {description: The image service's message (why a 409)., type: str, returned: not in check mode}
    size: {description: Bytes sent., type: int, returned: when uploaded}
    checksum: {description: md5 of the bytes sent (Glance's C(checksum))., type: str, returned: when uploaded}
    os_hash_algo: {description: sha512., type: str, returned: when uploaded}
    os_hash_value: {description: sha512 of the bytes sent., type: str, returned: when uploaded}
actions:
  description: What the run did (or would do in check mode).
  returned: always
  type: list
  elements: str
diff:
  description: Before ({}) and after (the image facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    ComputeError,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.host import read_conf
from ansible_collections.stratus.cloud.plugins.module_utils.compute.image_source import (
    SourcePolicy,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.image_upload import (
    ImageUpload,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.qemu import module_qemu_img
from ansible_collections.stratus.cloud.plugins.module_utils.storage.backends import (
    BACKEND_ARGS,
    open_backend,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import StorageError
from ansible_collections.stratus.cloud.plugins.module_utils.storage.upload import (
    DISK_FORMATS,
    VolumeUpload,
)


def run(module: AnsibleModule) -> None:
    p = module.params
    policy = SourcePolicy.from_host(p["allowed_sources"], None, read_conf())
    if p["volume_id"]:
        uploader = VolumeUpload(open_backend(p), p["directory"], policy=policy, timeout=p["timeout"])
        outcome = uploader.ensure_uploaded(p["volume_id"], p["image_id"], p["url"], p["headers"],
                                           p["disk_format"] or "raw", check=module.check_mode)
    else:
        if p["disk_format"] not in (None, "qcow2"):
            module.fail_json(msg=f"an instance snapshot is always qcow2; disk_format {p['disk_format']} "
                                 "applies to volume_id uploads only")
        uploader = ImageUpload(p["instances_dir"], module_qemu_img(module), policy=policy,
                               timeout=p["timeout"])
        outcome = uploader.ensure_uploaded(p["uuid"], p["image_id"], p["url"], p["headers"],
                                           check=module.check_mode)
    exit_with(module, outcome, image=outcome.after)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            uuid=dict(type="str"),
            volume_id=dict(type="str"),
            disk_format=dict(type="str", choices=list(DISK_FORMATS)),
            image_id=dict(type="str", required=True),
            url=dict(type="str", required=True),
            headers=dict(type="dict", no_log=True),
            allowed_sources=dict(type="list", elements="str"),
            timeout=dict(type="int", default=300),
            instances_dir=dict(type="path", default="/var/lib/stratus/instances"),
            **BACKEND_ARGS,
        ),
        mutually_exclusive=[("uuid", "volume_id")],
        required_one_of=[("uuid", "volume_id")],
        supports_check_mode=True,
    )
    try:
        run(module)
    except (ComputeError, StorageError) as exc:
        module.fail_json(msg=str(exc), error=type(exc).__name__)


if __name__ == "__main__":
    main()
