"""The real OpenStack clients (python-openstackclient, openstacksdk) against a live
controller. What they exercise is the wire (bodies, headers, microversions), not the
database: they run on SQLite only; the identity records on PostgreSQL are covered by the
tests that still use the two-backend ``controller`` (test_tokens, test_rbac,
tests/api/identity/test_migrations.py)."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import Creds

pytestmark = [pytest.mark.identity, pytest.mark.api]


def test_openstack_token_issue_and_catalog_list(sqlite_controller):
    tok = sqlite_controller.cli_subprocess("token", "issue", "-f", "json")  # the real executable
    assert tok["id"].startswith("gAAAA")  # a Fernet token
    assert tok["project_id"] and tok["user_id"]
    catalog = sqlite_controller.cli("catalog", "list", "-f", "json")
    types = {s["Type"] for s in catalog}
    assert {"identity", "compute", "network", "volumev3", "image", "orchestration"} <= types
    compute = next(s for s in catalog if s["Type"] == "compute")
    assert sqlite_controller.url + "/compute/v2.1" in str(compute["Endpoints"])
    volume = next(s for s in catalog if s["Type"] == "volumev3")
    assert tok["project_id"] in str(volume["Endpoints"])  # $(project_id)s filled in


def test_cli_project_user_role_lifecycle(sqlite_controller):
    sfx = uuid.uuid4().hex[:8]
    cli = sqlite_controller.cli
    project = cli("project", "create", f"cli-p-{sfx}", "--description", "made by a test", "-f", "json")
    user = cli("user", "create", f"cli-u-{sfx}", "--password", "pw1", "--project", project["id"], "-f", "json")
    assert user["default_project_id"] == project["id"]
    role = cli("role", "create", f"cli-role-{sfx}", "-f", "json")
    cli("role", "add", "--project", project["id"], "--user", user["id"], role["id"])
    cli("role", "add", "--project", project["id"], "--user", user["id"], "reader")
    rows = cli("role", "assignment", "list", "--project", project["id"], "--names", "-f", "json")
    assert {(r["Role"], r["User"]) for r in rows} == {
        (role["name"], f"{user['name']}@Default"), ("reader", f"{user['name']}@Default")
    }
    # the new user gets a token scoped to the project with both roles
    as_user = Creds(user["name"], "pw1", project_id=project["id"])
    tok = sqlite_controller.cli("token", "issue", "-f", "json", creds=as_user)
    assert tok["project_id"] == project["id"]
    cli("user", "set", "--description", "changed", user["id"])
    assert cli("user", "show", user["id"], "-f", "json")["description"] == "changed"
    cli("project", "set", "--disable", project["id"])
    assert cli("project", "show", project["id"], "-f", "json")["enabled"] is False
    r = sqlite_controller.cli("token", "issue", creds=as_user, check=False)
    assert r.returncode != 0  # a disabled project cannot be scoped to
    cli("role", "remove", "--project", project["id"], "--user", user["id"], role["id"])
    rows = cli("role", "assignment", "list", "--project", project["id"], "-f", "json")
    assert [r["Role"] for r in rows] == [cli("role", "show", "reader", "-f", "json")["id"]]
    cli("user", "delete", user["id"])
    cli("project", "delete", project["id"])
    cli("role", "delete", role["id"])
    names = {p["Name"] for p in cli("project", "list", "-f", "json")}
    assert f"cli-p-{sfx}" not in names


def test_cli_token_revoke(sqlite_controller):
    who = sqlite_controller.new_project_user("member")
    tok = sqlite_controller.cli("token", "issue", "-f", "json", creds=who)["id"]
    assert sqlite_controller.request("GET", "/identity/v3/auth/tokens", headers={"X-Subject-Token": tok}).status_code == 200
    sqlite_controller.cli("token", "revoke", tok, creds=who)
    r = sqlite_controller.request("GET", "/identity/v3/auth/tokens", headers={"X-Subject-Token": tok})
    assert r.status_code == 404
    r = sqlite_controller.request("GET", f"/identity/v3/projects/{who.project_id}", token=tok)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == 401


def test_application_credential_auth(sqlite_controller, tmp_path):
    who = sqlite_controller.new_project_user("member")
    ac = sqlite_controller.cli("application", "credential", "create", f"ac-{uuid.uuid4().hex[:6]}", "-f", "json", creds=who)
    assert ac["Secret"] and ac["Project ID"] == who.project_id
    # authenticate with the credential alone (v3applicationcredential), through the CLI
    import os
    import subprocess

    import yaml

    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"ac": {
        "auth_type": "v3applicationcredential",
        "auth": {"auth_url": sqlite_controller.auth_url, "application_credential_id": ac["ID"],
                 "application_credential_secret": ac["Secret"]},
        "region_name": "RegionOne"}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_CLIENT_CONFIG_FILE=str(clouds), OS_CLOUD="ac")
    from tests.api.conftest import VENV_BIN

    r = subprocess.run([str(VENV_BIN / "openstack"), "token", "issue", "-f", "json"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    import json

    tok = json.loads(r.stdout)
    assert tok["project_id"] == who.project_id and tok["user_id"] == who.user_id
    body = sqlite_controller.request("GET", "/identity/v3/auth/tokens", headers={"X-Subject-Token": tok["id"]}).json()["token"]
    assert body["methods"] == ["application_credential"]
    assert body["application_credential"]["id"] == ac["ID"]
    assert {r["name"] for r in body["roles"]} == {"member", "reader"}
    # deleting the credential invalidates its tokens, and the secret no longer works
    sqlite_controller.cli("application", "credential", "delete", ac["ID"], creds=who)
    assert sqlite_controller.request("GET", "/identity/v3/auth/tokens", headers={"X-Subject-Token": tok["id"]}).status_code == 404
    r = subprocess.run([str(VENV_BIN / "openstack"), "token", "issue"], capture_output=True, text=True, env=env)
    assert r.returncode != 0


def test_sdk_identity_resources(sqlite_controller):
    conn = sqlite_controller.conn()
    sfx = uuid.uuid4().hex[:8]
    domain = conn.identity.create_domain(name=f"sdk-d-{sfx}", description="d")
    project = conn.identity.create_project(name=f"sdk-p-{sfx}", domain_id=domain.id)
    child = conn.identity.create_project(name=f"sdk-c-{sfx}", domain_id=domain.id, parent_id=project.id)
    assert child.parent_id == project.id
    user = conn.identity.create_user(name=f"sdk-u-{sfx}", domain_id=domain.id, password="pw-a")
    group = conn.identity.create_group(name=f"sdk-g-{sfx}", domain_id=domain.id)
    conn.identity.add_user_to_group(user, group)
    assert conn.identity.check_user_in_group(user, group)
    member = conn.identity.find_role("member")
    # a group grant reaches the user; an inherited domain grant reaches every project
    conn.identity.assign_project_role_to_group(project, group, member)
    reader = conn.identity.find_role("reader")
    conn.identity.assign_domain_role_to_user(domain, user, reader)
    eff = list(conn.identity.role_assignments(user_id=user.id, effective=True))
    assert {(a.role["id"], a.scope.get("project", {}).get("id")) for a in eff if "project" in a.scope} >= {
        (member.id, project.id), (reader.id, project.id)
    }
    assert any("domain" in a.scope for a in eff)
    rows = list(conn.identity.role_assignments(scope_project_id=project.id, include_names=True))
    assert rows[0].group["name"] == group.name and rows[0].role["name"] == "member"
    # the user can scope to the project through the group, and to the domain directly
    ucreds = Creds(user.name, "pw-a", project_id=project.id, user_domain_id=domain.id)
    body = sqlite_controller.http.post(
        "/identity/v3/auth/tokens",
        json={"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": user.id, "password": "pw-a"}}},
                       "scope": {"domain": {"id": domain.id}}}},
    )
    assert body.status_code == 201 and body.json()["token"]["domain"]["id"] == domain.id
    uconn = sqlite_controller.conn(ucreds)
    assert uconn.identity.get_project(project.id).name == project.name
    # password change: old tokens revoked, the new password works
    old = sqlite_controller.token(ucreds)
    sqlite_controller.cli("user", "password", "set", "--password", "pw-b", "--original-password", "pw-a", creds=ucreds)
    assert sqlite_controller.request("GET", f"/identity/v3/users/{user.id}", token=old).status_code == 401
    ucreds.password = "pw-b"
    assert sqlite_controller.token(ucreds)
    # inherited grant on the project reaches the child project
    admin_role = conn.identity.find_role("admin")
    r = sqlite_controller.request(
        "PUT", f"/identity/v3/OS-INHERIT/projects/{project.id}/users/{user.id}/roles/{admin_role.id}/inherited_to_projects"
    )
    assert r.status_code == 204
    child_roles = sqlite_controller.http.post("/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"id": user.id, "password": "pw-b"}}},
        "scope": {"project": {"id": child.id}}}}).json()["token"]["roles"]
    assert {r["name"] for r in child_roles} == {"admin", "member", "reader"}
    # regions, services and endpoints
    region = conn.identity.create_region(id=f"sdk-r-{sfx}", description="r")
    svc = conn.identity.create_service(type=f"sdk-type-{sfx}", name=f"sdk-s-{sfx}")
    ep = conn.identity.create_endpoint(service_id=svc.id, interface="public", url="http://example.invalid/x", region_id=region.id)
    assert conn.identity.get_endpoint(ep.id).url == "http://example.invalid/x"
    conn.identity.delete_endpoint(ep)
    conn.identity.delete_service(svc)
    conn.identity.delete_region(region)
    # tear down the domain: must be disabled first (keystone's rule)
    with pytest.raises(Exception, match="disable"):
        conn.identity.delete_domain(domain)
    conn.identity.update_domain(domain, enabled=False)
    conn.identity.delete_domain(domain)
    assert conn.identity.find_project(project.id) is None
    assert conn.identity.find_user(user.id) is None


def test_sdk_service_and_endpoint_updates_patch_only_what_is_given(sqlite_controller):
    conn = sqlite_controller.conn()
    sfx = uuid.uuid4().hex[:8]
    svc = conn.identity.create_service(type=f"t-{sfx}", name=f"svc-{sfx}", description="first")
    twin = conn.identity.create_service(type=f"t2-{sfx}", name=f"twin-{sfx}")
    try:
        # services may share a name (as in keystone); untouched fields stay
        twin = conn.identity.update_service(twin, name=f"svc-{sfx}")
        assert twin.name == f"svc-{sfx}"
        svc = conn.identity.update_service(svc, description="second")
        assert (svc.name, svc.type, svc.description) == (f"svc-{sfx}", f"t-{sfx}", "second")
        ep = conn.identity.create_endpoint(service_id=svc.id, interface="public",
                                           url="http://127.0.0.1:1/a", region_id="RegionOne")
        ep = conn.identity.update_endpoint(ep, url="http://127.0.0.1:1/b")
        assert (ep.url, ep.interface, ep.service_id) == ("http://127.0.0.1:1/b", "public", svc.id)
        conn.identity.delete_endpoint(ep)
    finally:
        conn.identity.delete_service(svc)
        conn.identity.delete_service(twin)
