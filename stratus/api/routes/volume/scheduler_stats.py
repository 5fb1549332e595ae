"""Cinder v3 ``GET /scheduler-stats/get_pools[?detail=true]`` (administrators): the
pools the volume scheduler places on, ``{"pools": [{"name": "host@backend#pool"[,
"capabilities": {...}]}]}`` (see :func:`stratus.volume.scheduler.pools`)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from stratus.api.deps import DbSession, Policy
from stratus.api.routes.volume._common import VolumeAuth
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.volume import scheduler
from stratus.volume.volume_types import parse_bool

router = APIRouter(tags=["volume: scheduler_stats"])

register_defaults([
    RuleDefault("scheduler_extension:scheduler_stats:get_pools", "rule:admin_required",
                "List the back-end storage pools the scheduler knows"),
])


@router.get("/scheduler-stats/get_pools")
def get_pools(request: Request, ctx: VolumeAuth, policy: Policy, db: DbSession, detail: str | None = None):
    policy.enforce("scheduler_extension:scheduler_stats:get_pools")
    pools = scheduler.pools(db, request.app.state.settings)
    if not parse_bool(detail or "false", "detail"):
        pools = [{"name": p["name"]} for p in pools]
    return {"pools": pools}
