"""Nova's key pairs: a user's named public keys (``ssh`` or, from 2.2, ``x509``), imported
or generated (the private key is returned once and never kept), with Nova's
fingerprints: MD5 of the SSH key blob, SHA-1 of an X.509 certificate, as colon hex.

    from stratus.compute.keypairs import get_keypair
    key = get_keypair(db, user_id, "mykey")    # NotFound in Nova's words

Key pairs belong to a user, not a project; the limit is the ``key_pairs`` quota of the
caller's project, counted over the user's key pairs (as Nova counts them).
"""

from __future__ import annotations

import base64
import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.compute import KeyPair
from stratus.errors import BadRequest, Conflict, Forbidden, NotFound
from stratus.identity.policy import RuleDefault, register_defaults

_OWN = "rule:admin_required or user_id:%(user_id)s"
register_defaults([
    RuleDefault("os_compute_api:os-keypairs:index", _OWN),
    RuleDefault("os_compute_api:os-keypairs:create", _OWN),
    RuleDefault("os_compute_api:os-keypairs:show", _OWN),
    RuleDefault("os_compute_api:os-keypairs:delete", _OWN),
])

TYPES = ("ssh", "x509")


def _colon_hex(digest: bytes) -> str:
    return ":".join(f"{b:02x}" for b in digest)


def fingerprint(public_key: str, key_type: str = "ssh") -> str:
    """Nova's fingerprint of ``public_key``; BadRequest when it is not a key of that
    type ("Keypair data is invalid: failed to generate fingerprint")."""
    try:
        if key_type == "x509":
            cert = x509.load_pem_x509_certificate(public_key.encode())
            return _colon_hex(cert.fingerprint(hashes.SHA1()))  # noqa: S303 - Nova's fingerprint
        serialization.load_ssh_public_key(public_key.strip().encode())
        blob = base64.b64decode(public_key.split()[1])
        return _colon_hex(hashlib.md5(blob).digest())  # noqa: S324 - Nova's fingerprint
    except (ValueError, IndexError, TypeError, UnicodeError) as exc:
        raise BadRequest("Keypair data is invalid: failed to generate fingerprint") from exc


def generate(key_type: str, name: str) -> tuple[str, str]:
    """A new (private key PEM, public key) pair: an RSA-2048 OpenSSH key, or for
    ``x509`` a self-signed certificate as the public part (as Nova makes them)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    if key_type == "x509":
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
                .sign(key, hashes.SHA256()))
        return private, cert.public_bytes(serialization.Encoding.PEM).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, f"{public} Generated-by-Stratus"


def get_keypair(db: Session, user_id: str, name: str) -> KeyPair:
    key = None if "\x00" in name + user_id else db.scalar(
        select(KeyPair).where(KeyPair.user_id == user_id, KeyPair.name == name))
    if key is None:
        raise NotFound(f"Keypair {name} not found for user {user_id}")
    return key


def list_keypairs(db: Session, user_id: str, *, limit: int | None = None,
                  marker: str | None = None) -> list[KeyPair]:
    """The user's key pairs by name; after the one named ``marker`` (BadRequest
    "Marker X could not be found." when it is not one), at most ``limit``."""
    query = select(KeyPair).where(KeyPair.user_id == user_id).order_by(KeyPair.name)
    if marker is not None:
        get = None if "\x00" in marker else db.scalar(
            select(KeyPair.name).where(KeyPair.user_id == user_id, KeyPair.name == marker))
        if get is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        query = query.where(KeyPair.name > marker)
    if limit is not None:
        query = query.limit(limit)
    return list(db.scalars(query))


def create(db: Session, *, user_id: str, project_id: str | None, name: str, key_type: str = "ssh",
           public_key: str | None = None, quota_defaults=None) -> tuple[KeyPair, str | None]:
    """Import ``public_key`` or, when None, generate one. Returns the key pair and the
    private key (None for an import). Forbidden when the user's key pairs reach the
    project's ``key_pairs`` quota, Conflict when the name is taken."""
    if project_id is not None:
        quotas.lock_project(db, project_id)
        limit = quotas.limits(db, project_id, quota_defaults, "compute")["key_pairs"]
        used = db.scalar(select(func.count()).select_from(KeyPair).where(KeyPair.user_id == user_id))
        if limit != quotas.UNLIMITED and used + 1 > limit:
            raise Forbidden("Quota exceeded, too many key pairs.")
    if db.scalar(select(KeyPair.id).where(KeyPair.user_id == user_id, KeyPair.name == name)) is not None:
        raise Conflict(f"Key pair '{name}' already exists.")
    private = None
    if public_key is None:
        private, public_key = generate(key_type, name)
    key = KeyPair(user_id=user_id, name=name, type=key_type, public_key=public_key,
                  fingerprint=fingerprint(public_key, key_type))
    db.add(key)
    db.flush()
    return key, private


def delete_keypair(db: Session, user_id: str, name: str) -> None:
    db.delete(get_keypair(db, user_id, name))
    db.flush()
