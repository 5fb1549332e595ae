"""Download and upload tickets: how a compute host reads an image (to boot it) or
writes one (a server snapshot) through the image API without a user's token.

The controller signs ``<purpose>:<image id>:<expiry>`` with a key derived from its
Fernet keys (so tickets rotate with them, and every controller of a cloud checks any
controller's ticket); the playbook carries the ticket in the ``X-Image-Ticket`` header
of the host's request. A ticket opens one image for one purpose until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from stratus.identity.fernet import FernetKeys

HEADER = "X-Image-Ticket"
DOWNLOAD, UPLOAD = "download", "upload"
_LABEL = b"image-ticket"


def _sign(key: bytes, purpose: str, image_id: str, expires: int) -> str:
    return hmac.new(key, f"{purpose}:{image_id}:{expires}".encode(), hashlib.sha256).hexdigest()


def issue(keys: FernetKeys, image_id: str, purpose: str, lifetime: int, now: float | None = None) -> str:
    """A ticket for ``purpose`` on ``image_id``, valid ``lifetime`` seconds."""
    expires = int(now if now is not None else time.time()) + int(lifetime)
    return f"{expires}.{_sign(keys.derived_keys(_LABEL)[0], purpose, image_id, expires)}"


def verify(keys: FernetKeys, image_id: str, purpose: str, ticket: str, now: float | None = None) -> bool:
    """True when ``ticket`` was issued for ``purpose`` on ``image_id`` and has not expired."""
    expires_s, _, sig = ticket.partition(".")
    if not expires_s.isdigit() or len(sig) != 64:
        return False
    expires = int(expires_s)
    if expires < (now if now is not None else time.time()):
        return False
    return any(hmac.compare_digest(_sign(k, purpose, image_id, expires), sig)
               for k in keys.derived_keys(_LABEL))
