#!/usr/bin/python
"""stratus.cloud.stack_state: record a stack's realized resources in a local SQLite file."""

from __future__ import annotations

DOCUMENTATION = r"""
module: stack_state
short_description: Record what a compiled stack realized in its offline state file
description:
  - C(stratus compile) writes playbooks that run without the controller. Their last play
    records, with this module, the stack's resources (id, type, hosts, the properties they
    were compiled with, the attributes they realized) and outputs in a SQLite file, so that
    the next C(stratus compile) of the same stack keeps the resources' ids and values and
    updates or deletes instead of making them again.
  - With O(state=present) the file holds exactly the given record for O(stack) afterwards
    (resources not given are forgotten); the same record twice changes nothing.
  - The file and its folder are made when missing, the file with mode C(0600) since it may hold generated
    secrets such as C(OS::Heat::RandomString) values.
version_added: "0.1.0"
author: Stratus
options:
  path:
    description: The state file.
    type: path
    required: true
  stack:
    description: The stack's name (one file may hold many stacks).
    type: str
    required: true
  resources:
    description:
      - The stack's resources by name, each a mapping with C(id), C(type), C(position) (its
        place in dependency order), C(hosts), C(properties) and C(attributes).
    type: dict
    default: {}
  outputs:
    description: The stack's outputs by name.
    type: dict
    default: {}
  state:
    description: C(present) records the stack; C(absent) forgets it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Record the stack web
  stratus.cloud.stack_state:
    path: /srv/templates/.stratus/web.sqlite
    stack: web
    resources:
      password:
        id: 0b5c8a4e-2d55-4a53-9a3e-0f8c9e0c1a11
        type: OS::Heat::RandomString
        position: 0
        hosts: [controller]
        properties: {length: 16}
        attributes: {value: Zq3Vt9xWm2Lp8rKd}
    outputs:
      password: Zq3Vt9xWm2Lp8rKd

- name: Forget the stack web
  stratus.cloud.stack_state:
    path: /srv/templates/.stratus/web.sqlite
    stack: web
    state: absent
"""

RETURN = r"""
ids:
  description: The ids of the stack's resources by name after the task.
  returned: always
  type: dict
diff:
  description: The stack's record before and after.
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
from ansible_collections.stratus.cloud.plugins.module_utils.common.stack_state import (
    StackStateError,
    ensure_absent,
    ensure_present,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "stack": {"type": "str", "required": True},
            "resources": {"type": "dict", "default": {}},
            "outputs": {"type": "dict", "default": {}},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        if p["state"] == "absent":
            changed, before, after, actions = ensure_absent(p["path"], p["stack"], check=module.check_mode)
        else:
            changed, before, after, actions = ensure_present(
                p["path"], p["stack"], {"resources": p["resources"], "outputs": p["outputs"]},
                check=module.check_mode)
    except StackStateError as exc:
        module.fail_json(msg=str(exc), path=p["path"], stack=p["stack"])
    ids = {name: r["id"] for name, r in (after.get("resources") or {}).items()}
    exit_with(module, Outcome(changed, before, after, actions), ids=ids)


if __name__ == "__main__":
    main()
