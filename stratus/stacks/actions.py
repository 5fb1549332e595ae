"""Stack actions (``POST /stacks/<name>/<id>/actions``): suspend, resume, check,
cancel_update (with rollback) and cancel_without_rollback.

Suspend, resume and check are one job each over the stack tree's resources (suspend in
reverse dependency order, resume and check in order), each resource's tasks from its
type's ``plan_suspend`` / ``plan_resume`` / ``plan_check`` (none: nothing to do for it);
the stack goes <ACTION>_IN_PROGRESS, then <ACTION>_COMPLETE or _FAILED when the job ends
(``settle``). Heat's rules: resume only from SUSPEND_COMPLETE; no action while another
operation runs.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from stratus.db.models.jobs import FINAL, SUCCEEDED, Job
from stratus.db.models.orchestration import CHECK, COMPLETE, IN_PROGRESS, RESUME, SUSPEND, Stack
from stratus.errors import BadRequest, Conflict
from stratus.orchestration.submit import submit_steps
from stratus.stacks import records
from stratus.stacks.delete import delete_order
from stratus.stacks.settle import (
    failure_reason,
    handles,
    job_rows,
    resource_events,
    settle_tree,
    short_name,
)

# stack action -> (the type's hook, the job's kind: a server's power settler knows action:<name>)
HOOKS = {SUSPEND: ("plan_suspend", "action:suspend"), RESUME: ("plan_resume", "action:resume"),
         CHECK: ("plan_check", "stack:check")}


def suspend(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    """Suspend the stack's resources (servers are suspended), dependents first."""
    run(db, stack, SUSPEND, context=context, request_id=request_id)


def resume(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    """Resume a suspended stack; 400 unless it is SUSPEND_COMPLETE (Heat's rule)."""
    if (stack.action, stack.status) != (SUSPEND, COMPLETE):
        raise BadRequest(f"State ({stack.action}, {stack.status}) invalid for resume: only a stack in "
                         "SUSPEND_COMPLETE can be resumed", type="StackValidationFailed")
    run(db, stack, RESUME, context=context, request_id=request_id)


def check(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    """Check that the stack's resources still are as recorded (CHECK_COMPLETE / _FAILED)."""
    run(db, stack, CHECK, context=context, request_id=request_id)


def check_idle(db: Session, stack: Stack) -> None:
    """409 while the stack's operation runs (Heat's ActionInProgress)."""
    job = db.get(Job, stack.current_job_id) if stack.current_job_id else None
    if stack.status == IN_PROGRESS and (job is None or job.status not in FINAL):
        raise Conflict(f"Stack {stack.name} already has an action ({stack.action}) in progress.",
                       type="ActionInProgress")


def run(db: Session, stack: Stack, action: str, *, context=None, request_id: str | None = None) -> Job:
    """One job of ``action`` over the stack tree's live resources."""
    if stack.deleted_at is not None:
        raise records.not_found(stack.name)
    check_idle(db, stack)
    hook, kind = HOOKS[action]
    rows = delete_order(db, stack)  # dependents first
    if action != SUSPEND:
        rows.reverse()
    job = submit_steps(db, [r.id for r in rows], lambda cls, res: getattr(cls, hook)(res), kind=kind,
                       project_id=stack.project_id, request_id=request_id,
                       timeout=(stack.timeout_mins or 60) * 60, context=context)
    job.stack_id = stack.id
    stack.current_job_id = job.id
    from stratus.stacks.delete import _tree

    for child in _tree(db, stack)[1:]:
        records.set_status(db, child, action, IN_PROGRESS, f"Stack {action} started")
    records.set_status(db, stack, action, IN_PROGRESS, f"Stack {action} started")
    for row in rows:
        row.action = action
        owner = db.get(Stack, row.stack_id) or stack
        records.add_event(db, owner, short_name(db, owner, row.name), row.id, row.type, action, IN_PROGRESS,
                          "state changed")
    db.flush()
    return job


@handles(SUSPEND, RESUME, CHECK)
def settle_action(db: Session, stack: Stack, job: Job) -> None:
    rows = job_rows(db, job)
    resource_events(db, job, rows)
    failed = [r for r in rows if r.status != "ACTIVE"]
    reason = "" if job.status == SUCCEEDED and not failed else failure_reason(job, failed, stack.action)
    ids = {r.id for r in failed} or ({r.id for r in rows} if reason else set())
    settle_tree(db, stack, stack.action, ids, reason)


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
