"""/auth: issue, validate and revoke tokens; the caller's catalog, projects, domains
and system."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from stratus.api.deps import (
    Auth,
    DbSession,
    Policy,
    PolicyChecker,
    _token_provider,
    cached_context,
    get_context,
)
from stratus.api.errors import BadRequest, NotFound, Unauthorized
from stratus.api.routes.identity._util import base_url, list_links, self_link
from stratus.db.models.identity import Domain, Project, RoleAssignment
from stratus.identity import receipts
from stratus.identity.assignments import effective_roles, group_ids_of
from stratus.identity.auth import authenticate
from stratus.identity.tokens import catalog, token_document

router = APIRouter(tags=["identity: auth"])


@router.post("/auth/tokens", status_code=201, summary="Issue a token")
def issue_token(
    request: Request,
    db: DbSession,
    body: Annotated[dict[str, Any], Body()],
    nocatalog: str | None = Query(None),
):
    source = request.client.host if request.client else ""
    try:
        token, ctx = authenticate(
            db,
            _token_provider(request),
            body,
            source,
            request.headers.get(receipts.HEADER),
            oauth_request=(f"{base_url(request)}/auth/tokens", dict(request.headers)),
        )
    except receipts.ReceiptRequired as e:  # Keystone's answer: 401 with the receipt
        return JSONResponse(e.document, status_code=401, headers=e.headers)
    doc = token_document(db, ctx, include_catalog=nocatalog is None)
    return JSONResponse(doc, status_code=201, headers={"X-Subject-Token": token})


def _subject(request: Request, ctx, db, policy: Policy):
    subject = request.headers.get("x-subject-token")
    if not subject:
        raise BadRequest("Send the token to check in X-Subject-Token.")
    provider = _token_provider(request)
    try:
        sctx = ctx if subject == ctx.token else provider.validate(db, subject)
    except Unauthorized as e:
        raise NotFound(f"Could not find token: {e.message}") from None
    policy.enforce("identity:validate_token", {"target.token.user_id": sctx.user_id})
    return subject, sctx


def _checked_token(request: Request, include_catalog: bool | None):
    """The subject token and its document (None when ``include_catalog`` is None, a
    HEAD): from the caches alone when both tokens' validations and the document are
    kept (no session, no thread hop), else through a session in the threadpool."""
    ctx = cached_context(request)
    subject = request.headers.get("x-subject-token")
    if ctx is not None and subject:
        provider = _token_provider(request)
        sctx = ctx if subject == ctx.token else provider.cached(subject)
        if sctx is not None:
            doc = None
            if include_catalog is not None:
                doc = provider.cached_document(sctx, include_catalog=include_catalog)
            if doc is not None or include_catalog is None:
                PolicyChecker(request.app.state.enforcer, ctx).enforce(
                    "identity:validate_token", {"target.token.user_id": sctx.user_id}
                )
                return subject, doc
    return None


def _checked_token_in_session(request: Request, include_catalog: bool | None):
    with request.app.state.db.session(keep_loaded=True) as db:
        ctx = get_context(request, db)
        subject, sctx = _subject(request, ctx, db, PolicyChecker(request.app.state.enforcer, ctx))
        doc = None
        if include_catalog is not None:
            doc = _token_provider(request).document(db, sctx, include_catalog=include_catalog)
    return subject, doc


async def _check(request: Request, include_catalog: bool | None):
    return _checked_token(request, include_catalog) or await run_in_threadpool(
        _checked_token_in_session, request, include_catalog
    )


# Validation is the hot path (every service checks every token): async routes that answer
# from the token caches on the event loop, and open a session only on a miss.
@router.get("/auth/tokens", summary="Validate and show a token")
async def validate_token(request: Request, nocatalog: str | None = Query(None)):
    subject, doc = await _check(request, nocatalog is None)
    return JSONResponse(doc, headers={"X-Subject-Token": subject})


@router.head("/auth/tokens", status_code=200, summary="Check a token")
async def check_token(request: Request):
    subject, _ = await _check(request, None)
    return Response(status_code=200, headers={"X-Subject-Token": subject})


@router.delete("/auth/tokens", status_code=204, summary="Revoke a token")
def revoke_token(request: Request, ctx: Auth, db: DbSession, policy: Policy):
    subject = request.headers.get("x-subject-token")
    if not subject:
        raise BadRequest("Send the token to revoke in X-Subject-Token.")
    provider = _token_provider(request)
    try:
        sctx = provider.validate(db, subject)
    except Unauthorized as e:
        raise NotFound(f"Could not find token: {e.message}") from None
    policy.enforce("identity:revoke_token", {"target.token.user_id": sctx.user_id})
    provider.revoke(db, provider.decode(subject))
    return Response(status_code=204)


@router.get("/auth/catalog", summary="The catalog of the caller's token")
def auth_catalog(request: Request, ctx: Auth, db: DbSession):
    if ctx.scope == "unscoped":
        raise Unauthorized("The catalog needs a scoped token.")
    return {"catalog": catalog(db, ctx.project_id), "links": list_links(request)}


def _targets(db, user_id: str, types: tuple[str, ...]) -> set[str]:
    actors = [user_id, *group_ids_of(db, user_id)]
    return set(
        db.scalars(
            select(RoleAssignment.target_id).where(
                RoleAssignment.actor_id.in_(actors), RoleAssignment.type.in_(types)
            )
        )
    )


@router.get("/auth/projects", summary="Projects the caller can scope to")
def auth_projects(request: Request, ctx: Auth, db: DbSession):
    from stratus.api.routes.identity.projects import project_view

    out = []
    for p in db.scalars(select(Project).where(Project.enabled.is_(True)).order_by(Project.name)):
        if effective_roles(db, ctx.user_id, project=p):
            out.append(project_view(request, p))
    return {"projects": out, "links": list_links(request)}


@router.get("/auth/domains", summary="Domains the caller can scope to")
def auth_domains(request: Request, ctx: Auth, db: DbSession):
    from stratus.api.routes.identity.domains import domain_view

    out = []
    for d in db.scalars(select(Domain).where(Domain.enabled.is_(True)).order_by(Domain.name)):
        if effective_roles(db, ctx.user_id, domain_id=d.id):
            out.append(domain_view(request, d))
    return {"domains": out, "links": list_links(request)}


@router.get("/auth/system", summary="The system scope the caller can use")
def auth_system(request: Request, ctx: Auth, db: DbSession):
    system = [{"all": True}] if effective_roles(db, ctx.user_id, system=True) else []
    return {"system": system, "links": self_link(request, "/auth/system")}
