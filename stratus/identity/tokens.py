"""Fernet tokens: issue, validate, revoke, and the token document clients read.

A token is a Fernet-encrypted compact JSON payload — no DB row — so it validates on any
controller holding the key repository, after a restart too:

    [1, user_id, methods, scope_kind, scope_id, issued_at_us, expires_at_us, audit_ids, app_cred_id,
     trust_id, oauth_access_token_id]

(``trust_id`` is left out of tokens that have neither, ``oauth_access_token_id`` of
tokens not issued by OS-OAUTH1.)

``scope_kind`` is ``p`` (project), ``d`` (domain), ``s`` (system, id ``all``) or
``None`` (unscoped). Validation re-reads the user, the scope and the roles (so a
disabled user or a removed role takes effect at once) and checks revocation events
(DELETE /auth/tokens, password changes, user/project deletion).
"""

from __future__ import annotations

import json
import secrets
import time
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Engine, event, or_, select
from sqlalchemy.orm import Session

from stratus.config import Settings
from stratus.db.models.identity import (
    ApplicationCredential,
    Domain,
    Endpoint,
    Project,
    Region,
    RevocationEvent,
    Role,
    Service,
    User,
)
from stratus.db.models.identity_oauth1 import AccessToken
from stratus.db.models.identity_trusts import IdentityCacheState, Trust
from stratus.errors import BadRequest, NotFound, ServiceUnavailable, Unauthorized
from stratus.identity.assignments import effective_roles
from stratus.identity.context import RequestContext
from stratus.identity.endpoint_filter import project_endpoint_ids
from stratus.identity.fernet import FernetKeys, InvalidToken, KeyRepositoryError
from stratus.identity.oauth1 import check_token_access
from stratus.identity.throttle import LoginThrottle
from stratus.identity.trusts import check_token_trust, token_roles

PAYLOAD_VERSION = 1
AUTH_FAILED = "The request you have made requires authentication."


def _us(dt: datetime) -> int:
    return int(dt.timestamp() * 1_000_000)


def _from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, UTC)


