"""/domains"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import Conflict, Forbidden
from stratus.api.routes.identity._util import (
    apply_patch,
    ensure_unique_name,
    get_or_404,
    list_links,
    qbool,
    self_link,
)
from stratus.db.models.identity import Domain
from stratus.identity import deletion
from stratus.identity.schemas import DomainCreateBody, DomainUpdateBody
from stratus.identity.tokens import add_revocation

router = APIRouter(tags=["identity: domains"])


def domain_view(request: Request, d: Domain) -> dict:
    return {
        "id": d.id,
        "name": d.name,
        "description": d.description,
        "enabled": d.enabled,
        "tags": [],
        "options": {},
        "links": self_link(request, f"/domains/{d.id}"),
    }


@router.get("/domains")
def list_domains(
    request: Request,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
    name: str | None = None,
    enabled: str | None = None,
):
    policy.enforce("identity:list_domains", {})
    q = select(Domain).order_by(Domain.name)
    if name is not None:
        q = q.filter_by(name=name)
    if (want := qbool(enabled)) is not None:
        q = q.filter_by(enabled=want)
    return {
        "domains": [domain_view(request, d) for d in db.scalars(q)],
        "links": list_links(request),
    }


@router.post("/domains", status_code=201)
def create_domain(
    request: Request, body: DomainCreateBody, ctx: Auth, db: DbSession, policy: Policy
):
    policy.enforce("identity:create_domain", {})
    b = body.domain
    ensure_unique_name(db, Domain, b.name, "domain")
    if b.id and db.get(Domain, b.id):
        raise Conflict(
            f"Conflict occurred attempting to store domain - Duplicate entry found with id {b.id}."
        )
    d = Domain(name=b.name, description=b.description or "", enabled=b.enabled)
    if b.id:
        d.id = b.id
    db.add(d)
    db.flush()
    return {"domain": domain_view(request, d)}


@router.get("/domains/{domain_id}")
def get_domain(request: Request, domain_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:get_domain", {"target.domain.id": domain_id})
    return {"domain": domain_view(request, get_or_404(db, Domain, domain_id, "domain"))}


@router.patch("/domains/{domain_id}")
def update_domain(
    request: Request,
    domain_id: str,
    body: DomainUpdateBody,
    ctx: Auth,
    db: DbSession,
    policy: Policy,
):
    policy.enforce("identity:update_domain", {"target.domain.id": domain_id})
    d = get_or_404(db, Domain, domain_id, "domain")
    u = body.domain.model_dump(exclude_unset=True)
    if d.id == "default" and u.get("enabled") is False:
        raise Forbidden("The default domain cannot be disabled.")
    apply_patch(db, d, u, ("name", "description", "enabled"), what="domain")
    if u.get("enabled") is False:
        add_revocation(db, request.app.state.settings, domain_id=d.id)
    return {"domain": domain_view(request, d)}


@router.delete("/domains/{domain_id}", status_code=204)
def delete_domain(request: Request, domain_id: str, ctx: Auth, db: DbSession, policy: Policy):
    policy.enforce("identity:delete_domain", {"target.domain.id": domain_id})
    deletion.delete_domain(db, request.app.state.settings, get_or_404(db, Domain, domain_id, "domain"))
    return Response(status_code=204)
