#!/usr/bin/python
"""stratus.cloud.key_repository: read a key repository, or make it hold given keys."""

from __future__ import annotations

DOCUMENTATION = r"""
module: key_repository
short_description: Read a Fernet or credential key repository, or make it hold exactly given keys
description:
  - A key repository is a directory of keys in files named by integers (C(0) the staged key, the
    highest the primary), as keystone-manage and C(stratus token) keep them.
  - Without O(key_files), reads the repository and returns its keys (use C(no_log) on the task).
  - With O(key_files), writes the keys that differ (mode C(0600), atomically), then removes the keys
    not given, so that the repository (mode C(0700)) holds exactly them. Writing first keeps every
    key a live token may need until it is no longer wanted.
version_added: "0.1.0"
author: Stratus
options:
  path:
    description: The repository's directory.
    type: path
    required: true
  key_files:
    description:
      - The keys the repository must hold, by file name (an integer as a string).
      - Omit it to read the repository.
    type: dict
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Read the first controller's Fernet keys
  stratus.cloud.key_repository:
    path: /etc/stratus/fernet-keys
  register: fernet
  no_log: true

- name: Give another controller the same keys
  stratus.cloud.key_repository:
    path: /etc/stratus/fernet-keys
    key_files: "{{ fernet.key_files }}"
  no_log: true
"""

RETURN = r"""
key_files:
  description: The repository's keys by file name (secrets); C({}) when it does not exist.
  returned: when O(key_files) is omitted
  type: dict
exists:
  description: Whether the repository exists (after the task).
  returned: always
  type: bool
names:
  description: The file names of the keys it holds after the task, in order.
  returned: always
  type: list
  elements: str
diff:
  description: Key names with a short SHA-256 fingerprint before and after (never the keys).
  returned: always
  type: dict
actions:
  description: The steps taken (in check mode, the steps that would be taken), in order.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome, exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.identity.key_repository import (
    KeyRepositoryError,
    ensure,
    facts,
    read,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={"path": {"type": "path", "required": True},
                       "key_files": {"type": "dict", "no_log": True}},
        supports_check_mode=True,
    )
    path, wanted = module.params["path"], module.params["key_files"]
    try:
        if wanted is None:
            keys = read(path)
            now = facts(keys)
            exit_with(module, Outcome(False, now, now), key_files=keys, exists=bool(keys) or _isdir(path),
                      names=sorted(keys, key=int))
        outcome = ensure(path, {str(k): str(v) for k, v in wanted.items()}, check=module.check_mode)
    except KeyRepositoryError as exc:
        module.fail_json(msg=str(exc), path=path)
    exit_with(module, outcome, exists=True, names=sorted(outcome.after, key=int))


def _isdir(path: str) -> bool:
    import os

    return os.path.isdir(path)


if __name__ == "__main__":
    main()