def isotime(dt: datetime | None) -> str | None:
    """Keystone's timestamp format: ``2026-11-22T04:00:00.000000Z``."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_audit_id() -> str:
    return urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


@dataclass
class TokenData:
    user_id: str
    methods: list[str]
    scope_kind: str | None
    scope_id: str | None
    issued_at: datetime
    expires_at: datetime
    audit_ids: list[str] = field(default_factory=list)
    app_cred_id: str | None = None
    trust_id: str | None = None
    oauth_access_token_id: str | None = None

    def pack(self) -> bytes:
        trust = [self.trust_id] if self.trust_id else []
        if self.oauth_access_token_id:
            trust = [self.trust_id, self.oauth_access_token_id]
        return json.dumps(
            [
                PAYLOAD_VERSION,
                self.user_id,
                self.methods,
                self.scope_kind,
                self.scope_id,
                _us(self.issued_at),
                _us(self.expires_at),
                self.audit_ids,
                self.app_cred_id,
                *trust,
            ],
            separators=(",", ":"),
        ).encode()

    @classmethod
    def unpack(cls, raw: bytes) -> TokenData:
        v, uid, methods, kind, sid, iat, exp, audit, acid, *rest = json.loads(raw)
        if v != PAYLOAD_VERSION or len(rest) > 2:
            raise ValueError(f"unknown token payload version {v}")
        trust_id, oauth_id = (rest + [None, None])[:2]
        return cls(
            uid, methods, kind, sid, _from_us(iat), _from_us(exp), audit, acid, trust_id, oauth_id
        )


# --- caches of validated tokens, roles and token documents ---------------------------------
# Bumped whenever this process writes an identity table (any INSERT/UPDATE/DELETE whose
# SQL names an identity_ table), which invalidates every cached validation at once. The
# same write bumps the shared counter in identity_cache_state, in its own transaction;
# each process polls it (every CACHE_POLL_SECONDS) and bumps its own generation when
# another controller changed identity.
_identity_generation = 0
CACHE_POLL_SECONDS = 0.25
_BUMP_SQL = "UPDATE identity_cache_state SET generation = generation + 1 WHERE id = 1"


def _watch_identity_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    global _identity_generation
    head = statement.lstrip()[:6].upper()
    if (
        head in ("INSERT", "UPDATE", "DELETE")
        and "identity_" in statement
        and "identity_cache_state" not in statement
        and "alembic_version" not in statement  # a migration's bookkeeping, not identity
    ):
        _identity_generation += 1
        if not _has_state_table(conn):  # a database not migrated yet: nothing to share
            return
        bump = conn.connection.dbapi_connection.cursor()
        try:
            bump.execute(_BUMP_SQL)
        finally:
            bump.close()


_state_table_seen: set[str] = set()


def _has_state_table(conn) -> bool:
    url = str(conn.engine.url)
    if url not in _state_table_seen and conn.dialect.has_table(conn, "identity_cache_state"):
        _state_table_seen.add(url)
    return url in _state_table_seen


event.listen(Engine, "after_cursor_execute", _watch_identity_writes)


class _SharedGeneration:
    """The last identity_cache_state counter this process saw, polled now and then."""

    def __init__(self) -> None:
        self.seen: int | None = None
        self.polled_at = float("-inf")

    def due(self) -> bool:
        return time.monotonic() - self.polled_at >= CACHE_POLL_SECONDS

    def poll(self, db: Session) -> None:
        global _identity_generation
        now = time.monotonic()
        if now - self.polled_at < CACHE_POLL_SECONDS:
            return
        self.polled_at = now
        if not _has_state_table(db.connection()):  # a database not migrated yet
            return
        value = db.scalar(select(IdentityCacheState.generation).where(IdentityCacheState.id == 1))
        if value is not None and value != self.seen:
            if self.seen is not None:
                _identity_generation += 1
            self.seen = value


_shared = _SharedGeneration()


class RoleRef(NamedTuple):
    id: str
    name: str


# (user, project, domain, system) -> (generation, monotonic time, roles): the effective
# roles of a user on a scope, kept until this process writes an identity table or
# token_cache_seconds pass (a change made by another controller)
_roles_memo: dict[tuple, tuple[int, float, list[RoleRef]]] = {}


def scope_roles(
    db: Session,
    settings: Settings,
    user_id: str,
    *,
    project: Project | None = None,
    domain_id: str | None = None,
    system: bool = False,
) -> list[RoleRef]:
    """:func:`effective_roles` as (id, name) pairs, cached (see ``_roles_memo``)."""
    key = (user_id, project.id if project is not None else None, domain_id, system)
    ttl = settings.token_cache_seconds
    hit = _roles_memo.get(key) if ttl else None
    now = time.monotonic()
    if hit is not None and hit[0] == _identity_generation and now - hit[1] < ttl:
        return hit[2]
    gen = _identity_generation
    if project is not None:
        found = effective_roles(db, user_id, project=project)
    elif domain_id is not None:
        found = effective_roles(db, user_id, domain_id=domain_id)
    else:
        found = effective_roles(db, user_id, system=system)
    roles = [RoleRef(r.id, r.name) for r in found]
    if ttl:
        if len(_roles_memo) >= TokenProvider.MAX_CACHED:
            _roles_memo.clear()
        _roles_memo[key] = (gen, now, roles)
    return roles


class TokenProvider:
    MAX_CACHED = 10_000

    def __init__(self, settings: Settings, keys: FernetKeys) -> None:
        self.settings = settings
        self.keys = keys
        # failed password logins per user and source (see stratus.identity.throttle)
        self.logins = LoginThrottle(settings.auth_max_failures, settings.auth_failure_window)
        self._cache: dict[str, tuple[float, int, RequestContext]] = {}
        self._docs: dict[tuple[str, bool], tuple[int, RequestContext, dict]] = {}

    # --- issue ------------------------------------------------------------------------
    def issue(
        self,
        db: Session,
        user: User,
        methods: list[str],
        scope_kind: str | None,
        scope_id: str | None,
        *,
        parent: TokenData | None = None,
        app_cred: ApplicationCredential | None = None,
        trust: Trust | None = None,
        oauth_access: AccessToken | None = None,
    ) -> tuple[str, RequestContext]:
        now = datetime.now(UTC)
        expires = now + timedelta(seconds=self.settings.token_expiration)
        if parent is not None:
            expires = min(expires, parent.expires_at)
        if app_cred is not None and app_cred.expires_at is not None:
            expires = min(expires, app_cred.expires_at)
        if trust is not None and trust.expires_at is not None:
            expires = min(expires, trust.expires_at)
        if oauth_access is not None and oauth_access.expires_at is not None:
            expires = min(expires, oauth_access.expires_at)
        audit_ids = [new_audit_id()]
        if parent is not None:
            audit_ids.append(parent.audit_ids[-1])
        data = TokenData(
            user.id,
            methods,
            scope_kind,
            scope_id,
            now,
            expires,
            audit_ids,
            app_cred.id if app_cred else None,
            trust.id if trust else None,
            oauth_access.id if oauth_access else None,
        )
        try:
            token = self.keys.encrypt(data.pack())
        except KeyRepositoryError as e:
            raise ServiceUnavailable(str(e)) from None
        return token, self._context(db, data, token)

    # --- validate ---------------------------------------------------------------------
    def decode(self, token: str) -> TokenData:
        try:
            return TokenData.unpack(self.keys.decrypt(token))
        except KeyRepositoryError as e:
            raise ServiceUnavailable(str(e)) from None
        except (InvalidToken, ValueError, TypeError, UnicodeError):
            raise Unauthorized(
                "The request you have made requires authentication: the token is invalid."
            ) from None

    def validate(self, db: Session, token: str) -> RequestContext:
        """The context of a valid token; 401 when it is invalid, expired or revoked, or
        its user, scope or roles are gone."""
        ttl = self.settings.token_cache_seconds
        if ttl:
            _shared.poll(db)
            ctx = self._cached(token, ttl)
            if ctx is not None:
                return ctx
        gen = _identity_generation
        ctx = self._validate(db, token)
        if ttl:
            if len(self._cache) >= self.MAX_CACHED:
                self._cache.clear()
            self._cache[token] = (time.monotonic(), gen, ctx)
        return ctx

    def cached(self, token: str) -> RequestContext | None:
        """:meth:`validate`'s answer when it needs no database: the token's cached
        validation while it holds and the shared generation is not due for a poll;
        ``None`` otherwise (then call :meth:`validate`)."""
        ttl = self.settings.token_cache_seconds
        if not ttl or _shared.due():
            return None
        return self._cached(token, ttl)

    def _cached(self, token: str, ttl: float) -> RequestContext | None:
        hit = self._cache.get(token)
        if hit is None:
            return None
        at, gen, ctx = hit
        if (
            gen == _identity_generation
            and time.monotonic() - at < ttl
            and ctx.expires_at > datetime.now(UTC)
        ):
            return ctx
        self._cache.pop(token, None)
        return None

    def cached_document(self, ctx: RequestContext, *, include_catalog: bool = True) -> dict | None:
        """:meth:`document`'s answer when it is kept (no database read); else ``None``."""
        hit = self._docs.get((ctx.token, include_catalog))
        if hit is not None and hit[0] == _identity_generation and hit[1] is ctx:
            return hit[2]
        return None

    def document(self, db: Session, ctx: RequestContext, *, include_catalog: bool = True) -> dict:
        """:func:`token_document` of a validated ``ctx``, kept while ``ctx`` is the
        cached validation of its token and no identity table changed (a GET of the same
        token costs no DB read)."""
        key = (ctx.token, include_catalog)
        doc = self.cached_document(ctx, include_catalog=include_catalog)
        if doc is not None:
            return doc
        gen = _identity_generation
        doc = token_document(db, ctx, include_catalog=include_catalog)
        if len(self._docs) >= self.MAX_CACHED:
            self._docs.clear()
        self._docs[key] = (gen, ctx, doc)
        return doc

    def _validate(self, db: Session, token: str) -> RequestContext:
        data = self.decode(token)
        if data.expires_at <= datetime.now(UTC):
            raise Unauthorized(
                "The request you have made requires authentication: the token has expired."
            )
        if self.is_revoked(db, data):
            raise Unauthorized(
                "The request you have made requires authentication: the token has been revoked."
            )
        return self._context(db, data, token)

    def is_revoked(self, db: Session, data: TokenData) -> bool:
        q = select(RevocationEvent).where(
            RevocationEvent.issued_before >= data.issued_at,
            or_(
                RevocationEvent.audit_id == data.audit_ids[0],
                RevocationEvent.user_id == data.user_id,
                RevocationEvent.project_id == data.scope_id,
                RevocationEvent.domain_id == data.scope_id,
                RevocationEvent.app_cred_id == data.app_cred_id,
            ),
        )
        for ev in db.scalars(q):
            checks = (
                (ev.audit_id, data.audit_ids[0]),
                (ev.user_id, data.user_id),
                (ev.project_id, data.scope_id if data.scope_kind == "p" else None),
                (ev.domain_id, data.scope_id if data.scope_kind == "d" else None),
                (ev.app_cred_id, data.app_cred_id),
            )
            if all(want is None or want == got for want, got in checks):
                return True
        return False

    def _context(self, db: Session, data: TokenData, token: str) -> RequestContext:
        user = db.get(User, data.user_id)
        if user is None or not user.enabled:
            raise Unauthorized(AUTH_FAILED + " The token's user is disabled or gone.")
        user_domain = db.get(Domain, user.domain_id)
        if user_domain is None or not user_domain.enabled:
            raise Unauthorized(AUTH_FAILED + " The user's domain is disabled.")
        kw: dict = {}
        roles: list[Role | RoleRef] = []
        trust = check_token_trust(db, data.trust_id, user.id) if data.trust_id else None
        if data.scope_kind == "p":
            project = db.get(Project, data.scope_id)
            pdomain = db.get(Domain, project.domain_id) if project else None
            if project is None or not project.enabled or pdomain is None or not pdomain.enabled:
                raise Unauthorized(AUTH_FAILED + " The token's project is disabled or gone.")
            roles = (
                token_roles(db, trust)
                if trust
                else scope_roles(db, self.settings, user.id, project=project)
            )
            kw = dict(
                project_id=project.id,
                project_name=project.name,
                project_domain_id=project.domain_id,
                is_admin_project=(project.name == self.settings.admin_project_name
                                  and pdomain.name == self.settings.admin_project_domain_name),
            )
        elif data.scope_kind == "d":
            domain = db.get(Domain, data.scope_id)
            if domain is None or not domain.enabled:
                raise Unauthorized(AUTH_FAILED + " The token's domain is disabled or gone.")
            roles = scope_roles(db, self.settings, user.id, domain_id=domain.id)
            kw = dict(domain_id=domain.id, domain_name=domain.name)
        elif data.scope_kind == "s":
            roles = scope_roles(db, self.settings, user.id, system=True)
            kw = dict(system_scope="all")
        if data.app_cred_id:
            ac = db.get(ApplicationCredential, data.app_cred_id)
            if ac is None:
                raise Unauthorized(AUTH_FAILED + " The application credential is gone.")
            allowed = set(ac.role_ids)
            roles = [r for r in roles if r.id in allowed]
            kw["access_rules"] = tuple(ac.access_rules or ())
        if data.oauth_access_token_id:  # only the authorized roles the user still holds
            access = check_token_access(db, data.oauth_access_token_id, user.id)
            roles = [r for r in roles if r.id in set(access.role_ids)]
        if data.scope_kind and not roles:
            raise Unauthorized(AUTH_FAILED + " The user has no role on the token's scope any more.")
        return RequestContext(
            user_id=user.id,
            user_name=user.name,
            user_domain_id=user.domain_id,
            roles=tuple(r.name for r in roles),
            role_ids=tuple(r.id for r in roles),
            methods=tuple(data.methods),
            audit_ids=tuple(data.audit_ids),
            expires_at=data.expires_at,
            issued_at=data.issued_at,
            app_cred_id=data.app_cred_id,
            trust_id=data.trust_id,
            oauth_access_token_id=data.oauth_access_token_id,
            token=token,
            **kw,
        )

    # --- revoke -----------------------------------------------------------------------
    def revoke(self, db: Session, data: TokenData) -> None:
        add_revocation(db, self.settings, audit_id=data.audit_ids[0])


