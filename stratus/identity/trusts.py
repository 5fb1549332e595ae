"""OS-TRUST: create, find, use and delete trusts (Keystone's rules).

- Only the trustor creates a trust, delegating roles they hold on the project; the
  trustee must exist. ``remaining_uses`` (a positive integer or null) counts the
  trust-scoped tokens still to be issued; ``expires_at`` bounds the trust and its tokens.
- Redelegation (settings ``trust_allow_redelegation``, ``trust_max_redelegation_count``):
  a trust made with ``allow_redelegation`` may be redelegated by its trustee, with a
  trust-scoped token of it, to a trust no wider (roles, project, expiry, impersonation)
  whose ``redelegation_count`` is one less.
- A trust-scoped token is the trustee's (the trustor's with ``impersonation``), scoped
  to the trust's project with the trust's roles that the trustor still holds there;
  it re-reads the trust on every validation, so deleting or expiring the trust ends it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from stratus.config import Settings
from stratus.db.models.identity import Project, Role, User
from stratus.db.models.identity_trusts import Trust
from stratus.errors import BadRequest, Forbidden, NotFound, Unauthorized
from stratus.identity.assignments import effective_roles, implied_closure
from stratus.identity.context import RequestContext
from stratus.identity.times import parse_time

AUTH_FAILED = "The request you have made requires authentication."


def is_live(trust: Trust, now: datetime | None = None) -> bool:
    """Not expired and not used up."""
    now = now or datetime.now(UTC)
    if trust.expires_at is not None and trust.expires_at <= now:
        return False
    return trust.remaining_uses is None or trust.remaining_uses > 0


def get_live(db: Session, trust_id: str) -> Trust:
    trust = db.get(Trust, trust_id)
    if trust is None or not is_live(trust):
        raise NotFound(f"Could not find trust: {trust_id}.")
    return trust


def list_live(db: Session, trustor_user_id: str | None, trustee_user_id: str | None) -> list[Trust]:
    q = select(Trust).order_by(Trust.created_at, Trust.id)
    if trustor_user_id is not None:
        q = q.where(Trust.trustor_user_id == trustor_user_id)
    if trustee_user_id is not None:
        q = q.where(Trust.trustee_user_id == trustee_user_id)
    now = datetime.now(UTC)
    return [t for t in db.scalars(q) if is_live(t, now)]


def _bool(body: dict, key: str, default: bool | None) -> bool:
    value = body.get(key, default)
    if value is None and default is None:
        raise BadRequest(f"Invalid input for field '{key}': it is required (true or false).")
    if not isinstance(value, bool):
        raise BadRequest(f"Invalid input for field '{key}': expecting true or false.")
    return value


def _str(body: dict, key: str, required: bool = True) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"Invalid input for field '{key}': expecting a non-empty string.")
    return value


def _roles(db: Session, refs) -> list[Role]:
    if not isinstance(refs, list) or not refs:
        raise BadRequest(
            "Invalid input for field 'roles': expecting a non-empty list of "
            '{"id": …} or {"name": …}: a trust delegates at least one role.'
        )
    out = []
    for ref in refs:
        if not isinstance(ref, dict) or not (ref.get("id") or ref.get("name")):
            raise BadRequest('Invalid input for field \'roles\': each role is {"id": …} or {"name": …}.')
        # an id that is no role's id is tried as a name: `openstack trust create --role
        # member` sends the name as the id when the caller may not look roles up
        key = str(ref.get("id") or ref["name"])
        role = db.get(Role, key) if ref.get("id") else None
        if role is None:
            role = db.scalars(select(Role).filter_by(name=key, domain_id="")).first()
        if role is None:
            raise NotFound(f"Could not find role: {ref.get('id') or ref.get('name')}.")
        out.append(role)
    return out


def validate_body(db: Session, body) -> dict:
    """The checked fields of a POST /OS-TRUST/trusts ``trust`` object (400/404 on the
    first wrong one, before anything is written)."""
    if not isinstance(body, dict):
        raise BadRequest("Invalid input for field 'trust': expecting an object.")
    out = {
        "trustor_user_id": _str(body, "trustor_user_id"),
        "trustee_user_id": _str(body, "trustee_user_id"),
        "project_id": _str(body, "project_id"),
        "impersonation": _bool(body, "impersonation", None),
        "allow_redelegation": _bool(body, "allow_redelegation", False),
        "expires_at": parse_time(body.get("expires_at"), "expires_at"),
    }
    uses = body.get("remaining_uses")
    if uses is not None and (isinstance(uses, bool) or not isinstance(uses, int) or uses < 1):
        raise BadRequest(
            "Invalid input for field 'remaining_uses': expecting a positive integer, or null "
            "for unlimited uses."
        )
    out["remaining_uses"] = uses
    count = body.get("redelegation_count")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 0):
        raise BadRequest("Invalid input for field 'redelegation_count': expecting an integer >= 0.")
    out["redelegation_count"] = count
    if out["expires_at"] is not None and out["expires_at"] <= datetime.now(UTC):
        raise BadRequest(
            f"Invalid input for field 'expires_at': {body['expires_at']} is in the past; "
            "give a future time or leave it out."
        )
    if db.get(User, out["trustee_user_id"]) is None:
        raise NotFound(f"Could not find user: {out['trustee_user_id']}.")
    project = db.get(Project, out["project_id"])
    if project is None:
        raise NotFound(f"Could not find project: {out['project_id']}.")
    out["project"] = project
    out["roles"] = _roles(db, body.get("roles"))
    return out


def create(db: Session, settings: Settings, ctx: RequestContext, body) -> Trust:
    """A new trust from the checked ``body``; the caller must be its trustor (the route
    checks policy) and hold its roles on its project."""
    f = validate_body(db, body)
    parent = db.get(Trust, ctx.trust_id) if ctx.trust_id else None
    if parent is not None:  # a redelegation delegates the roles of the trust
        held = set(parent.role_ids)
    else:
        held = {r.id for r in effective_roles(db, f["trustor_user_id"], project=f["project"])}
    for role in f["roles"]:
        if role.id not in held:
            raise Forbidden(
                f"The trustor {f['trustor_user_id']} does not hold role {role.name} on project "
                f"{f['project_id']}; a trust can only delegate the trustor's own roles."
            )
    role_ids = sorted({r.id for r in f["roles"]})
    count = f["redelegation_count"]
    if f["allow_redelegation"]:
        if not settings.trust_allow_redelegation:
            raise Forbidden(
                "Redelegation of trusts is disabled on this cloud (setting "
                "trust_allow_redelegation); leave allow_redelegation out."
            )
        limit = settings.trust_max_redelegation_count
        if count is None:
            count = limit
        elif count > limit:
            raise Forbidden(
                f"Requested redelegation depth of {count} is greater than allowed {limit}."
            )
    elif count is not None:
        raise BadRequest("redelegation_count needs allow_redelegation: true.")

    parent_id = None
    if ctx.trust_id:  # a trust-scoped token: this is a redelegation
        if parent is None or not is_live(parent):
            raise Forbidden(f"The trust {ctx.trust_id} of the token is gone or used up.")
        _check_redelegation(settings, parent, f, role_ids)
        count = (parent.redelegation_count or 0) - 1 if f["allow_redelegation"] else None
        parent_id = parent.id
    trust = Trust(
        trustor_user_id=f["trustor_user_id"],
        trustee_user_id=f["trustee_user_id"],
        project_id=f["project_id"],
        impersonation=f["impersonation"],
        expires_at=f["expires_at"],
        remaining_uses=f["remaining_uses"],
        allow_redelegation=f["allow_redelegation"],
        redelegation_count=count,
        redelegated_trust_id=parent_id,
        role_ids=role_ids,
    )
    db.add(trust)
    db.flush()
    return trust


def _check_redelegation(settings: Settings, parent: Trust, f: dict, role_ids: list[str]) -> None:
    def refuse(why: str):
        raise Forbidden(f"Cannot redelegate trust {parent.id}: {why}.")

    if not (settings.trust_allow_redelegation and parent.allow_redelegation):
        refuse("it does not allow redelegation (create it with allow_redelegation: true)")
    if not parent.redelegation_count:
        refuse("its remaining redelegation depth is 0")
    if f["trustor_user_id"] != parent.trustee_user_id:
        refuse("only its trustee can redelegate it, as the new trust's trustor")
    if f["project_id"] != parent.project_id:
        refuse("the new trust must be on the same project")
    if not set(role_ids) <= set(parent.role_ids):
        refuse("the new trust may only delegate roles of the trust")
    if f["impersonation"] and not parent.impersonation:
        refuse("impersonation is not allowed by the trust")
    if parent.expires_at is not None and (
        f["expires_at"] is None or f["expires_at"] > parent.expires_at
    ):
        refuse(f"the new trust must expire no later than {parent.expires_at.isoformat()}")
    if f["allow_redelegation"] and f["redelegation_count"] is not None and (
        f["redelegation_count"] >= parent.redelegation_count
    ):
        refuse(f"redelegation_count must be below {parent.redelegation_count}")


def delete(db: Session, trust: Trust) -> None:
    """Remove a trust and the trusts redelegated from it; their tokens stop working."""
    for child in list(db.scalars(select(Trust).filter_by(redelegated_trust_id=trust.id))):
        delete(db, child)
    db.delete(trust)
    db.flush()


def roles_of(db: Session, trust: Trust) -> list[Role]:
    if not trust.role_ids:
        return []
    return list(db.scalars(select(Role).where(Role.id.in_(trust.role_ids)).order_by(Role.name)))


# --- trust-scoped tokens -------------------------------------------------------------


def consume(db: Session, trust_ref, user: User) -> Trust:
    """The trust ``user`` (the trustee) scopes a new token to, one use taken (401 when
    it is missing, expired, used up, or not the user's)."""
    if not isinstance(trust_ref, dict) or not isinstance(trust_ref.get("id"), str):
        raise BadRequest('A trust scope is {"OS-TRUST:trust": {"id": …}}.')
    trust = db.get(Trust, trust_ref["id"])
    if trust is None or not is_live(trust):
        raise Unauthorized(f"{AUTH_FAILED} Could not find trust {trust_ref['id']}, or it expired or is used up.")
    if trust.trustee_user_id != user.id:
        raise Forbidden(f"User {user.id} is not the trustee of trust {trust.id}.")
    if trust.remaining_uses is not None:
        taken = db.execute(
            update(Trust)
            .where(Trust.id == trust.id, Trust.remaining_uses > 0)
            .values(remaining_uses=Trust.remaining_uses - 1)
        ).rowcount
        if not taken:
            raise Unauthorized(f"{AUTH_FAILED} Trust {trust.id} is used up.")
        db.refresh(trust)
    return trust


def token_roles(db: Session, trust: Trust) -> list[Role]:
    """The roles of a trust-scoped token: the trust's (and the roles they imply) that
    the original trustor (the first of a redelegation chain) still holds on the project."""
    project = db.get(Project, trust.project_id)
    if project is None:
        return []
    root = trust
    while root.redelegated_trust_id:
        root = db.get(Trust, root.redelegated_trust_id)
        if root is None:
            return []
    wanted = implied_closure(db, set(trust.role_ids))
    return [r for r in effective_roles(db, root.trustor_user_id, project=project) if r.id in wanted]


def check_token_trust(db: Session, trust_id: str, user_id: str) -> Trust:
    """The trust a trust-scoped token names, still valid for its user (401 otherwise)."""
    trust = db.get(Trust, trust_id)
    now = datetime.now(UTC)
    if trust is None or (trust.expires_at is not None and trust.expires_at <= now):
        raise Unauthorized(f"{AUTH_FAILED} The token's trust is deleted or expired.")
    if user_id not in (trust.trustee_user_id, trust.trustor_user_id):
        raise Unauthorized(AUTH_FAILED)
    for uid in (trust.trustor_user_id, trust.trustee_user_id):
        u = db.get(User, uid)
        if u is None or not u.enabled:
            raise Unauthorized(f"{AUTH_FAILED} The trust's trustor or trustee is disabled.")
    return trust

