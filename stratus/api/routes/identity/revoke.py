"""/OS-REVOKE/events: the token revocation events (Keystone's list), for services that
cache token validations and want to learn of revocations. ``since`` keeps the events
revoked after a time."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from stratus.api.deps import Auth, DbSession, Policy
from stratus.db.models.identity import RevocationEvent
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.identity.times import parse_time
from stratus.identity.tokens import isotime

register_defaults(
    [RuleDefault("identity:list_revoke_events", "rule:admin_required or rule:service_role")]
)

router = APIRouter(tags=["identity: revocation events"])

MATCH_FIELDS = ("audit_id", "user_id", "project_id", "domain_id")


def view(ev: RevocationEvent) -> dict:
    out = {k: getattr(ev, k) for k in MATCH_FIELDS if getattr(ev, k) is not None}
    if ev.app_cred_id is not None:
        out["application_credential_id"] = ev.app_cred_id
    out["issued_before"] = isotime(ev.issued_before)
    out["revoked_at"] = isotime(ev.revoked_at)
    return out


@router.get("/OS-REVOKE/events", summary="List token revocation events")
def list_(request: Request, ctx: Auth, db: DbSession, policy: Policy, since: str | None = None):
    policy.enforce("identity:list_revoke_events")
    q = select(RevocationEvent).order_by(RevocationEvent.revoked_at, RevocationEvent.id)
    after = parse_time(since, "since")
    if after is not None:
        q = q.where(RevocationEvent.revoked_at > after)
    return {
        "events": [view(ev) for ev in db.scalars(q)],
        "links": {"self": str(request.url), "previous": None, "next": None},
    }
