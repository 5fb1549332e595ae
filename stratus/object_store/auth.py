"""The Swift service user's token, minted in-process, and account URLs.

    tok = service_token(settings)                  # ServiceToken(token, project_id, expires_at)
    tok = service_token(settings, database=db, keys=fernet)   # with the app's own DB and keys
    account_url(settings, project_id)              # <object_store_url>/v1/AUTH_<project_id>

The token is issued by :class:`stratus.identity.tokens.TokenProvider` for
``object_store_user`` scoped to ``object_store_project`` (both in the default domain,
as ``stratus bootstrap`` makes them), exactly the token a password login would give,
without an HTTP call from the controller to itself. It is cached per process and
identity (database, key repository, user, project) and reused while at least half of
its lifetime is left, so a token handed to a playbook has ``token_expiration / 2``
seconds at least; :func:`forget` drops it (Swift answered 401: revoked or keys rotated).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from stratus.errors import ApiError

DEFAULT_DOMAIN = {"id": "default"}
RESELLER_PREFIX = "AUTH_"


class ObjectStoreError(Exception):
    """The controller cannot reach object storage as its service user (the message says
    which setting or step is wrong and how to fix it)."""


@dataclass(frozen=True)
class ServiceToken:
    token: str
    project_id: str  # the service project: its account is AUTH_<project_id>
    expires_at: datetime
    issued_at: datetime

    def fresh(self, now: datetime | None = None) -> bool:
        """At least half of its lifetime left."""
        now = now or datetime.now(UTC)
        return self.expires_at - now > (self.expires_at - self.issued_at) / 2


_lock = threading.Lock()
_tokens: dict[tuple, ServiceToken] = {}
_databases: dict[str, object] = {}  # database_url -> Database, when the caller lends none


def _key(settings) -> tuple:
    return (settings.database_url, str(settings.fernet_key_repository),
            settings.object_store_user, settings.object_store_project)


def check_configured(settings) -> None:
    """ObjectStoreError unless the object store settings are there."""
    if not settings.object_store_url:
        raise ObjectStoreError("object storage is not configured: set object_store_url (the Swift "
                               "proxy, e.g. http://127.0.0.1:8080) in the controller's settings")
    if not settings.object_store_user or not settings.object_store_project:
        raise ObjectStoreError("object_store_user and object_store_project must name the Swift "
                               "service user and its project (defaults: swift, service)")


def account_url(settings, project_id: str) -> str:
    """The Swift account URL of ``project_id`` (as the catalog's object-store endpoint)."""
    check_configured(settings)
    return f"{settings.object_store_url}/v1/{RESELLER_PREFIX}{project_id}"


def service_token(settings, *, database=None, keys=None) -> ServiceToken:
    """The cached service token, or a new one when it has less than half its life left.
    ``database`` / ``keys``: the controller's Database and FernetKeys (made from the
    settings when not given)."""
    check_configured(settings)
    key = _key(settings)
    with _lock:
        tok = _tokens.get(key)
        if tok is not None and tok.fresh():
            return tok
        tok = _tokens[key] = _mint(settings, database or _database(settings), keys or _keys(settings))
        return tok


def forget(settings, token: str | None = None) -> None:
    """Drop the cached token (only if it still is ``token``, when given)."""
    with _lock:
        tok = _tokens.get(_key(settings))
        if tok is not None and (token is None or tok.token == token):
            del _tokens[_key(settings)]


def _database(settings):
    from stratus.db.session import Database

    db = _databases.get(settings.database_url)
    if db is None:
        db = _databases[settings.database_url] = Database(settings.database_url)
    return db


def _keys(settings):
    from stratus.identity.fernet import FernetKeys

    return FernetKeys(settings.fernet_key_repository)


def _mint(settings, database, keys) -> ServiceToken:
    from stratus.identity import tokens

    who = f"{settings.object_store_user} in project {settings.object_store_project}"
    try:
        with database.session() as db:
            user = tokens.find_user(db, {"name": settings.object_store_user, "domain": DEFAULT_DOMAIN})
            project = tokens.find_project(db, {"name": settings.object_store_project, "domain": DEFAULT_DOMAIN})
            if user is None or project is None:
                raise ObjectStoreError(f"the object store's service user {who} does not exist: run "
                                       "`stratus bootstrap` with object_store_url and object_store_password set")
            tokens.check_user_usable(db, user)
            if not project.enabled:
                raise ObjectStoreError(f"the object store's service project {settings.object_store_project} "
                                       "is disabled: enable it (openstack project set --enable)")
            provider = tokens.TokenProvider(settings, keys)
            token, ctx = provider.issue(db, user, ["password"], "p", project.id)
    except ApiError as e:
        raise ObjectStoreError(f"cannot issue a token for the object store's service user {who}: "
                               f"{e.message}") from None
    if "ResellerAdmin" not in ctx.roles:
        raise ObjectStoreError(f"the object store's service user {who} lacks the ResellerAdmin role, "
                               "so Swift refuses it other projects' accounts: run `stratus bootstrap` again")
    now = datetime.now(UTC)
    return ServiceToken(token, project.id, ctx.expires_at or now + timedelta(seconds=settings.token_expiration),
                        ctx.issued_at or now)
