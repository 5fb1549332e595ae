"""What the signal and software tests share: a stack made through the Heat API
(``POST /stacks`` as heatclient sends it), a resource's attributes once recorded, and
Heat's ``curl_cli`` run as a guest would run it."""

from __future__ import annotations

import shlex
import subprocess
import time
import uuid
from typing import Any

from tests.api.orchestration.heat_helpers import API, stack_path


def create_stack(cloud, creds, template: dict[str, Any], prefix: str = "st", **body) -> tuple[str, str]:
    """(name, id) of a new stack (rollback off unless asked, so failures stay visible)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    body = {"stack_name": name, "template": template, "disable_rollback": True, **body}
    r = cloud.request("POST", f"{API}/{creds.project_id}/stacks", cloud.token(creds), json=body)
    assert r.status_code == 201, r.text
    return name, r.json()["stack"]["id"]


def resource(cloud, creds, name: str, stack_id: str, res: str) -> dict[str, Any]:
    r = cloud.request("GET", f"{stack_path(cloud, creds, name)}/{stack_id}/resources/{res}", cloud.token(creds))
    assert r.status_code == 200, r.text
    return r.json()["resource"]


def attributes(cloud, creds, name: str, stack_id: str, res: str, key: str, timeout: float = 60) -> dict:
    """The resource's attributes once ``key`` is among them."""
    deadline = time.monotonic() + timeout
    while True:
        attrs = resource(cloud, creds, name, stack_id, res).get("attributes") or {}
        if attrs.get(key) is not None or time.monotonic() > deadline:
            assert attrs.get(key) is not None, f"{res} has no attribute {key}: {attrs}"
            return attrs
        time.sleep(0.5)


def run_curl_cli(curl_cli: str, data: str) -> subprocess.CompletedProcess:
    """Heat's ``curl_cli`` with ``--data-binary DATA`` appended, as user_data runs it."""
    argv = [*shlex.split(curl_cli), "-sS", "--fail-with-body", "--data-binary", data]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30)


def signal(cloud, creds, name: str, stack_id: str, res: str, data: Any, token: str | None = None):
    """``openstack stack resource signal``: POST .../resources/<res>/signal."""
    return cloud.request("POST", f"{stack_path(cloud, creds, name)}/{stack_id}/resources/{res}/signal",
                         token or cloud.token(creds), json=data)


# The base of the signal URLs the session's controller hands guests (its
# ``orchestration_signal_url``: guests reach it through their network's metadata relay).
GUEST_BASE = "http://169.254.169.254"


def from_host(cloud, text: str) -> str:
    """A guest's signal URL (or curl_cli) as this host reaches the same controller."""
    return text.replace(GUEST_BASE, cloud.url)
