"""One controller with Keystone's [security_compliance] switched on, shared by the
security compliance and TOTP modules (a controller start costs seconds), and a helper
that makes a TOTP credential through /v3/credentials."""

from __future__ import annotations

REGEX_DESC = "at least 8 characters"
_STARTED: dict[int, object] = {}


def security_controller(controllers, tmp_path_factory):
    """The shared controller (lockout after 2 failures for 2 s, history of 2, a regex,
    users disabled after 30 inactive days, its own credential key repository)."""
    key = id(controllers)
    if key not in _STARTED:
        keys = tmp_path_factory.mktemp("credential-keys") / "keys"
        _STARTED[key] = controllers(
            lockout_failure_attempts=2,
            lockout_duration=2,
            unique_last_password_count=2,
            password_regex="^.{8,}$",
            password_regex_description=REGEX_DESC,
            disable_user_account_days_inactive=30,
            credential_key_repository=str(keys),
        )
    return _STARTED[key]


def add_totp_credential(controller, user_id: str, secret: str) -> str:
    """A ``totp`` credential of ``user_id`` made by the admin through /v3/credentials."""
    r = controller.request("POST", "/identity/v3/credentials", json={
        "credential": {"type": "totp", "user_id": user_id, "blob": secret}})
    assert r.status_code == 201, r.text
    return r.json()["credential"]["id"]
