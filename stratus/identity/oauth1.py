"""OS-OAUTH1 (Keystone's delegated authentication), with oauthlib's HMAC-SHA1 check.

1. An admin creates a consumer (id + secret).
2. The consumer asks for a request token, signing with its secret and naming the
   project in ``Requested-Project-Id``.
3. A user holding roles on that project authorizes the request token with some of
   them and gets a verifier, which they give the consumer.
4. The consumer trades the request token (signed with both secrets, and the verifier)
   once for an access token.
5. The consumer signs ``POST /auth/tokens`` (method ``oauth1``) with the access token
   and gets a token of the authorizing user, scoped to the project, with only the
   authorized roles the user still holds. Such a token re-reads its access token on
   every validation: deleting the access token or its consumer ends it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature
from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.identity import Project, Role, User
from stratus.db.models.identity_oauth1 import AccessToken, Consumer, RequestToken
from stratus.errors import BadRequest, Forbidden, NotFound, Unauthorized
from stratus.identity.assignments import effective_roles

# Keystone's [oauth1] request_token_duration and access_token_duration defaults
REQUEST_TOKEN_SECONDS = 28800
ACCESS_TOKEN_SECONDS = 86400
# how far a signature's oauth_timestamp may be from now (oauthlib's default window)
TIMESTAMP_WINDOW = 600


def new_secret() -> str:
    """Hex, as Keystone's: a secret is typed on command lines (`--consumer-secret X`),
    where a base64 one that happens to start with '-' reads as an option."""
    return secrets.token_hex(32)


def delegated_refused(action: str) -> Forbidden:
    return Forbidden(f"Cannot {action} with a token issued via delegation.")


# --- signatures ---------------------------------------------------------------------------
class Signed:
    """The OAuth parameters of a request (from its ``Authorization: OAuth …`` header)."""

    def __init__(self, uri: str, method: str, headers: Mapping[str, str]) -> None:
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        if not auth.lower().startswith("oauth "):
            raise BadRequest(
                "Expecting an OAuth 1.0 signature in the Authorization header "
                "(Authorization: OAuth oauth_consumer_key=…, oauth_signature=…)."
            )
        try:
            params = signature.collect_parameters(
                headers={"Authorization": auth}, exclude_oauth_signature=False, with_realm=False
            )
        except ValueError as e:
            raise BadRequest(f"Invalid OAuth Authorization header: {e}.") from None
        self.oauth = dict(params)
        if len(self.oauth) != len(params):
            raise BadRequest("Invalid OAuth Authorization header: duplicated parameters.")
        self.request = OAuthRequest(uri, method, "", {})
        self.request.signature = self.oauth.get("oauth_signature", "")
        self.request.params = [(k, v) for k, v in params if k != "oauth_signature"]

    def field(self, name: str) -> str:
        value = self.oauth.get(name)
        if not value:
            raise BadRequest(f"Invalid input for field '{name}': the OAuth signature has none.")
        return value

    def verify(self, consumer_secret: str, token_secret: str | None = None) -> None:
        if self.oauth.get("oauth_signature_method") != "HMAC-SHA1":
            raise Unauthorized("Invalid signature: only HMAC-SHA1 signatures are accepted.")
        try:
            stamp = int(self.field("oauth_timestamp"))
        except ValueError:
            raise BadRequest("Invalid input for field 'oauth_timestamp': expecting an integer.") from None
        if abs(time.time() - stamp) > TIMESTAMP_WINDOW:
            raise Unauthorized(
                "Invalid signature: oauth_timestamp is more than "
                f"{TIMESTAMP_WINDOW} seconds from the server's time."
            )
        if not signature.verify_hmac_sha1(self.request, consumer_secret, token_secret):
            raise Unauthorized("Invalid signature")


def _live(expires_at: datetime | None) -> bool:
    return expires_at is None or expires_at > datetime.now(UTC)


def _consumer(db: Session, consumer_id: str) -> Consumer:
    consumer = db.get(Consumer, consumer_id)
    if consumer is None:
        raise Unauthorized("Provided consumer does not exist.")
    return consumer


def delete_consumer(db: Session, consumer: Consumer) -> None:
    """The consumer and every token it obtained (delegated tokens from them stop
    validating)."""
    for model in (RequestToken, AccessToken):
        for token in db.scalars(select(model).where(model.consumer_id == consumer.id)):
            db.delete(token)
    db.delete(consumer)
    db.flush()


# --- the three legs -----------------------------------------------------------------------
def create_request_token(db: Session, signed: Signed, project_id: str | None) -> RequestToken:
    consumer_id = signed.field("oauth_consumer_key")
    if not project_id:
        raise BadRequest(
            "Invalid input for field 'Requested-Project-Id': send the id of the project "
            "to delegate roles on in the Requested-Project-Id header."
        )
    if db.get(Project, project_id) is None:
        raise NotFound(f"Could not find project: {project_id}.")
    signed.verify(_consumer(db, consumer_id).secret)
    token = RequestToken(
        id=secrets.token_hex(16),
        secret=new_secret(),
        consumer_id=consumer_id,
        requested_project_id=project_id,
        role_ids=[],
        expires_at=datetime.now(UTC) + timedelta(seconds=REQUEST_TOKEN_SECONDS),
    )
    db.add(token)
    db.flush()
    return token


def _request_token(db: Session, token_id: str) -> RequestToken:
    token = db.get(RequestToken, token_id)
    if token is None:
        raise NotFound(f"Could not find request token: {token_id}.")
    if not _live(token.expires_at):
        raise Unauthorized("Request token is expired")
    return token


def authorize(db: Session, ctx, token_id: str, roles) -> str:
    """The verifier of request token ``token_id`` authorized by ``ctx``'s user with
    ``roles`` (``[{"id": …} | {"name": …}]``), each held on the requested project."""
    if ctx.oauth_access_token_id or ctx.trust_id:
        raise delegated_refused("authorize a request token")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, dict) for r in roles):
        raise BadRequest(
            "Invalid input for field 'roles': expecting a non-empty list of "
            '{"id": …} or {"name": …}.'
        )
    token = _request_token(db, token_id)
    if token.authorizing_user_id is not None:
        raise Forbidden(f"Request token {token_id} is already authorized; ask for a new one.")
    held = effective_roles(db, ctx.user_id, project=db.get(Project, token.requested_project_id))
    by_id = {r.id: r for r in held}
    by_name = {r.name: r for r in held}
    wanted: list[str] = []
    for ref in roles:
        role = by_id.get(ref.get("id")) if "id" in ref else by_name.get(ref.get("name"))
        if role is None:
            raise Unauthorized("authorizing user does not have role required")
        wanted.append(role.id)
    token.authorizing_user_id = ctx.user_id
    token.role_ids = list(dict.fromkeys(wanted))
    token.verifier = secrets.token_hex(4)
    db.flush()
    return token.verifier


def create_access_token(db: Session, signed: Signed) -> AccessToken:
    consumer_id = signed.field("oauth_consumer_key")
    token_id = signed.field("oauth_token")
    verifier = signed.field("oauth_verifier")
    request_token = _request_token(db, token_id)
    consumer = _consumer(db, consumer_id)
    if request_token.consumer_id != consumer_id:
        raise Unauthorized("Provided consumer key does not match stored consumer key.")
    signed.verify(consumer.secret, request_token.secret)
    if request_token.verifier != verifier:
        raise Unauthorized("Provided verifier does not match stored verifier")
    if not request_token.authorizing_user_id:
        raise Unauthorized("Request Token does not have an authorizing user id.")
    access = AccessToken(
        id=secrets.token_hex(16),
        secret=new_secret(),
        consumer_id=consumer_id,
        authorizing_user_id=request_token.authorizing_user_id,
        project_id=request_token.requested_project_id,
        role_ids=list(request_token.role_ids),
        expires_at=datetime.now(UTC) + timedelta(seconds=ACCESS_TOKEN_SECONDS),
    )
    db.delete(request_token)  # a request token is traded once
    db.add(access)
    db.flush()
    return access


# --- delegated tokens ---------------------------------------------------------------------
def login(db: Session, signed: Signed) -> tuple[User, AccessToken]:
    """The authorizing user and the access token of a signed ``oauth1`` auth request."""
    access_id = signed.field("oauth_token")
    access = db.get(AccessToken, access_id)
    if access is None:
        raise Unauthorized(f"Could not find access token: {access_id}.")
    if access.consumer_id != signed.field("oauth_consumer_key"):
        raise Unauthorized("Provided consumer key does not match stored consumer key.")
    if not _live(access.expires_at):
        raise Unauthorized("Access token is expired")
    signed.verify(_consumer(db, access.consumer_id).secret, access.secret)
    return db.get(User, access.authorizing_user_id), access


def check_token_access(db: Session, access_id: str, user_id: str) -> AccessToken:
    """The live access token a delegated token was issued from (401 once it is gone)."""
    access = db.get(AccessToken, access_id)
    if access is None or access.authorizing_user_id != user_id or not _live(access.expires_at):
        raise Unauthorized(
            "The request you have made requires authentication: the token's OAuth access "
            "token or its consumer is gone or expired."
        )
    return access


def roles_of(db: Session, access: AccessToken) -> list[Role]:
    found = db.scalars(select(Role).where(Role.id.in_(access.role_ids))).all()
    return sorted(found, key=lambda r: access.role_ids.index(r.id))
