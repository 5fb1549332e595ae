"""Credentials (Keystone's /v3/credentials and OS-EC2): rows of the credential table
whose ``blob`` is encrypted with the credential key repository.

An ``ec2`` credential's blob is JSON ``{"access", "secret", "trust_id", …}`` and its id
is the SHA-256 of the access key (so ``POST /v3/ec2tokens`` finds it by access key).
``reencrypt`` moves every row to the primary key; ``rotate_keys`` does that around a
rotation so no row is left encrypted with a key the rotation prunes.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from stratus.db.models.identity import Project, User
from stratus.db.models.identity_credentials import Credential
from stratus.db.types import new_id
from stratus.errors import BadRequest, Conflict, Forbidden, ServiceUnavailable
from stratus.identity import credential_crypto
from stratus.identity.credential_crypto import CredentialKeyError

EC2 = "ec2"
# keystone's [credential] user_limit: credentials one user may own
USER_LIMIT = 500
# credential keys kept by a rotation (keystone's [credential] max_active_keys)
MAX_ACTIVE_KEYS = 3


def ec2_id(access: str) -> str:
    return hashlib.sha256(access.encode()).hexdigest()


def _field(body: dict, name: str, *, required: bool = True, nullable: bool = False) -> Any:
    value = body.get(name)
    if value is None:
        if name in body and not nullable:
            raise BadRequest(f"Invalid input for field '{name}': None is not of type 'string'.")
        if required:
            raise BadRequest(f"Invalid input for field '{name}': '{name}' is a required property.")
        return None
    if not isinstance(value, str) or len(value) > (64 if name.endswith("_id") else 65535):
        raise BadRequest(
            f"Invalid input for field '{name}': {value!r} is not a string of the allowed length."
        )
    return value


def ec2_blob(blob: str) -> dict:
    """The parsed blob of an ec2 credential; 400 unless it is a JSON object with access."""
    try:
        data = json.loads(blob)
    except ValueError:
        raise BadRequest("Invalid blob in credential: an ec2 blob is a JSON object.") from None
    if not isinstance(data, dict) or not data:
        raise BadRequest("Invalid input for field 'blob': an ec2 blob is a non-empty JSON object.")
    if not isinstance(data.get("access"), str) or not data["access"]:
        raise BadRequest("Invalid input for field 'access': an ec2 blob needs an access key.")
    return data


def _encrypt(settings, text: str) -> tuple[str, str]:
    try:
        return credential_crypto.encrypt(settings, text)
    except CredentialKeyError as e:
        raise ServiceUnavailable(str(e)) from None


def plain(settings, cred: Credential) -> str:
    """The decrypted blob (503 when the key repository cannot decrypt it)."""
    try:
        return credential_crypto.decrypt(settings, cred.blob)
    except CredentialKeyError as e:
        raise ServiceUnavailable(str(e)) from None


def create(db: Session, settings, body: dict, *, trust_id: str | None = None) -> Credential:
    """A credential from a /v3/credentials create body (already policy-checked)."""
    user_id = _field(body, "user_id")
    ctype = _field(body, "type")
    blob = _field(body, "blob")
    project_id = _field(body, "project_id", required=ctype == EC2, nullable=ctype != EC2)
    if db.get(User, user_id) is None:
        raise BadRequest(f"Invalid input for field 'user_id': could not find user {user_id}.")
    if project_id is not None and db.get(Project, project_id) is None:
        raise BadRequest(
            f"Invalid input for field 'project_id': could not find project {project_id}."
        )
    cred_id = new_id()
    if ctype == EC2:
        data = ec2_blob(blob)
        cred_id = ec2_id(data["access"])
        if trust_id is not None:
            data["trust_id"] = trust_id
            blob = json.dumps(data)
    return store(db, settings, cred_id, user_id, project_id, ctype, blob,
                 {k: v for k, v in body.items()
                  if k not in ("id", "user_id", "type", "blob", "project_id", "links")})


def store(db: Session, settings, cred_id: str, user_id: str, project_id: str | None,
          ctype: str, blob: str, extra: dict | None = None) -> Credential:
    if db.get(Credential, cred_id) is not None:
        raise Conflict(
            f"Conflict occurred attempting to store credential - Duplicate ID, {cred_id}."
        )
    owned = db.scalar(select(func.count()).where(Credential.user_id == user_id))
    if owned >= USER_LIMIT:
        raise Forbidden(
            f"Unable to create additional credentials, maximum of {USER_LIMIT} already "
            f"exceeded for user {user_id}: delete credentials the user no longer needs."
        )
    encrypted, key_hash = _encrypt(settings, blob)
    cred = Credential(id=cred_id, user_id=user_id, project_id=project_id, type=ctype,
                      blob=encrypted, key_hash=key_hash, extra=extra or {})
    db.add(cred)
    db.flush()
    return cred


def update(db: Session, settings, cred: Credential, body: dict) -> Credential:
    if "id" in body and body["id"] != cred.id:
        raise BadRequest("Cannot change the credential ID.")
    ctype = _field(body, "type", required=False) or cred.type
    user_id = _field(body, "user_id", required=False) or cred.user_id
    project_id = _field(body, "project_id", required=False, nullable=True) if "project_id" in body \
        else cred.project_id
    blob = _field(body, "blob", required=False)
    if ctype == EC2:
        if project_id is None:
            raise BadRequest("Invalid input for field 'project_id': an ec2 credential needs one.")
        data = ec2_blob(blob if blob is not None else plain(settings, cred))
        if ec2_id(data["access"]) != cred.id:
            raise BadRequest(
                "Invalid input for field 'blob': an ec2 credential's id is the hash of its "
                "access key; create a new credential for a new access key."
            )
    if user_id != cred.user_id and db.get(User, user_id) is None:
        raise BadRequest(f"Invalid input for field 'user_id': could not find user {user_id}.")
    if blob is not None:
        cred.blob, cred.key_hash = _encrypt(settings, blob)
    cred.type, cred.user_id, cred.project_id = ctype, user_id, project_id
    extra = dict(cred.extra or {})
    extra.update({k: v for k, v in body.items()
                  if k not in ("id", "user_id", "type", "blob", "project_id", "links")})
    cred.extra = extra
    db.flush()
    return cred


def new_ec2(db: Session, settings, user_id: str, project_id: str,
            trust_id: str | None = None, app_cred_id: str | None = None) -> tuple[Credential, dict]:
    data = {"access": secrets.token_hex(16), "secret": secrets.token_hex(16),
            "trust_id": trust_id, "app_cred_id": app_cred_id, "access_token_id": None}
    cred = store(db, settings, ec2_id(data["access"]), user_id, project_id, EC2, json.dumps(data))
    return cred, data


def reencrypt(db: Session, settings) -> int:
    """Re-encrypt every row not made with the primary key; the number re-encrypted."""
    primary = credential_crypto.primary_key_hash(settings)
    n = 0
    for cred in db.scalars(select(Credential).where(Credential.key_hash != primary)):
        text = credential_crypto.decrypt(settings, cred.blob)
        cred.blob, cred.key_hash = credential_crypto.encrypt(settings, text)
        n += 1
    db.flush()
    return n


def rotate_keys(db: Session, settings) -> tuple[list[int], int]:
    """Rotate the credential key repository without losing a row: re-encrypt with the
    current primary first (so the keys a rotation prunes encrypt nothing), rotate
    (the staged key, known to every controller already, becomes primary), re-encrypt
    with the new primary. Returns the key indexes kept and the rows re-encrypted."""
    repo = credential_crypto.keys(settings)
    repo.setup()  # no-op when the repository exists
    reencrypt(db, settings)
    kept = repo.rotate(MAX_ACTIVE_KEYS)
    return kept, reencrypt(db, settings)


def forget(db: Session, *, user_id: str | None = None, project_id: str | None = None) -> None:
    """A deleted user's or project's credentials go with it (as Keystone's)."""
    q = delete(Credential)
    q = q.where(Credential.user_id == user_id) if user_id else q.where(Credential.project_id == project_id)
    db.execute(q)
