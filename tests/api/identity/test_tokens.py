"""Token documents and scopes, restart survival and key rotation."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"


@pytest.fixture
def controller(sqlite_controller):
    """SQLite only: token documents and scopes are the token provider's; the keys that a
    restart and a rotation keep are files; the revocation that outlives the restart is
    one row, and revocations on both backends are tests/api/identity/test_rbac.py's."""
    return sqlite_controller


def _password(user_id: str, pw: str) -> dict:
    return {"methods": ["password"], "password": {"user": {"id": user_id, "password": pw}}}


def test_token_body_project_scope(controller):
    u = controller.new_project_user("member")
    r = controller.http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": u.username, "domain": {"name": "Default"}, "password": u.password}}},
        "scope": {"project": {"name": u.project_name, "domain": {"id": "default"}}}}})
    assert r.status_code == 201
    assert r.headers["X-Subject-Token"].startswith("gAAAA")
    assert r.headers["X-Openstack-Request-Id"].startswith("req-")
    t = r.json()["token"]
    assert t["methods"] == ["password"]
    assert t["user"] == {"id": u.user_id, "name": u.username, "domain": {"id": "default", "name": "Default"},
                         "password_expires_at": None}
    assert t["project"] == {"id": u.project_id, "name": u.project_name, "domain": {"id": "default", "name": "Default"}}
    assert sorted(x["name"] for x in t["roles"]) == ["member", "reader"]  # implied role included
    assert t["expires_at"].endswith("Z") and t["issued_at"] < t["expires_at"]
    assert len(t["audit_ids"]) == 1 and t["catalog"]
    # ?nocatalog, HEAD validation
    r = controller.http.post(f"{V3}/auth/tokens?nocatalog", json={"auth": {"identity": _password(u.user_id, u.password)}})
    assert "catalog" not in r.json()["token"]
    h = controller.http.head(f"{V3}/auth/tokens", headers={"X-Auth-Token": controller.admin_token(),
                                                          "X-Subject-Token": r.headers["X-Subject-Token"]})
    assert h.status_code == 200


def test_unscoped_domain_system_and_rescoped_tokens(controller):
    u = controller.new_project_user("member")
    uid = u.user_id
    # unscoped (no default project): no roles, no catalog
    r = controller.http.post(f"{V3}/auth/tokens", json={"auth": {"identity": _password(uid, u.password)}})
    t = r.json()["token"]
    assert r.status_code == 201 and "project" not in t and "roles" not in t and "catalog" not in t
    unscoped = r.headers["X-Subject-Token"]
    # rescope with the token method
    r = controller.http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": unscoped}}, "scope": {"project": {"id": u.project_id}}}})
    t2 = r.json()["token"]
    assert r.status_code == 201 and t2["project"]["id"] == u.project_id
    assert t2["audit_ids"][1] == t["audit_ids"][0] and t2["expires_at"] <= t["expires_at"]
    # /auth/projects with the unscoped token
    got = controller.request("GET", f"{V3}/auth/projects", token=unscoped).json()["projects"]
    assert [p["id"] for p in got] == [u.project_id]
    # system scope for the admin (bootstrap grants admin on the system)
    r = controller.http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": controller.admin.password}}},
        "scope": {"system": {"all": True}}}})
    assert r.status_code == 201 and r.json()["token"]["system"] == {"all": True}
    # but not for a plain member
    r = controller.http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": _password(uid, u.password), "scope": {"system": {"all": True}}}})
    assert r.status_code == 401
    # domain scope needs a domain role
    r = controller.http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": _password(uid, u.password), "scope": {"domain": {"id": "default"}}}})
    assert r.status_code == 401
    r = controller.http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"id": "default"}, "password": controller.admin.password}}},
        "scope": {"domain": {"id": "default"}}}})
    assert r.status_code == 401  # admin holds no role on the domain itself (as after keystone bootstrap)
    # wrong password
    r = controller.http.post(f"{V3}/auth/tokens", json={"auth": {"identity": _password(uid, "wrong")}})
    assert r.status_code == 401 and r.json()["error"]["title"] == "Unauthorized"


def test_token_survives_restart_and_key_rotation(controller):
    u = controller.new_project_user("member")
    tok = controller.token(u)
    controller.restart()
    r = controller.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": tok})
    assert r.status_code == 200 and r.json()["token"]["project"]["id"] == u.project_id
    # rotate: the key that signed the token becomes secondary but still decrypts
    controller.stratus("token", "rotate")
    assert controller.request("GET", f"{V3}/projects/{u.project_id}", token=tok).status_code == 200
    new = controller.token(u)
    assert controller.request("GET", f"{V3}/projects/{u.project_id}", token=new).status_code == 200
    # a revocation is in the DB, so it too survives a restart
    controller.request("DELETE", f"{V3}/auth/tokens", headers={"X-Subject-Token": tok})
    controller.restart()
    assert controller.request("GET", f"{V3}/projects/{u.project_id}", token=tok).status_code == 401
    assert controller.request("GET", f"{V3}/projects/{u.project_id}", token=new).status_code == 200
