"""Keystone's resource rules through real clients: schema violations answer 400 in
Keystone's words and store nothing, extra attributes stay on users and projects, an
endpoint creates its missing region, ``/users/{id}/projects``, project tags and their
filters, projects acting as domains, domain-specific roles; a domain admin stays in their
domain."""

from __future__ import annotations

import secrets
import uuid

import pytest

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"


def _u() -> str:
    return uuid.uuid4().hex[:8]


def _err(r, code: int, *words: str) -> str:
    assert r.status_code == code, (r.status_code, r.text)
    msg = r.json()["error"]["message"]
    assert r.json()["error"]["code"] == code
    for w in words:
        assert w in msg, (w, msg)
    return msg


def _count(c, path: str, key: str, **params) -> int:
    r = c.request("GET", V3 + path, params=params)
    assert r.status_code == 200, r.text
    return len(r.json()[key])


@pytest.fixture(scope="module")
def c(sqlite_controller):
    return sqlite_controller


@pytest.fixture(scope="module")
def domain_admin(c):
    """A domain with a project, and a user holding ``admin`` on that domain only
    (a domain-scoped token)."""
    sfx = _u()
    dom = c.request("POST", f"{V3}/domains", json={"domain": {"name": f"dom-{sfx}"}}).json()["domain"]
    proj = c.request(
        "POST", f"{V3}/projects", json={"project": {"name": f"dp-{sfx}", "domain_id": dom["id"]}}
    ).json()["project"]
    pw = "pw-" + secrets.token_hex(6)
    user = c.request(
        "POST", f"{V3}/users",
        json={"user": {"name": f"da-{sfx}", "domain_id": dom["id"], "password": pw}},
    ).json()["user"]
    admin_role = c.request("GET", f"{V3}/roles", params={"name": "admin"}).json()["roles"][0]
    r = c.request("PUT", f"{V3}/domains/{dom['id']}/users/{user['id']}/roles/{admin_role['id']}")
    assert r.status_code == 204, r.text
    from tests.api.conftest import Creds

    creds = Creds(user["name"], pw, user_id=user["id"], user_domain_id=dom["id"])
    token = c.token(creds, scope={"domain": {"id": dom["id"]}})
    return {"domain": dom, "project": proj, "user": user, "token": token}


# --- priority 1 ------------------------------------------------------------------------
def test_schema_violations_are_keystone_400s_and_store_nothing(c):
    long65 = "n" * 65
    cases = [
        ("/projects", "projects", {"project": {"name": long65}}, "name", "is too long"),
        ("/projects", "projects", {"project": {"name": "   "}}, "name", "does not match"),
        ("/projects", "projects", {"project": {"name": "p-" + _u(), "tags": ["a,b"]}}, "tags/0", "does not match"),
        ("/projects", "projects", {"project": {"name": "p-" + _u(), "tags": [f"t{i}" for i in range(81)]}}, "tags", "is too long"),
        ("/projects", "projects", {"project": {"name": "p-" + _u(), "enabled": "yes"}}, "enabled", "is not of type 'boolean'"),
        ("/domains", "domains", {"domain": {"name": long65}}, "name", "is too long"),
        ("/groups", "groups", {"group": {"name": long65}}, "name", "is too long"),
        ("/users", "users", {"user": {"name": "u" * 256}}, "name", "is too long"),
        ("/users", "users", {"user": {"description": "no name"}}, "name", "is a required property"),
        ("/users", "users", {"user": {"name": "u-" + _u(), "password": "s3cret" * 700}}, "password", "'***' is too long"),
        ("/roles", "roles", {"role": {"name": "r" * 256}}, "name", "is too long"),
        ("/regions", "regions", {"region": {"id": "r" * 256}}, "id", "is too long"),
        ("/services", "services", {"service": {"type": 5}}, "type", "is not of type 'string'"),
    ]
    for path, key, body, field, words in cases:
        before = _count(c, path, key)
        r = c.request("POST", V3 + path, json=body)
        _err(r, 400, f"Invalid input for field '{field}'", words)
        assert _count(c, path, key) == before, (path, body)
    # updates are checked too, and change nothing
    p = c.cli("project", "create", f"keep-{_u()}", "-f", "json")
    r = c.request("PATCH", f"{V3}/projects/{p['id']}", json={"project": {"name": long65}})
    _err(r, 400, "Invalid input for field 'name'", "is too long")
    assert c.request("GET", f"{V3}/projects/{p['id']}").json()["project"]["name"] == p["name"]
    # 64 characters is fine
    ok = c.request("POST", f"{V3}/projects", json={"project": {"name": "x" * 60 + _u()[:4]}})
    assert ok.status_code == 201, ok.text


