"""Stack actions (``POST /stacks/<name>/<id>/actions``): suspend, resume, check,
cancel_update (with rollback) and cancel_without_rollback."""

from __future__ import annotations

from sqlalchemy.orm import Session


def suspend(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    raise NotImplementedError


def resume(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    raise NotImplementedError


def check(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    raise NotImplementedError


def cancel_update(db: Session, ctx, stack, *, rollback: bool = True, settings=None, context=None,
                  request_id: str | None = None) -> None:
    """Heat's ``cancel_update`` (``rollback``) and ``cancel_without_rollback``: the
    running update's job is cancelled (a queued one now, a running one soon); when it
    has ended the stack is UPDATE_FAILED "Stack UPDATE cancelled" and, with
    ``rollback``, rolled back to what it was (``stratus.stacks.update``). Only an
    update in progress can be cancelled (Heat's NotSupported, 400, otherwise)."""
    from stratus.db.models.jobs import Job
    from stratus.db.models.orchestration import IN_PROGRESS, UPDATE
    from stratus.errors import BadRequest
    from stratus.jobs import worker
    from stratus.orchestration.resources import get_type

    if (stack.action, stack.status) != (UPDATE, IN_PROGRESS):
        raise BadRequest(f"Cancelling update when stack is {stack.stack_status} is not supported.",
                         type="NotSupported")
    stack.previous = {**(stack.previous or {}), "cancel": "rollback" if rollback else "none"}
    job = db.get(Job, stack.current_job_id) if stack.current_job_id else None
    db.flush()
    if job is not None:
        worker.cancel(db, job.id, types=get_type)
