"""Shared route dependencies: the database session, the caller, and policy checks.

    from stratus.api.deps import Auth, DbSession, Policy

    @router.get("/servers")
    def list_servers(ctx: Auth, policy: Policy, db: DbSession):
        policy.enforce("compute:servers:index", {"project_id": ctx.project_id})
        ...

- ``Auth`` validates ``X-Auth-Token`` (401 in the service's fault format when it is
  missing, invalid, expired or revoked) and gives a :class:`RequestContext`.
- ``Policy`` checks oslo.policy rules for that caller; ``enforce`` raises 403.
- ``plan_context(request)``: what a route passes as ``context=`` to
  ``orchestration.submit`` (the controller's settings and Fernet keys, which resource
  types such as ``OS::Nova::Server`` need to sign the image tickets of their tasks).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from stratus.api.errors import Forbidden, Unauthorized
from stratus.identity import access_rules
from stratus.identity.context import RequestContext
from stratus.identity.policy import Enforcer
from stratus.orchestration.resources import PlanContext
from stratus.versions import APIVersion

__all__ = ["Auth", "DbSession", "OptionalAuth", "Policy", "PolicyChecker", "RequestContext", "plan_context"]


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: committed when the route returns normally, rolled back
    when it raises, before the response is sent."""
    with request.app.state.db.session(keep_loaded=True) as s:
        yield s


# Use as a route parameter type: ``def route(db: DbSession): ...``
DbSession = Annotated[Session, Depends(get_session, scope="function")]


def _token_provider(request: Request):
    from stratus.identity.tokens import TokenProvider

    app = request.app
    provider = getattr(app.state, "tokens", None)
    if provider is None:
        provider = app.state.tokens = TokenProvider(app.state.settings, app.state.fernet)
    return provider


def get_context(request: Request, db: DbSession) -> RequestContext:
    token = request.headers.get("x-auth-token")
    if not token:
        raise Unauthorized(
            "The request you have made requires authentication: send a token in X-Auth-Token.",
            headers={
                "WWW-Authenticate": f'Keystone uri="{request.app.state.settings.endpoint_url}/identity"'
            },
        )
    return _admit(request, _token_provider(request).validate(db, token))


def cached_context(request: Request) -> RequestContext | None:
    """:func:`get_context`'s answer without a database session, when the token's
    validation is cached (see ``TokenProvider.cached``); ``None``: call get_context."""
    token = request.headers.get("x-auth-token")
    ctx = _token_provider(request).cached(token) if token else None
    return None if ctx is None else _admit(request, ctx)


def _admit(request: Request, ctx: RequestContext) -> RequestContext:
    """The caller's context, once its application credential's access rules allow
    this request."""
    if ctx.access_rules and not access_rules.allows(ctx.access_rules, request.method, request.url.path):
        raise Unauthorized(
            "The request you have made requires authentication: the access rules of the "
            f"token's application credential do not allow {request.method} {request.url.path}."
        )
    request.state.context = ctx
    return ctx


def get_optional_context(request: Request, db: DbSession) -> RequestContext | None:
    if not request.headers.get("x-auth-token"):
        return None
    return get_context(request, db)


Auth = Annotated[RequestContext, Depends(get_context)]
OptionalAuth = Annotated[RequestContext | None, Depends(get_optional_context)]


class PolicyChecker:
    def __init__(self, enforcer: Enforcer, ctx: RequestContext) -> None:
        self.enforcer = enforcer
        self.ctx = ctx

    def _target(self, target: dict | None) -> dict:
        base = {"project_id": self.ctx.project_id, "user_id": self.ctx.user_id}
        if target:
            base.update(target)
        return base

    def allowed(self, rule: str, target: dict | None = None) -> bool:
        return self.enforcer.authorize(rule, self._target(target), self.ctx)

    def enforce(self, rule: str, target: dict | None = None) -> None:
        """Raise 403 unless the caller passes ``rule`` on ``target`` (a flat dict:
        ``project_id``, ``user_id``, ``target.project.id``, …; defaults to the caller's
        own project and user)."""
        if not self.allowed(rule, target):
            raise Forbidden(f"You are not authorized to perform the requested action: {rule}.")

    __call__ = enforce


def get_policy(request: Request, ctx: Auth) -> PolicyChecker:
    return PolicyChecker(request.app.state.enforcer, ctx)


Policy = Annotated[PolicyChecker, Depends(get_policy)]


def plan_context(request: Request) -> PlanContext:
    """The controller's settings and keys for ``orchestration.submit(..., context=)``."""
    ctx = getattr(request.state, "context", None)
    return PlanContext(request.app.state.settings, request.app.state.fernet, request.app.state.db,
                       cloud_admin=bool(ctx and ctx.is_admin), user_id=ctx.user_id if ctx else None)


def get_api_version(request: Request) -> APIVersion:
    """The microversion the request is served at (``stratus.api.microversions``)."""
    version = getattr(request.state, "api_version", None)
    if version is None:
        raise RuntimeError(f"{request.url.path} is not under a microversioned service root")
    return version


ApiVersion = Annotated[APIVersion, Depends(get_api_version)]
