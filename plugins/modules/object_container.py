#!/usr/bin/python
# Copyright: Stratus developers
# Apache-2.0
"""stratus.cloud.object_container: a Swift container with its metadata, ACLs and versioning."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: object_container
short_description: Create, update and delete a Swift container
description:
  - Makes container O(name) of a Swift account exist with the given metadata, ACLs and
    versioning location, or removes it (O(state=absent)), through the Swift API (C(HEAD),
    C(PUT), C(POST), C(DELETE) on C(<storage_url>/<name>)).
  - Only what is given is compared and changed - an option left out keeps the container's
    value; an empty string removes a setting.
  - The account is reached with a Keystone login (O(auth)) or a token with O(storage_url).
  - Swift's own refusals (a name too long, a container that is not empty, a missing right)
    fail the task with Swift's status and answer.
  - Work is done by C(Containers) in C(plugins/module_utils/object_store/containers.py).
version_added: "0.1.0"
author: Stratus developers
options:
  name:
    description:
      - The container's name (unicode is fine; C(/) is not, Swift reads it as a separator).
    type: str
    required: true
    aliases: [container]
  state:
    description: Whether the container exists.
    type: str
    choices: [present, absent]
    default: present
  metadata:
    description:
      - Container metadata (C(X-Container-Meta-<key>)). Keys are case-insensitive and
        reported in lower case; values are text.
      - Keys given are set; the container's other keys are kept unless O(purge_metadata).
    type: dict
  purge_metadata:
    description: Remove the container's metadata keys that O(metadata) does not list.
    type: bool
    default: false
  read_acl:
    description:
      - The container's read ACL (C(X-Container-Read)), e.g. C(.r:*,.rlistings) for a
        public container or C(<project id>:<user id>). C("") removes it.
    type: str
    aliases: [read_ACL]
  write_acl:
    description: The container's write ACL (C(X-Container-Write)); C("") removes it.
    type: str
    aliases: [write_ACL]
  versions_location:
    description:
      - Keep old versions of overwritten objects in this container (C(X-Versions-Location),
        stack mode); C("") stops it. Setting it removes O(history_location).
    type: str
  history_location:
    description:
      - Keep old versions of overwritten and deleted objects in this container
        (C(X-History-Location), history mode); C("") stops it. Setting it removes
        O(versions_location).
    type: str
  delete_objects:
    description:
      - With O(state=absent), delete the container's objects first (a static large object
        with its segments). Without it, a container that holds objects is not deleted and
        the task fails with Swift's C(409 Conflict).
    type: bool
    default: false
    aliases: [delete_with_all_objects]
extends_documentation_fragment:
  - stratus.cloud.object_store
attributes:
  check_mode:
    support: full
    details: Asks Swift what the container is now and reports what would change; writes nothing.
  diff_mode:
    support: full
    details: Before and after are the container's facts (RV(container)).
notes:
  - Swift gives object counts and bytes used as its container listing knows them; they can
    lag behind a write by a moment.
  - The options of the C(openstack.cloud.object_container) module (C(read_ACL), C(write_ACL),
    C(delete_with_all_objects)) are accepted as aliases.
"""

EXAMPLES = r"""
- name: A container with metadata, readable by everyone
  stratus.cloud.object_container:
    auth:
      auth_url: http://controller:8700/identity
      username: demo
      password: "{{ demo_password }}"
      project_name: demo
    name: backups
    metadata:
      owner: ops
    read_acl: ".r:*,.rlistings"

- name: The same with a token on another project's account (a ResellerAdmin service token)
  stratus.cloud.object_container:
    token: "{{ service_token }}"
    storage_url: "http://controller:8080/v1/AUTH_{{ project_id }}"
    name: backups
    versions_location: backups_versions

- name: Gone, with everything in it
  stratus.cloud.object_container:
    auth: "{{ demo_auth }}"
    name: backups
    state: absent
    delete_objects: true
"""

RETURN = r"""
container:
  description: The container's facts after the run (C({}) when absent); in check mode, what they would be.
  returned: always
  type: dict
  contains:
    name: {description: The container's name., type: str, returned: when present}
    object_count: {description: Objects in it (C(X-Container-Object-Count))., type: int, returned: when present}
    bytes_used: {description: Bytes stored in it (C(X-Container-Bytes-Used))., type: int, returned: when present}
    metadata: {description: Its metadata (keys in lower case)., type: dict, returned: when present}
    read_acl: {description: C(X-Container-Read) (C("") when unset)., type: str, returned: when present}
    write_acl: {description: C(X-Container-Write) (C("") when unset)., type: str, returned: when present}
    versions_location: {description: C(X-Versions-Location) (C("") when unset)., type: str, returned: when present}
    history_location: {description: C(X-History-Location) (C("") when unset)., type: str, returned: when present}
    storage_policy: {description: The container's storage policy., type: str, returned: when present}
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
  description: Before and after (the container facts).
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
from ansible_collections.stratus.cloud.plugins.module_utils.object_store.containers import (
    Containers,
)


def run(module: AnsibleModule) -> None:
    p = module.params
    client = connect(p)
    containers = Containers(client)
    if p["state"] == "absent":
        outcome = containers.ensure_absent(p["name"], delete_objects=p["delete_objects"],
                                           check=module.check_mode)
    else:
        outcome = containers.ensure_present(
            p["name"], metadata=p["metadata"], purge_metadata=p["purge_metadata"],
            read_acl=p["read_acl"], write_acl=p["write_acl"],
            versions_location=p["versions_location"], history_location=p["history_location"],
            check=module.check_mode)
    exit_with(module, outcome, container=outcome.after, storage_url=client.storage_url)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True, aliases=["container"]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            metadata=dict(type="dict"),
            purge_metadata=dict(type="bool", default=False),
            read_acl=dict(type="str", aliases=["read_ACL"]),
            write_acl=dict(type="str", aliases=["write_ACL"]),
            versions_location=dict(type="str"),
            history_location=dict(type="str"),
            delete_objects=dict(type="bool", default=False, aliases=["delete_with_all_objects"]),
            **OBJECT_STORE_ARGS,
        ),
        supports_check_mode=True,
        **OBJECT_STORE_RULES,
    )
    try:
        run(module)
    except SwiftError as exc:
        module.fail_json(msg=str(exc), **error_facts(exc))


if __name__ == "__main__":
    main()
