"""Stack delete: the stack's resources (nested stacks' too) removed in reverse
dependency order by one job (``deletion_policy`` Retain keeps a resource, Snapshot
snapshots it first); the stack becomes DELETE_COMPLETE (kept for --show-deleted).

A failed create's rollback is the same removal under the action ROLLBACK: the stack
ends ROLLBACK_COMPLETE (its nested stacks deleted) or ROLLBACK_FAILED.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.jobs import DELETED, FINAL, SUCCEEDED, Job, Resource
from stratus.db.models.orchestration import COMPLETE, DELETE, FAILED, IN_PROGRESS, ROLLBACK, Stack
from stratus.db.types import utcnow
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.graph import levels
from stratus.orchestration.submit import submit_delete
from stratus.stacks import load, outputs, records
from stratus.stacks.settle import (
    failure_reason,
    handles,
    job_rows,
    resource_events,
    settle_tree,
    short_name,
)

RETAIN, SNAPSHOT = "Retain", "Snapshot"
EXTERNAL = "External"  # an external_id resource: the stack never made it, so never removes it


def delete(db: Session, ctx, stack, *, settings=None, context=None, request_id: str | None = None) -> None:
    """Start deleting ``stack`` (DELETE IN_PROGRESS); a stack with no resources left is
    DELETE_COMPLETE at once. Deleting a stack whose operation is running cancels it
    first (as Heat does)."""
    if stack.deleted_at is not None:
        raise records.not_found(stack.name)
    cancel_running(db, stack)
    begin(db, stack, DELETE, context=context, request_id=request_id)


def cancel_running(db: Session, stack: Stack) -> None:
    """Stop the stack's running operation: its job is cancelled (a queued one now, a
    running one soon) after the stack stopped listening to it."""
    from stratus.jobs import worker
    from stratus.orchestration.resources import get_type

    job_id, stack.current_job_id = stack.current_job_id, None
    job = db.get(Job, job_id) if job_id else None
    if job is not None and job.status not in FINAL:
        db.flush()
        worker.cancel(db, job.id, types=get_type)


def rollback(db: Session, stack: Stack, *, context=None) -> None:
    """Roll a failed create back: what it made is removed (ROLLBACK_IN_PROGRESS, then
    ROLLBACK_COMPLETE or ROLLBACK_FAILED when the job ends)."""
    try:
        with db.begin_nested():
            begin(db, stack, ROLLBACK, context=context)
    except (ResourceCheckFailed, TemplateError, LookupError) as exc:
        records.set_status(db, stack, ROLLBACK, FAILED, f"Rollback could not start: {exc}")


def begin(db: Session, stack: Stack, action: str, *, context=None, request_id: str | None = None) -> Job | None:
    """Remove the stack tree's resources under ``action`` (DELETE or ROLLBACK): one
    job, dependents first; Retain resources stay. Returns the job (None: done at once)."""
    for child in _tree(db, stack)[1:]:
        records.set_status(db, child, action, IN_PROGRESS, f"Stack {action} started")
    records.set_status(db, stack, action, IN_PROGRESS, f"Stack {action} started")
    rows = delete_order(db, stack)
    policies = deletion_policies(stack)
    gone = []
    for row in rows:
        owner = db.get(Stack, row.stack_id) or stack
        name = short_name(db, owner, row.name)
        if policies.get(row.name) == RETAIN:
            records.add_event(db, owner, name, row.id, row.type, DELETE, COMPLETE, "Retained")
            continue
        if policies.get(row.name) == SNAPSHOT:
            # Heat backs the volume up before deleting it; this cloud has no volume backups
            # (and a volume with snapshots cannot be deleted), so the data is kept instead
            records.add_event(db, owner, name, row.id, row.type, DELETE, COMPLETE,
                              "Retained: deletion_policy Snapshot keeps the volume (no volume backups here to "
                              "take the snapshot into); delete it yourself once you have copied what you need")
            continue
        if policies.get(row.name) == EXTERNAL:
            records.add_event(db, owner, name, row.id, row.type, DELETE, COMPLETE,
                              "Retained: an external resource (external_id) is not the stack's to delete")
            row.stack_id = None
            continue
        row.action = DELETE
        records.add_event(db, owner, name, row.id, row.type, DELETE, IN_PROGRESS, "state changed")
        gone.append(row)
    if not gone:
        finish(db, stack, action)
        return None
    job = submit_delete(db, [r.id for r in gone], project_id=stack.project_id, request_id=request_id,
                        timeout=(stack.timeout_mins or 60) * 60, context=context,
                        levels=delete_levels(stack, [r.name for r in gone]))
    job.stack_id = stack.id
    stack.current_job_id = job.id
    db.flush()
    return job


def delete_order(db: Session, stack: Stack) -> list[Resource]:
    """The stack tree's live resources, dependents first (the template's order
    reversed; resources the template no longer names come first)."""
    rows = outputs.rows_by_name(db, stack)
    try:
        order = load.from_row(stack).flat.order()
    except (TemplateError, ResourceCheckFailed, LookupError, TypeError, ValueError):
        order = [r.name for r in sorted(rows.values(), key=lambda r: r.created_at)]
    known = [n for n in order if n in rows]
    unknown = [n for n in rows if n not in set(known)]
    return [rows[n] for n in [*unknown, *reversed(known)]]


def delete_levels(stack: Stack, names: list[str]) -> list[list[str]]:
    """``names`` (in delete order) grouped so that independent resources go together:
    the template's dependency levels reversed (what nothing left depends on first);
    names the template does not know form the first group."""
    try:
        flat = load.from_row(stack).flat
        deps = {n: r.dependencies() for n, r in flat.resources.items()}
        order = levels(deps)
    except (TemplateError, ResourceCheckFailed, LookupError, TypeError, ValueError):
        return [[n] for n in names]
    wanted = set(names)
    unknown = [n for n in names if n not in deps]
    groups = [[n for n in group if n in wanted] for group in reversed(order)]
    return [g for g in ([unknown] if unknown else []) + groups if g]


def deletion_policies(stack: Stack) -> dict[str, str]:
    """Flat resource name → deletion_policy as the template gives it (Delete when not)."""
    try:
        flat = load.from_row(stack).flat
    except (TemplateError, ResourceCheckFailed, LookupError, TypeError, ValueError):
        return {}
    out = {}
    for name, rdef in flat.resources.items():
        policy = getattr(rdef, "deletion_policy", None)
        if policy is None:
            raw = (stack.template or {}).get("resources", {}).get(name)
            policy = raw.get("deletion_policy") if isinstance(raw, dict) else None
        out[name] = EXTERNAL if getattr(rdef, "external_id", None) else str(policy or "Delete").capitalize()
    return out


def finish(db: Session, stack: Stack, action: str) -> None:
    """The removal is done: DELETE_COMPLETE (``deleted_at`` set) for the tree, or for a
    rollback ROLLBACK_COMPLETE of the stack with its nested stacks deleted."""
    now = utcnow()
    for child in reversed(_tree(db, stack)[1:]):
        records.set_status(db, child, DELETE, COMPLETE, "Stack DELETE completed successfully")
        child.deleted_at = now
    stack.outputs = []
    stack.current_job_id = None
    records.set_status(db, stack, action, COMPLETE, f"Stack {action} completed successfully")
    if action == DELETE:
        stack.deleted_at = now


def _tree(db: Session, stack: Stack) -> list[Stack]:
    """The stack and its live nested stacks, parents before children."""
    out, i = [stack], 0
    while i < len(out):
        out.extend(records.children(db, out[i]))
        i += 1
    return out


@handles(DELETE, ROLLBACK)
def settle_delete(db: Session, stack: Stack, job: Job) -> None:
    action = stack.action
    rows = job_rows(db, job)
    resource_events(db, job, rows)
    failed = [r for r in rows if r.status != DELETED]
    if job.status == SUCCEEDED and not failed:
        finish(db, stack, action)
        return
    reason = failure_reason(job, failed, DELETE)
    settle_tree(db, stack, action, {r.id for r in failed} or {r.id for r in rows}, reason)


def retained(db: Session, stack: Stack) -> list[Resource]:
    """Resources a deleted stack left in place (deletion_policy Retain)."""
    return list(db.scalars(select(Resource).where(Resource.stack_id.in_(outputs.tree_ids(db, stack)),
                                                  Resource.status != DELETED)))
