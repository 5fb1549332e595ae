"""RBAC with the default policy: project isolation, the reader persona, and tokens that
stop working (expired, revoked, user disabled)."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"


def test_member_of_a_cannot_see_or_touch_project_b(sqlite_controller):
    controller = sqlite_controller  # policy: the same on both backends
    a = controller.new_project_user("member", prefix="rbac-a")
    b = controller.new_project_user("member", prefix="rbac-b")
    tok = controller.token(a)
    # own project: visible
    assert controller.request("GET", f"{V3}/projects/{a.project_id}", token=tok).status_code == 200
    # the other project: neither readable nor writable, nor its users or assignments
    for method, path, body in [
        ("GET", f"/projects/{b.project_id}", None),
        ("PATCH", f"/projects/{b.project_id}", {"project": {"description": "x"}}),
        ("DELETE", f"/projects/{b.project_id}", None),
        ("GET", f"/users/{b.user_id}", None),
        ("PATCH", f"/users/{b.user_id}", {"user": {"enabled": False}}),
        ("GET", f"/users/{b.user_id}/projects", None),
        ("GET", f"/users/{b.user_id}/application_credentials", None),
        ("GET", "/projects", None),
        ("GET", "/users", None),
        ("GET", f"/role_assignments?scope.project.id={b.project_id}", None),
        ("PUT", f"/projects/{b.project_id}/users/{a.user_id}/roles/x", None),
    ]:
        r = controller.request(method, V3 + path, token=tok, json=body)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json()["error"]["code"] == 403
    # cannot scope a token to B
    r = controller.http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"id": a.user_id, "password": a.password}}},
        "scope": {"project": {"id": b.project_id}}}})
    assert r.status_code == 401
    # nor rescope its own token to B
    r = controller.http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": tok}},
        "scope": {"project": {"id": b.project_id}}}})
    assert r.status_code == 401
    # nor validate B's token
    btok = controller.token(b)
    r = controller.request("GET", f"{V3}/auth/tokens", token=tok, headers={"X-Subject-Token": btok})
    assert r.status_code == 403
    # what the member sees of itself: only its own project
    projects = controller.request("GET", f"{V3}/auth/projects", token=tok).json()["projects"]
    assert [p["id"] for p in projects] == [a.project_id]


def test_reader_cannot_write(sqlite_controller):
    controller = sqlite_controller  # policy: the same on both backends
    r_ = controller.new_project_user("reader", prefix="rbac-r")
    tok = controller.token(r_)
    body = controller.request("GET", f"{V3}/auth/tokens", token=tok, headers={"X-Subject-Token": tok}).json()
    assert [x["name"] for x in body["token"]["roles"]] == ["reader"]
    assert controller.request("GET", f"{V3}/projects/{r_.project_id}", token=tok).status_code == 200
    for method, path, body in [
        ("PATCH", f"/projects/{r_.project_id}", {"project": {"description": "x"}}),
        ("POST", "/projects", {"project": {"name": "nope"}}),
        ("POST", "/users", {"user": {"name": "nope"}}),
        ("POST", "/roles", {"role": {"name": "nope"}}),
        ("DELETE", f"/projects/{r_.project_id}", None),
    ]:
        r = controller.request(method, V3 + path, token=tok, json=body)
        assert r.status_code == 403, (method, path, r.text)
    # policy through the Policy dependency other services use: admin_or_member fails
    from stratus.identity.context import RequestContext
    from stratus.identity.policy import make_enforcer

    ctx = RequestContext(user_id=r_.user_id, user_name="x", user_domain_id="default",
                         roles=("reader",), project_id=r_.project_id)
    e = make_enforcer()
    assert e.authorize("admin_or_reader", {"project_id": r_.project_id}, ctx)
    assert not e.authorize("admin_or_member", {"project_id": r_.project_id}, ctx)


def test_revoked_and_disabled_tokens_get_401(controller):
    u = controller.new_project_user("member", prefix="rbac-v")
    t1, t2 = controller.token(u), controller.token(u)
    me = f"{V3}/users/{u.user_id}"
    assert controller.request("GET", me, token=t1).status_code == 200
    # a user revokes its own token (DELETE with itself as the subject)
    r = controller.request("DELETE", f"{V3}/auth/tokens", token=t1, headers={"X-Subject-Token": t1})
    assert r.status_code == 204
    r = controller.request("GET", me, token=t1)
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    assert controller.request("GET", me, token=t2).status_code == 200  # only that token
    # disabling the user kills every token at once
    assert controller.request("PATCH", me, json={"user": {"enabled": False}}).status_code == 200
    assert controller.request("GET", me, token=t2).status_code == 401
    controller.request("PATCH", me, json={"user": {"enabled": True}})
    assert controller.request("GET", me, token=t2).status_code == 401  # stays revoked
    # removing the role invalidates project tokens of that project
    t3 = controller.token(u)
    member = controller.request("GET", f"{V3}/roles?name=member").json()["roles"][0]["id"]
    controller.request("DELETE", f"{V3}/projects/{u.project_id}/users/{u.user_id}/roles/{member}")
    assert controller.request("GET", me, token=t3).status_code == 401
    # missing and garbage tokens
    r = controller.http.get(me)
    assert r.status_code == 401 and r.json()["error"]["title"] == "Unauthorized"
    assert controller.http.get(me, headers={"X-Auth-Token": "garbage"}).status_code == 401


def test_expired_token_gets_401(controller_factory):
    short = controller_factory("sqlite", token_expiration=2)
    tok = short.token()
    assert short.request("GET", f"{V3}/projects", token=tok).status_code == 200
    time.sleep(2.2)
    r = short.request("GET", f"{V3}/projects", token=tok)
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]
    r = short.request("GET", f"{V3}/auth/tokens", token=short.token(), headers={"X-Subject-Token": tok})
    assert r.status_code == 404


def test_policy_file_overrides_a_default(controller_factory, tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text('"identity:list_regions": "rule:admin_required"\n')
    c = controller_factory("sqlite", policy_file=str(policy))
    u = c.new_project_user("member")
    assert c.request("GET", f"{V3}/regions", token=c.token(u)).status_code == 403
    assert c.request("GET", f"{V3}/regions").status_code == 200


def test_admin_of_a_project_is_not_the_cloud_admin(sqlite_controller):
    """Keystone's is_admin_project: the admin role counts cloud-wide only on the system
    scope or on the admin project; an admin of another project cannot list every user,
    create projects, or run raw Ansible through the jobs API."""
    controller = sqlite_controller  # policy: the same on both backends
    padmin = controller.new_project_user("admin", prefix="rbac-padm")
    tok = controller.token(padmin)
    for method, path, body in [
        ("GET", f"{V3}/users", None),
        ("GET", f"{V3}/projects", None),
        ("POST", f"{V3}/projects", {"project": {"name": "should-not-exist"}}),
        ("POST", "/stratus/v1/jobs", {"template": {"heat_template_version": "2018-08-31", "resources": {
            "t": {"type": "Stratus::Ansible::Task",
                  "properties": {"module": "ansible.builtin.command", "args": {"cmd": "id"}}}}}}),
    ]:
        r = controller.request(method, path, token=tok, json=body)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
    names = [p["name"] for p in controller.request("GET", f"{V3}/projects").json()["projects"]]
    assert "should-not-exist" not in names  # nothing was made
    # the bootstrap admin (admin on the admin project) still is the cloud admin
    assert controller.request("GET", f"{V3}/users").status_code == 200
