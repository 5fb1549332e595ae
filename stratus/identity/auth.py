"""POST /auth/tokens: check the identity methods and the scope, then issue a token.

The password method takes the same time whatever is wrong (no such user or domain, no
password, a disabled user or domain, a wrong password): each pays one bcrypt check of
the configured cost. Failed password logins are counted per user and source address
(:mod:`stratus.identity.throttle`); a locked pair is refused before any password check.
Keystone's per-user lockout, password expiry and inactivity are checked by
:mod:`stratus.identity.security` (its docstring says how the two guards relate).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.identity import ApplicationCredential, Project, User
from stratus.errors import BadRequest, Forbidden, NotFound, Unauthorized
from stratus.identity import ldap_identity, oauth1, receipts, security, totp
from stratus.identity.assignments import effective_roles
from stratus.identity.context import RequestContext
from stratus.identity.passwords import check_password_or_dummy
from stratus.identity.tokens import (
    AUTH_FAILED,
    TokenData,
    TokenProvider,
    check_user_usable,
    find_domain,
    find_project,
    find_user,
    scope_roles,
)
from stratus.identity.trusts import consume

METHODS = ("password", "token", "application_credential", "totp", "oauth1")


def _dict(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise BadRequest(f"Invalid input for field '{what}': expecting an object.")
    return value


def _lookup_user(db: Session, uref: dict) -> tuple[User | None, str]:
    """The user a password login names (None when there is none, an unknown domain
    included) and the key its failures are counted under: the user's id when it
    exists, else the reference as given."""
    try:
        user = find_user(db, uref)
    except Unauthorized:  # the domain does not exist
        user = None
    if user is not None:
        return user, f"id:{user.id}"
    if uref.get("id"):
        return None, f"id:{uref['id']}"
    domain = uref.get("domain") if isinstance(uref.get("domain"), dict) else {}
    where = f"id:{domain['id']}" if domain.get("id") else f"name:{domain.get('name')}"
    return None, f"name:{where}/{uref.get('name')}"


def _refuse_if_throttled(throttle, key: str, source: str) -> None:
    wait = throttle.locked_for(key, source)
    if wait:
        raise Unauthorized(
            f"{AUTH_FAILED} Too many failed logins for this user from {source}: logins "
            f"are refused for {wait} more seconds.",
            headers={"Retry-After": str(wait)},
        )


def _password_login(db: Session, provider: TokenProvider, uref: dict, source: str) -> User:
    password = uref.get("password")
    if not isinstance(password, str):
        raise BadRequest(
            "Invalid input for field 'identity.password.user.password': expecting a string."
        )
    user, key = _lookup_user(db, uref)
    throttle = provider.logins
    _refuse_if_throttled(throttle, key, source)
    ldap_domain = ldap_identity.login_domain(db, uref, user)
    if ldap_domain is not None:  # the directory checks the password (an LDAP bind)
        user = ldap_identity.login(db, ldap_domain, user.name if user else str(uref.get("name")), password)
        ok = user is not None
    else:
        hashed = user.password_hash if user is not None else None
        ok = check_password_or_dummy(password, hashed, provider.settings.bcrypt_rounds)
    try:
        if user is not None:  # lockout, inactivity, expiry (stratus.identity.security)
            security.check_password_login(db, provider.settings, user, ok)
        if not ok:
            raise Unauthorized(AUTH_FAILED)
        check_user_usable(db, user)
    except Unauthorized:
        throttle.failed(key, source)
        raise
    throttle.succeeded(key, source)
    security.record_login(db, provider.settings, user)
    return user


def _totp_login(db: Session, provider: TokenProvider, tref: dict, source: str) -> User:
    passcode = tref.get("passcode")
    if not isinstance(passcode, str):
        raise BadRequest("Invalid input for field 'identity.totp.user.passcode': expecting a string.")
    user, key = _lookup_user(db, tref)
    key = f"totp:{key}"  # guessed passcodes are throttled like passwords
    _refuse_if_throttled(provider.logins, key, source)
    if user is None or not totp.check(db, provider.settings, user.id, passcode):
        provider.logins.failed(key, source)
        raise Unauthorized(AUTH_FAILED)
    provider.logins.succeeded(key, source)
    return user


def authenticate(
    db: Session,
    provider: TokenProvider,
    body,
    source: str = "",
    receipt: str | None = None,
    oauth_request: tuple[str, dict] | None = None,
) -> tuple[str, RequestContext]:
    """The token and its context for a POST /auth/tokens ``body``; ``source`` is the
    client's address (failed password logins are counted per user and source);
    ``receipt``: an auth receipt (``Openstack-Auth-Receipt``) proving methods passed
    before. Raises :class:`stratus.identity.receipts.ReceiptRequired` when the user's
    multi-factor rules need more methods. ``oauth_request``: the URL and headers of
    the request, whose signature the ``oauth1`` method checks."""
    body = _dict(body, "body")
    auth = _dict(body.get("auth"), "auth")
    identity = _dict(auth.get("identity"), "auth.identity")
    methods = identity.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise BadRequest(
            "Invalid input for field 'identity.methods': expecting a list of method names."
        )
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise Unauthorized(
            f"{AUTH_FAILED} Unsupported authentication method: {', '.join(unknown)}."
        )
    for m in methods:
        _dict(identity.get(m), f"identity.{m}")
    scope = auth.get("scope")
    if scope is not None and scope != "unscoped":
        scope = _dict(scope, "auth.scope")
        given = [k for k in ("project", "domain", "system", "OS-TRUST:trust") if k in scope]
        if len(given) > 1:
            raise BadRequest("Specify only one of project, domain or system in the scope.")
        if not given:
            raise BadRequest("The scope needs a project, a domain or a system.")
    else:
        scope = None

    user: User | None = None
    oauth_access = None
    parent: TokenData | None = None
    app_cred: ApplicationCredential | None = None
    if "password" in methods:
        pw = identity["password"]
        uref = _dict(pw.get("user"), "identity.password.user")
        user = _password_login(db, provider, uref, source)
    if "totp" in methods:
        tuser = _totp_login(
            db, provider, _dict(identity["totp"].get("user"), "identity.totp.user"), source
        )
        if user is not None and user.id != tuser.id:
            raise Unauthorized(AUTH_FAILED)
        user = tuser
    if "application_credential" in methods:
        acref = identity["application_credential"]
        secret = acref.get("secret")
        if not isinstance(secret, str):
            raise BadRequest(
                "Invalid input for field 'application_credential.secret': expecting a string."
            )
        if acref.get("id"):
            app_cred = db.get(ApplicationCredential, str(acref["id"]))
        elif acref.get("name"):
            owner, _ = _lookup_user(db, _dict(acref.get("user"), "application_credential.user"))
            app_cred = (
                owner
                and db.scalars(
                    select(ApplicationCredential).filter_by(user_id=owner.id, name=acref["name"])
                ).first()
            )
        else:
            raise BadRequest("An application credential needs an id, or a name and a user.")
        hashed = app_cred.secret_hash if app_cred else None
        if not check_password_or_dummy(secret, hashed, provider.settings.bcrypt_rounds):
            raise Unauthorized(AUTH_FAILED)
        if app_cred.expires_at and app_cred.expires_at <= datetime.now(UTC):
            raise Unauthorized(f"{AUTH_FAILED} The application credential has expired.")
        if user is not None and user.id != app_cred.user_id:
            raise Unauthorized(AUTH_FAILED)
        user = db.get(User, app_cred.user_id)
        if scope is not None:
            raise Unauthorized(
                f"{AUTH_FAILED} An application credential token is scoped to the credential's "
                "project; leave out the scope."
            )
    if "oauth1" in methods:
        if len(methods) > 1:
            raise Unauthorized(f"{AUTH_FAILED} The oauth1 method is used alone.")
        uri, headers = oauth_request or ("", {})
        user, oauth_access = oauth1.login(db, oauth1.Signed(uri, "POST", headers))
    if "token" in methods:
        tid = identity["token"].get("id")
        if not isinstance(tid, str):
            raise BadRequest("Invalid input for field 'identity.token.id': expecting a string.")
        pctx = provider.validate(db, tid)
        parent = provider.decode(tid)
        if parent.app_cred_id:
            raise Unauthorized(
                f"{AUTH_FAILED} A token made from an application credential cannot be rescoped."
            )
        if parent.oauth_access_token_id:
            raise Forbidden(
                "You are not authorized to perform the requested action: using a token "
                "issued via OAuth delegation to create another token."
            )
        if parent.trust_id:
            raise Forbidden(
                "You are not authorized to perform the requested action: using a trust-scoped "
                "token to create another token. Create a new trust-scoped token instead."
            )
        if user is not None and user.id != pctx.user_id:
            raise Unauthorized(AUTH_FAILED)
        user = db.get(User, pctx.user_id)

    user = check_user_usable(db, user)
    used_methods = list(dict.fromkeys(([*parent.methods] if parent else []) + methods))
    if receipt:
        receipt_user, receipt_methods = receipts.read(provider.keys, receipt)
        if receipt_user != user.id:
            raise NotFound("Could not find auth receipt: it belongs to another user.")
        used_methods = list(dict.fromkeys(receipt_methods + used_methods))
    receipts.check_rules(db, provider.keys, user, used_methods, METHODS)

    if app_cred is not None:
        return provider.issue(db, user, used_methods, "p", app_cred.project_id, app_cred=app_cred)
    if oauth_access is not None:  # always the access token's project, as Keystone
        return provider.issue(
            db, user, used_methods, "p", oauth_access.project_id, oauth_access=oauth_access
        )

    kind, sid = None, None
    if scope is None and user.default_project_id:
        project = db.get(Project, user.default_project_id)
        if (
            project is not None
            and project.enabled
            and effective_roles(db, user.id, project=project)
        ):
            kind, sid = "p", project.id
    elif scope is not None and "OS-TRUST:trust" in scope:
        trust = consume(db, scope["OS-TRUST:trust"], user)
        if trust.impersonation:
            user = check_user_usable(db, db.get(User, trust.trustor_user_id))
        return provider.issue(db, user, used_methods, "p", trust.project_id, parent=parent, trust=trust)
    elif scope is not None and "project" in scope:
        project = find_project(db, scope["project"])
        if project is None or not project.enabled:
            raise Unauthorized(f"{AUTH_FAILED} Could not find an enabled project to scope to.")
        if not scope_roles(db, provider.settings, user.id, project=project):
            raise Unauthorized(
                f"{AUTH_FAILED} User {user.id} has no access to project {project.id}."
            )
        kind, sid = "p", project.id
    elif scope is not None and "domain" in scope:
        domain = find_domain(db, scope["domain"], unauthorized=True)
        if not domain.enabled:
            raise Unauthorized(f"{AUTH_FAILED} The domain is disabled.")
        if not effective_roles(db, user.id, domain_id=domain.id):
            raise Unauthorized(f"{AUTH_FAILED} User {user.id} has no access to domain {domain.id}.")
        kind, sid = "d", domain.id
    elif scope is not None and "system" in scope:
        system = scope["system"]
        if not isinstance(system, dict) or system.get("all") is not True:
            raise BadRequest('A system scope is {"system": {"all": true}}.')
        if not effective_roles(db, user.id, system=True):
            raise Unauthorized(f"{AUTH_FAILED} User {user.id} has no access to the system.")
        kind, sid = "s", "all"
    return provider.issue(db, user, used_methods, kind, sid, parent=parent)
