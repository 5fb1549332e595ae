"""A stack's status settled when its job ends (``stratus.jobs.hooks.on_job_end``): the
job's resources get their Heat events (<action>_COMPLETE / _FAILED), the stack (and its
nested stacks) its final status and outputs, and a failed create is rolled back when
rollback is on.

Each stack action settles through ``HANDLERS[action](db, stack, job)``: CREATE and ADOPT
here, DELETE and ROLLBACK in ``delete``, SUSPEND / RESUME / CHECK in ``actions``; update
and snapshots register their own. Only the stack's current job settles it (a job that a
delete cancelled ends without touching the stack the delete owns now).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from stratus.db.models.jobs import ACTIVE, CANCELLED, ERROR, SUCCEEDED, Job, Resource
from stratus.db.models.orchestration import ADOPT, COMPLETE, CREATE, FAILED, Stack
from stratus.jobs import hooks
from stratus.stacks import outputs, records
from stratus.stacks.resources import heat_state

LOG = logging.getLogger("stratus.stacks")
Handler = Callable[[Session, Stack, Job], None]
HANDLERS: dict[str, Handler] = {}


def handles(*actions: str) -> Callable[[Handler], Handler]:
    """Register a settle handler for stack ``actions`` (a decorator)."""

    def deco(fn: Handler) -> Handler:
        for action in actions:
            HANDLERS[action] = fn
        return fn

    return deco


@hooks.on_job_end
def settle(db: Session, job: Job) -> None:
    """The job-end hook: settle the stack whose current operation ``job`` is."""
    if not job.stack_id:
        return
    stack = db.get(Stack, job.stack_id)
    if stack is None or stack.current_job_id != job.id:
        return
    handler = HANDLERS.get(stack.action)
    if handler is None:
        return
    try:
        with db.begin_nested():
            handler(db, stack, job)
    except Exception as exc:  # the job's own end must still be recorded: the stack says why
        LOG.exception("settling stack %s after job %s failed", stack.id, job.id)
        records.set_status(db, stack, stack.action, FAILED, f"Stack {stack.action} could not be settled: {exc}")


# --- shared by the handlers ---------------------------------------------------------------


def job_rows(db: Session, job: Job) -> list[Resource]:
    """The job's resource rows, in the job's order."""
    return [row for rid in job.resource_map.values() if (row := db.get(Resource, rid)) is not None]


def with_tasks(job: Job) -> set[str]:
    """Names of the resources that have tasks in the job's playbook."""
    from stratus.jobs.worker import leaf_tasks

    return {tag for play in job.playbook or [] for t in leaf_tasks(play.get("tasks", []))
            for tag in t.get("tags") or []}


def taskless_complete(db: Session, job: Job, rows: list[Resource]) -> None:
    """A resource with nothing to run (a Value, a None) is made when it is recorded:
    a failure elsewhere in its job does not fail it (as Heat keeps it CREATE_COMPLETE)."""
    busy = with_tasks(job)
    for row in rows:
        if row.status == ERROR and row.name not in busy and row.status_reason == job.status_reason:
            row.status, row.status_reason = ACTIVE, ""


def resource_events(db: Session, job: Job, rows: list[Resource] | None = None) -> None:
    """Each of the job's resources' final event (its Heat state now), in its own stack."""
    for row in rows if rows is not None else job_rows(db, job):
        owner = db.get(Stack, row.stack_id) if row.stack_id else None
        if owner is None:
            continue
        action, status = heat_state(row)
        reason = "state changed" if status == COMPLETE else (row.status_reason or "state changed")
        records.add_event(db, owner, short_name(db, owner, row.name), row.id, row.type, action, status, reason)


def short_name(db: Session, stack: Stack, name: str) -> str:
    """A flat resource name as its (nested) stack names it."""
    from stratus.stacks.resources import _prefix, _short

    return _short(name, _prefix(db, stack)) if stack.parent_id else name


def failure_reason(job: Job, failed: list[Resource], action: str) -> str:
    """Heat's stack status reason for a failed operation: ``Timed out`` when the
    stack's timeout stopped the job, else ``Resource <ACTION> failed: <why>`` of the first
    resource that failed by itself."""
    why = job.status_reason or ""
    if why.startswith("timed out"):
        return "Timed out"
    if job.status == CANCELLED:
        return f"Stack {action} cancelled"
    own = [r for r in failed if r.status_reason and r.status_reason != why]
    first = (own or failed or [None])[0]
    detail = (first.status_reason if first is not None else "") or why or "the job failed"
    return f"Resource {action} failed: {detail}"


def settle_tree(db: Session, stack: Stack, action: str, failed_ids: set[str], reason: str) -> bool:
    """Each nested stack (deepest first) and then ``stack`` COMPLETE, or FAILED when a
    resource of its own or of a stack below it is in ``failed_ids``; True when ``stack``
    completed."""
    from sqlalchemy import select

    ok = True
    for child in records.children(db, stack):
        ok = settle_tree(db, child, action, failed_ids, reason) and ok
    own = set(db.scalars(select(Resource.id).where(Resource.stack_id == stack.id)))
    ok = ok and not (own & failed_ids)
    if ok:
        records.set_status(db, stack, action, COMPLETE, f"Stack {action} completed successfully")
    else:
        records.set_status(db, stack, action, FAILED, reason)
    return ok


# --- CREATE / ADOPT -------------------------------------------------------------------------


@handles(CREATE, ADOPT)
def settle_create(db: Session, stack: Stack, job: Job) -> None:
    action = stack.action
    rows = job_rows(db, job)
    if job.status != CANCELLED and not (job.status_reason or "").startswith("timed out"):
        taskless_complete(db, job, rows)
    resource_events(db, job, rows)
    failed = [r for r in rows if r.status != ACTIVE]
    reason = "" if job.status == SUCCEEDED and not failed else failure_reason(job, failed, action)
    ids = {r.id for r in failed}
    if reason and not ids:
        ids = {r.id for r in rows}
    stack.outputs = outputs.resolve(db, stack)
    if settle_tree(db, stack, action, ids if reason else set(), reason):
        return
    if action == CREATE and not stack.disable_rollback:
        from stratus.stacks import delete

        delete.rollback(db, stack)
