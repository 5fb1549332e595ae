#!/usr/bin/python
# Copyright: Stratus developers
# Apache-2.0
"""stratus.cloud.image_cache: base images in a compute host's image cache."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: image_cache
short_description: Base images in a compute host's image cache
description:
  - Puts a base image into C(/var/lib/stratus/images/<image_id>) on a compute host (Nova's
    C(_base)), where M(stratus.cloud.instance) finds it for the qcow2 overlays of root disks.
  - The source is a local path under one of O(allowed_sources) or an HTTP(S) URL that
    starts with one of its URL prefixes; anything else (C(file://), other directories) is
    refused. A download needs O(checksum) or O(os_hash_value) and stops at O(max_size).
  - Its bytes are checked against Glance's checksums (O(checksum) = md5,
    O(os_hash_algo)/O(os_hash_value)), then its header is inspected in Python before
    C(qemu-img) reads it (Nova's format inspector) - a qcow2 with a backing file or an
    external data file, a format other than O(source_format), or a format this host does
    not take is refused - and only then is it converted with C(qemu-img convert -f
    <format>) to O(disk_format) and moved into place. A refused image leaves nothing behind.
  - The module knows which instance disks use an image (their qcow2 backing file), so
    O(state=absent) refuses an image in use unless O(force), and O(state=pruned) removes
    every image that no instance uses.
  - Work is done by C(ImageCache) in C(plugins/module_utils/compute/image_cache.py).
version_added: "0.1.0"
author: Stratus developers
options:
  image_id:
    description: The image id (Glance's). Required unless O(state=pruned).
    type: str
  source:
    description: Local path or http(s) URL of the image. Required for O(state=present).
    type: str
  disk_format:
    description: Format to keep the image in.
    type: str
    choices: [qcow2, raw]
    default: qcow2
  source_format:
    description:
      - The declared format of the source bytes (Glance's C(disk_format)); the image is
        refused when its header says otherwise. Defaults to O(disk_format).
      - Formats other than V(qcow2) and V(raw) are accepted only when listed in O(convert_formats).
    type: str
    choices: [qcow2, raw, vmdk, vhd, vhdx, vdi, iso]
  convert_formats:
    description: Formats besides qcow2 and raw that this host accepts and converts.
    type: list
    elements: str
    choices: [vmdk, vhd, vhdx, vdi, iso]
    default: []
  allowed_sources:
    description:
      - Directories (absolute paths) and URL prefixes (C(http(s)://host:port/path/)) images may
        come from. Sources inside O(images_dir) or O(instances_dir) are always refused.
      - Default, when not given, is C(image_allowed_sources) of C(/etc/stratus/compute.conf)
        (written by the compute role), else C(/var/lib/stratus/staging) and
        C(/var/cache/stratus/guest-image).
    type: list
    elements: str
  max_size:
    description:
      - Largest source in bytes; a bigger download is stopped. Default, when not given,
        C(image_max_size) of C(/etc/stratus/compute.conf), else 10 GiB.
    type: int
  checksum:
    description: Expected md5 of the source bytes (Glance's C(checksum)).
    type: str
  os_hash_algo:
    description: Algorithm of O(os_hash_value) (Glance's C(os_hash_algo)).
    type: str
    choices: [md5, sha1, sha256, sha512]
    default: sha512
  os_hash_value:
    description: Expected hash of the source bytes (Glance's C(os_hash_value)).
    type: str
  headers:
    description:
      - HTTP request headers sent with the download of an http(s) O(source), e.g. the
        image service's C(X-Image-Ticket). Sent again on a redirect only while it stays on
        the same scheme, host and port.
      - Names are HTTP tokens, values single lines. Values are secrets, never logged.
      - Refused with a local path O(source).
    type: dict
  state:
    description:
      - V(present) caches the image, V(absent) removes it, V(pruned) removes every cached
        image that no instance disk uses (except O(keep)).
    type: str
    choices: [present, absent, pruned]
    default: present
  force:
    description: Remove or replace an image even though instance disks use it.
    type: bool
    default: false
  keep:
    description: Image ids that O(state=pruned) keeps even when unused.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for an HTTP server.
    type: int
    default: 60
  images_dir:
    description: The image cache.
    type: path
    default: /var/lib/stratus/images
  instances_dir:
    description: Where instance directories are (to find users of an image).
    type: path
    default: /var/lib/stratus/instances
attributes:
  check_mode:
    support: full
    details: Says what would be fetched or removed; downloads nothing.
  diff_mode:
    support: full
    details: Before/after facts of the image (or the list of cached images when pruning).
notes:
  - The source is opened only after O(allowed_sources) allowed it; HTTP redirects are
    checked against the same list.
"""

