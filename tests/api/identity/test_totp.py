"""The TOTP auth method and multi-factor rules with auth receipts, through keystoneauth
(``v3.TOTP``, ``v3.MultiFactor``, ``ReceiptMethod`` + ``TOTPMethod``) and the openstack
CLI (``user set --multi-factor-auth-rule``) (stratus/identity/totp.py, receipts.py)."""

from __future__ import annotations

import base64
import secrets

import pytest
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import v3

from stratus.identity.totp import passcodes
from tests.api.identity._security import add_totp_credential, security_controller

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"


@pytest.fixture(scope="module")
def ctl(_controllers, tmp_path_factory):
    return security_controller(_controllers, tmp_path_factory)


def _seed() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _session(auth) -> ksa_session.Session:
    return ksa_session.Session(auth=auth)


def _token_methods(ctl, token: str) -> list[str]:
    r = ctl.request("GET", f"{V3}/auth/tokens", headers={"X-Subject-Token": token})
    assert r.status_code == 200, r.text
    return sorted(r.json()["token"]["methods"])


@pytest.fixture(scope="module")
def totp_user(ctl):
    u = ctl.new_project_user()
    seed = _seed()
    add_totp_credential(ctl, u.user_id, seed)
    return u, seed


def test_totp_login(ctl, totp_user):
    u, seed = totp_user
    auth = v3.TOTP(auth_url=ctl.auth_url, user_id=u.user_id, passcode=passcodes(seed)[0],
                   project_id=u.project_id)
    token = _session(auth).get_token()
    assert _token_methods(ctl, token) == ["totp"]
    # by name and domain too
    auth = v3.TOTP(auth_url=ctl.auth_url, username=u.username, user_domain_id="default",
                   passcode=passcodes(seed)[0], project_id=u.project_id)
    assert _session(auth).get_token()


def test_wrong_or_foreign_passcode_is_refused(ctl, totp_user):
    u, seed = totp_user
    good = passcodes(seed, 1)
    wrong = next(f"{i:06d}" for i in range(1_000_000) if f"{i:06d}" not in good)
    with pytest.raises(ksa_exc.Unauthorized):
        _session(v3.TOTP(auth_url=ctl.auth_url, user_id=u.user_id, passcode=wrong)).get_token()
    other = ctl.new_project_user()  # no TOTP credential: u's passcode does not open it
    with pytest.raises(ksa_exc.Unauthorized):
        _session(v3.TOTP(auth_url=ctl.auth_url, user_id=other.user_id,
                         passcode=passcodes(seed)[0])).get_token()
    # a seed that is no base32 never matches, and breaks nothing
    add_totp_credential(ctl, other.user_id, "not base32 !")
    with pytest.raises(ksa_exc.Unauthorized):
        _session(v3.TOTP(auth_url=ctl.auth_url, user_id=other.user_id,
                         passcode=passcodes(seed)[0])).get_token()


def test_mfa_rules_answer_with_a_receipt_that_completes_with_totp(ctl):
    u = ctl.new_project_user()
    seed = _seed()
    add_totp_credential(ctl, u.user_id, seed)
    ctl.cli("user", "set", "--multi-factor-auth-rule", "password,totp", u.user_id)
    assert ctl.conn().identity.get_user(u.user_id).options == {
        "multi_factor_auth_rules": [["password", "totp"]]}

    password = v3.Password(auth_url=ctl.auth_url, user_id=u.user_id, password=u.password,
                           project_id=u.project_id)
    with pytest.raises(ksa_exc.MissingAuthMethods) as err:
        _session(password).get_token()
    e = err.value
    assert e.methods == ["password"]
    assert e.required_auth_methods == [["password", "totp"]]
    assert e.receipt

    # the raw answer is Keystone's: 401, the header and the receipt document
    body = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"id": u.user_id, "password": u.password}}}}}
    r = ctl.http.post(f"{V3}/auth/tokens", json=body)
    assert r.status_code == 401 and r.headers["Openstack-Auth-Receipt"]
    assert r.json()["receipt"]["user"]["id"] == u.user_id
    assert "X-Subject-Token" not in r.headers

    # the receipt plus a TOTP passcode completes the login
    auth = v3.Auth(auth_url=ctl.auth_url, project_id=u.project_id, auth_methods=[
        v3.ReceiptMethod(receipt=e.receipt),
        v3.TOTPMethod(user_id=u.user_id, passcode=passcodes(seed)[0])])
    token = _session(auth).get_token()
    assert _token_methods(ctl, token) == ["password", "totp"]
    # so do both methods at once
    auth = v3.MultiFactor(auth_url=ctl.auth_url, auth_methods=["v3password", "v3totp"],
                          user_id=u.user_id, password=u.password,
                          passcode=passcodes(seed)[0], project_id=u.project_id)
    assert _token_methods(ctl, _session(auth).get_token()) == ["password", "totp"]

    # a receipt with a wrong passcode, or a receipt for another user, gets nothing
    r = ctl.http.post(f"{V3}/auth/tokens", headers={"Openstack-Auth-Receipt": e.receipt},
                      json={"auth": {"identity": {"methods": ["totp"], "totp": {
                          "user": {"id": u.user_id, "passcode": "000000" if passcodes(seed)[0]
                                   != "000000" else "111111"}}}}})
    assert r.status_code == 401 and "X-Subject-Token" not in r.headers
    other = ctl.new_project_user()
    r = ctl.http.post(f"{V3}/auth/tokens", headers={"Openstack-Auth-Receipt": e.receipt},
                      json={"auth": {"identity": {"methods": ["password"], "password": {
                          "user": {"id": other.user_id, "password": other.password}}}}})
    assert r.status_code == 404 and "X-Subject-Token" not in r.headers

    # the rules switched off: the password alone is enough again
    ctl.cli("user", "set", "--disable-multi-factor-auth", u.user_id)
    assert _session(password).get_token()
