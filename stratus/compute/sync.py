"""Keeping a server's record in step with its ``OS::Nova::Server`` resource: the job
worker calls :func:`on_state` (through the type) whenever the resource's status or
attributes change."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stratus.db.models.jobs import Resource


def on_state(db: Session, resource: Resource) -> None:
    """(to be written by the servers work: BUILD → active/error with a fault, host,
    power_state, launched_at; DELETED → deleted)."""
