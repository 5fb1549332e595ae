"""One controller with Keystone's [security_compliance] switched on, shared by the
security compliance and TOTP modules (a controller start costs seconds), and a helper
that stores a TOTP credential row as B1's /v3/credentials API stores one."""

from __future__ import annotations

import types
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from stratus.identity import credential_crypto

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
    """A ``totp`` credential row for ``user_id`` (blob encrypted with the controller's
    credential keys). TODO at merge: create it with POST /v3/credentials (B1)."""
    settings = types.SimpleNamespace(
        credential_key_repository=Path(controller.settings["credential_key_repository"])
    )
    blob, key_hash = credential_crypto.encrypt(settings, secret)
    cid = uuid.uuid4().hex
    engine = create_engine(controller.database_url)
    try:
        with engine.begin() as db:
            db.execute(
                text(
                    "INSERT INTO credential (id, user_id, project_id, type, blob, key_hash, "
                    "extra, created_at) VALUES (:id, :u, NULL, 'totp', :b, :k, '{}', "
                    "CURRENT_TIMESTAMP)"
                ),
                {"id": cid, "u": user_id, "b": blob, "k": key_hash},
            )
    finally:
        engine.dispose()
    return cid
