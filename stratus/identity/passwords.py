"""Password and secret hashing with bcrypt.

bcrypt reads at most 72 bytes; longer secrets are cut there, as every bcrypt
implementation before bcrypt 5 did silently (keystone too), so hashes stay checkable.
"""

from __future__ import annotations

import bcrypt

MAX_BYTES = 72


def _raw(secret: str) -> bytes:
    return secret.encode("utf-8")[:MAX_BYTES]


def hash_password(secret: str, rounds: int = 12) -> str:
    return bcrypt.hashpw(_raw(secret), bcrypt.gensalt(rounds)).decode("ascii")


def check_password(secret: str, hashed: str | None) -> bool:
    if not hashed or secret is None:
        return False
    try:
        return bcrypt.checkpw(_raw(secret), hashed.encode("ascii"))
    except ValueError:
        return False
