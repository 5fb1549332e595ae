"""os-aggregates: CRUD, add_host/remove_host/set_metadata, 2.41 uuid, and Nova's zone
rules (a host in one zone only, no empty or internal zone, no zone change under
servers, delete only when empty) — each refusal in Nova's format with nothing changed."""

from __future__ import annotations

import pytest

from stratus.db.models.compute import Server
from tests.api.compute import admin_fixtures
from tests.api.compute.admin_fixtures import cloud_db, nova

pytestmark = [pytest.mark.api, pytest.mark.compute]
admin_cloud = admin_fixtures.admin_cloud


def create(c, name, zone=None, version=None):
    body = {"aggregate": {"name": name, **({"availability_zone": zone} if zone else {})}}
    r = nova(c, "POST", "/os-aggregates", version, json=body)
    assert r.status_code == 200, r.text
    return r.json()["aggregate"]


def act(c, agg_id, body, version=None):
    return nova(c, "POST", f"/os-aggregates/{agg_id}/action", version, json=body)


def show(c, agg_id, version=None):
    r = nova(c, "GET", f"/os-aggregates/{agg_id}", version)
    assert r.status_code == 200, r.text
    return r.json()["aggregate"]


def delete_all(c):
    for a in nova(c, "GET", "/os-aggregates").json()["aggregates"]:
        for h in a["hosts"]:
            act(c, a["id"], {"remove_host": {"host": h}})
        assert nova(c, "DELETE", f"/os-aggregates/{a['id']}").status_code == 200


@pytest.fixture
def cloud(admin_cloud):
    yield admin_cloud
    delete_all(admin_cloud)


def test_crud_and_actions_with_nova_shapes(cloud):
    c = cloud
    made = create(c, "fast", "az1", "2.40")
    assert "hosts" not in made and "metadata" not in made and "uuid" not in made
    assert made["availability_zone"] == "az1" and made["deleted"] is False
    r = act(c, made["id"], {"add_host": {"host": "cn1"}}, "2.41")
    assert r.status_code == 200, r.text
    got = r.json()["aggregate"]
    assert got["hosts"] == ["cn1"] and got["metadata"] == {"availability_zone": "az1"} and len(got["uuid"]) == 36
    r = act(c, made["id"], {"set_metadata": {"metadata": {"ssd": "true", "cpu_allocation_ratio": "2.0"}}})
    assert r.json()["aggregate"]["metadata"] == {"availability_zone": "az1", "ssd": "true",
                                                 "cpu_allocation_ratio": "2.0"}
    r = act(c, made["id"], {"set_metadata": {"metadata": {"ssd": None}}})
    assert "ssd" not in r.json()["aggregate"]["metadata"]
    r = nova(c, "PUT", f"/os-aggregates/{made['id']}", json={"aggregate": {"name": "faster"}})
    assert r.status_code == 200 and r.json()["aggregate"]["name"] == "faster"
    listed = nova(c, "GET", "/os-aggregates").json()["aggregates"]
    assert [(a["name"], a["hosts"]) for a in listed] == [("faster", ["cn1"])]
    r = act(c, made["id"], {"remove_host": {"host": "cn1"}})
    assert r.status_code == 200 and r.json()["aggregate"]["hosts"] == []
    assert nova(c, "DELETE", f"/os-aggregates/{made['id']}").status_code == 200
    r = nova(c, "GET", f"/os-aggregates/{made['id']}")
    assert r.status_code == 404 and r.json()["itemNotFound"]["message"] == f"Aggregate {made['id']} could not be found."


def test_a_host_is_in_one_zone_only(cloud):
    c = cloud
    a = create(c, "a", "az1")
    b = create(c, "b", "az2")
    plain = create(c, "plain")
    assert act(c, a["id"], {"add_host": {"host": "cn1"}}).status_code == 200
    r = act(c, b["id"], {"add_host": {"host": "cn1"}})
    assert r.status_code == 409
    assert "already in availability zone(s) ['az1']" in r.json()["conflictingRequest"]["message"]
    assert show(c, b["id"])["hosts"] == []
    # an aggregate without a zone, or of the same zone, may share the host
    assert act(c, plain["id"], {"add_host": {"host": "cn1"}}).status_code == 200
    # giving that aggregate another zone would put cn1 in two
    r = nova(c, "PUT", f"/os-aggregates/{plain['id']}", json={"aggregate": {"availability_zone": "az2"}})
    assert r.status_code == 409 and show(c, plain["id"])["availability_zone"] is None
    r = act(c, plain["id"], {"set_metadata": {"metadata": {"availability_zone": "az2"}}})
    assert r.status_code == 409 and show(c, plain["id"])["metadata"] == {}
    r = act(c, a["id"], {"add_host": {"host": "cn1"}})
    assert r.status_code == 409 and f"Aggregate {a['id']} already has host cn1." in r.text


