"""Signals to a stack's resources (``POST .../resources/<name>/signal``, a pre-signed
URL, a deployment's result): each is recorded as a ``ResourceSignal`` in the order
received, then the resource's type acts on it (``handle_signal``). Types that take no
signals refuse with Heat's 400 (``ResourceActionNotSupported``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.jobs import DELETED, DELETING, Resource
from stratus.db.models.orchestration import ResourceSignal
from stratus.errors import BadRequest, NotFound
from stratus.orchestration.resources import PlanContext, get_type


def resource_in(db: Session, stack, resource_name: str) -> Resource:
    """The stack's (live) resource named ``resource_name``; Heat's 404 otherwise."""
    row = db.scalars(select(Resource).where(Resource.stack_id == stack.id, Resource.name == resource_name,
                                            Resource.status != DELETED)).first()
    if row is None:
        raise NotFound(f"The Resource ({resource_name}) could not be found in Stack {stack.name}.",
                       type="ResourceNotFound")
    return row


def signal(db: Session, ctx, stack, resource_name: str, data: dict[str, Any] | None, *, settings=None,
           context=None, request_id: str | None = None) -> None:
    """Record the signal for the resource and let its type act on it; 400 when the type
    takes no signals (Heat: "signal is not supported for resource.")."""
    signal_resource(db, resource_in(db, stack, resource_name), data, context=context)


def signal_resource(db: Session, row: Resource, data: dict[str, Any] | None, *,
                    context: PlanContext | None = None) -> ResourceSignal:
    """Record ``data`` as a signal to ``row`` (as its type's ``normalise_signal``, when
    it has one, completes it: Heat's defaults) and call its type's ``handle_signal``;
    either may refuse it (BadRequest: the caller's rollback forgets the record too)."""
    cls = get_type(row.type)
    if cls is None or not cls.takes_signals:
        raise BadRequest("signal is not supported for resource.", type="ResourceActionNotSupported")
    if row.status in (DELETING, DELETED) or row.action in ("DELETE", "SUSPEND"):
        raise BadRequest(f"Cannot signal resource during {row.action or 'DELETE'}",
                         type="ResourceFailure")
    if data is not None and not isinstance(data, dict):
        raise BadRequest(f"The signal to {row.name} must be a JSON object, not {type(data).__name__}.")
    normalise = getattr(cls, "normalise_signal", None)
    data = normalise(db, row, dict(data or {})) if normalise else dict(data or {})
    record = ResourceSignal(resource_id=row.id, stack_id=row.stack_id, data=data)
    db.add(record)
    db.flush()
    cls.handle_signal(db, row, record.data, context)
    db.flush()
    return record


def received(db: Session, resource_id: str) -> list[dict[str, Any]]:
    """The signals ``resource_id`` received, oldest first (their data as recorded)."""
    return [s.data for s in db.scalars(select(ResourceSignal).where(ResourceSignal.resource_id == resource_id)
                                       .order_by(ResourceSignal.id))]


def wait_state(db: Session, row: Resource) -> dict[str, Any]:
    """What the controller's wait task reads for ``row`` (a WaitCondition, a
    deployment): ``{"status": WAITING|SUCCESS|FAILURE, "reason", "timeout_reason",
    "attributes"}`` from its type's ``wait_state``."""
    cls = get_type(row.type)
    state = getattr(cls, "wait_state", None)
    if state is None:
        raise BadRequest(f"{row.type} {row.name} has nothing to wait for.")
    return state(db, row)
