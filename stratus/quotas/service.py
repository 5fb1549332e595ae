"""What the three quota APIs share: views of limits and usage for one service, and
validated updates (admin only, limits are integers >= -1, never below what is used)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.quotas import QuotaLimit
from stratus.errors import BadRequest, Conflict, Forbidden, OverLimit
from stratus.identity.policy import RuleDefault, register_defaults

register_defaults([
    RuleDefault("quotas:show", "rule:admin_required or project_id:%(project_id)s"),
    RuleDefault("quotas:update", "rule:admin_required"),
    RuleDefault("quotas:delete", "rule:admin_required"),
])


def limits(request, db: Session, project_id: str, service: str) -> dict[str, int]:
    return quotas.limits(db, project_id, request.app.state.settings.quota_defaults, service)


def defaults(request, service: str) -> dict[str, int]:
    return quotas.defaults(request.app.state.settings.quota_defaults, service)


def detail(request, db: Session, project_id: str, service: str) -> dict[str, dict[str, int]]:
    used = quotas.usage(db, project_id)
    return {
        name: {"limit": limit, "in_use": used.get(name, 0), "reserved": 0}
        for name, limit in limits(request, db, project_id, service).items()
    }


def update(request, db: Session, project_id: str, service: str, body: Mapping[str, Any],
           ignore: set[str] = frozenset()) -> dict[str, int]:
    """Set limits from ``body``; unknown names, bad values or limits below usage → 400."""
    known = quotas.SERVICES[service]
    wanted: dict[str, int] = {}
    for key, value in body.items():
        if key in ignore:
            continue
        if key not in known:
            raise BadRequest(f"Invalid input for field/attribute quota_set. Unknown quota {key!r}; "
                             f"known: {', '.join(sorted(known))}")
        try:
            limit = int(value)
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"Invalid input for field/attribute {key}: {value!r} is not an integer") from exc
        if isinstance(value, bool) or limit < -1:
            raise BadRequest(f"Quota limit {value!r} for {key} must be an integer >= -1 (-1: unlimited)")
        wanted[key] = limit
    used = quotas.usage(db, project_id)
    for key, limit in wanted.items():
        if limit != -1 and key not in quotas.NOT_COUNTED and used.get(key, 0) > limit:
            raise BadRequest(f"Quota limit {limit} for {key} must be greater than or equal to "
                             f"already used and reserved {used[key]}.")
    quotas.set_limits(db, project_id, wanted)
    return limits(request, db, project_id, service)


def projects_with_limits(db: Session, service: str) -> list[str]:
    names = set(quotas.SERVICES[service])
    return sorted({r.project_id for r in db.scalars(select(QuotaLimit)) if r.resource in names})


def fault(exc: quotas.QuotaExceeded, service: str) -> Exception:
    """The error each API answers an over-quota request with (as the references do)."""
    if service == "compute":
        r = exc.resources[0]
        o = exc.overs[r]
        return Forbidden(f"Quota exceeded for {r}: Requested {o['requested']}, but already used "
                         f"{o['used']} of {o['limit']} {r}")
    if service == "network":
        return Conflict(f"Quota exceeded for resources: {exc.resources}.", type="OverQuota")
    r = exc.resources[0]
    o = exc.overs[r]
    return OverLimit(f"VolumeLimitExceeded: Requested {o['requested']} {r} exceeds the quota: "
                     f"{o['used']} of {o['limit']} used for quota '{r}'.")
