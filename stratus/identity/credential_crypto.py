"""Credential blobs encrypted at rest with the credential key repository (Fernet).

STUB on branch h/sec (security compliance): B1 (h/cred) owns the real module with the
same two signatures; the lead keeps B1's at merge. Keys come from
``settings.credential_key_repository`` and are created when missing.
"""

from __future__ import annotations

import hashlib

from stratus.identity.fernet import FernetKeys


def _keys(settings) -> FernetKeys:
    keys = FernetKeys(settings.credential_key_repository)
    keys.setup()  # no-op when the repository has keys
    return keys


def encrypt(settings, text: str) -> tuple[str, str]:
    """``(blob, key_hash)``: the ciphertext and the sha1 of the primary key that made it."""
    keys = _keys(settings)
    blob = keys.encrypt(text.encode())
    primary = max(int(p.name) for p in keys.directory.iterdir() if p.name.isdigit())
    key = (keys.directory / str(primary)).read_bytes().strip()
    return blob, hashlib.sha1(key).hexdigest()


def decrypt(settings, blob: str) -> str:
    return _keys(settings).decrypt(blob).decode()
