"""Heat v1 ``GET /build_info``: the revision of the API and of the engine (both this
controller's version)."""

from __future__ import annotations

from fastapi import APIRouter

from stratus import __version__
from stratus.api.deps import Policy
from stratus.api.routes.orchestration._common import HeatAuth

router = APIRouter(tags=["orchestration: build info"])


@router.get("/build_info")
def build_info(ctx: HeatAuth, policy: Policy):
    policy.enforce("build_info:build_info", {"project_id": ctx.project_id})
    return {"api": {"revision": __version__}, "engine": {"revision": __version__}}
