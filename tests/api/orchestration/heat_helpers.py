"""What the orchestration tests share: the session's controller (:func:`start_heat_cloud`),
waiting for a stack's status through the Heat API (:func:`wait_stack`) and the path of
the template corpus (``TEMPLATES``)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.api.conftest import _Factory
from tests.api.volume.volume_helpers import storage_cloud
from tests.e2e.network_world import ExternalWorld, private_vni_range
from tests.integration.pipeline.conftest import sync_hosts

API = "/orchestration/v1"
TEMPLATES = Path(__file__).resolve().parents[2] / "orchestration" / "templates"
HOST = "hc1"
EXTERNAL_CIDR = "203.0.113.0/24"  # TEST-NET-3: only inside the external namespace
EXTERNAL_GATEWAY = "203.0.113.1"


def start_heat_cloud(request, tmp: Path, **settings):
    """A controller whose host ``hc1`` (this machine) is a controller, compute, network
    and storage host; stopped and cleaned at the end of the session (``request.addfinalizer``).
    ``ctl.physnet`` is a flat physical network whose interface is a veth into the
    namespace ``ctl.external.ns`` holding EXTERNAL_GATEWAY (for external networks and
    floating IPs)."""
    world = ExternalWorld(f"{EXTERNAL_GATEWAY}/24")
    request.addfinalizer(world.close)
    physnet = f"heat{world.interface[2:]}"
    factory = _Factory(request, tmp)
    request.addfinalizer(factory.close)
    settings.setdefault("network_vni_ranges", private_vni_range())
    ctl = storage_cloud(factory, tmp, request, host=HOST, **settings)
    host_vars = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
                 "stratus_volume_dir": ctl.storage["dir"], "stratus_volume_vg": "stv-none-heat",
                 "stratus_lvm_activation": "off", "stratus_tunnel_ip": "127.0.0.1",
                 "stratus_physical_interface_mappings": {physnet: world.interface}}
    # controller too: types whose tasks run on the controller (TestResource's waits and
    # failures, wait conditions) need a host in that group, as every real cloud has
    sync_hosts(ctl, tmp, {HOST: host_vars}, ["controller", "compute", "network", "block_storage"])
    ctl.stratus("host", "refresh")
    ctl.physnet, ctl.external = physnet, world
    return ctl


def stack_path(cloud, creds, ref: str) -> str:
    return f"{API}/{creds.project_id}/stacks/{ref}"


def wait_stack(cloud, creds, ref: str, status: str, timeout: float = 300) -> dict[str, Any]:
    """GET the stack (name or id, redirects followed) until ``stack_status`` is
    ``status``; a FAILED or COMPLETE status other than the one awaited fails at once."""
    token = cloud.token(creds)
    deadline = time.monotonic() + timeout
    got: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = cloud.request("GET", stack_path(cloud, creds, ref), token, follow_redirects=True)
        if r.status_code == 404 and status == "DELETE_COMPLETE":
            return {}
        assert r.status_code == 200, r.text
        got = r.json()["stack"]
        if got["stack_status"] == status:
            return got
        rolling_back = status.startswith("ROLLBACK") and got["stack_status"].endswith("_FAILED")
        if got["stack_status"].endswith(("_FAILED", "_COMPLETE")) and not rolling_back:
            raise AssertionError(f"stack {ref} went to {got['stack_status']}: {got.get('stack_status_reason')}")
        time.sleep(0.5)
    raise AssertionError(f"stack {ref} not {status} after {timeout}s: {got}")
