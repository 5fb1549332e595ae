"""Multi-factor rules (user option ``multi_factor_auth_rules``) and auth receipts.

A user whose rules ask for more methods than a login gave gets no token but a 401 with
an *auth receipt* (header ``Openstack-Auth-Receipt`` and the receipt document, as
Keystone answers): proof of the methods already passed, valid ``EXPIRATION`` seconds.
Sending it back with the missing methods completes the login. A receipt is Fernet-
encrypted with keys derived from the token keys for receipts only, so it can never pass
for a token.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.orm import Session

from stratus.db.models.identity import Domain, User
from stratus.errors import NotFound, Unauthorized
from stratus.identity import security
from stratus.identity.fernet import FernetKeys
from stratus.identity.tokens import isotime

HEADER = "Openstack-Auth-Receipt"
EXPIRATION = 300  # seconds (Keystone's [receipt] expiration)


class ReceiptRequired(Unauthorized):
    """The login passed some methods but the user's rules need more: the route answers
    401 with ``document`` and the ``receipt`` in the header."""

    def __init__(self, receipt: str, document: dict) -> None:
        super().__init__(
            f"Insufficient auth methods received for {document['receipt']['user']['id']}. "
            f"Auth Methods Provided: {document['receipt']['methods']}.",
            headers={HEADER: receipt},
        )
        self.receipt = receipt
        self.document = document


def _fernet(keys: FernetKeys) -> MultiFernet:
    return MultiFernet(
        [Fernet(base64.urlsafe_b64encode(k)) for k in keys.derived_keys(b"auth-receipt")]
    )


def rules_of(db: Session, user_id: str, known_methods) -> list[set[str]]:
    """The user's rules that apply (each cut to the methods this server knows; a rule
    of only unknown methods does not count, as Keystone, so nobody is locked out)."""
    options = security.options_of(db, user_id)
    if options.get("multi_factor_auth_enabled") is False:
        return []
    rules = options.get(security.MFA_RULES) or []
    out = []
    for rule in rules if isinstance(rules, list) else []:
        if isinstance(rule, list) and all(isinstance(m, str) for m in rule):
            known = set(rule) & set(known_methods)
            if known:
                out.append(known)
    return out


def check_rules(
    db: Session, keys: FernetKeys, user: User, methods: list[str], known_methods
) -> None:
    """Raise :class:`ReceiptRequired` unless ``methods`` satisfy one of the user's rules."""
    rules = rules_of(db, user.id, known_methods)
    if not rules or any(rule <= set(methods) for rule in rules):
        return
    now = time.time()
    payload = json.dumps([user.id, sorted(methods), now, now + EXPIRATION]).encode()
    receipt = _fernet(keys).encrypt(payload).decode()
    domain = db.get(Domain, user.domain_id)
    document = {
        "receipt": {
            "methods": sorted(methods),
            "user": {
                "id": user.id,
                "name": user.name,
                "domain": {"id": domain.id, "name": domain.name},
            },
            "expires_at": isotime(datetime.fromtimestamp(now + EXPIRATION, UTC)),
            "issued_at": isotime(datetime.fromtimestamp(now, UTC)),
        },
        "required_auth_methods": [sorted(r) for r in rules],
    }
    raise ReceiptRequired(receipt, document)


def read(keys: FernetKeys, receipt: str) -> tuple[str, list[str]]:
    """The user id and methods a receipt proves (404 when it is not valid any more)."""
    try:
        user_id, methods, _issued, expires = json.loads(_fernet(keys).decrypt(receipt.encode()))
    except (InvalidToken, ValueError, TypeError):
        raise NotFound(f"Could not find auth receipt: {receipt[:16]}….") from None
    if expires < time.time():
        raise NotFound(f"Could not find auth receipt: {receipt[:16]}….")
    return user_id, methods
