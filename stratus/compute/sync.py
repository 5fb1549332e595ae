"""Keeping a server's record in step with its ``OS::Nova::Server`` resource: the job
worker calls :func:`on_state` (through the type) whenever the resource's status or
attributes change.

- ACTIVE: a building server becomes ``active`` (launched_at, host, node); any server
  takes the power state and host the job reported.
- ERROR: a building (or deleting) server becomes ``error`` with a fault whose message
  is the job's reason, as Nova records a failed spawn.
- DELETED: the row is kept as Nova's soft-deleted row (``deleted``, ``deleted_at``,
  ``terminated_at``, vm_state ``deleted``) and leaves its server group.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from stratus.compute import states, zones
from stratus.db.models.compute import Server, ServerGroupMember
from stratus.db.models.jobs import ACTIVE, DELETED, DELETING, ERROR, Resource
from stratus.db.types import utcnow


def on_state(db: Session, resource: Resource) -> None:
    server = db.get(Server, resource.id)
    if server is None or server.deleted:
        return
    attrs = resource.attributes or {}
    host = attrs.get("host") or (resource.hosts[0] if resource.hosts else None)
    if resource.status == ACTIVE:
        if host:
            server.host, server.node = host, host
        if attrs.get("power_state") in states.POWER_STATES:
            server.power_state = states.POWER_STATES[attrs["power_state"]]
        if server.vm_state == states.BUILDING:
            server.availability_zone = server.availability_zone or zones.host_zone(db, server.host)
            server.vm_state = states.ACTIVE
            if server.task_state != states.DELETING:  # a delete queued behind the create stays shown
                server.task_state = None
            server.launched_at = server.launched_at or utcnow()
            server.progress = 100
    elif resource.status == ERROR:
        if server.vm_state == states.BUILDING or server.task_state == states.DELETING:
            server.vm_state, server.task_state = states.ERROR, None
            server.host = server.host or host
            server.fault = {"code": 500, "message": first_line(resource.status_reason) or "Build failed",
                            "details": resource.status_reason or "",
                            "created": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")}
    elif resource.status == DELETING:
        server.task_state = states.DELETING
    elif resource.status == DELETED:
        mark_deleted(db, server)
    db.flush()


def mark_deleted(db: Session, server: Server) -> None:
    """The server as Nova keeps a deleted instance's row."""
    now = utcnow()
    server.deleted, server.deleted_at, server.terminated_at = True, now, server.terminated_at or now
    server.vm_state, server.task_state, server.power_state = states.DELETED, None, states.NOSTATE
    db.execute(delete(ServerGroupMember).where(ServerGroupMember.server_id == server.id))
    from stratus.volume import attachments

    attachments.server_gone(db, server.id)


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:255] if (text or "").strip() else ""
