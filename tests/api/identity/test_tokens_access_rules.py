"""Application credentials: access rules enforced on each request's service, method and
path (not only stored), and expires_at bounding the credential and its tokens."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"


def _app_cred_token(ctl, ac: dict):
    auth = v3.ApplicationCredential(
        auth_url=ctl.auth_url + "/v3", application_credential_id=ac["id"],
        application_credential_secret=ac["secret"],
    )
    return auth.get_access(ks_session.Session())


def _names(ctl, user) -> set[str]:
    r = ctl.request("GET", f"{V3}/users/{user.user_id}/application_credentials")
    return {a["name"] for a in r.json()["application_credentials"]}


def test_cli_access_rules_are_enforced_per_request(sqlite_controller):
    ctl = sqlite_controller
    user = ctl.new_project_user("member", "ar")
    rules = [
        {"service": "identity", "method": "GET", "path": f"/v3/users/{user.user_id}"},
        {"service": "identity", "method": "GET", "path": "/v3/users/*/application_credentials"},
        {"service": "image", "method": "GET", "path": "/v2/images"},
    ]
    ac = ctl.cli("application", "credential", "create", "--access-rules", json.dumps(rules),
                 "ar-cred", "-f", "json", creds=user)
    ac = {"id": ac["ID"], "secret": ac["Secret"], "access_rules": ac["Access Rules"]}
    stored = ac["access_rules"]
    assert [(r["service"], r["method"], r["path"]) for r in stored] == [
        (r["service"], r["method"], r["path"]) for r in rules]
    assert all(r["id"] for r in stored)
    listed = ctl.cli("access", "rule", "list", "-f", "json", creds=user)
    assert {r["Path"] for r in listed} == {r["path"] for r in rules}

    token = _app_cred_token(ctl, ac).auth_token
    # allowed: exactly the listed service, method and path patterns
    assert ctl.request("GET", f"{V3}/users/{user.user_id}", token=token).status_code == 200
    r = ctl.request("GET", f"{V3}/users/{user.user_id}/application_credentials", token=token)
    assert r.status_code == 200
    assert ctl.request("GET", "/image/v2/images", token=token).status_code == 200
    # refused: another path, another method, another service; nothing changes
    for method, path in (("GET", f"{V3}/projects/{user.project_id}"),
                         ("GET", f"{V3}/users/{user.user_id}/groups"),
                         ("GET", "/image/v2/images/x"),
                         ("DELETE", f"{V3}/users/{user.user_id}/application_credentials/{ac['id']}"),
                         ("GET", f"/compute/v2.1/os-quota-sets/{user.project_id}")):
        r = ctl.request(method, path, token=token)
        assert r.status_code == 401 and "access rules" in r.text, (method, path, r.text)
    before = ctl.request("GET", "/image/v2/images").json()["images"]
    r = ctl.request("POST", "/image/v2/images", token=token, json={"name": "nope"})
    assert r.status_code == 401
    assert ctl.request("GET", "/image/v2/images").json()["images"] == before
    assert "ar-cred" in _names(ctl, user)
    # an unrestricted token of the same user is not bound by them
    assert ctl.request("GET", f"{V3}/projects/{user.project_id}", token=ctl.token(user)).status_code == 200


def test_bad_access_rules_are_refused_and_change_nothing(sqlite_controller):
    ctl = sqlite_controller
    user = ctl.new_project_user("member", "arb")
    token = ctl.token(user)
    before = _names(ctl, user)
    cases = [
        ({"service": "image", "method": "FETCH", "path": "/v2/images"}, "access_rules[0].method"),
        ({"service": "image", "method": "GET", "path": "v2/images"}, "access_rules[0].path"),
        ({"service": "image", "method": "GET", "path": "/v2", "x": 1}, "unknown keys"),
        ({"id": "no-such-rule"}, "no access rule no-such-rule"),
    ]
    for rule, words in cases:
        r = ctl.request("POST", f"{V3}/users/{user.user_id}/application_credentials", token=token,
                        json={"application_credential": {"name": "bad", "access_rules": [rule]}})
        assert r.status_code == 400 and words in r.text, r.text
    assert _names(ctl, user) == before


def test_members_never_see_each_others_credentials_or_rules(sqlite_controller):
    ctl = sqlite_controller
    owner, other = ctl.new_project_user("member", "ari"), ctl.new_project_user("member", "ari")
    ac = ctl.conn(owner).identity.create_application_credential(
        user=owner.user_id, name="mine",
        access_rules=[{"service": "image", "method": "GET", "path": "/v2/images"}],
    )
    tok = ctl.token(other)
    for path in (f"/users/{owner.user_id}/application_credentials",
                 f"/users/{owner.user_id}/application_credentials/{ac.id}",
                 f"/users/{owner.user_id}/access_rules",
                 f"/users/{owner.user_id}/access_rules/{ac.access_rules[0]['id']}"):
        assert ctl.request("GET", V3 + path, token=tok).status_code == 403, path
    r = ctl.request("DELETE", f"{V3}/users/{owner.user_id}/application_credentials/{ac.id}", token=tok)
    assert r.status_code == 403
    assert _names(ctl, owner) == {"mine"}
    assert ctl.cli("application", "credential", "list", "-f", "json", creds=other) == []


def test_expires_at_bounds_the_credential_and_its_tokens(sqlite_controller):
    ctl = sqlite_controller
    user = ctl.new_project_user("member", "are")
    token = ctl.token(user)
    past = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()
    r = ctl.request("POST", f"{V3}/users/{user.user_id}/application_credentials", token=token,
                    json={"application_credential": {"name": "old", "expires_at": past}})
    assert r.status_code == 400 and "expires_at" in r.text
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    ac = ctl.conn(user).identity.create_application_credential(
        user=user.user_id, name="short", expires_at=soon.isoformat())
    access = _app_cred_token(ctl, {"id": ac.id, "secret": ac.secret})
    assert access.expires <= soon + timedelta(milliseconds=1)
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.1)
    with pytest.raises(ks_exc.Unauthorized):
        _app_cred_token(ctl, {"id": ac.id, "secret": ac.secret})
    r = ctl.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": access.auth_token})
    assert r.status_code == 404
    assert _names(ctl, user) == {"short"}  # shown as expired, not removed