def test_extra_attributes_kept_on_projects_and_users(c):
    name = f"xp-{_u()}"
    p = c.cli("project", "create", name, "--property", "color=blue", "--property", "tier=gold", "-f", "json")
    assert p["color"] == "blue" and p["tier"] == "gold"
    assert c.request("GET", f"{V3}/projects/{p['id']}").json()["project"]["color"] == "blue"
    c.cli("project", "set", p["id"], "--property", "color=red")
    got = c.request("GET", f"{V3}/projects/{p['id']}").json()["project"]
    assert got["color"] == "red" and got["tier"] == "gold"
    # users: stored on create, returned by PATCH and GET
    r = c.request("POST", f"{V3}/users", json={"user": {"name": f"xu-{_u()}", "employee": "42"}})
    assert r.status_code == 201 and r.json()["user"]["employee"] == "42", r.text
    uid = r.json()["user"]["id"]
    r = c.request("PATCH", f"{V3}/users/{uid}", json={"user": {"badge": "b-7"}})
    assert r.status_code == 200 and r.json()["user"]["badge"] == "b-7" and r.json()["user"]["employee"] == "42"
    got = c.request("GET", f"{V3}/users/{uid}").json()["user"]
    assert got["badge"] == "b-7" and got["employee"] == "42"
    # an extra attribute never overrides what the API computes or owns
    r = c.request("PATCH", f"{V3}/users/{uid}", json={"user": {"links": "x", "id": "other", "domain_id": "x"}})
    assert r.status_code == 200, r.text
    got = c.request("GET", f"{V3}/users/{uid}").json()["user"]
    assert (got["id"], got["domain_id"], got["links"]["self"].endswith(uid)) == (uid, "default", True)


def test_endpoint_in_missing_region_creates_it(c):
    region = f"Region-{_u()}"
    svc = c.cli("service", "create", "--name", f"svc-{_u()}", "example", "-f", "json")
    assert c.cli("region", "show", region, check=False).returncode != 0
    # (the CLI looks the region up first; openstacksdk sends it as given)
    ep = c.conn().identity.create_endpoint(
        service_id=svc["id"], interface="public", url="http://127.0.0.1:9/x", region_id=region
    )
    assert ep.region_id == region
    assert c.cli("region", "show", region, "-f", "json")["region"] == region
    # an unknown service is still refused, and no region appears for it
    other = f"Region-{_u()}"
    r = c.request("POST", f"{V3}/endpoints", json={"endpoint": {"service_id": "nope", "interface": "public", "url": "http://x", "region_id": other}})
    _err(r, 400, "Could not find service")
    assert c.request("GET", f"{V3}/regions/{other}").status_code == 404


def test_user_projects_lists_own_projects_only(c):
    a, b = c.new_project_user(), c.new_project_user()
    mine = c.cli("project", "list", "--my-projects", "-f", "json", creds=a)
    assert [p["ID"] for p in mine] == [a.project_id]
    r = c.request("GET", f"{V3}/users/{b.user_id}/projects", token=c.token(a))
    _err(r, 403, "identity:list_user_projects")
    admin_view = c.request("GET", f"{V3}/users/{b.user_id}/projects").json()["projects"]
    assert [p["id"] for p in admin_view] == [b.project_id]


