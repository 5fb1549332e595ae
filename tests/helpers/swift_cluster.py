"""A Swift cluster brought up on this host by the object_storage role, for tests.

``start_swift_cluster(request, tmp, ctl)`` runs roles/object_storage with ansible-playbook
on localhost (a small playbook and inventory written under ``tmp``): three directory
devices d1 d2 d3 in zones 1 2 3, three replicas, every port free (the proxy's is the one
in ``ctl.settings["object_store_url"]``, which bootstrap put in the catalog), keystone
auth against ``ctl`` as its Swift service user, a short replication interval. It returns
once the proxy answers ``/healthcheck``; the session's finalizer runs the role again with
``object_storage_state=stopped`` and removes ``tmp``.

Every Swift daemon runs as root (pytest's temporary directories are 0700) with its pid
file in ``run_dir`` and its log in ``log_dir/<daemon>.log``. /etc/swift/swift.conf is
shared by every cluster on this machine (Swift reads it only there): the role keeps the
hash path prefix and suffix of an existing one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

PLAYBOOK = """- name: Swift on this host (tests)
  hosts: object_storage:object_storage_proxy
  gather_facts: true
  gather_subset: ["!all"]
  roles:
    - role: object_storage
"""

DEVICES = ["d1", "d2", "d3"]


@dataclass
class RoleRun:
    """One ansible-playbook run of the role: its exit code, output and the number of
    changed tasks in the recap."""

    rc: int
    stdout: str
    stderr: str
    changed: int


class SwiftCluster:
    """The cluster's directories and settings, and the role that made it."""

    def __init__(self, root: Path, extra_vars: dict[str, Any]) -> None:
        self.root = root
        self.extra_vars = extra_vars
        self.proxy_url = f"http://127.0.0.1:{extra_vars['object_storage_proxy_port']}"
        self.config_dir = Path(extra_vars["object_storage_config_dir"])
        self.devices_dir = Path(extra_vars["object_storage_devices_dir"])
        self.devices = [d["name"] for d in extra_vars["object_storage_devices"]]
        self.run_dir = Path(extra_vars["object_storage_run_dir"])
        self.log_dir = Path(extra_vars["object_storage_log_dir"])
        self.venv_bin = VENV_BIN
        self._stopped = False

    def run_role(self, timeout: float = 300, **overrides: Any) -> RoleRun:
        """Run the role again with ``extra_vars`` updated by ``overrides`` (for this run
        only: run it again without them to go back)."""
        vars_file = self.root / "ansible" / f"vars-{time.monotonic_ns()}.json"
        vars_file.write_text(json.dumps({**self.extra_vars, **overrides}))
        vars_file.chmod(0o600)
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
            ANSIBLE_ROLES_PATH=str(REPO / "roles"),
            ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
            ANSIBLE_LOCAL_TEMP=str(self.root / "ansible" / "tmp"),
            PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.root / "ansible" / "inventory.yml"),
                "-e", f"@{vars_file}", str(self.root / "ansible" / "play.yml")]
        try:
            r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO)
        finally:
            vars_file.unlink(missing_ok=True)
        m = re.search(r"^localhost\s*:.*?changed=(\d+)", r.stdout, re.MULTILINE)
        return RoleRun(r.returncode, r.stdout, r.stderr, int(m.group(1)) if m else -1)

    def storage_policy_ring(self, name: str) -> Path:
        """The object ring file of the storage policy named ``name`` (object.ring.gz for
        policy 0, object-<index>.ring.gz for the others)."""
        for policy in self.extra_vars.get("object_storage_policies", [{"index": 0, "name": "Policy-0"}]):
            if policy["name"].lower() == name.lower():
                index = int(policy["index"])
                return self.config_dir / ("object.ring.gz" if index == 0 else f"object-{index}.ring.gz")
        raise KeyError(f"storage policy {name!r} is not one of this cluster's object_storage_policies")

    def wait_healthy(self, timeout: float = 60) -> None:
        """Until the proxy answers ``/healthcheck`` with 200."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                r = httpx.get(self.proxy_url + "/healthcheck", timeout=2)
                if r.status_code == 200:
                    return
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as e:
                last = repr(e)
            time.sleep(0.3)
        raise RuntimeError(f"Swift proxy {self.proxy_url} not healthy after {timeout}s: {last}\n{self.logs()}")

    def logs(self, tail: int = 40) -> str:
        """The last lines of every daemon's log (for failure messages)."""
        out = []
        for log in sorted(self.log_dir.glob("*.log")) if self.log_dir.is_dir() else []:
            lines = log.read_text(errors="replace").splitlines()[-tail:]
            out.append(f"--- {log.name}\n" + "\n".join(lines))
        return "\n".join(out)

    def stop(self) -> None:
        """Stop every daemon of this cluster (the role with object_storage_state=stopped)."""
        if self._stopped:
            return
        r = self.run_role(object_storage_state="stopped")
        if r.rc != 0:
            raise RuntimeError(f"stopping the Swift cluster failed (rc={r.rc}):\n{r.stdout[-3000:]}\n{r.stderr[-2000:]}")
        self._stopped = True


