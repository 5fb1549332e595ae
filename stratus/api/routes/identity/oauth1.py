"""OS-OAUTH1: consumers (cloud admin), the request token / authorize / access token
legs, and each user's access tokens. Policy names and messages as Keystone's; the
request and access token legs are authenticated by the consumer's OAuth signature,
not by a token. (The ``oauth1`` auth method: stratus/identity/auth.py.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import BadRequest, NotFound
from stratus.api.routes.identity._util import (
    base_url,
    get_or_404,
    list_links,
    role_view,
    self_link,
)
from stratus.db.models.identity import User
from stratus.db.models.identity_oauth1 import AccessToken, Consumer
from stratus.identity import oauth1
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.identity.tokens import isotime

_ADMIN = "rule:admin_required"
_OWNER = "rule:admin_required or user_id:%(target.user.id)s"
register_defaults(
    [
        *(
            RuleDefault(f"identity:{verb}_consumer{s}", _ADMIN)
            for verb, s in (("get", ""), ("list", "s"), ("create", ""), ("update", ""),
                            ("delete", ""))
        ),
        # any user; only roles they hold on the requested project can be delegated
        RuleDefault("identity:authorize_request_token", ""),
        RuleDefault("identity:list_access_tokens", _OWNER),
        RuleDefault("identity:get_access_token", _OWNER),
        RuleDefault("identity:delete_access_token", _OWNER),
        RuleDefault("identity:list_access_token_roles", _OWNER),
        RuleDefault("identity:get_access_token_role", _OWNER),
    ]
)

router = APIRouter(tags=["identity: OS-OAUTH1"])
FORM = "application/x-www-form-urlencoded"


def _consumer_view(request: Request, consumer: Consumer, secret: str | None = None) -> dict:
    out = {
        **(consumer.extra or {}),
        "id": consumer.id,
        "description": consumer.description,
        "links": self_link(request, f"/OS-OAUTH1/consumers/{consumer.id}"),
    }
    if secret is not None:  # shown once, on create
        out["secret"] = secret
    return out


def _consumer_body(body: dict) -> dict:
    consumer = body.get("consumer", {})
    if not isinstance(consumer, dict):
        raise BadRequest("Invalid input for field 'consumer': expecting an object.")
    for chosen in ("id", "secret"):
        if chosen in consumer:
            raise BadRequest(f"Invalid input for field '{chosen}': it is chosen by the server.")
    description = consumer.get("description")
    if description is not None and not isinstance(description, str):
        raise BadRequest("Invalid input for field 'description': expecting a string or null.")
    return consumer


@router.post("/OS-OAUTH1/consumers", status_code=201, summary="Create an OAuth consumer")
def create_consumer(
    request: Request, ctx: Auth, db: DbSession, policy: Policy,
    body: Annotated[dict[str, Any], Body()],
):
    policy.enforce("identity:create_consumer")
    given = dict(_consumer_body(body))
    secret = oauth1.new_secret()
    consumer = Consumer(
        description=given.pop("description", None), secret=secret, extra=given
    )
    db.add(consumer)
    db.flush()
    return {"consumer": _consumer_view(request, consumer, secret)}


@router.get("/OS-OAUTH1/consumers", summary="List OAuth consumers")
def list_consumers(request: Request, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:list_consumers")
    found = db.scalars(select(Consumer).order_by(Consumer.created_at, Consumer.id))
    return {"consumers": [_consumer_view(request, c) for c in found], "links": list_links(request)}


@router.get("/OS-OAUTH1/consumers/{consumer_id}", summary="Show an OAuth consumer")
def get_consumer(request: Request, consumer_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_consumer")
    return {"consumer": _consumer_view(request, get_or_404(db, Consumer, consumer_id, "consumer"))}


@router.patch("/OS-OAUTH1/consumers/{consumer_id}", summary="Update an OAuth consumer")
def update_consumer(
    request: Request, consumer_id: str, ctx: Auth, db: DbSession, policy: Policy,
    body: Annotated[dict[str, Any], Body()],
):
    policy.enforce("identity:update_consumer")
    consumer = get_or_404(db, Consumer, consumer_id, "consumer")
    given = dict(_consumer_body(body))
    if "description" in given:
        consumer.description = given.pop("description")
    consumer.extra = {**(consumer.extra or {}), **given}
    db.flush()
    return {"consumer": _consumer_view(request, consumer)}


@router.delete("/OS-OAUTH1/consumers/{consumer_id}", status_code=204, summary="Delete an OAuth consumer")
def delete_consumer(consumer_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_consumer")
    oauth1.delete_consumer(db, get_or_404(db, Consumer, consumer_id, "consumer"))
    return Response(status_code=204)


def _form(token, expires_at) -> Response:
    text = f"oauth_token={token.id}&oauth_token_secret={token.secret}"
    text += f"&oauth_expires_at={isotime(expires_at)}" if expires_at else ""
    return Response(text, status_code=201, media_type=FORM)


@router.post("/OS-OAUTH1/request_token", status_code=201, summary="Create a request token")
def create_request_token(request: Request, db: DbSession):
    signed = oauth1.Signed(
        f"{base_url(request)}/OS-OAUTH1/request_token", "POST", dict(request.headers)
    )
    token = oauth1.create_request_token(db, signed, request.headers.get("requested-project-id"))
    return _form(token, token.expires_at)


@router.put("/OS-OAUTH1/authorize/{request_token_id}", summary="Authorize a request token")
def authorize(
    request_token_id: str, ctx: Auth, db: DbSession, policy: Policy,
    body: Annotated[dict[str, Any], Body()],
):
    policy.enforce("identity:authorize_request_token")
    verifier = oauth1.authorize(db, ctx, request_token_id, body.get("roles"))
    return {"token": {"oauth_verifier": verifier}}


@router.post("/OS-OAUTH1/access_token", status_code=201, summary="Create an access token")
def create_access_token(request: Request, db: DbSession):
    signed = oauth1.Signed(
        f"{base_url(request)}/OS-OAUTH1/access_token", "POST", dict(request.headers)
    )
    token = oauth1.create_access_token(db, signed)
    return _form(token, token.expires_at)


# --- a user's access tokens ----------------------------------------------------------------
def _access_view(request: Request, access: AccessToken) -> dict:
    return {
        "id": access.id,
        "consumer_id": access.consumer_id,
        "project_id": access.project_id,
        "authorizing_user_id": access.authorizing_user_id,
        "expires_at": isotime(access.expires_at),
        "links": self_link(
            request, f"/users/{access.authorizing_user_id}/OS-OAUTH1/access_tokens/{access.id}"
        ),
    }


def _access(db, policy: Policy, rule: str, user_id: str, access_id: str) -> AccessToken:
    policy.enforce(rule, {"target.user.id": user_id})
    access = db.get(AccessToken, access_id)
    if access is None or access.authorizing_user_id != user_id:
        raise NotFound(f"Could not find access token: {access_id}.")
    return access


_USER_TOKENS = "/users/{user_id}/OS-OAUTH1/access_tokens"


@router.get(_USER_TOKENS, summary="List a user's OAuth access tokens")
def list_access_tokens(request: Request, user_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:list_access_tokens", {"target.user.id": user_id})
    if ctx.oauth_access_token_id:
        raise oauth1.delegated_refused("list request tokens")  # sic, as Keystone says
    get_or_404(db, User, user_id, "user")
    found = db.scalars(
        select(AccessToken).where(AccessToken.authorizing_user_id == user_id).order_by(AccessToken.id)
    )
    return {"access_tokens": [_access_view(request, a) for a in found], "links": list_links(request)}


@router.get(_USER_TOKENS + "/{access_token_id}", summary="Show an OAuth access token")
def get_access_token(
    request: Request, user_id: str, access_token_id: str, ctx: Auth, db: DbSession, policy: Policy
):
    access = _access(db, policy, "identity:get_access_token", user_id, access_token_id)
    return {"access_token": _access_view(request, access)}


@router.delete(_USER_TOKENS + "/{access_token_id}", status_code=204, summary="Delete an OAuth access token")
def delete_access_token(
    user_id: str, access_token_id: str, ctx: Auth, db: DbSession, policy: Policy
):
    access = _access(db, policy, "identity:delete_access_token", user_id, access_token_id)
    db.delete(access)
    db.flush()
    return Response(status_code=204)


@router.get(_USER_TOKENS + "/{access_token_id}/roles", summary="The roles an access token delegates")
def list_access_token_roles(
    request: Request, user_id: str, access_token_id: str, ctx: Auth, db: DbSession, policy: Policy
):
    access = _access(db, policy, "identity:list_access_token_roles", user_id, access_token_id)
    return {
        "roles": [role_view(request, r) for r in oauth1.roles_of(db, access)],
        "links": list_links(request),
    }


@router.get(_USER_TOKENS + "/{access_token_id}/roles/{role_id}", summary="Show a role of an access token")
def get_access_token_role(
    request: Request, user_id: str, access_token_id: str, role_id: str,
    ctx: Auth, db: DbSession, policy: Policy,
):
    access = _access(db, policy, "identity:get_access_token_role", user_id, access_token_id)
    for role in oauth1.roles_of(db, access):
        if role.id == role_id:
            return {"role": role_view(request, role)}
    raise NotFound(f"Could not find role: {role_id} in access token {access_token_id}.")