def add_revocation(db: Session, settings: Settings, **match) -> None:
    """Revoke every token issued until now that matches ``match`` (audit_id, user_id,
    project_id, domain_id, app_cred_id); old events are pruned on the way."""
    now = datetime.now(UTC)
    db.add(RevocationEvent(issued_before=now, revoked_at=now, **match))
    horizon = now - timedelta(seconds=settings.token_expiration + settings.revocation_grace)
    for old in db.scalars(select(RevocationEvent).where(RevocationEvent.revoked_at < horizon)):
        db.delete(old)
    db.flush()


# --- authentication -------------------------------------------------------------------


def find_user(db: Session, ref: dict) -> User | None:
    """A user from ``{"id": …}`` or ``{"name": …, "domain": {"id"|"name": …}}``."""
    if not isinstance(ref, dict):
        raise BadRequest('Expecting a user reference: {"id": …} or {"name": …, "domain": …}.')
    if ref.get("id"):
        return db.get(User, str(ref["id"]))
    name = ref.get("name")
    if not name:
        raise BadRequest("The user needs an id, or a name and a domain.")
    domain = find_domain(db, ref.get("domain"), required=True, unauthorized=True)
    return db.scalars(select(User).filter_by(name=name, domain_id=domain.id)).first()


def find_domain(
    db: Session, ref, *, required: bool = False, unauthorized: bool = False
) -> Domain | None:
    if ref is None:
        if required:
            raise BadRequest('A name needs a domain: add "domain": {"id": …} or {"name": …}.')
        return None
    if not isinstance(ref, dict):
        raise BadRequest('Expecting a domain reference: {"id": …} or {"name": …}.')
    if ref.get("id"):
        d = db.get(Domain, str(ref["id"]))
    elif ref.get("name"):
        d = db.scalars(select(Domain).filter_by(name=ref["name"])).first()
    else:
        raise BadRequest("A domain reference needs an id or a name.")
    if d is None:
        if unauthorized:
            raise Unauthorized(AUTH_FAILED)
        raise NotFound(f"Could not find domain: {ref.get('id') or ref.get('name')}.")
    return d


