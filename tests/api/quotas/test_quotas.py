"""Quotas through the real ``openstack`` CLI and raw HTTP: Nova, Cinder and Neutron
shapes; admins set, members only read their own project's."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.api


def show(controller, *args, creds=None):
    """``openstack quota show ARGS -f json`` as {resource: limit} (or the full rows)."""
    rows = controller.cli("quota", "show", *args, "-f", "json", creds=creds)
    if rows and "In Use" in rows[0]:
        return {r["Resource"]: (r["Limit"], r["In Use"]) for r in rows}
    return {r["Resource"]: r["Limit"] for r in rows}


@pytest.fixture
def project(controller):
    return controller.new_project_user("member", prefix="quota")


@pytest.fixture
def on_sqlite(sqlite_controller):
    """(controller, project) on SQLite only, for refusals: policy and validation answer
    before the database is asked; setting and showing quotas keep both backends."""
    return sqlite_controller, sqlite_controller.new_project_user("member", prefix="quota")


def test_compute_quota_show_and_set_with_openstack_cli(controller, project):
    pid = project.project_id
    controller.cli("quota", "set", "--instances", "7", "--cores", "9", "--ram", "4096", pid)
    got = show(controller, "--compute", pid)
    assert got["instances"] == 7 and got["cores"] == 9 and got["ram"] == 4096
    assert got["key-pairs"] == 100  # untouched: the default
    assert show(controller, "--compute", "--usage", pid)["instances"] == (7, 0)
    assert show(controller, "--compute", "--default", pid)["instances"] == 10
    controller.cli("quota", "delete", "--compute", pid)
    assert show(controller, "--compute", pid)["instances"] == 10
    r = controller.request("GET", f"/compute/v2.1/os-quota-sets/{pid}/detail")
    assert r.status_code == 200
    assert r.json()["quota_set"]["instances"] == {"limit": 10, "in_use": 0, "reserved": 0}
    r = controller.request("GET", f"/compute/v2.1/os-quota-sets/{pid}/defaults")
    assert r.json()["quota_set"]["instances"] == 10


def test_volume_quota_show_and_set_with_openstack_cli(controller, project):
    pid = project.project_id
    controller.cli("quota", "set", "--volumes", "4", "--gigabytes", "40", "--snapshots", "2", pid)
    got = show(controller, "--volume", pid)
    assert got["volumes"] == 4 and got["gigabytes"] == 40 and got["snapshots"] == 2
    r = controller.request("GET", f"/volume/v3/{pid}/os-quota-sets/{pid}", params={"usage": "true"})
    assert r.json()["quota_set"]["volumes"] == {"limit": 4, "in_use": 0, "reserved": 0, "allocated": 0}
    r = controller.request("GET", f"/volume/v3/{pid}/os-quota-sets/{pid}/defaults")
    assert r.json()["quota_set"]["volumes"] == 10


def test_network_quota_show_and_set_with_openstack_cli(controller, project):
    pid = project.project_id
    controller.cli("quota", "set", "--ports", "33", "--networks", "5", "--secgroup-rules", "44", pid)
    got = show(controller, "--network", pid)
    assert got["ports"] == 33 and got["networks"] == 5 and got["security_group_rules"] == 44
    r = controller.request("GET", f"/network/v2.0/quotas/{pid}/details.json")
    assert r.json()["quota"]["port"] == {"used": 0, "limit": 33, "reserved": 0}
    r = controller.request("GET", f"/network/v2.0/quotas/{pid}/default")
    assert r.json()["quota"]["port"] == 500
    listed = controller.request("GET", "/network/v2.0/quotas").json()["quotas"]
    assert any(q["project_id"] == pid and q["port"] == 33 for q in listed)
    assert controller.request("DELETE", f"/network/v2.0/quotas/{pid}").status_code == 204
    assert controller.request("GET", f"/network/v2.0/quotas/{pid}").json()["quota"]["port"] == 500


def test_member_reads_own_quota_but_cannot_set(on_sqlite):
    controller, project = on_sqlite
    pid = project.project_id
    token = controller.token(project)
    assert controller.request("GET", f"/compute/v2.1/os-quota-sets/{pid}", token=token).status_code == 200
    r = controller.request("PUT", f"/compute/v2.1/os-quota-sets/{pid}", token=token,
                           json={"quota_set": {"instances": 99}})
    assert r.status_code == 403 and "forbidden" in r.json()
    r = controller.request("PUT", f"/network/v2.0/quotas/{pid}", token=token, json={"quota": {"port": 1}})
    assert r.status_code == 403 and r.json()["NeutronError"]["type"]
    r = controller.request("PUT", f"/volume/v3/{pid}/os-quota-sets/{pid}", token=token,
                           json={"quota_set": {"volumes": 1}})
    assert r.status_code == 403
    other = controller.new_project_user("member", prefix="quota")
    r = controller.request("GET", f"/compute/v2.1/os-quota-sets/{other.project_id}", token=token)
    assert r.status_code == 403
    bad = controller.cli("quota", "set", "--instances", "3", pid, creds=project, check=False)
    assert bad.returncode != 0 and "403" in (bad.stderr + bad.stdout)
    assert show(controller, "--compute", pid)["instances"] == 10


def test_bad_limits_are_rejected(on_sqlite):
    controller, project = on_sqlite
    pid = project.project_id
    r = controller.request("PUT", f"/compute/v2.1/os-quota-sets/{pid}", json={"quota_set": {"instances": -5}})
    assert r.status_code == 400 and "badRequest" in r.json()
    r = controller.request("PUT", f"/compute/v2.1/os-quota-sets/{pid}", json={"quota_set": {"volumes": 1}})
    assert r.status_code == 400 and "Unknown quota 'volumes'" in r.json()["badRequest"]["message"]
    r = controller.request("PUT", f"/network/v2.0/quotas/{pid}", json={"quota": {"port": "many"}})
    assert r.status_code == 400 and r.json()["NeutronError"]["type"] == "InvalidInput"


def test_quota_show_all_services_at_once(controller, project):
    got = show(controller, project.project_id)
    assert {"instances", "volumes", "ports", "networks", "gigabytes"} <= set(got)
