#!/usr/bin/python
# Copyright: Stratus developers
# Apache-2.0
"""stratus.cloud.object: a Swift object uploaded, downloaded, its metadata set, or deleted."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: object
short_description: Upload, download, update and delete a Swift object
description:
  - Makes object O(name) in O(container) hold the data of file O(src) or of O(content),
    with the given O(metadata) and O(content_type); or writes the object into file O(dest)
    on this host; or removes it (O(state=absent)). Through the Swift API.
  - An upload is idempotent by ETag - the local md5 (or, for a static large object, the md5
    of the segments' md5s) and size are compared with Swift's; equal data is not sent again.
  - Data bigger than O(segment_size) is uploaded as a static large object (SLO), the way
    C(swift upload --use-slo --segment-size) does - segments
    C(<name>/slo/<mtime>/<size>/<segment_size>/<index>) in O(segment_container), then the
    manifest. A new upload removes the old upload's segments; O(state=absent) deletes an SLO
    with its segments.
  - A download writes O(dest) only when it differs from the object (md5 against the ETag, or
    segment by segment against an SLO's manifest), through a temporary file renamed over it.
  - Names are sent as Swift clients send them (UTF-8, percent-quoted, C(/) kept), so unicode and
    names like C(a//b) round-trip. Swift's own refusals (an unknown container - C(404), a name
    longer than 1024 bytes - C(400)) fail the task with Swift's status and answer.
  - Work is done by C(Objects) in C(plugins/module_utils/object_store/objects.py).
version_added: "0.1.0"
author: Stratus developers
options:
  container:
    description: The container that holds the object; it must exist (M(stratus.cloud.object_container)).
    type: str
    required: true
  name:
    description: The object's name.
    type: str
    required: true
  state:
    description: Whether the object exists.
    type: str
    choices: [present, absent]
    default: present
  src:
    description: A file on this host to upload.
    type: path
    aliases: [filename]
  content:
    description: Text to upload (as UTF-8) instead of a file.
    type: str
    aliases: [data]
  dest:
    description:
      - A file on this host to write the object into (its directory must exist; an existing
        file keeps its mode).
      - Without O(src) and O(content), the object must exist.
    type: path
  metadata:
    description:
      - Object metadata (C(X-Object-Meta-<key>)). Keys are case-insensitive and reported in
        lower case; values are text.
      - Keys given are set; the object's other keys are kept unless O(purge_metadata). When
        not given, the metadata is kept as it is, also across a new upload.
    type: dict
  purge_metadata:
    description: Remove the object's metadata keys that O(metadata) does not list.
    type: bool
    default: false
  content_type:
    description:
      - The object's C(Content-Type). When not given, a new object gets Swift's guess from
        its name and an existing one keeps its own.
    type: str
  segment_size:
    description:
      - Upload data bigger than this many bytes as a static large object of segments of this
        size. Not given - one plain object (Swift refuses objects over its C(max_file_size),
        5 GiB by default).
    type: int
  segment_container:
    description: Where the segments go; default C(<container>_segments), made when missing.
    type: str
extends_documentation_fragment:
  - stratus.cloud.object_store
attributes:
  check_mode:
    support: full
    details: Reads the local data and asks Swift what the object is; uploads, downloads and deletes nothing.
  diff_mode:
    support: full
    details: Before and after are the object's facts (RV(object)), its data as etag and size.
notes:
  - O(src), O(content) and O(dest) exclude each other.
  - The options of C(openstack.cloud.object) (C(filename), C(data)) are accepted as aliases.
  - An SLO built from ranges or nested SLOs by other tools is never equal to a local file by
    this module's check, so a download of one always writes O(dest).
"""

EXAMPLES = r"""
- name: Upload a file as an SLO of 100 MiB segments
  stratus.cloud.object:
    auth:
      auth_url: http://controller:8700/identity
      username: demo
      password: "{{ demo_password }}"
      project_name: demo
    container: backups
    name: db/2026-12-03.tar.gz
    src: /var/backups/db.tar.gz
    segment_size: 104857600
    metadata:
      kind: database

- name: A small object from text
  stratus.cloud.object:
    auth: "{{ demo_auth }}"
    container: backups
    name: README
    content: "Nightly backups of the database.\n"
    content_type: text/plain

- name: Download it
  stratus.cloud.object:
    auth: "{{ demo_auth }}"
    container: backups
    name: db/2026-12-03.tar.gz
    dest: /tmp/db.tar.gz

- name: Delete it (and its segments)
  stratus.cloud.object:
    auth: "{{ demo_auth }}"
    container: backups
    name: db/2026-12-03.tar.gz
    state: absent
"""

RETURN = r"""
object:
  description: The object's facts after the run (C({}) when absent); in check mode, what they would be.
  returned: always
  type: dict
  contains:
    name: {description: The object's name., type: str, returned: when present}
    container: {description: Its container., type: str, returned: when present}
    etag: {description: "Its ETag: the md5 of its data, or for an SLO the md5 of its segments' md5s.", type: str, returned: when present}
    size: {description: Its size in bytes., type: int, returned: when present}
    content_type: {description: Its Content-Type., type: str, returned: when present}
    metadata: {description: Its metadata (keys in lower case)., type: dict, returned: when present}
    large_object: {description: Whether it is a static large object., type: bool, returned: when present}
    last_modified: {description: Swift's Last-Modified (in check mode, the old value)., type: str, returned: when present}
storage_url:
  description: The account URL the module worked on.
  returned: always
  type: str
actions:
  description: What the run did (or would do in check mode).
  returned: always
  type: list
  elements: str
diff:
  description: Before and after (the object facts).
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.object_store.auth import (
    OBJECT_STORE_ARGS,
    OBJECT_STORE_RULES,
    connect,
)
from ansible_collections.stratus.cloud.plugins.module_utils.object_store.client import (
    SwiftError,
    error_facts,
)
from ansible_collections.stratus.cloud.plugins.module_utils.object_store.objects import (
    Objects,
    Source,
)


def run(module: AnsibleModule) -> None:
    p = module.params
    client = connect(p)
    objects = Objects(client)
    if p["state"] == "absent":
        outcome = objects.ensure_absent(p["container"], p["name"], check=module.check_mode)
    else:
        source = None
        if p["src"] is not None:
            source = Source(path=p["src"])
        elif p["content"] is not None:
            source = Source(content=p["content"].encode("utf-8"))
        outcome = objects.ensure_present(
            p["container"], p["name"], source=source, dest=p["dest"], metadata=p["metadata"],
            purge_metadata=p["purge_metadata"], content_type=p["content_type"],
            segment_size=p["segment_size"], segment_container=p["segment_container"],
            check=module.check_mode)
    exit_with(module, outcome, object=outcome.after, storage_url=client.storage_url)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            container=dict(type="str", required=True),
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            src=dict(type="path", aliases=["filename"]),
            content=dict(type="str", aliases=["data"]),
            dest=dict(type="path"),
            metadata=dict(type="dict"),
            purge_metadata=dict(type="bool", default=False),
            content_type=dict(type="str"),
            segment_size=dict(type="int"),
            segment_container=dict(type="str"),
            **OBJECT_STORE_ARGS,
        ),
        supports_check_mode=True,
        mutually_exclusive=[("src", "content", "dest"), *OBJECT_STORE_RULES["mutually_exclusive"]],
        required_one_of=OBJECT_STORE_RULES["required_one_of"],
        required_by=OBJECT_STORE_RULES["required_by"],
    )
    try:
        run(module)
    except SwiftError as exc:
        module.fail_json(msg=str(exc), **error_facts(exc))


if __name__ == "__main__":
    main()