def find_project(db: Session, ref) -> Project | None:
    if not isinstance(ref, dict):
        raise BadRequest('Expecting a project reference: {"id": …} or {"name": …, "domain": …}.')
    if ref.get("id"):
        return db.get(Project, str(ref["id"]))
    if not ref.get("name"):
        raise BadRequest("A project reference needs an id, or a name and a domain.")
    domain = find_domain(db, ref.get("domain"), required=True, unauthorized=True)
    return db.scalars(select(Project).filter_by(name=ref["name"], domain_id=domain.id)).first()


def check_user_usable(db: Session, user: User | None) -> User:
    if user is None or not user.enabled:
        raise Unauthorized(AUTH_FAILED)
    d = db.get(Domain, user.domain_id)
    if d is None or not d.enabled:
        raise Unauthorized(AUTH_FAILED)
    return user


# --- catalog and the token document ---------------------------------------------------


def catalog(db: Session, project_id: str | None) -> list[dict]:
    """The service catalog; ``$(project_id)s`` in URLs filled in for a project scope,
    such endpoints left out otherwise (as keystone does)."""
    out = []
    services = db.scalars(select(Service).where(Service.enabled.is_(True)).order_by(Service.type))
    eps_by_service: dict[str, list[Endpoint]] = {}
    only = project_endpoint_ids(db, project_id)  # OS-EP-FILTER
    for ep in db.scalars(select(Endpoint).where(Endpoint.enabled.is_(True))):
        if only is None or ep.id in only:
            eps_by_service.setdefault(ep.service_id, []).append(ep)
    for svc in services:
        endpoints = []
        for ep in eps_by_service.get(svc.id, []):
            url = ep.url
            if "$(project_id)s" in url or "%(project_id)s" in url or "$(tenant_id)s" in url:
                if not project_id:
                    continue
                for pat in ("$(project_id)s", "%(project_id)s", "$(tenant_id)s"):
                    url = url.replace(pat, project_id)
            endpoints.append(
                {
                    "id": ep.id,
                    "interface": ep.interface,
                    "region": ep.region_id,
                    "region_id": ep.region_id,
                    "url": url,
                }
            )
        if endpoints or only is None:
            out.append({"id": svc.id, "type": svc.type, "name": svc.name, "endpoints": endpoints})
    return out


