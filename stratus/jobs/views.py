"""Jobs as plain dicts for the API and the CLI (one shape for both)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.jobs import Job, JobEvent, JobResource, Resource


def _ts(value) -> str | None:
    return value.isoformat() if value is not None else None


def job_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id, "kind": job.kind, "status": job.status, "status_reason": job.status_reason,
        "project_id": job.project_id, "request_id": job.request_id, "attempts": job.attempts,
        "max_attempts": job.max_attempts, "timeout": job.timeout, "idempotent": job.idempotent,
        "cancel_requested": job.cancel_requested, "batch_id": job.batch_id,
        "resources_by_name": job.resource_map, "created_at": _ts(job.created_at),
        "started_at": _ts(job.started_at), "finished_at": _ts(job.finished_at),
    }


def event_dict(e: JobEvent) -> dict[str, Any]:
    return {
        "id": e.id, "job_id": e.job_id, "attempt": e.attempt, "event": e.event, "host": e.host,
        "task": e.task, "resource_name": e.resource_name, "resource_id": e.resource_id,
        "status": e.status, "message": e.message, "request_id": e.request_id, "data": e.data,
        "created_at": _ts(e.created_at),
    }


def resource_dict(r: Resource) -> dict[str, Any]:
    return {
        "id": r.id, "name": r.name, "type": r.type, "project_id": r.project_id,
        "stack_id": r.stack_id, "status": r.status, "status_reason": r.status_reason,
        "properties": r.properties, "attributes": r.attributes, "hosts": list(r.hosts or []),
        "last_job_id": r.last_job_id,
        "created_at": _ts(r.created_at), "updated_at": _ts(r.updated_at),
    }


def list_jobs(db: Session, status: str | None = None, project_id: str | None = None,
              limit: int = 100) -> list[dict[str, Any]]:
    q = select(Job).order_by(Job.created_at.desc(), Job.id).limit(limit)
    if status:
        q = q.where(Job.status == status.upper())
    if project_id:
        q = q.where(Job.project_id == project_id)
    return [job_dict(j) for j in db.scalars(q)]


def events(db: Session, job_id: str, since: int = 0) -> list[dict[str, Any]]:
    q = select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.id > since).order_by(JobEvent.id)
    return [event_dict(e) for e in db.scalars(q)]


def show_job(db: Session, job_id: str, with_events: bool = False) -> dict[str, Any] | None:
    job = db.get(Job, job_id)
    if job is None:
        return None
    out = job_dict(job)
    out["resources"] = [
        resource_dict(r) for r in db.scalars(
            select(Resource).join(JobResource, JobResource.resource_id == Resource.id)
            .where(JobResource.job_id == job_id).order_by(Resource.name))
    ]
    if with_events:
        out["events"] = events(db, job_id)
    return out