def test_zone_names_and_hosts_refused(cloud):
    c = cloud
    for zone, why in (("internal", "internal"), ("   ", "availability_zone"), ("a:b", "':'")):
        r = nova(c, "POST", "/os-aggregates", json={"aggregate": {"name": "z", "availability_zone": zone}})
        assert r.status_code == 400 and why in r.json()["badRequest"]["message"], r.text
    r = nova(c, "POST", "/os-aggregates", json={"aggregate": {"availability_zone": "az"}})
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"].startswith("Invalid input for field/attribute name.")
    r = nova(c, "POST", "/os-aggregates", json={"aggregate": {"name": "x" * 256}})
    assert r.status_code == 400 and "too long" in r.json()["badRequest"]["message"]
    a = create(c, "dup")
    r = nova(c, "POST", "/os-aggregates", json={"aggregate": {"name": "dup"}})
    assert r.status_code == 409 and r.json()["conflictingRequest"]["message"] == "Aggregate dup already exists."
    r = act(c, a["id"], {"add_host": {"host": "ctl1"}})  # not a compute host
    assert r.status_code == 404 and "Compute host ctl1 could not be found." in r.text
    r = act(c, a["id"], {"remove_host": {"host": "cn2"}})
    assert r.status_code == 404 and "Cannot remove host cn2" in r.text
    r = act(c, a["id"], {"explode": {}})
    assert r.status_code == 400
    assert [x["name"] for x in nova(c, "GET", "/os-aggregates").json()["aggregates"]] == ["dup"]


def test_no_zone_change_under_servers_and_no_delete_when_not_empty(cloud):
    c = cloud
    a = create(c, "busy", "az1")
    act(c, a["id"], {"add_host": {"host": "cn2"}})
    r = nova(c, "DELETE", f"/os-aggregates/{a['id']}")
    assert r.status_code == 400 and "not empty" in r.json()["badRequest"]["message"]
    sid = "22222222-2222-3333-4444-555555555555"
    with cloud_db(c) as s:
        s.add(Server(id=sid, project_id="p", user_id="u", name="vm", flavor_id="1", host="cn2",
                     availability_zone="az1"))
    try:
        r = nova(c, "PUT", f"/os-aggregates/{a['id']}", json={"aggregate": {"availability_zone": "az9"}})
        assert r.status_code == 409 and "contain instances" in r.json()["conflictingRequest"]["message"]
        r = act(c, a["id"], {"remove_host": {"host": "cn2"}})
        assert r.status_code == 409
        assert show(c, a["id"])["hosts"] == ["cn2"] and show(c, a["id"])["availability_zone"] == "az1"
        # a rename keeps the zone: allowed
        r = nova(c, "PUT", f"/os-aggregates/{a['id']}", json={"aggregate": {"name": "busy2"}})
        assert r.status_code == 200
    finally:
        with cloud_db(c) as s:
            s.delete(s.get(Server, sid))


def test_admin_only_and_cli(cloud):
    c = cloud
    member = c.new_project_user("member")
    r = nova(c, "GET", "/os-aggregates", token=c.token(member))
    assert r.status_code == 403
    r = nova(c, "POST", "/os-aggregates", token=c.token(member), json={"aggregate": {"name": "m"}})
    assert r.status_code == 403 and nova(c, "GET", "/os-aggregates").json()["aggregates"] == []
    made = c.cli("aggregate", "create", "--zone", "cli-az", "--property", "ssd=true", "cli-agg", "-f", "json")
    assert made["availability_zone"] == "cli-az"
    c.cli("aggregate", "add", "host", "cli-agg", "cn1")
    shown = c.cli("aggregate", "show", "cli-agg", "-f", "json")
    assert shown["hosts"] == ["cn1"] and shown["properties"] == {"ssd": "true"}
    conn = c.conn()
    agg = conn.compute.find_aggregate("cli-agg")
    assert agg.availability_zone == "cli-az" and agg.hosts == ["cn1"]
