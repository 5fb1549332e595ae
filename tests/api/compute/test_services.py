"""os-services: one row per service of the registry's hosts by role; disable/enable
(with a reason) and forced_down both ways around 2.53; delete refuses a compute that
hosts servers; admin only."""

from __future__ import annotations

import pytest

from stratus.db.models.compute import ComputeService, Server
from tests.api.compute import admin_fixtures
from tests.api.compute.admin_fixtures import cloud_db, nova

pytestmark = [pytest.mark.api, pytest.mark.compute]
admin_cloud = admin_fixtures.admin_cloud


def services(c, version=None, **params):
    r = nova(c, "GET", "/os-services", version, params=params)
    assert r.status_code == 200, r.text
    return r.json()["services"]


def test_rows_by_role_with_nova_shape(admin_cloud):
    rows = services(admin_cloud, "2.1")
    got = sorted((s["host"], s["binary"], s["zone"]) for s in rows)
    assert got == [("cn1", "nova-compute", "nova"), ("cn2", "nova-compute", "nova"),
                   ("ctl1", "nova-conductor", "internal"), ("ctl1", "nova-scheduler", "internal")]
    one = rows[0]
    assert isinstance(one["id"], int) and "forced_down" not in one
    assert one["state"] == "up" and one["status"] == "enabled" and one["updated_at"]
    new = services(admin_cloud, "2.53", host="cn1")
    assert len(new) == 1 and len(new[0]["id"]) == 36 and new[0]["forced_down"] is False
    assert [s["binary"] for s in services(admin_cloud, binary="nova-conductor")] == ["nova-conductor"]


def test_legacy_disable_enable_and_force_down(admin_cloud):
    c = admin_cloud
    r = nova(c, "PUT", "/os-services/disable-log-reason", "2.10",
             json={"host": "cn2", "binary": "nova-compute", "disabled_reason": "disk swap"})
    assert r.status_code == 200, r.text
    assert r.json()["service"] == {"host": "cn2", "binary": "nova-compute", "status": "disabled",
                                   "disabled_reason": "disk swap"}
    row = services(c, host="cn2")[0]
    assert row["status"] == "disabled" and row["disabled_reason"] == "disk swap"
    r = nova(c, "PUT", "/os-services/force-down", "2.10", json={"host": "cn2", "binary": "nova-compute",
                                                               "forced_down": True})
    assert r.status_code == 404, r.text  # force-down comes with 2.11
    r = nova(c, "PUT", "/os-services/force-down", "2.11", json={"host": "cn2", "binary": "nova-compute",
                                                               "forced_down": True})
    assert r.status_code == 200 and r.json()["service"]["forced_down"] is True
    assert services(c, "2.11", host="cn2")[0]["state"] == "down"
    nova(c, "PUT", "/os-services/force-down", "2.11", json={"host": "cn2", "binary": "nova-compute",
                                                           "forced_down": False})
    r = nova(c, "PUT", "/os-services/enable", "2.1", json={"host": "cn2", "binary": "nova-compute"})
    assert r.json()["service"]["status"] == "enabled"
    row = services(c, "2.11", host="cn2")[0]
    assert (row["status"], row["disabled_reason"], row["state"]) == ("enabled", None, "up")