# --- priority 2 ------------------------------------------------------------------------
def test_project_tags_api_and_filters(c):
    s = _u()
    p1 = c.cli("project", "create", f"t1-{s}", "--tag", f"red-{s}", "--tag", f"big-{s}", "-f", "json")
    p2 = c.cli("project", "create", f"t2-{s}", "--tag", f"red-{s}", "-f", "json")
    p3 = c.cli("project", "create", f"t3-{s}", "--tag", f"blue-{s}", "-f", "json")
    assert sorted(p1["tags"]) == sorted([f"red-{s}", f"big-{s}"])

    def names(*args):
        return sorted(p["Name"] for p in c.cli("project", "list", *args, "-f", "json"))

    assert names("--tags", f"red-{s},big-{s}") == [f"t1-{s}"]
    assert names("--tags-any", f"big-{s},blue-{s}") == [f"t1-{s}", f"t3-{s}"]
    mine = {f"t1-{s}", f"t2-{s}", f"t3-{s}"}
    assert mine & set(names("--not-tags", f"red-{s},big-{s}")) == {f"t2-{s}", f"t3-{s}"}
    assert mine & set(names("--not-tags-any", f"red-{s}")) == {f"t3-{s}"}
    # project set --tag / --remove-tag
    # (one option per call: OSC computes --tag from the tags before --remove-tag)
    c.cli("project", "set", p2["id"], "--tag", f"new-{s}")
    c.cli("project", "set", p2["id"], "--remove-tag", f"red-{s}")
    assert c.cli("project", "show", p2["id"], "-f", "json")["tags"] == [f"new-{s}"]
    # the /tags API through openstacksdk's tag calls
    conn = c.conn()
    proj = conn.identity.get_project(p3["id"])
    proj.add_tag(conn.identity, f"green-{s}")
    assert proj.check_tag(conn.identity, f"green-{s}")
    proj.set_tags(conn.identity, [f"x-{s}", f"y-{s}"])
    assert sorted(c.request("GET", f"{V3}/projects/{p3['id']}/tags").json()["tags"]) == [f"x-{s}", f"y-{s}"]
    proj.remove_tag(conn.identity, f"x-{s}")
    assert c.request("GET", f"{V3}/projects/{p3['id']}/tags/{f'x-{s}'}").status_code == 404
    # refusals change nothing
    _err(c.request("PUT", f"{V3}/projects/{p3['id']}/tags/a,b"), 400, "tags")
    _err(c.request("PUT", f"{V3}/projects/{p3['id']}/tags", json={"tags": ["ok", "bad/one"]}), 400, "tags")
    _err(c.request("DELETE", f"{V3}/projects/{p3['id']}/tags/absent"), 404, "absent")
    assert c.request("GET", f"{V3}/projects/{p3['id']}/tags").json()["tags"] == [f"y-{s}"]
    proj.remove_all_tags(conn.identity)
    assert c.request("GET", f"{V3}/projects/{p3['id']}/tags").json()["tags"] == []


def test_domain_admin_tags_only_projects_of_their_domain(c, domain_admin):
    tok, own = domain_admin["token"], domain_admin["project"]
    r = c.request("PUT", f"{V3}/projects/{own['id']}/tags/mine", token=tok)
    assert r.status_code == 201, r.text
    assert c.request("GET", f"{V3}/projects/{own['id']}/tags", token=tok).json()["tags"] == ["mine"]
    other = c.cli("project", "create", f"o-{_u()}", "--tag", "keep", "-f", "json")
    for method, path, body in [
        ("PUT", f"/projects/{other['id']}/tags/theirs", None),
        ("PUT", f"/projects/{other['id']}/tags", {"tags": []}),
        ("DELETE", f"/projects/{other['id']}/tags", None),
        ("DELETE", f"/projects/{other['id']}/tags/keep", None),
        ("GET", f"/projects/{other['id']}/tags", None),
    ]:
        _err(c.request(method, V3 + path, token=tok, json=body), 403, "not authorized")
    assert c.request("GET", f"{V3}/projects/{other['id']}/tags").json()["tags"] == ["keep"]


def test_is_domain_project_is_a_domain(c):
    name = f"pd-{_u()}"
    r = c.request("POST", f"{V3}/projects", json={"project": {"name": name, "is_domain": True}})
    assert r.status_code == 201, r.text
    p = r.json()["project"]
    assert p["is_domain"] is True and p["domain_id"] is None and p["parent_id"] is None
    assert c.cli("domain", "show", p["id"], "-f", "json")["name"] == name
    listed = c.request("GET", f"{V3}/projects", params={"is_domain": "true"}).json()["projects"]
    assert p["id"] in {x["id"] for x in listed} and all(x["is_domain"] for x in listed)
    assert c.request("GET", f"{V3}/projects/{p['id']}").json()["project"]["is_domain"] is True
    # a project inside the new domain works as with any domain
    inner = c.cli("project", "create", "--domain", p["id"], f"in-{_u()}", "-f", "json")
    assert inner["domain_id"] == p["id"]
    # refusals: a second domain of the same name, a parent for a domain
    before = _count(c, "/domains", "domains")
    _err(c.request("POST", f"{V3}/projects", json={"project": {"name": name, "is_domain": True}}), 409, name)
    _err(c.request("POST", f"{V3}/projects", json={"project": {"name": f"x-{_u()}", "is_domain": True, "parent_id": inner["id"]}}), 400, "is_domain")
    assert _count(c, "/domains", "domains") == before


