"""OS-TRUST through the real clients: `openstack trust create/list/show/delete`,
openstacksdk, and trust-scoped tokens from keystoneauth's ``v3.Password(trust_id=…)``.
Isolation (a member never sees another user's trusts) and refusals that change nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.api.conftest import Controller, Creds

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"


@pytest.fixture(scope="module")
def ctl(_controllers):
    """One controller for the module, redelegation allowed two levels deep."""
    return _controllers("sqlite", trust_allow_redelegation=True, trust_max_redelegation_count=2)


@pytest.fixture(scope="module")
def people(ctl):
    """trustor (member of their project), trustee and a bystander (members elsewhere)."""
    return {k: ctl.new_project_user("member", prefix=k[:3]) for k in ("trustor", "trustee", "other")}


def _trust_body(trustor, trustee, **kw) -> dict:
    body = {
        "trustor_user_id": trustor.user_id,
        "trustee_user_id": trustee.user_id,
        "project_id": trustor.project_id,
        "impersonation": False,
        "roles": [{"name": "member"}],
    }
    body.update(kw)
    return {"trust": body}


def _create(ctl, trustor, trustee, token=None, **kw):
    token = token or ctl.token(trustor)
    return ctl.request("POST", f"{V3}/OS-TRUST/trusts", token=token, json=_trust_body(trustor, trustee, **kw))


def _trust_session(ctl, creds, trust_id) -> ks_session.Session:
    auth = v3.Password(
        auth_url=ctl.auth_url + "/v3", username=creds.username, password=creds.password,
        user_domain_id="default", trust_id=trust_id,
    )
    return ks_session.Session(auth=auth)


def _all_trust_ids(ctl) -> set[str]:
    r = ctl.request("GET", f"{V3}/OS-TRUST/trusts")
    assert r.status_code == 200, r.text
    return {t["id"] for t in r.json()["trusts"]}


def _valid(ctl, token) -> int:
    return ctl.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": token}).status_code


def test_cli_trust_lifecycle_and_trust_scoped_token(ctl, people):
    trustor, trustee = people["trustor"], people["trustee"]
    made = ctl.cli(
        "trust", "create", "--project", trustor.project_id, "--role", "member",
        trustor.user_id, trustee.user_id, "-f", "json", creds=trustor,
    )
    assert made["trustor_user_id"] == trustor.user_id
    assert made["trustee_user_id"] == trustee.user_id
    assert made["project_id"] == trustor.project_id
    assert made["is_impersonation"] is False
    shown = ctl.cli("trust", "show", made["id"], "-f", "json", creds=trustee)
    assert shown["id"] == made["id"] and [r["name"] for r in shown["roles"]] == ["member"]
    for who in (trustor, trustee):
        rows = ctl.cli("trust", "list", "--auth-user", "-f", "json", creds=who)
        assert made["id"] in {r["ID"] for r in rows}

    # the trustee's trust-scoped token (keystoneauth), scoped to the trustor's project
    sess = _trust_session(ctl, trustee, made["id"])
    access = sess.auth.get_access(sess)
    assert access.trust_scoped and access.trust_id == made["id"]
    assert access.trustor_user_id == trustor.user_id and access.trustee_user_id == trustee.user_id
    assert access.user_id == trustee.user_id  # no impersonation
    assert access.project_id == trustor.project_id
    assert set(access.role_names) == {"member", "reader"}  # member implies reader
    # ... which acts on the trustor's project
    r = ctl.request("GET", f"{V3}/projects/{trustor.project_id}", token=access.auth_token)
    assert r.status_code == 200, r.text
    # roles of the trust
    roles = ctl.request("GET", f"{V3}/OS-TRUST/trusts/{made['id']}/roles", token=ctl.token(trustee))
    assert [x["name"] for x in roles.json()["roles"]] == ["member"]
    rid = roles.json()["roles"][0]["id"]
    assert ctl.request("HEAD", f"{V3}/OS-TRUST/trusts/{made['id']}/roles/{rid}").status_code == 200

    # a trust-scoped token cannot be rescoped, nor make application credentials
    r = ctl.http.post(f"{V3}/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": access.auth_token}},
        "scope": {"project": {"id": trustee.project_id}}}})
    assert r.status_code == 403 and "trust-scoped token" in r.text
    r = ctl.request("POST", f"{V3}/users/{trustee.user_id}/application_credentials",
                    token=access.auth_token, json={"application_credential": {"name": "x"}})
    assert r.status_code == 403 and "trust-scoped" in r.text

    # the trustee cannot delete it; the trustor can, and its tokens end at once
    r = ctl.request("DELETE", f"{V3}/OS-TRUST/trusts/{made['id']}", token=ctl.token(trustee))
    assert r.status_code == 403
    assert made["id"] in _all_trust_ids(ctl)
    assert _valid(ctl, access.auth_token) == 200
    ctl.cli("trust", "delete", made["id"], creds=trustor)
    assert made["id"] not in _all_trust_ids(ctl)
    assert _valid(ctl, access.auth_token) == 404
    with pytest.raises(ks_exc.Unauthorized):
        _trust_session(ctl, trustee, made["id"]).get_token()


def test_sdk_impersonation_and_remaining_uses(ctl, people):
    trustor, trustee = people["trustor"], people["trustee"]
    conn = ctl.conn(trustor)
    trust = conn.identity.create_trust(
        trustor_user_id=trustor.user_id, trustee_user_id=trustee.user_id,
        project_id=trustor.project_id, roles=[{"name": "member"}],
        is_impersonation=True, remaining_uses=2,
    )
    assert trust.is_impersonation is True and trust.remaining_uses == 2
    # impersonation: the token's user is the trustor
    first = _trust_session(ctl, trustee, trust.id).auth.get_access(ks_session.Session())
    assert first.user_id == trustor.user_id and first.trustee_user_id == trustee.user_id
    assert conn.identity.get_trust(trust.id).remaining_uses == 1
    _trust_session(ctl, trustee, trust.id).get_token()
    # used up: no third token, and the trust is gone from lists and shows
    with pytest.raises(ks_exc.Unauthorized):
        _trust_session(ctl, trustee, trust.id).get_token()
    assert trust.id not in {t.id for t in conn.identity.trusts(trustor_user_id=trustor.user_id)}
    assert _valid(ctl, first.auth_token) == 200  # tokens already issued stay valid


def test_expiry_bounds_the_trust_and_its_tokens(ctl, people):
    trustor, trustee = people["trustor"], people["trustee"]
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    before = _all_trust_ids(ctl)
    r = _create(ctl, trustor, trustee, expires_at=past)
    assert r.status_code == 400 and "expires_at" in r.text
    assert _all_trust_ids(ctl) == before
    soon = datetime.now(UTC) + timedelta(seconds=2)
    r = _create(ctl, trustor, trustee, expires_at=soon.isoformat())
    assert r.status_code == 201, r.text
    tid = r.json()["trust"]["id"]
    access = _trust_session(ctl, trustee, tid).auth.get_access(ks_session.Session())
    assert access.expires <= soon + timedelta(milliseconds=1)
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.1)
    assert _valid(ctl, access.auth_token) == 404
    assert ctl.request("GET", f"{V3}/OS-TRUST/trusts/{tid}").status_code == 404


def test_trustor_losing_the_role_ends_trust_tokens(ctl):
    trustor, trustee = ctl.new_project_user("member", "lose"), ctl.new_project_user("member", "lose")
    extra = ctl.request("POST", f"{V3}/roles", json={"role": {"name": f"extra-{trustor.user_id[:8]}"}})
    role_id = extra.json()["role"]["id"]
    path = f"{V3}/projects/{trustor.project_id}/users/{trustor.user_id}/roles/{role_id}"
    assert ctl.request("PUT", path).status_code == 204
    r = _create(ctl, trustor, trustee, roles=[{"id": role_id}])
    assert r.status_code == 201, r.text
    access = _trust_session(ctl, trustee, r.json()["trust"]["id"]).auth.get_access(ks_session.Session())
    assert access.role_names == [extra.json()["role"]["name"]]  # only the delegated role
    assert ctl.request("DELETE", path).status_code == 204
    assert _valid(ctl, access.auth_token) == 404


def test_isolation_and_refusals_change_nothing(ctl, people):
    trustor, trustee, other = people["trustor"], people["trustee"], people["other"]
    r = _create(ctl, trustor, trustee)
    assert r.status_code == 201
    tid = r.json()["trust"]["id"]
    before = _all_trust_ids(ctl)
    tok = ctl.token(other)
    # a bystander sees none of it
    for path in (f"/OS-TRUST/trusts/{tid}", f"/OS-TRUST/trusts/{tid}/roles",
                 f"/OS-TRUST/trusts?trustor_user_id={trustor.user_id}",
                 f"/OS-TRUST/trusts?trustee_user_id={trustee.user_id}", "/OS-TRUST/trusts"):
        assert ctl.request("GET", V3 + path, token=tok).status_code == 403, path
    assert ctl.cli("trust", "list", "--auth-user", "-f", "json", creds=other) == []
    assert ctl.cli("trust", "list", creds=other, check=False).returncode != 0
    assert ctl.request("DELETE", f"{V3}/OS-TRUST/trusts/{tid}", token=tok).status_code == 403
    # a trust in someone else's name, a role the trustor lacks, bad fields
    r = _create(ctl, trustee, other, token=ctl.token(trustor))
    assert r.status_code == 403
    r = _create(ctl, trustor, trustee, roles=[{"name": "admin"}])
    assert r.status_code == 403 and "does not hold role admin" in r.text
    r = _create(ctl, trustor, trustee, roles=[{"name": "no-such-role"}])
    assert r.status_code == 404 and "no-such-role" in r.text
    r = _create(ctl, trustor, Creds("x", "x", user_id="no-such-user"))
    assert r.status_code == 404 and "no-such-user" in r.text
    for bad in ({"remaining_uses": 0}, {"impersonation": "yes"}, {"roles": []}):
        r = _create(ctl, trustor, trustee, **bad)
        assert r.status_code == 400 and next(iter(bad)) in r.text, r.text
    # the bystander cannot use the trust
    with pytest.raises(ks_exc.http.Forbidden):
        _trust_session(ctl, other, tid).get_token()
    assert _all_trust_ids(ctl) == before
    # the admin sees and filters them all
    mine = ctl.conn().identity.trusts(trustee_user_id=trustee.user_id)
    assert tid in {t.id for t in mine}


def test_redelegation_within_the_settings(ctl, people):
    trustor, trustee, other = people["trustor"], people["trustee"], people["other"]
    plain = _create(ctl, trustor, trustee).json()["trust"]
    r = _create(ctl, trustor, trustee, allow_redelegation=True, redelegation_count=3)
    assert r.status_code == 403 and "greater than allowed 2" in r.text
    parent = _create(ctl, trustor, trustee, allow_redelegation=True).json()["trust"]
    assert parent["redelegation_count"] == 2
    # the trustee redelegates with a token of the trust
    as_trust = _trust_session(ctl, trustee, parent["id"]).get_token()
    body = _trust_body(trustee, other, project_id=trustor.project_id, allow_redelegation=True)
    r = ctl.request("POST", f"{V3}/OS-TRUST/trusts", token=as_trust, json=body)
    assert r.status_code == 201, r.text
    child = r.json()["trust"]
    assert child["redelegated_trust_id"] == parent["id"] and child["redelegation_count"] == 1
    access = _trust_session(ctl, other, child["id"]).auth.get_access(ks_session.Session())
    assert access.project_id == trustor.project_id
    # no redelegation of a trust that does not allow it, nor wider than the trust
    before = _all_trust_ids(ctl)
    plain_token = _trust_session(ctl, trustee, plain["id"]).get_token()
    r = ctl.request("POST", f"{V3}/OS-TRUST/trusts", token=plain_token,
                    json=_trust_body(trustee, other, project_id=trustor.project_id))
    assert r.status_code == 403 and "does not allow redelegation" in r.text
    r = ctl.request("POST", f"{V3}/OS-TRUST/trusts", token=as_trust,
                    json=_trust_body(trustee, other, project_id=trustor.project_id, impersonation=True))
    assert r.status_code == 403 and "impersonation" in r.text
    assert _all_trust_ids(ctl) == before
    # deleting the parent removes the redelegated trust and ends its tokens
    assert ctl.request("DELETE", f"{V3}/OS-TRUST/trusts/{parent['id']}", token=ctl.token(trustor)).status_code == 204
    assert child["id"] not in _all_trust_ids(ctl)
    assert _valid(ctl, access.auth_token) == 404


def test_redelegation_disabled_by_default(sqlite_controller):
    ctl = sqlite_controller
    trustor, trustee = ctl.new_project_user("member", "rd"), ctl.new_project_user("member", "rd")
    r = _create(ctl, trustor, trustee, allow_redelegation=True)
    assert r.status_code == 403 and "trust_allow_redelegation" in r.text
    assert ctl.request("GET", f"{V3}/OS-TRUST/trusts?trustor_user_id={trustor.user_id}").json()["trusts"] == []


def test_a_change_on_another_controller_ends_cached_validations(ctl, people, tmp_path):
    """Two controllers on one database: deleting a trust or removing a role on one
    drops the other's cached validations within a poll (0.25 s), well inside
    token_cache_seconds (5 s)."""
    trustor, trustee = people["trustor"], people["trustee"]
    other = Controller(tmp_path, ctl.database_url, fernet_key_repository=ctl.settings["fernet_key_repository"])
    other.start()
    try:
        tid = _create(ctl, trustor, trustee).json()["trust"]["id"]
        trust_token = _trust_session(ctl, trustee, tid).get_token()
        user = ctl.new_project_user("member", "xc")
        token = ctl.token(user)
        assert _valid(ctl, trust_token) == 200 and _valid(ctl, token) == 200  # now cached
        assert other.request("DELETE", f"{V3}/OS-TRUST/trusts/{tid}").status_code == 204
        member = other.request("GET", f"{V3}/roles", params={"name": "member"}).json()["roles"][0]["id"]
        path = f"{V3}/projects/{user.project_id}/users/{user.user_id}/roles/{member}"
        assert other.request("DELETE", path).status_code == 204
        time.sleep(0.3)
        assert _valid(ctl, trust_token) == 404
        assert _valid(ctl, token) == 404
    finally:
        other.close()
