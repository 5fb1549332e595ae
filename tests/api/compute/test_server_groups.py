"""Server groups as Nova has them: the policies list before 2.64, policy + rules from
2.64 (max_server_per_host only for anti-affinity), soft policies from 2.15, another
project's groups unseen, all_projects for admins, the server_groups quota."""

from __future__ import annotations

import uuid

import pytest

from tests.api.compute.test_flavors import fault, nova


@pytest.fixture(scope="module")
def user(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="sg")


def _name() -> str:
    return "g-" + uuid.uuid4().hex[:8]


def _discovers_microversions(c) -> bool:
    """The CLI sends 2.64 only when the version document (GET /compute/v2.1) says so."""
    r = c.http.get("/compute/v2.1")
    return r.status_code == 200 and r.json().get("version", {}).get("version", "") >= "2.64"


def test_cli_anti_affinity_with_rule(sqlite_controller, user):
    c = sqlite_controller
    name = _name()
    if _discovers_microversions(c):
        made = c.cli("--os-compute-api-version", "2.64", "server", "group", "create", "--policy",
                     "anti-affinity", "--rule", "max_server_per_host=2", "-f", "json", name, creds=user)
        assert made["policy"] == "anti-affinity"
    else:  # the version document comes with the discovery branch; rules through HTTP meanwhile
        made = c.cli("server", "group", "create", "--policy", "anti-affinity", "-f", "json", name, creds=user)
        assert made["policies"] == ["anti-affinity"], made
        assert nova(c, "DELETE", f"/os-server-groups/{made['id']}", creds=user).status_code == 204
        made = nova(c, "POST", "/os-server-groups", version="2.64", creds=user,
                    json={"server_group": {"name": name, "policy": "anti-affinity",
                                           "rules": {"max_server_per_host": "2"}}}).json()["server_group"]
    raw = nova(c, "GET", f"/os-server-groups/{made['id']}", version="2.64", creds=user).json()["server_group"]
    assert raw == {"id": made["id"], "name": name, "policy": "anti-affinity",
                   "rules": {"max_server_per_host": 2}, "members": [], "project_id": user.project_id,
                   "user_id": user.user_id}
    old = nova(c, "GET", f"/os-server-groups/{made['id']}", version="2.1", creds=user).json()["server_group"]
    assert old == {"id": made["id"], "name": name, "policies": ["anti-affinity"], "members": [], "metadata": {}}
    c.cli("server", "group", "delete", made["id"], creds=user)
    assert fault(nova(c, "GET", f"/os-server-groups/{made['id']}", creds=user), 404) == \
        f"Server group {made['id']} could not be found."


def test_sdk_and_versions(sqlite_controller, user):
    c = sqlite_controller
    conn = c.conn(user)
    g = conn.compute.create_server_group(name=_name(), policies=["affinity"])
    assert g.policies == ["affinity"] and g.member_ids == []
    assert g.id in {x.id for x in conn.compute.server_groups()}
    r = nova(c, "POST", "/os-server-groups", version="2.14", creds=user,
             json={"server_group": {"name": _name(), "policies": ["soft-affinity"]}})
    assert "is not one of ['affinity', 'anti-affinity']" in fault(r, 400)
    r = nova(c, "POST", "/os-server-groups", version="2.15", creds=user,
             json={"server_group": {"name": _name(), "policies": ["soft-affinity"]}})
    assert r.json()["server_group"]["policies"] == ["soft-affinity"]
    nova(c, "DELETE", f"/os-server-groups/{r.json()['server_group']['id']}", creds=user)
    r = nova(c, "POST", "/os-server-groups", version="2.64", creds=user,
             json={"server_group": {"name": _name(), "policy": "affinity", "rules": {"max_server_per_host": 2}}})
    assert fault(r, 400) == "Only anti-affinity policy supports rules."
    r = nova(c, "POST", "/os-server-groups", version="2.64", creds=user,
             json={"server_group": {"name": _name(), "policy": "anti-affinity", "rules": {"max_server_per_host": 0}}})
    assert "Invalid input for field/attribute max_server_per_host. Value: 0." in fault(r, 400)
    r = nova(c, "POST", "/os-server-groups", version="2.64", creds=user,
             json={"server_group": {"name": _name(), "policies": ["affinity"]}})
    assert "'policy' is a required property" in fault(r, 400)
    assert [x.id for x in conn.compute.server_groups()] == [g.id]
    conn.compute.delete_server_group(g.id)


def test_isolation_all_projects_and_quota(sqlite_controller, user):
    c = sqlite_controller
    other = c.new_project_user("member", prefix="sg2")
    mine = nova(c, "POST", "/os-server-groups", creds=user,
                json={"server_group": {"name": _name(), "policies": ["anti-affinity"]}}).json()["server_group"]
    assert fault(nova(c, "GET", f"/os-server-groups/{mine['id']}", creds=other), 404) == \
        f"Server group {mine['id']} could not be found."
    assert fault(nova(c, "DELETE", f"/os-server-groups/{mine['id']}", creds=other), 404)
    assert nova(c, "GET", "/os-server-groups", creds=other).json()["server_groups"] == []
    # all_projects only widens the list for admins
    assert nova(c, "GET", "/os-server-groups", creds=other, params={"all_projects": "True"}).json() == \
        {"server_groups": []}
    everyone = nova(c, "GET", "/os-server-groups", params={"all_projects": "True"}).json()["server_groups"]
    assert mine["id"] in {g["id"] for g in everyone}
    assert mine["id"] not in {g["id"] for g in nova(c, "GET", "/os-server-groups").json()["server_groups"]}
    c.conn().set_compute_quotas(user.project_id, server_groups=1)
    r = nova(c, "POST", "/os-server-groups", creds=user,
             json={"server_group": {"name": _name(), "policies": ["affinity"]}})
    assert fault(r, 403) == "Quota exceeded, too many server groups."
    assert len(nova(c, "GET", "/os-server-groups", creds=user).json()["server_groups"]) == 1
    assert nova(c, "DELETE", f"/os-server-groups/{mine['id']}", creds=user).status_code == 204
    c.conn().set_compute_quotas(user.project_id, server_groups=10)
