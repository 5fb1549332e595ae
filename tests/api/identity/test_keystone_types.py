"""``OS::Keystone::*`` resource types through the jobs API: a template makes a domain,
project, role, group, user, grants, region, service and endpoint; the user logs in with
``openstack token issue``; updates change the records in place; deletes remove them; a
refusal leaves nothing of the request; only a cloud administrator may submit them."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import Creds
from tests.helpers.jobs import run_job as _job

pytestmark = [pytest.mark.identity, pytest.mark.api]
V3 = "/identity/v3"


@pytest.fixture(scope="module")
def ctl(sqlite_controller):
    return sqlite_controller


def _template(sfx: str) -> dict:
    res = {
        "dom": {"type": "OS::Keystone::Domain", "properties": {"name": f"tpl-d-{sfx}", "description": "d"}},
        "proj": {"type": "OS::Keystone::Project",
                 "properties": {"name": f"tpl-p-{sfx}", "domain": {"get_resource": "dom"}, "tags": ["x"]}},
        "role": {"type": "OS::Keystone::Role", "properties": {"name": f"tpl-r-{sfx}"}},
        "grp": {"type": "OS::Keystone::Group",
                "properties": {"name": f"tpl-g-{sfx}", "domain": {"get_resource": "dom"},
                               "roles": [{"role": "reader", "project": {"get_resource": "proj"}}]}},
        "usr": {"type": "OS::Keystone::User",
                "properties": {"name": f"tpl-u-{sfx}", "domain": {"get_resource": "dom"},
                               "password": "secret-1", "email": "u@example.org",
                               "default_project": {"get_resource": "proj"},
                               "groups": [{"get_resource": "grp"}],
                               "roles": [{"role": "member", "project": {"get_resource": "proj"}}]}},
        "grant": {"type": "OS::Keystone::UserRoleAssignment",
                  "properties": {"user": {"get_resource": "usr"},
                                 "roles": [{"role": {"get_resource": "role"},
                                            "project": {"get_resource": "proj"}}]}},
        "ggrant": {"type": "OS::Keystone::GroupRoleAssignment",
                   "properties": {"group": {"get_resource": "grp"},
                                  "roles": [{"role": "reader", "domain": {"get_resource": "dom"}}]}},
        "region": {"type": "OS::Keystone::Region", "properties": {"description": "made by a template"}},
        "svc": {"type": "OS::Keystone::Service",
                "properties": {"name": f"tpl-s-{sfx}", "type": f"tpl-type-{sfx}"}},
        "ep": {"type": "OS::Keystone::Endpoint",
               "properties": {"service": {"get_resource": "svc"}, "region": {"get_resource": "region"},
                              "interface": "public", "url": f"http://127.0.0.1:9/{sfx}"}},
    }
    return {"heat_template_version": "2018-08-31", "resources": res}


def _get(ctl, path: str) -> dict:
    r = ctl.request("GET", f"{V3}{path}")
    assert r.status_code == 200, r.text
    return r.json()


def _assignments(ctl, **params) -> set[tuple]:
    rows = ctl.request("GET", f"{V3}/role_assignments", params=params).json()["role_assignments"]
    return {(("user", r["user"]["id"]) if "user" in r else ("group", r["group"]["id"]),
             ("project", r["scope"]["project"]["id"]) if "project" in r["scope"]
             else ("domain", r["scope"]["domain"]["id"]), r["role"]["id"]) for r in rows}


def _role_id(ctl, name: str) -> str:
    return _get(ctl, f"/roles?name={name}")["roles"][0]["id"]


def test_keystone_types_make_update_and_delete_identity_records(ctl):
    sfx = uuid.uuid4().hex[:8]
    ids = _job(ctl, "POST", "/stratus/v1/jobs", json={"template": _template(sfx)})["resources_by_name"]
    dom, proj, usr, grp = ids["dom"], ids["proj"], ids["usr"], ids["grp"]
    assert _get(ctl, f"/domains/{dom}")["domain"]["name"] == f"tpl-d-{sfx}"
    project = _get(ctl, f"/projects/{proj}")["project"]
    assert (project["name"], project["domain_id"], project["tags"]) == (f"tpl-p-{sfx}", dom, ["x"])
    user = _get(ctl, f"/users/{usr}")["user"]
    assert (user["domain_id"], user["default_project_id"], user["email"]) == (dom, proj, "u@example.org")
    shown = ctl.request("GET", f"/stratus/v1/resources/{usr}").json()["resource"]
    assert "secret-1" not in str(_get(ctl, f"/users/{usr}")) + str(shown.get("attributes"))
    assert [g["id"] for g in _get(ctl, f"/users/{usr}/groups")["groups"]] == [grp]
    member, reader, own = _role_id(ctl, "member"), _role_id(ctl, "reader"), ids["role"]
    assert _assignments(ctl, **{"scope.project.id": proj}) == {
        (("user", usr), ("project", proj), member), (("user", usr), ("project", proj), own),
        (("group", grp), ("project", proj), reader)}
    assert _assignments(ctl, **{"scope.domain.id": dom}) == {(("group", grp), ("domain", dom), reader)}
    ep = _get(ctl, f"/endpoints/{ids['ep']}")["endpoint"]
    assert (ep["service_id"], ep["region_id"], ep["interface"]) == (ids["svc"], ids["region"], "public")

    # the user the template made logs in with the real client and sees the endpoint
    creds = Creds(f"tpl-u-{sfx}", "secret-1", project_id=proj, user_domain_id=dom, project_domain_id=dom)
    tok = ctl.cli("token", "issue", "-f", "json", creds=creds)
    assert (tok["user_id"], tok["project_id"]) == (usr, proj)
    catalog = ctl.cli("catalog", "list", "-f", "json", creds=creds)
    assert f"http://127.0.0.1:9/{sfx}" in str(catalog)

    # updates in place: rename the project, drop the user's member grant, new password
    _job(ctl, "PATCH", f"/stratus/v1/resources/{proj}", json={"properties": {"name": f"tpl-p2-{sfx}"}})
    assert _get(ctl, f"/projects/{proj}")["project"]["name"] == f"tpl-p2-{sfx}"
    _job(ctl, "PATCH", f"/stratus/v1/resources/{usr}",
         json={"properties": {"roles": [], "password": "secret-2"}})
    assert (("user", usr), ("project", proj), member) not in _assignments(ctl, **{"scope.project.id": proj})
    assert ctl.cli("token", "issue", creds=creds, check=False).returncode != 0  # old password
    creds.password = "secret-2"
    assert ctl.cli("token", "issue", "-f", "json", creds=creds)["user_id"] == usr
    r = ctl.request("PATCH", f"/stratus/v1/resources/{proj}", json={"properties": {"parent": "x"}})
    assert r.status_code == 400 and "parent cannot change in place" in r.text, r.text

    # deletes: the grant resource revokes, the user and domain go with what hangs on them
    _job(ctl, "DELETE", f"/stratus/v1/resources/{ids['grant']}")
    assert (("user", usr), ("project", proj), own) not in _assignments(ctl, **{"scope.project.id": proj})
    for name in ("ep", "svc", "region", "ggrant", "usr", "grp", "role", "proj", "dom"):
        _job(ctl, "DELETE", f"/stratus/v1/resources/{ids[name]}")
    assert ctl.request("GET", f"{V3}/users/{usr}").status_code == 404
    assert ctl.request("GET", f"{V3}/domains/{dom}").status_code == 404
    assert ctl.request("GET", f"{V3}/endpoints/{ids['ep']}").status_code == 404
    assert ctl.request("GET", f"{V3}/regions/{ids['region']}").status_code == 404
    assert ctl.request("GET", f"{V3}/roles/{own}").status_code == 404


def test_a_refused_template_records_nothing(ctl):
    sfx = uuid.uuid4().hex[:8]
    before = {k: _get(ctl, f"/{k}")[k] for k in ("domains", "projects", "users")}
    tpl = {"heat_template_version": "2018-08-31", "resources": {
        "dom": {"type": "OS::Keystone::Domain", "properties": {"name": f"ref-d-{sfx}"}},
        "usr": {"type": "OS::Keystone::User",
                "properties": {"name": f"ref-u-{sfx}", "domain": {"get_resource": "dom"},
                               "roles": [{"role": "no-such-role", "project": "admin"}]}}}}
    r = ctl.request("POST", "/stratus/v1/jobs", json={"template": tpl})
    assert r.status_code == 404 and "Could not find role: no-such-role" in r.text, r.text
    # a project named like an existing one in its domain
    tpl = {"heat_template_version": "2018-08-31", "resources": {
        "p": {"type": "OS::Keystone::Project", "properties": {"name": "admin"}}}}
    r = ctl.request("POST", "/stratus/v1/jobs", json={"template": tpl})
    assert r.status_code == 409 and "Duplicate entry found with name admin" in r.text, r.text
    # a member is not a cloud administrator (the jobs API and the types both refuse)
    member = ctl.new_project_user(prefix="tplm")
    tpl = {"heat_template_version": "2018-08-31", "resources": {
        "p": {"type": "OS::Keystone::Project", "properties": {"name": f"ref-p-{sfx}"}}}}
    r = ctl.request("POST", "/stratus/v1/jobs", token=ctl.token(member), json={"template": tpl})
    assert r.status_code == 403, r.text
    after = {k: _get(ctl, f"/{k}")[k] for k in ("domains", "projects", "users")}
    assert after["domains"] == before["domains"]
    assert not [d for d in after["domains"] if d["name"].startswith("ref-")]
    assert not [p for p in after["projects"] if p["name"].startswith("ref-")]
    assert not [u for u in after["users"] if u["name"].startswith("ref-")]
