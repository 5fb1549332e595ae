"""Keystone's [security_compliance] through real clients: per-user lockout, password
history, regex, lock_password, change upon first use, expiry, minimum age, inactive
users, user options (stratus/identity/security.py). Each refusal leaves the password as
it was. Durations are seconds (lockout_duration=2)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ksa_session
from keystoneauth1.identity import v3
from sqlalchemy import create_engine, text

from tests.api.identity._security import REGEX_DESC, security_controller

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"


@pytest.fixture(scope="module")
def ctl(_controllers, tmp_path_factory):
    return security_controller(_controllers, tmp_path_factory)


@pytest.fixture(scope="module")
def first_use(_controllers):
    return _controllers(
        change_password_upon_first_use=True, minimum_password_age=1, password_expires_days=90
    )


def _login(c, user_id: str, password: str):
    body = {"auth": {"identity": {"methods": ["password"],
                                  "password": {"user": {"id": user_id, "password": password}}}}}
    return c.http.post(f"{V3}/auth/tokens", json=body)


def _ksa_token(c, creds, password: str | None = None) -> str:
    auth = v3.Password(auth_url=c.auth_url, user_id=creds.user_id,
                       password=password or creds.password, project_id=creds.project_id)
    return ksa_session.Session(auth=auth).get_token()


def _change(c, user_id: str, original: str, new: str):
    return c.http.post(f"{V3}/users/{user_id}/password",
                       json={"user": {"original_password": original, "password": new}})


def _message(r) -> str:
    return r.json()["error"]["message"]


def test_lockout_after_failures_holds_for_the_duration_then_lifts(ctl):
    u = ctl.new_project_user()
    for _ in range(2):
        with pytest.raises(ksa_exc.Unauthorized):
            _ksa_token(ctl, u, "wrong-password")
    r = _login(ctl, u.user_id, u.password)  # the right password, but locked
    assert r.status_code == 401
    assert _message(r) == f"The account is locked for user: {u.user_id}."
    with pytest.raises(ksa_exc.Unauthorized, match="The account is locked"):
        _ksa_token(ctl, u)
    time.sleep(2.2)
    assert _ksa_token(ctl, u)  # the lockout lifted, the password unchanged
    # a success cleared the count: one more failure does not lock again
    assert _login(ctl, u.user_id, "wrong-password").status_code == 401
    assert _login(ctl, u.user_id, u.password).status_code == 201
    # an administrator enabling the user lifts a lockout at once (as Keystone)
    for _ in range(2):
        assert _login(ctl, u.user_id, "wrong-password").status_code == 401
    assert _message(_login(ctl, u.user_id, u.password)).startswith("The account is locked")
    r = ctl.request("PATCH", f"{V3}/users/{u.user_id}", json={"user": {"enabled": True}})
    assert r.status_code == 200
    assert _login(ctl, u.user_id, u.password).status_code == 201


def test_ignore_lockout_option_set_with_the_cli(ctl):
    u = ctl.new_project_user()
    ctl.cli("user", "set", "--ignore-lockout-failure-attempts", u.user_id)
    shown = ctl.conn().identity.get_user(u.user_id)
    assert shown.options == {"ignore_lockout_failure_attempts": True}
    for _ in range(3):
        assert _login(ctl, u.user_id, "wrong-password").status_code == 401
    assert _login(ctl, u.user_id, u.password).status_code == 201


def test_user_changes_own_password_with_the_cli_history_and_regex_refuse(ctl):
    u = ctl.new_project_user()
    new = "second-" + uuid.uuid4().hex[:8]
    ctl.cli("user", "password", "set", "--original-password", u.password,
            "--password", new, creds=u)
    assert _login(ctl, u.user_id, u.password).status_code == 401
    assert _login(ctl, u.user_id, new).status_code == 201

    r = _change(ctl, u.user_id, new, u.password)  # back to the first: in the history
    assert r.status_code == 400
    assert _message(r) == (
        "The new password cannot be identical to a previous password. The total number "
        "which includes the new password must be unique is 2."
    )
    r = _change(ctl, u.user_id, new, "short")
    assert r.status_code == 400
    assert _message(r) == f"The password does not match the requirements: {REGEX_DESC}."
    assert _login(ctl, u.user_id, new).status_code == 201  # refusals changed nothing

    r = _change(ctl, u.user_id, "not-the-original", "third-" + uuid.uuid4().hex[:8])
    assert r.status_code == 401
    assert _login(ctl, u.user_id, new).status_code == 201


def test_admin_create_and_update_follow_the_regex(ctl):
    name = "rx-" + uuid.uuid4().hex[:8]
    r = ctl.request("POST", f"{V3}/users", json={"user": {"name": name, "password": "short"}})
    assert r.status_code == 400
    assert _message(r) == f"The password does not match the requirements: {REGEX_DESC}."
    assert ctl.request("GET", f"{V3}/users", params={"name": name}).json()["users"] == []
    u = ctl.new_project_user()
    r = ctl.request("PATCH", f"{V3}/users/{u.user_id}", json={"user": {"password": "short"}})
    assert r.status_code == 400
    assert _login(ctl, u.user_id, u.password).status_code == 201


def test_lock_password_option_refuses_self_service_change(ctl):
    u = ctl.new_project_user()
    ctl.cli("user", "set", "--enable-lock-password", u.user_id)
    assert ctl.conn().identity.get_user(u.user_id).options == {"lock_password": True}
    r = _change(ctl, u.user_id, u.password, "another-" + uuid.uuid4().hex[:8])
    assert r.status_code == 400
    assert _message(r) == (
        "You cannot change your password at this time due to password policy disallowing "
        "password changes. Please contact your administrator to reset your password."
    )
    assert _login(ctl, u.user_id, u.password).status_code == 201


def test_user_options_are_validated(ctl):
    u = ctl.new_project_user()
    for bad in ({"no_such_option": True}, {"lock_password": "yes"},
                {"multi_factor_auth_rules": [["password"], ["password"]]}):
        r = ctl.request("PATCH", f"{V3}/users/{u.user_id}", json={"user": {"options": bad}})
        assert r.status_code == 400, bad
        assert "options" in _message(r)
    assert ctl.conn().identity.get_user(u.user_id).options == {}
    conn = ctl.conn()
    conn.identity.update_user(u.user_id, options={"multi_factor_auth_rules": [["password", "totp"]]})
    assert conn.identity.get_user(u.user_id).options == {
        "multi_factor_auth_rules": [["password", "totp"]]}
    conn.identity.update_user(u.user_id, options={"multi_factor_auth_rules": None})
    assert conn.identity.get_user(u.user_id).options == {}


def test_inactive_user_is_disabled_until_enabled_again(ctl):
    u = ctl.new_project_user()
    assert _login(ctl, u.user_id, u.password).status_code == 201
    engine = create_engine(ctl.database_url)
    with engine.begin() as db:
        db.execute(text("UPDATE identity_user_security SET last_active_at = :t WHERE user_id = :u"),
                   {"t": (datetime.now(UTC) - timedelta(days=31)).replace(tzinfo=None),
                    "u": u.user_id})
    engine.dispose()
    r = _login(ctl, u.user_id, u.password)
    assert r.status_code == 401
    assert _message(r) == f"The account is disabled for user: {u.user_id}."
    assert ctl.conn().identity.get_user(u.user_id).is_enabled is False
    ctl.cli("user", "set", "--enable", u.user_id)
    assert ctl.conn().identity.get_user(u.user_id).is_enabled is True
    assert _login(ctl, u.user_id, u.password).status_code == 201


def test_change_upon_first_use_expiry_and_minimum_age(first_use):
    c = first_use
    u = c.new_project_user()
    r = _login(c, u.user_id, u.password)
    assert r.status_code == 401
    assert _message(r) == f"The password is expired and needs to be changed for user: {u.user_id}."
    # no token can be had: the change is authenticated by the original password alone
    new = "mine-" + uuid.uuid4().hex[:8]
    assert _change(c, u.user_id, "wrong-original", new).status_code == 401
    assert _change(c, u.user_id, u.password, new).status_code == 204
    r = _login(c, u.user_id, new)
    assert r.status_code == 201
    expires = datetime.fromisoformat(r.json()["token"]["user"]["password_expires_at"].replace("Z", "+00:00"))
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)

    r = _change(c, u.user_id, new, "again-" + uuid.uuid4().hex[:8])  # minimum age: 1 day
    assert r.status_code == 400
    assert _message(r) == (
        "You cannot change your password at this time due to the minimum password age. "
        "Once you change your password, it must be used for 1 day(s) before it can be "
        "changed. Please try again in 0 day(s) or contact your administrator to reset your "
        "password."
    )
    assert _login(c, u.user_id, new).status_code == 201


def test_first_use_and_expiry_options(first_use):
    c = first_use
    conn = c.conn()
    pw = "pw-" + uuid.uuid4().hex
    exempt = conn.identity.create_user(
        name="x-" + uuid.uuid4().hex[:8], password=pw,
        options={"ignore_change_password_upon_first_use": True, "ignore_password_expiry": True})
    assert exempt.password_expires_at is None
    assert _login(c, exempt.id, pw).status_code == 201
    no_first_use = conn.identity.create_user(
        name="y-" + uuid.uuid4().hex[:8], password=pw,
        options={"ignore_change_password_upon_first_use": True})
    assert no_first_use.password_expires_at is not None  # 90 days
    assert _login(c, no_first_use.id, pw).status_code == 201
