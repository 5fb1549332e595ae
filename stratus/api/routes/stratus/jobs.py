"""``/stratus/v1``: jobs, job events, resources and hosts (admin only).

- ``GET  /stratus/v1/jobs?status=&project_id=&limit=`` → ``{"jobs": [...]}``
- ``POST /stratus/v1/jobs`` ``{"template": {...}, "parameters": {...}, "max_attempts": n,
  "timeout": s}`` → 202 ``{"job": {...}}``: plan → compile → record, then the worker runs it
- ``GET  /stratus/v1/jobs/{id}`` → ``{"job": {..., "resources": [...]}}``
- ``GET  /stratus/v1/jobs/{id}/events?since=<event id>`` → ``{"events": [...]}``
- ``POST /stratus/v1/jobs/{id}/cancel`` → 202 ``{"job": {...}}``
- ``GET  /stratus/v1/resources/{id}`` → ``{"resource": {...}}``
- ``GET  /stratus/v1/hosts`` → ``{"hosts": [...]}``; ``GET /stratus/v1/inventory`` → the
  registry as an Ansible inventory (what the ``stratus.cloud.controller`` plugin reads)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from stratus import log
from stratus.api.deps import Auth, DbSession, Policy
from stratus.api.errors import NotFound
from stratus.db.models.hosts import Host
from stratus.db.models.jobs import Resource
from stratus.hosts import registry
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.jobs import views
from stratus.jobs.worker import cancel
from stratus.orchestration.submit import submit

PREFIX = "/stratus/v1"
router = APIRouter()

register_defaults([
    RuleDefault("stratus:jobs:index", "rule:admin_required"),
    RuleDefault("stratus:jobs:show", "rule:admin_required"),
    RuleDefault("stratus:jobs:create", "rule:admin_required"),
    RuleDefault("stratus:jobs:cancel", "rule:admin_required"),
    RuleDefault("stratus:hosts:index", "rule:admin_required"),
])


class JobCreate(BaseModel):
    template: dict[str, Any]
    parameters: dict[str, Any] = Field(default_factory=dict)
    max_attempts: int | None = Field(None, ge=1)
    timeout: int | None = Field(None, ge=1)


def _notify(request: Request) -> None:
    worker = getattr(request.app.state, "jobs_worker", None)
    if worker is not None:
        worker.notify()


@router.get("/jobs")
def list_jobs(ctx: Auth, policy: Policy, db: DbSession, status: str | None = None,
              project_id: str | None = None, limit: int = 100):
    policy.enforce("stratus:jobs:index")
    return {"jobs": views.list_jobs(db, status=status, project_id=project_id, limit=min(limit, 1000))}


@router.post("/jobs", status_code=202)
def create_job(body: JobCreate, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("stratus:jobs:create")
    settings = request.app.state.settings
    job = submit(
        db, body.template, body.parameters, project_id=ctx.project_id, cloud_admin=ctx.is_admin,
        request_id=log.request_id.get(), kind="template",
        max_attempts=body.max_attempts or settings.job_max_attempts,
        timeout=body.timeout or settings.job_timeout,
        quota_defaults=settings.quota_defaults,
    )
    db.commit()
    _notify(request)
    return {"job": views.show_job(db, job.id)}


@router.get("/jobs/{job_id}")
def show_job(job_id: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("stratus:jobs:show")
    job = views.show_job(db, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} could not be found.")
    return {"job": job}


@router.get("/jobs/{job_id}/events")
def job_events(job_id: str, ctx: Auth, policy: Policy, db: DbSession, since: int = 0):
    policy.enforce("stratus:jobs:show")
    if views.show_job(db, job_id) is None:
        raise NotFound(f"Job {job_id} could not be found.")
    return {"events": views.events(db, job_id, since)}


@router.post("/jobs/{job_id}/cancel", status_code=202)
def cancel_job(job_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("stratus:jobs:cancel")
    if cancel(db, job_id, request.app.state.resource_types) is None:
        raise NotFound(f"Job {job_id} could not be found.")
    return {"job": views.show_job(db, job_id)}


@router.get("/resources/{resource_id}")
def show_resource(resource_id: str, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("stratus:jobs:show")
    res = db.get(Resource, resource_id)
    if res is None:
        raise NotFound(f"Resource {resource_id} could not be found.")
    return {"resource": views.resource_dict(res)}


@router.get("/hosts")
def list_hosts(ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("stratus:hosts:index")
    return {"hosts": [
        {"name": h.name, "groups": h.groups, "vars": h.vars, "capacity": h.capacity,
         "reported": h.reported, "enabled": h.enabled,
         "refreshed_at": h.refreshed_at.isoformat() if h.refreshed_at else None}
        for h in db.scalars(select(Host).order_by(Host.name))
    ]}


@router.get("/inventory")
def inventory(ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("stratus:hosts:index")
    return registry.inventory(db)