def token_document(db: Session, ctx: RequestContext, *, include_catalog: bool = True) -> dict:
    user = db.get(User, ctx.user_id)
    udom = db.get(Domain, ctx.user_domain_id)
    tok: dict = {
        "methods": list(ctx.methods),
        "user": {
            "id": ctx.user_id,
            "name": ctx.user_name,
            "domain": {"id": udom.id, "name": udom.name},
            "password_expires_at": isotime(user.password_expires_at) if user else None,
        },
        "audit_ids": list(ctx.audit_ids),
        "expires_at": isotime(ctx.expires_at),
        "issued_at": isotime(ctx.issued_at),
    }
    if ctx.scope != "unscoped":
        tok["roles"] = [{"id": i, "name": n} for i, n in zip(ctx.role_ids, ctx.roles, strict=True)]
    if ctx.project_id:
        pdom = db.get(Domain, ctx.project_domain_id)
        tok["project"] = {
            "id": ctx.project_id,
            "name": ctx.project_name,
            "domain": {"id": pdom.id, "name": pdom.name},
        }
        tok["is_domain"] = False
    elif ctx.domain_id:
        tok["domain"] = {"id": ctx.domain_id, "name": ctx.domain_name}
    elif ctx.system_scope:
        tok["system"] = {"all": True}
    if ctx.app_cred_id:
        ac = db.get(ApplicationCredential, ctx.app_cred_id)
        tok["application_credential"] = {
            "id": ac.id,
            "name": ac.name,
            "restricted": not ac.unrestricted,
        }
    if ctx.trust_id:
        trust = db.get(Trust, ctx.trust_id)
        tok["OS-TRUST:trust"] = {
            "id": trust.id,
            "impersonation": trust.impersonation,
            "trustee_user": {"id": trust.trustee_user_id},
            "trustor_user": {"id": trust.trustor_user_id},
        }
    if ctx.oauth_access_token_id:
        access = db.get(AccessToken, ctx.oauth_access_token_id)
        tok["OS-OAUTH1"] = {"access_token_id": access.id, "consumer_id": access.consumer_id}
    if include_catalog and ctx.scope != "unscoped":
        tok["catalog"] = catalog(db, ctx.project_id)
    return {"token": tok}


def region_exists(db: Session, region_id: str) -> bool:
    return db.get(Region, region_id) is not None
