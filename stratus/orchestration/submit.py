"""Plan → compile → record: one DB transaction holds the job, its resources (BUILD),
their allocations (quota usage and host capacity) and the job's resource locks.

The caller owns the transaction (an API route's session, or ``Database.session()``):
if it rolls back, nothing of the request remains. The worker picks the job up after
the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.jobs import BUILD, DELETING, QUEUED, Job, JobEvent, JobResource, Resource
from stratus.db.models.quotas import Allocation
from stratus.hosts import placement
from stratus.orchestration import compiler, planner
from stratus.orchestration.resources import PlannedResource, get_type
from stratus.orchestration.template import Template


def submit(
    db: Session,
    template: Template | Mapping[str, Any],
    parameters: Mapping[str, Any] | None = None,
    *,
    project_id: str | None = None,
    request_id: str | None = None,
    kind: str = "template",
    stack_id: str | None = None,
    resource_ids: Mapping[str, str] | None = None,
    max_attempts: int = 2,
    timeout: int = 600,
    quota_defaults: Mapping[str, int] | None = None,
) -> Job:
    """Record a job that makes ``template``'s resources; raises TemplateError,
    QuotaExceeded or placement.NoValidHost before anything is written."""
    tpl = template if isinstance(template, Template) else Template.from_dict(dict(template))
    plan = planner.plan(tpl, dict(parameters or {}), dict(resource_ids or {}))
    playbook = compiler.compile_plan(plan)
    # A resource planned again (an update) gives back what it held before it is counted
    # anew; if anything below refuses, the caller's rollback restores it.
    for res in plan.resources.values():
        if db.get(Resource, res.resource_id) is not None:
            quotas.release(db, res.resource_id)
    if project_id is not None:
        quotas.check(db, project_id, plan.quota_usage, quota_defaults)
    hosts = placement.place(db, plan.host_usage, {n: plan.resources[n].hosts for n in plan.host_usage})

    job = Job(
        id=str(uuid.uuid4()),
        kind=kind,
        status=QUEUED,
        project_id=project_id,
        request_id=request_id,
        playbook=playbook,
        resource_map=plan.resource_ids,
        idempotent=plan.idempotent,
        max_attempts=max(1, max_attempts),
        timeout=timeout,
    )
    db.add(job)
    for name in plan.order:
        res = plan.resources[name]
        cls = tpl.resources[name].type_class
        row = db.get(Resource, res.resource_id)
        if row is None:
            row = Resource(id=res.resource_id, name=name, type=res.type, project_id=project_id,
                           stack_id=stack_id)
            db.add(row)
        row.status, row.status_reason, row.last_job_id = BUILD, "", job.id
        row.properties = _jsonable(res.properties)
        row.attributes = _jsonable(res.attributes)
        db.add(JobResource(job_id=job.id, resource_id=res.resource_id))
        for quota_name, amount in cls.quota_usage(res.properties).items():
            db.add(Allocation(consumer_id=res.resource_id, project_id=project_id,
                              resource=quota_name, amount=amount))
        for cap, amount in plan.host_usage.get(name, {}).items():
            db.add(Allocation(consumer_id=res.resource_id, project_id=project_id,
                              resource=cap, amount=amount, host=hosts[name]))
    db.add(JobEvent(job_id=job.id, attempt=0, event="job_queued", status=QUEUED,
                    message=f"{len(plan.order)} resource(s): {', '.join(plan.order)}",
                    request_id=request_id))
    db.flush()
    return job


def submit_delete(
    db: Session,
    resource_ids: list[str],
    *,
    project_id: str | None = None,
    request_id: str | None = None,
    max_attempts: int = 2,
    timeout: int = 600,
) -> Job:
    """Record a job that removes resources (in the given order: dependents first).
    When it succeeds they become DELETED and their allocations are released."""
    rows = []
    for rid in resource_ids:
        row = db.get(Resource, rid)
        if row is None:
            raise LookupError(f"resource {rid} does not exist")
        rows.append(row)
    steps = []
    for row in rows:
        cls = get_type(row.type)
        planned = PlannedResource(row.name, row.type, row.id, dict(row.properties),
                                  attributes=dict(row.attributes))
        planned.hosts = cls.host_group(planned.properties) if cls else "controller"
        steps.append((row.name, planned.hosts, cls.plan_delete(planned) if cls else []))
    plays = compiler.plays_for(steps, verb="delete ")
    job = Job(id=str(uuid.uuid4()), kind="delete", status=QUEUED, project_id=project_id,
              request_id=request_id, playbook=plays,
              resource_map={r.name: r.id for r in rows}, idempotent=True,
              max_attempts=max(1, max_attempts), timeout=timeout)
    db.add(job)
    for row in rows:
        row.status, row.status_reason, row.last_job_id = DELETING, "", job.id
        db.add(JobResource(job_id=job.id, resource_id=row.id))
    db.add(JobEvent(job_id=job.id, attempt=0, event="job_queued", status=QUEUED,
                    message=f"delete {len(rows)} resource(s)", request_id=request_id))
    db.flush()
    return job


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
