"""roles/object_storage on this host (the session's ``swift_cloud``): the cluster it
brought up serves a project member with a token of the controller's identity, a second
run changes nothing, and a changed setting restarts only the daemons that read it."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.object_storage, pytest.mark.deploy, pytest.mark.slow]


def _pid(run_dir: Path, daemon: str) -> int:
    return int((run_dir / f"{daemon}.pid").read_text().split()[0])


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def test_member_puts_and_gets_an_object_through_the_keystone_proxy(swift_cloud):
    """A member's token (from the controller) opens its own account: a container and an
    object are stored and read back; without a token the account is refused."""
    ctl = swift_cloud
    creds = ctl.new_project_user("member", prefix="swr")
    token = ctl.token(creds)
    account = f"{swift_cloud.swift.proxy_url}/v1/AUTH_{creds.project_id}"
    container, name, body = "c-" + uuid.uuid4().hex[:6], "dir/ob ject", b"hello swift"
    with httpx.Client(headers={"X-Auth-Token": token}, timeout=30) as http:
        assert http.put(f"{account}/{container}").status_code in (201, 202)
        r = http.put(f"{account}/{container}/{name}", content=body)
        assert r.status_code == 201, r.text
        r = http.get(f"{account}/{container}/{name}")
        assert (r.status_code, r.content) == (200, body)
        listing = http.get(f"{account}/{container}", params={"format": "json"}).json()
        assert [o["name"] for o in listing] == [name]
    assert httpx.get(f"{account}/{container}", timeout=30).status_code == 401


def test_a_changed_setting_restarts_only_its_daemons_and_a_rerun_changes_nothing(swift_cloud):
    """The replication interval is read by the three replicators alone: they restart (new
    pids) and every other daemon keeps running; the next run with the same settings
    changes nothing and restarts nothing. The cluster keeps the new (still short) interval:
    ``extra_vars`` says so for every later ``run_role``."""
    cluster = swift_cloud.swift
    daemons = sorted(p.stem for p in cluster.run_dir.glob("*.pid"))
    assert len(daemons) == 16, daemons  # 13 Swift daemons, proxy, memcached, rsync
    before = {d: _pid(cluster.run_dir, d) for d in daemons}
    interval = int(cluster.extra_vars["object_storage_replication_interval"])
    interval = interval - 1 if interval > 2 else interval + 1
    cluster.extra_vars["object_storage_replication_interval"] = interval

    r = cluster.run_role()
    assert r.rc == 0, r.stdout[-4000:]
    after = {d: _pid(cluster.run_dir, d) for d in daemons}
    assert {d for d in daemons if after[d] != before[d]} == {"account-replicator", "container-replicator",
                                                              "object-replicator"}
    assert all(_alive(pid) for pid in after.values()), cluster.logs()
    assert f"interval = {interval}\n" in (cluster.config_dir / "object-server.conf").read_text()

    r = cluster.run_role()
    assert r.rc == 0, r.stdout[-4000:]
    assert r.changed == 0, r.stdout[-6000:]
    assert {d: _pid(cluster.run_dir, d) for d in daemons} == after
    cluster.wait_healthy()
