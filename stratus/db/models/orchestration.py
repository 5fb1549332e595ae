"""Heat's records: stacks (nested ones point at their parent), their events and
snapshots, the signals their resources received, and software configs and deployments.

A stack's resources are rows of ``resources`` whose ``stack_id`` is the stack's id (a
nested stack's resources carry the nested stack's id); a stack operation is one or more
jobs whose ``stack_id`` is the root stack's id. Heat's status is ``action`` + ``status``
(``CREATE`` + ``IN_PROGRESS`` shows as ``CREATE_IN_PROGRESS``). A deleted stack keeps its
row (``deleted_at`` set, action ``DELETE``, status ``COMPLETE``) as Heat keeps it for
``--show-deleted``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.types import UTCDateTime, utcnow

# Heat's stack and resource actions and statuses
CREATE, UPDATE, DELETE, ROLLBACK, SUSPEND, RESUME, CHECK, ADOPT, SNAPSHOT, RESTORE, ABANDON, INIT = (
    "CREATE", "UPDATE", "DELETE", "ROLLBACK", "SUSPEND", "RESUME", "CHECK", "ADOPT", "SNAPSHOT",
    "RESTORE", "ABANDON", "INIT")
IN_PROGRESS, COMPLETE, FAILED = "IN_PROGRESS", "COMPLETE", "FAILED"


class Stack(Base):
    __tablename__ = "stacks"
    __table_args__ = (Index("ix_stacks_project_name", "project_id", "name"),
                      Index("ix_stacks_project_deleted_created", "project_id", "deleted_at", "created_at"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    # a nested stack: its parent stack and the parent's resource that owns it
    parent_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("stacks.id"), index=True)
    owner_resource: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16), default=INIT)
    status: Mapped[str] = mapped_column(String(16), default=IN_PROGRESS)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # as given (parsed YAML/JSON)
    files: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    environment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # as given
    outputs: Mapped[list[Any]] = mapped_column(JSON, default=list)  # Heat's output list, resolved
    # what the stack was before the update in progress (rollback and cancel restore it):
    # {template, files, environment, parameters, resources: {name: id}}
    previous: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    disable_rollback: Mapped[bool] = mapped_column(Boolean, default=True)
    timeout_mins: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    current_job_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def stack_status(self) -> str:
        return f"{self.action}_{self.status}"


class StackEvent(Base):
    """One change of a stack's or a resource's state, as Heat's events API lists them
    (a stack's own events have ``resource_name`` = the stack's name)."""

    __tablename__ = "stack_events"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stack_id: Mapped[str] = mapped_column(String(36), ForeignKey("stacks.id", ondelete="CASCADE"), index=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    physical_resource_id: Mapped[str | None] = mapped_column(String(64))
    resource_type: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class StackSnapshot(Base):
    __tablename__ = "stack_snapshots"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    stack_id: Mapped[str] = mapped_column(String(36), ForeignKey("stacks.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=IN_PROGRESS)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    # {template, environment, parameters, resources: {name: {id, type, properties, attributes, data}}}
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResourceSignal(Base):
    """A signal a stack's resource received (a WaitConditionHandle's, a ScalingPolicy's,
    a software deployment's result), in the order received."""

    __tablename__ = "resource_signals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_id: Mapped[str] = mapped_column(String(64), index=True)
    stack_id: Mapped[str | None] = mapped_column(String(36), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SoftwareConfig(Base):
    """Heat's software config: immutable once made."""

    __tablename__ = "software_configs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    group: Mapped[str] = mapped_column(String(64), default="Heat::Ungrouped")
    config: Mapped[str] = mapped_column(Text, default="")
    inputs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    outputs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SoftwareDeployment(Base):
    """A config applied to a server: what the server (or the controller for it) runs,
    and the result it reported (``output_values``: deploy_stdout, deploy_stderr,
    deploy_status_code and the config's outputs)."""

    __tablename__ = "software_deployments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    server_id: Mapped[str] = mapped_column(String(64), index=True)
    config_id: Mapped[str] = mapped_column(String(36), ForeignKey("software_configs.id"))
    input_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    action: Mapped[str] = mapped_column(String(16), default=INIT)
    status: Mapped[str] = mapped_column(String(16), default=IN_PROGRESS)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    output_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