# --- priority 3 ------------------------------------------------------------------------
def test_domain_specific_roles(c, domain_admin):
    dom = domain_admin["domain"]
    s = _u()
    role = c.cli("role", "create", "--domain", dom["id"], f"drole-{s}", "-f", "json")
    assert role["domain_id"] == dom["id"]
    # a global role of the same name may exist beside it
    c.cli("role", "create", f"drole-{s}", "-f", "json")
    listed = c.cli("role", "list", "--domain", dom["id"], "-f", "json")
    assert [r["Name"] for r in listed] == [f"drole-{s}"]
    # (OSC's `implied role create` looks among global roles only, as GET /roles lists them)
    reader = c.request("GET", f"{V3}/roles", params={"name": "reader"}).json()["roles"][0]
    assert c.request("PUT", f"{V3}/roles/{role['id']}/implies/{reader['id']}").status_code == 201
    # granted on a project of its domain: the token carries what it implies, not itself
    pw = "pw-" + secrets.token_hex(6)
    user = c.request("POST", f"{V3}/users", json={"user": {"name": f"dr-{s}", "password": pw}}).json()["user"]
    proj = domain_admin["project"]
    c.cli("role", "add", "--user", user["id"], "--project", proj["id"], role["id"])
    from tests.api.conftest import Creds

    tok = c.token(Creds(user["name"], pw), scope={"project": {"id": proj["id"]}})
    body = c.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": tok}).json()["token"]
    assert [r["name"] for r in body["roles"]] == ["reader"]
    eff = c.request("GET", f"{V3}/role_assignments", params={"user.id": user["id"], "effective": ""}).json()
    assert {a["role"]["id"] for a in eff["role_assignments"]} == {body["roles"][0]["id"]}
    # refusals: granting outside its domain, being implied; nothing changes
    other = c.new_project_user()
    before = c.request("GET", f"{V3}/role_assignments", params={"scope.project.id": other.project_id}).json()
    r = c.request("PUT", f"{V3}/projects/{other.project_id}/users/{user['id']}/roles/{role['id']}")
    _err(r, 403, "same domain as the role")
    after = c.request("GET", f"{V3}/role_assignments", params={"scope.project.id": other.project_id}).json()
    assert before["role_assignments"] == after["role_assignments"]
    member = c.request("GET", f"{V3}/roles", params={"name": "member"}).json()["roles"][0]
    _err(c.request("PUT", f"{V3}/roles/{member['id']}/implies/{role['id']}"), 403, "cannot be an implied role")
    assert c.request("GET", f"{V3}/roles/{member['id']}/implies/{role['id']}").status_code == 404
    # a role in a domain that does not exist
    _err(c.request("POST", f"{V3}/roles", json={"role": {"name": f"r-{s}", "domain_id": "nope"}}), 404, "nope")


# --- priority 4 ------------------------------------------------------------------------
def _catalog_endpoints(c, creds) -> set[str]:
    r = c.request("GET", f"{V3}/auth/catalog", token=c.token(creds))
    assert r.status_code == 200, r.text
    return {e["id"] for s in r.json()["catalog"] for e in s["endpoints"]}


