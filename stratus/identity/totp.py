"""The ``totp`` auth method (Keystone's): a 6-digit passcode from a TOTP seed (RFC 6238,
HMAC-SHA1, 30-second windows) that the user keeps as a credential of type ``totp``
(the base32 seed is the credential's blob, encrypted at rest by
:mod:`stratus.identity.credential_crypto`). Passcodes of the current window and of
``totp_included_previous_windows`` windows before it are accepted.
"""

from __future__ import annotations

import base64
import hmac
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.identity_credentials import Credential
from stratus.identity import credential_crypto

PASSCODE_LENGTH = 6
PERIOD = 30


def passcodes(secret: str, previous_windows: int = 0, now: float | None = None) -> list[str]:
    """The passcodes a base32 ``secret`` gives now and in the windows before."""
    raw = secret.strip().encode()
    raw += b"=" * (-len(raw) % 8)
    totp = TOTP(base64.b32decode(raw, casefold=True), PASSCODE_LENGTH, hashes.SHA1(), PERIOD)
    ts = time.time() if now is None else now
    return [totp.generate(ts - i * PERIOD).decode() for i in range(previous_windows + 1)]


def check(db: Session, settings, user_id: str, passcode: str) -> bool:
    """True when ``passcode`` is valid now for one of the user's totp credentials."""
    rows = db.scalars(select(Credential).filter_by(user_id=user_id, type="totp")).all()
    for row in rows:
        try:
            codes = passcodes(
                credential_crypto.decrypt(settings, row.blob),
                settings.totp_included_previous_windows,
            )
        except Exception:  # noqa: BLE001 - a blob that is no base32 seed never matches
            continue
        if any(hmac.compare_digest(c, passcode) for c in codes):
            return True
    return False
