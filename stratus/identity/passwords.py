"""Password and secret hashing with bcrypt.

bcrypt reads at most 72 bytes; longer secrets are cut there, as every bcrypt
implementation before bcrypt 5 did silently (keystone too), so hashes stay checkable.

:func:`check_password_or_dummy` is the login check: when there is no hash to check
(no such user, no password set) it checks against a dummy hash of the configured cost,
so a wrong user name costs the same time as a wrong password and the answer's timing
does not tell which users exist.
"""

from __future__ import annotations

import functools
import secrets

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


@functools.cache
def dummy_hash(rounds: int) -> str:
    """A hash of a random secret at ``rounds`` (made once per process and cost)."""
    return hash_password(secrets.token_urlsafe(32), rounds)


def check_password_or_dummy(secret: str, hashed: str | None, rounds: int) -> bool:
    """:func:`check_password`, paying one bcrypt check of ``rounds`` when ``hashed`` is
    empty, and False then."""
    if not hashed:
        check_password(secret if isinstance(secret, str) else "", dummy_hash(rounds))
        return False
    return check_password(secret, hashed)