EXAMPLES = r"""
- name: Cache an image from the image service
  stratus.cloud.image_cache:
    image_id: 0f3c6a5e-7c1b-4d8e-9a55-6d1c2e3f4a5b
    source: http://controller:9292/v2/images/0f3c6a5e-7c1b-4d8e-9a55-6d1c2e3f4a5b/file
    os_hash_algo: sha256
    os_hash_value: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    source_format: qcow2
    disk_format: qcow2
    allowed_sources:
      - http://controller:9292/v2/images/

- name: Remove images no instance uses
  stratus.cloud.image_cache:
    state: pruned
"""

RETURN = r"""
image:
  description: The cached image ({} when absent or pruning).
  returned: always
  type: dict
  contains:
    id: {description: Image id., type: str, returned: when present}
    path: {description: File in the cache., type: str, returned: when present}
    format: {description: qcow2 or raw., type: str, returned: when present}
    source_format: {description: The format the source had (its header)., type: str, returned: when present}
    virtual_size: {description: Virtual size in bytes., type: int, returned: when present}
    size: {description: File size in bytes., type: int, returned: when present}
    source: {description: Where it came from., type: str, returned: when present}
    hashes: {description: md5/sha256 (and the asked algorithm) of the source bytes., type: dict, returned: when present}
users:
  description: Instance disk files that use the image as backing file.
  returned: always
  type: list
  elements: str
removed:
  description: Image ids removed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
actions:
  description: What the run did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
diff:
  description: Before/after facts of the image (image ids when pruning).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    ComputeError,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.host import read_conf
from ansible_collections.stratus.cloud.plugins.module_utils.compute.image_cache import (
    Hashes,
    ImageCache,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.image_source import (
    SourcePolicy,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.qemu import module_qemu_img


def make_cache(module: AnsibleModule) -> ImageCache:
    p = module.params
    return ImageCache(
        p["images_dir"], p["instances_dir"],
        module_qemu_img(module),
        timeout=p["timeout"],
        policy=SourcePolicy.from_host(p["allowed_sources"], p["max_size"], read_conf()),
        convert_formats=tuple(p["convert_formats"]),
    )


def run(module: AnsibleModule) -> None:
    p = module.params
    cache = make_cache(module)
    check = module.check_mode
    if p["state"] == "pruned":
        outcome = cache.ensure_pruned(keep=tuple(p["keep"]), check=check)
        removed = [i for i in outcome.before["images"] if i not in outcome.after["images"]]
        return exit_with(module, outcome, removed=removed, users=[], image={})
    image_id = p["image_id"]
    if p["state"] == "absent":
        outcome = cache.ensure_absent(image_id, force=p["force"], check=check)
        return exit_with(module, outcome, removed=[image_id] if outcome.changed else [], users=[], image={})
    hashes = Hashes(checksum=p["checksum"] or "", os_hash_algo=p["os_hash_algo"],
                    os_hash_value=p["os_hash_value"] or "")
    outcome = cache.ensure_present(
        image_id, p["source"], p["disk_format"], hashes, source_format=p["source_format"] or "",
        force=p["force"], check=check, headers=p["headers"],
    )
    return exit_with(module, outcome, removed=[], image=outcome.after, users=cache.users(image_id))


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            image_id=dict(type="str"),
            source=dict(type="str"),
            disk_format=dict(type="str", default="qcow2", choices=["qcow2", "raw"]),
            source_format=dict(type="str", choices=["qcow2", "raw", "vmdk", "vhd", "vhdx", "vdi", "iso"]),
            convert_formats=dict(type="list", elements="str", default=[],
                                 choices=["vmdk", "vhd", "vhdx", "vdi", "iso"]),
            allowed_sources=dict(type="list", elements="str"),
            max_size=dict(type="int"),
            checksum=dict(type="str"),
            os_hash_algo=dict(type="str", default="sha512", choices=["md5", "sha1", "sha256", "sha512"]),
            os_hash_value=dict(type="str"),
            headers=dict(type="dict", no_log=True),
            state=dict(type="str", default="present", choices=["present", "absent", "pruned"]),
            force=dict(type="bool", default=False),
            keep=dict(type="list", elements="str", default=[]),
            timeout=dict(type="int", default=60),
            images_dir=dict(type="path", default="/var/lib/stratus/images"),
            instances_dir=dict(type="path", default="/var/lib/stratus/instances"),
        ),
        required_if=[("state", "present", ("image_id", "source")), ("state", "absent", ("image_id",))],
        supports_check_mode=True,
    )
    try:
        run(module)
    except ComputeError as exc:
        module.fail_json(msg=str(exc), error=type(exc).__name__)


if __name__ == "__main__":
    main()
