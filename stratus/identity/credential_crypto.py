"""Credential blobs encrypted at rest with the credential key repository (Fernet keys of
their own, as keystone-manage credential_setup makes them; see stratus/identity/fernet.py
for the repository's layout).

``encrypt`` returns the blob and the hash of the primary key that made it; ``decrypt``
tries every key of the repository, so rows made before a rotation still read.
"""

from __future__ import annotations

import threading
from pathlib import Path

from stratus.identity.fernet import FernetKeys, InvalidToken

_KEY_HASH_LABEL = b"credential-key-hash"
_repos: dict[Path, FernetKeys] = {}
_lock = threading.Lock()


class CredentialKeyError(Exception):
    """The repository is missing, or no key of it made this blob."""


def keys(settings) -> FernetKeys:
    """The repository of ``settings.credential_key_repository`` (one object per path:
    it reloads itself when the directory changes)."""
    path = Path(settings.credential_key_repository)
    with _lock:
        repo = _repos.get(path)
        if repo is None:
            repo = _repos[path] = FernetKeys(path)
        return repo


def primary_key_hash(settings) -> str:
    """64 hex characters naming the primary key (a derived value, never the key)."""
    return keys(settings).derived_keys(_KEY_HASH_LABEL)[0].hex()


def encrypt(settings, text: str) -> tuple[str, str]:
    repo = keys(settings)
    try:
        blob = repo.encrypt(text.encode())
        return blob, repo.derived_keys(_KEY_HASH_LABEL)[0].hex()
    except Exception as exc:  # KeyRepositoryError, unreadable key files
        raise CredentialKeyError(
            f"credential key repository {settings.credential_key_repository}: {exc}; "
            "run `stratus credential setup` (or `stratus bootstrap`)"
        ) from exc


def decrypt(settings, blob: str) -> str:
    try:
        return keys(settings).decrypt(blob).decode()
    except InvalidToken:
        raise CredentialKeyError(
            f"no key of the credential key repository {settings.credential_key_repository} "
            "decrypts this credential (were keys removed before `stratus credential rotate` "
            "re-encrypted it?)"
        ) from None
    except Exception as exc:
        raise CredentialKeyError(
            f"credential key repository {settings.credential_key_repository}: {exc}; "
            "run `stratus credential setup` (or `stratus bootstrap`)"
        ) from exc