def cluster_vars(tmp: Path, ctl) -> dict[str, Any]:
    """The role's variables for a test cluster under ``tmp`` serving ``ctl``'s object store."""
    from tests.api.conftest import free_port

    proxy_port = urlsplit(ctl.settings["object_store_url"]).port
    return {
        "object_storage_venv": str(VENV_BIN.parent),
        "object_storage_user": "root",
        "object_storage_config_dir": str(tmp / "etc"),
        "object_storage_devices_dir": str(tmp / "srv"),
        "object_storage_run_dir": str(tmp / "run"),
        "object_storage_log_dir": str(tmp / "log"),
        "object_storage_cache_dir": str(tmp / "cache"),
        "object_storage_state_dir": str(tmp / "state"),
        "object_storage_devices": [{"name": name, "region": 1, "zone": i + 1, "weight": 100}
                                   for i, name in enumerate(DEVICES)],
        "object_storage_replicas": 3,
        "object_storage_part_power": 8,
        "object_storage_min_part_hours": 1,
        "object_storage_ring_host": "localhost",
        "object_storage_bind_ip": "127.0.0.1",
        "object_storage_ring_ip": "127.0.0.1",
        "object_storage_proxy_bind_ip": "127.0.0.1",
        "object_storage_memcached_bind_ip": "127.0.0.1",
        "object_storage_proxy_port": proxy_port,
        "object_storage_account_port": free_port(),
        "object_storage_container_port": free_port(),
        "object_storage_object_port": free_port(),
        "object_storage_rsync_port": free_port(),
        "object_storage_memcached_port": free_port(),
        "object_storage_memcached_memory_mb": 16,
        "object_storage_workers": 0,
        "object_storage_replication_interval": 5,
        "object_storage_auth": "keystone",
        "object_storage_auth_url": ctl.url + "/identity",
        "object_storage_service_user": ctl.settings.get("object_store_user", "swift"),
        "object_storage_service_project": ctl.settings.get("object_store_project", "service"),
        "object_storage_service_password": ctl.settings["object_store_password"],
    }


def start_swift_cluster(request, tmp: Path, ctl) -> SwiftCluster:
    """Bring up a Swift cluster under ``tmp`` for the controller ``ctl`` (see the module
    docstring); stopped and removed by ``request.addfinalizer``."""
    (tmp / "ansible" / "tmp").mkdir(parents=True, exist_ok=True)
    (tmp / "ansible" / "inventory.yml").write_text(json.dumps({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"},
        "children": {"object_storage": {"hosts": {"localhost": {}}},
                     "object_storage_proxy": {"hosts": {"localhost": {}}}}}}))
    (tmp / "ansible" / "play.yml").write_text(PLAYBOOK)
    cluster = SwiftCluster(tmp, cluster_vars(tmp, ctl))

    def finish() -> None:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    request.addfinalizer(finish)
    r = cluster.run_role()
    if r.rc != 0:
        raise RuntimeError(f"the object_storage role failed (rc={r.rc}):\n{r.stdout[-6000:]}\n{r.stderr[-3000:]}\n"
                           f"{cluster.logs()}")
    cluster.wait_healthy()
    return cluster
