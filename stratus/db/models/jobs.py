"""Jobs (one ansible-runner run of a compiled playbook), their events, the resources
they make and which resources each job touches (for per-resource serialisation).

A job goes QUEUED → RUNNING → SUCCEEDED | FAILED | CANCELLED; a retryable failure puts
it back to QUEUED with ``not_before`` set. ``owner`` names the controller process that
runs it (``host:pid``) so a restarted controller can tell orphans from live jobs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.types import UTCDateTime, utcnow

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"
FINAL = (SUCCEEDED, FAILED, CANCELLED)

# Resource states, as Nova shows servers: BUILD while a job makes it, DELETING while a
# job removes it.
BUILD, ACTIVE, ERROR, DELETING, DELETED = "BUILD", "ACTIVE", "ERROR", "DELETING", "DELETED"


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), default="template")
    status: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    project_id: Mapped[str | None] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    playbook: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # resource name in the template -> resource id
    resource_map: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    idempotent: Mapped[bool] = mapped_column(Boolean, default=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    timeout: Mapped[int] = mapped_column(Integer, default=600)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner: Mapped[str | None] = mapped_column(String(255))
    batch_id: Mapped[str | None] = mapped_column(String(64))
    runner_dir: Mapped[str | None] = mapped_column(Text)
    # the (root) stack whose operation this job is (stratus.db.models.orchestration)
    stack_id: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class JobResource(Base):
    """Resources a job touches: two jobs sharing one never run at the same time."""

    __tablename__ = "job_resources"
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class JobEvent(Base):
    __tablename__ = "job_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    event: Mapped[str] = mapped_column(String(64))
    host: Mapped[str | None] = mapped_column(String(255))
    task: Mapped[str | None] = mapped_column(Text)
    resource_name: Mapped[str | None] = mapped_column(String(255))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(16))  # ok changed failed unreachable skipped
    message: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Resource(Base):
    """A template resource the controller made (or is making) and its realized facts."""

    __tablename__ = "resources"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str | None] = mapped_column(String(64), index=True)
    stack_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default=BUILD)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    # A stack's resource: Heat's action of its last operation (CREATE, UPDATE, DELETE,
    # SUSPEND, RESUME, CHECK, ROLLBACK, ADOPT); with ``status`` it makes resource_status.
    action: Mapped[str | None] = mapped_column(String(16))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Host names the resource was placed on (where its tasks run and it exists).
    hosts: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_job_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
