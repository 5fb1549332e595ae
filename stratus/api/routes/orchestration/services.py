"""Heat v1 ``GET /services`` (cloud administrators): Heat's engine service list, where
this controller is the one ``heat-engine`` (it runs every stack's jobs), up while it
answers."""

from __future__ import annotations

import socket
import uuid

from fastapi import APIRouter

from stratus.api.deps import Policy
from stratus.api.routes.orchestration._common import HeatAuth
from stratus.db.types import utcnow
from stratus.stacks import views

router = APIRouter(tags=["orchestration: services"])
STARTED = utcnow()


@router.get("/services")
def index(ctx: HeatAuth, policy: Policy):
    policy.enforce("service:index", {"project_id": ctx.project_id})
    host = socket.gethostname()
    engine_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"heat-engine.{host}"))
    return {"services": [{
        "id": engine_id, "engine_id": engine_id, "host": host, "hostname": host, "binary": "heat-engine",
        "topic": "engine", "report_interval": 60, "status": "up",
        "created_at": views.isotime(STARTED), "updated_at": views.isotime(utcnow()), "deleted_at": None,
    }]}