def test_endpoint_groups_filter_a_projects_catalog(c, tmp_path):
    s = _u()
    svc = c.cli("service", "create", "--name", f"eg-{s}", f"egtype-{s}", "-f", "json")
    conn = c.conn()
    pub = conn.identity.create_endpoint(service_id=svc["id"], interface="public", url="http://127.0.0.1:9/p", region_id="RegionOne")
    internal = conn.identity.create_endpoint(service_id=svc["id"], interface="internal", url="http://127.0.0.1:9/i", region_id="RegionOne")
    a, b = c.new_project_user(), c.new_project_user()
    full = _catalog_endpoints(c, a)
    assert {pub.id, internal.id} <= full
    filters = tmp_path / "filters.json"
    filters.write_text(f'{{"service_id": "{svc["id"]}", "interface": "public"}}')
    group = c.cli("endpoint", "group", "create", f"grp-{s}", str(filters), "-f", "json")
    assert group["filters"] == {"service_id": svc["id"], "interface": "public"}
    c.cli("endpoint", "group", "add", "project", group["id"], a.project_id)
    assert [p["ID"] for p in c.cli("endpoint", "group", "list", "--endpointgroup", group["id"], "-f", "json")] == [a.project_id]
    assert [e.id for e in conn.identity.endpoint_group_endpoints(group["id"])] == [pub.id]
    # the project's catalog shows only its group's endpoints; other projects keep all
    assert _catalog_endpoints(c, a) == {pub.id}
    assert _catalog_endpoints(c, b) >= full
    # an endpoint associated directly joins it
    c.cli("endpoint", "add", "project", internal.id, a.project_id)
    assert [e["ID"] for e in c.cli("endpoint", "list", "--project", a.project_id, "-f", "json")] == [internal.id]
    assert _catalog_endpoints(c, a) == {pub.id, internal.id}
    # refusals change nothing
    groups_before = _count(c, "/OS-EP-FILTER/endpoint_groups", "endpoint_groups")
    bad = c.request("POST", f"{V3}/OS-EP-FILTER/endpoint_groups", json={"endpoint_group": {"name": "x", "filters": {"url": "http://x"}}})
    _err(bad, 400, "filters", "'url'")
    _err(c.request("POST", f"{V3}/OS-EP-FILTER/endpoint_groups", json={"endpoint_group": {"name": "x"}}), 400, "filters", "is a required property")
    member = c.request("POST", f"{V3}/OS-EP-FILTER/endpoint_groups", token=c.token(b),
                       json={"endpoint_group": {"name": "x", "filters": {}}})
    _err(member, 403, "identity:create_endpoint_group")
    mine = c.request("PUT", f"{V3}/OS-EP-FILTER/endpoint_groups/{group['id']}/projects/{b.project_id}", token=c.token(b))
    _err(mine, 403, "identity:add_endpoint_group_to_project")
    _err(c.request("PUT", f"{V3}/OS-EP-FILTER/endpoint_groups/nope/projects/{b.project_id}"), 404, "nope")
    assert _count(c, "/OS-EP-FILTER/endpoint_groups", "endpoint_groups") == groups_before
    assert _catalog_endpoints(c, b) >= full
    # removing the associations gives the project the whole catalog back
    c.cli("endpoint", "group", "remove", "project", group["id"], a.project_id)
    c.cli("endpoint", "remove", "project", internal.id, a.project_id)
    assert _catalog_endpoints(c, a) >= full
    c.cli("endpoint", "group", "delete", group["id"])
    assert c.request("GET", f"{V3}/OS-EP-FILTER/endpoint_groups/{group['id']}").status_code == 404


# --- priority 5 ------------------------------------------------------------------------
def test_policies_api_stores_blobs(c, tmp_path):
    rules = tmp_path / "rules.json"
    rules.write_text('{"compute:start": "rule:admin_or_owner"}')
    p = c.cli("policy", "create", "--type", "application/json", str(rules), "-f", "json")
    assert p["type"] == "application/json" and "compute:start" in p["rules"]
    assert p["id"] in {x["ID"] for x in c.cli("policy", "list", "-f", "json")}
    c.cli("policy", "set", "--type", "application/yaml", p["id"])
    shown = c.cli("policy", "show", p["id"], "-f", "json")
    assert shown["type"] == "application/yaml" and "compute:start" in shown["rules"]
    # refusals: a missing blob, a member; nothing stored
    before = _count(c, "/policies", "policies")
    _err(c.request("POST", f"{V3}/policies", json={"policy": {"type": "application/json"}}), 400, "blob", "is a required property")
    member = c.new_project_user()
    _err(c.request("POST", f"{V3}/policies", token=c.token(member), json={"policy": {"type": "t", "blob": "{}"}}), 403, "identity:create_policy")
    _err(c.request("DELETE", f"{V3}/policies/{p['id']}", token=c.token(member)), 403, "identity:delete_policy")
    assert _count(c, "/policies", "policies") == before
    c.cli("policy", "delete", p["id"])
    assert c.request("GET", f"{V3}/policies/{p['id']}").status_code == 404
