#!/usr/bin/python
# Copyright: Stratus developers
# Apache-2.0
"""stratus.cloud.signal_wait: wait until a stack resource's signals say it is done."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: signal_wait
short_description: Wait for the signals of a Stratus stack resource (a WaitCondition, a deployment)
description:
  - Reads the resource's wait state from the controller (C(GET <url>) with the resource's
    wait ticket in C(X-Auth-Token)) every O(interval) seconds until the controller says
    C(SUCCESS) or C(FAILURE), or O(timeout) seconds passed.
  - The controller decides from the signals it recorded (a WaitCondition's C(count)
    SUCCESS signals of its handle; a deployment's reported status) and words the reasons
    as Heat does; this module only waits and reports them.
  - Fails with the controller's reason on C(FAILURE), with its timeout reason on timeout.
version_added: "0.1.0"
author: Stratus developers
options:
  url:
    description: The resource's wait-state URL on the controller.
    type: str
    required: true
  ticket:
    description: The resource's wait ticket.
    type: str
    required: true
    no_log: true
  timeout:
    description: Seconds to wait at most.
    type: float
    default: 3600
  interval:
    description: Seconds between two reads.
    type: float
    default: 1
attributes:
  check_mode:
    support: full
    details: Reads the state once and reports it without waiting.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Wait for the stack's wait condition
  stratus.cloud.signal_wait:
    url: http://controller:8774/orchestration/v1/PROJECT/signals/RESOURCE_ID
    ticket: "{{ wait_ticket }}"
    timeout: 600
"""

RETURN = r"""
status:
  description: SUCCESS (or WAITING in check mode).
  returned: always
  type: str
attributes:
  description: The attributes the resource gets from its signals (a WaitCondition's C(data)).
  returned: always
  type: dict
"""

import json  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

WAITING = "WAITING"


def read_state(url: str, ticket: str) -> dict:
    """The controller's answer; raises urllib errors."""
    req = urllib.request.Request(url, headers={"X-Auth-Token": ticket, "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - the controller's URL
        return json.loads(resp.read().decode() or "{}")


def wait(url: str, ticket: str, timeout: float, interval: float, once: bool = False) -> tuple[dict, str]:
    """(last state, error): error is '' when the state is final or ``once``."""
    deadline = time.monotonic() + timeout
    state: dict = {"status": WAITING}
    last_error = ""
    while True:
        try:
            state = read_state(url, ticket)
            last_error = ""
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")
            if exc.code in (400, 401, 403, 404):
                return state, f"the controller refused the wait-state read ({exc.code}): {body}"
            last_error = f"the controller answered {exc.code}: {body}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            last_error = f"cannot read the wait state at {url}: {exc}"
        if once or state.get("status", WAITING) != WAITING:
            return state, ""
        if time.monotonic() >= deadline:
            return state, state.get("timeout_reason") or last_error or f"timed out after {timeout:g}s"
        time.sleep(interval)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "ticket": {"type": "str", "required": True, "no_log": True},
            "timeout": {"type": "float", "default": 3600},
            "interval": {"type": "float", "default": 1},
        },
        supports_check_mode=True,
    )
    p = module.params
    state, error = wait(p["url"], p["ticket"], p["timeout"], p["interval"], once=module.check_mode)
    status = state.get("status", WAITING)
    if error:
        module.fail_json(msg=error, status=status, attributes=state.get("attributes") or {})
    if status != "SUCCESS" and not module.check_mode:
        module.fail_json(msg=state.get("reason") or f"the resource's signals say {status}", status=status,
                         attributes=state.get("attributes") or {})
    module.exit_json(changed=status == "SUCCESS", status=status, attributes=state.get("attributes") or {})


if __name__ == "__main__":
    main()