def test_legacy_refusals_change_nothing(admin_cloud):
    c = admin_cloud
    before = services(c)
    r = nova(c, "PUT", "/os-services/disable", json={"host": "nohost", "binary": "nova-compute"})
    assert r.status_code == 404 and "nohost" in r.json()["itemNotFound"]["message"]
    r = nova(c, "PUT", "/os-services/disable", json={"host": "ctl1", "binary": "nova-scheduler"})
    assert r.status_code == 400 and "Only nova-compute" in r.json()["badRequest"]["message"]
    r = nova(c, "PUT", "/os-services/disable", json={"binary": "nova-compute"})
    assert r.status_code == 400 and "'host' is a required property" in r.json()["badRequest"]["message"]
    r = nova(c, "PUT", "/os-services/disable", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["badRequest"]["message"] == "Malformed request body"
    assert services(c) == before


def test_253_update_by_uuid(admin_cloud):
    c = admin_cloud
    svc = services(c, "2.53", host="cn1")[0]
    r = nova(c, "PUT", f"/os-services/{svc['id']}", "2.53",
             json={"status": "disabled", "disabled_reason": "maintenance"})
    assert r.status_code == 200, r.text
    got = r.json()["service"]
    assert (got["id"], got["status"], got["disabled_reason"], got["zone"]) == (svc["id"], "disabled",
                                                                               "maintenance", "nova")
    r = nova(c, "PUT", f"/os-services/{svc['id']}", "2.53", json={"status": "enabled", "disabled_reason": "x"})
    assert r.status_code == 400 and "disabled_reason" in r.json()["badRequest"]["message"]
    r = nova(c, "PUT", f"/os-services/{svc['id']}", "2.53", json={"status": "sleeping"})
    assert r.status_code == 400 and "status" in r.json()["badRequest"]["message"]
    r = nova(c, "PUT", "/os-services/enable", "2.53", json={"host": "cn1", "binary": "nova-compute"})
    assert r.status_code == 400 and "Invalid uuid enable" in r.json()["badRequest"]["message"]
    assert services(c, "2.53", host="cn1")[0]["status"] == "disabled"  # the refusals changed nothing
    r = nova(c, "PUT", f"/os-services/{svc['id']}", "2.53", json={"status": "enabled"})
    assert r.json()["service"]["status"] == "enabled" and r.json()["service"]["disabled_reason"] is None


def test_delete_refuses_a_compute_with_servers_and_a_registered_host(admin_cloud):
    c = admin_cloud
    svc = services(c, "2.53", host="cn1")[0]
    with cloud_db(c) as s:
        s.add(Server(id="11111111-2222-3333-4444-555555555555", project_id="p", user_id="u", name="vm",
                     flavor_id="1", host="cn1"))
    r = nova(c, "DELETE", f"/os-services/{svc['id']}", "2.53")
    assert r.status_code == 409
    assert "hosting instances" in r.json()["conflictingRequest"]["message"]
    with cloud_db(c) as s:
        s.delete(s.get(Server, "11111111-2222-3333-4444-555555555555"))
    r = nova(c, "DELETE", f"/os-services/{svc['id']}", "2.53")
    assert r.status_code == 409 and "stratus host sync --prune" in r.json()["conflictingRequest"]["message"]
    assert len(services(c, host="cn1")) == 1


def test_delete_of_a_host_gone_from_the_registry(admin_cloud):
    c = admin_cloud
    from stratus.db.models.hosts import Host

    with cloud_db(c) as s:
        s.add(Host(name="old9", groups=["compute"], vars={}))
    old = services(c, "2.1", host="old9")[0]
    with cloud_db(c) as s:
        s.delete(s.get(Host, "old9"))
    assert services(c, host="old9")[0]["state"] == "down"
    r = nova(c, "DELETE", f"/os-services/{old['id']}", "2.1")
    assert r.status_code == 204, r.text
    assert services(c, host="old9") == []
    with cloud_db(c) as s:
        assert s.query(ComputeService).filter_by(host="old9").count() == 0


def test_admin_only_and_cli(admin_cloud):
    c = admin_cloud
    member = c.new_project_user("member")
    r = nova(c, "GET", "/os-services", token=c.token(member))
    assert r.status_code == 403 and "os_compute_api:os-services:list" in r.json()["forbidden"]["message"]
    c.cli("compute", "service", "set", "--disable", "--disable-reason", "cli says so", "cn2", "nova-compute")
    rows = c.cli("compute", "service", "list", "--host", "cn2", "--long", "-f", "json")
    assert rows[0]["Status"] == "disabled" and rows[0]["Disabled Reason"] == "cli says so"
    c.cli("compute", "service", "set", "--enable", "cn2", "nova-compute")
    assert services(c, host="cn2")[0]["status"] == "enabled"
