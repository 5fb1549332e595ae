"""``/stratus/v1``: jobs, job events, resources and hosts (admin only).

- ``GET  /stratus/v1/jobs?status=&project_id=&limit=`` → ``{"jobs": [...]}``
- ``POST /stratus/v1/jobs`` ``{"template": {...}, "parameters": {...}, "max_attempts": n,
  "timeout": s}`` → 202 ``{"job": {...}}``: plan → compile → record, then the worker runs it
- ``GET  /stratus/v1/jobs/{id}`` → ``{"job": {..., "resources": [...]}}``
- ``GET  /stratus/v1/jobs/{id}/events?since=<event id>`` → ``{"events": [...]}``
- ``POST /stratus/v1/jobs/{id}/cancel`` → 202 ``{"job": {...}}``
- ``GET  /stratus/v1/resources/{id}`` → ``{"resource": {...}}``
- ``PATCH /stratus/v1/resources/{id}`` ``{"properties": {...}}`` → 202 ``{"job": {...}}``:
  an in-place update (400 when a changed property cannot change in place)
- ``POST /stratus/v1/resources/{id}/action`` ``{"<action>": {args}}`` → 202 ``{"job": {...}}``
- ``DELETE /stratus/v1/resources/{id}`` → 202 ``{"job": {...}}`` (409 while others need it)
- ``GET  /stratus/v1/hosts`` → ``{"hosts": [...]}``; ``GET /stratus/v1/inventory`` → the
  registry as an Ansible inventory (what the ``stratus.cloud.controller`` plugin reads)
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from stratus import log
from stratus.api.deps import Auth, DbSession, Policy, plan_context
from stratus.api.errors import BadRequest, NotFound
from stratus.db.models.hosts import Host
from stratus.db.models.jobs import DELETED, Resource
from stratus.hosts import registry
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.jobs import views
from stratus.jobs.worker import cancel
from stratus.orchestration.errors import UpdateReplace
from stratus.orchestration.submit import submit, submit_action, submit_delete, submit_update

PREFIX = "/stratus/v1"
router = APIRouter()

register_defaults([
    RuleDefault("stratus:jobs:index", "rule:admin_required"),
    RuleDefault("stratus:jobs:show", "rule:admin_required"),
    RuleDefault("stratus:jobs:create", "rule:admin_required"),
    RuleDefault("stratus:jobs:cancel", "rule:admin_required"),
    RuleDefault("stratus:resources:update", "rule:admin_required"),
    RuleDefault("stratus:resources:action", "rule:admin_required"),
    RuleDefault("stratus:resources:delete", "rule:admin_required"),
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
        quota_defaults=settings.quota_defaults, context=plan_context(request),
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


class ResourceUpdate(BaseModel):
    properties: dict[str, Any]


def _resource_or_404(db, resource_id: str) -> Resource:
    res = db.get(Resource, resource_id)
    if res is None or res.status == DELETED:
        raise NotFound(f"Resource {resource_id} could not be found.")
    return res


def _queued(request: Request, db, job) -> dict:
    db.commit()
    _notify(request)
    return {"job": views.show_job(db, job.id)}


@router.patch("/resources/{resource_id}", status_code=202)
def update_resource(resource_id: str, body: ResourceUpdate, request: Request, ctx: Auth, policy: Policy,
                    db: DbSession):
    policy.enforce("stratus:resources:update")
    _resource_or_404(db, resource_id)
    settings = request.app.state.settings
    try:
        job = submit_update(db, resource_id, body.properties, request_id=log.request_id.get(),
                            timeout=settings.job_timeout, quota_defaults=settings.quota_defaults,
                            context=plan_context(request))
    except UpdateReplace as exc:
        raise BadRequest(f"{exc}: delete it and create it again with the new value") from exc
    return _queued(request, db, job)


@router.post("/resources/{resource_id}/action", status_code=202)
def resource_action(resource_id: str, body: dict[str, dict[str, Any] | None], request: Request, ctx: Auth,
                    policy: Policy, db: DbSession):
    policy.enforce("stratus:resources:action")
    res = _resource_or_404(db, resource_id)
    if len(body) != 1:
        raise BadRequest('Give exactly one action, e.g. {"reboot": {"type": "HARD"}}.')
    ((action, args),) = body.items()
    job = submit_action(db, resource_id, action, args or {}, project_id=res.project_id,
                        request_id=log.request_id.get(), timeout=request.app.state.settings.job_timeout,
                        context=plan_context(request))
    return _queued(request, db, job)


@router.delete("/resources/{resource_id}", status_code=202)
def delete_resource(resource_id: str, request: Request, ctx: Auth, policy: Policy, db: DbSession):
    policy.enforce("stratus:resources:delete")
    res = _resource_or_404(db, resource_id)
    job = submit_delete(db, [resource_id], project_id=res.project_id, request_id=log.request_id.get(),
                        timeout=request.app.state.settings.job_timeout, context=plan_context(request))
    return _queued(request, db, job)


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
