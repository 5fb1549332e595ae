"""One job for a stack update (:func:`submit_changes`), recorded in the caller's
transaction as ``submit`` records a create: new and replacement resources are created
and in-place ones updated (``plan_update``) in the dependency levels of the new template,
then removed resources and the replaced ones' old rows are deleted (``plan_delete``),
dependents first — all in one playbook, its locks on every id it touches.

Quota and host capacity are counted as ``submit``/``submit_update`` count them: an
updated resource gives back what it held and is counted anew on its own host; a
replacement is counted beside the resource it replaces (Heat makes the new one before it
deletes the old), a deleted resource holds what it held until its delete succeeded
(``release_deleted``, called when the job ends).

A replacement is a new ``Resource`` row (a new id) under the same name; the old row's
tasks run under the name ``<name> (replaced)`` so the job's events never reach the new
row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.locks import write_lock
from stratus.db.models.jobs import (
    ACTIVE,
    BUILD,
    DELETED,
    DELETING,
    ERROR,
    SUCCEEDED,
    Job,
    JobEvent,
    Resource,
)
from stratus.errors import Forbidden
from stratus.hosts import placement
from stratus.orchestration import compiler
from stratus.orchestration import submit as pipeline
from stratus.orchestration.changes import UPDATED, Changes, prop_diff
from stratus.orchestration.errors import ResourceCheckFailed, UpdateReplace
from stratus.orchestration.graph import levels
from stratus.orchestration.resources import PlanContext, get_type
from stratus.orchestration.submit import PLACEMENT_LOCK, _allocate, _jsonable, _queue, planned_from

REPLACED_SUFFIX = " (replaced)"


def submit_changes(
    db: Session,
    ch: Changes,
    *,
    project_id: str | None = None,
    stack_id: str | None = None,
    old_order: Iterable[str] = (),
    extra_deletes: Iterable[Resource] = (),
    cloud_admin: bool = False,
    request_id: str | None = None,
    kind: str = "stack:update",
    max_attempts: int = 1,
    timeout: int = 600,
    quota_defaults: Mapping[str, int] | None = None,
    context: PlanContext | None = None,
) -> Job:
    """Record the job that applies ``ch`` (``changes.compute``); raises
    ResourceCheckFailed, Forbidden, QuotaExceeded or placement.NoValidHost before
    anything is written. ``old_order``: the current template's resource order (deletes
    run in its reverse); ``extra_deletes``: recorded rows no name of ``ch`` holds any
    more (a rollback deletes the replacements an update made)."""
    plan = ch.plan
    tpl = plan.template
    classes = {n: tpl.resources[n].type_class for n in plan.order}
    made, updated = set(ch.made), set(ch.names(UPDATED))
    work = [n for n in plan.order if n in made or n in updated]
    if not cloud_admin:
        refused = sorted({classes[n].type_name for n in work if classes[n].cloud_admin_only})
        if refused:
            raise Forbidden(f"only a cloud administrator may use {', '.join(refused)}; "
                            "use the service APIs or ask an administrator")
    write_lock(db, PLACEMENT_LOCK)
    by_id = {r.resource_id: r for r in plan.resources.values()}
    for name in work:
        classes[name].check(db, plan.resources[name], by_id)
    for name in updated:  # given back, then counted anew below
        quotas.release(db, plan.resources[name].resource_id)
    usage: Counter = Counter()
    needs: dict[str, Counter] = {}
    for name in work:
        res = plan.resources[name]
        usage.update(classes[name].quota_usage(res.properties, res.attributes))
        host_usage = classes[name].host_usage(res.properties, res.attributes)
        if host_usage:
            needs[name] = Counter(host_usage)
    if project_id is not None:
        quotas.check(db, project_id, usage, quota_defaults)
    specs = {n: spec for n in needs if n in made
             if (spec := classes[n].scheduling(db, plan.resources[n])) is not None}
    placed = placement.place(db, needs, {n: plan.resources[n].hosts[0] for n in needs}, specs)
    pipeline.bind_hosts(db, plan, classes, placed, [n for n in work if n in made])
    compiler.resolve_properties(plan)  # runtime attributes now name the placed hosts

    steps = []
    diffs: dict[str, dict[str, Any]] = {}
    for name in work:
        res = plan.resources[name]
        if name in made:
            steps.append((name, res.hosts, classes[name].plan_create(res)))
            continue
        diffs[name] = prop_diff(ch.current[name].resource.properties, res.properties)
        try:
            steps.append((name, res.hosts, classes[name].plan_update(res, diffs[name])))
        except UpdateReplace as exc:
            raise ResourceCheckFailed(f"{exc}; update the stack again to replace it",
                                      ("resources", name), status=409) from exc
    deps = {n: tpl.resources[n].dependencies() for n in plan.order}
    plays = compiler.plays_for(steps, levels(deps), verb="update ")

    doomed = _doomed(db, ch, old_order, extra_deletes)
    delete_steps, delete_locks, resource_map = [], [], {}
    for task_name, row in doomed:
        cls = get_type(row.type)
        planned = planned_from(row, context)
        planned.name = task_name
        if cls is not None:
            cls.check_delete(db, planned)
            delete_locks.extend(cls.locks(planned))
        delete_steps.append((task_name, planned.hosts, cls.plan_delete(planned) if cls else []))
        resource_map[task_name] = row.id
    plays += compiler.plays_for(delete_steps, verb="delete ")

    resource_map.update({n: plan.resources[n].resource_id for n in work})
    locks = [rid for n in work for rid in (plan.resources[n].resource_id, *classes[n].locks(plan.resources[n]))]
    locks += [row.id for _, row in doomed] + delete_locks
    summary = ", ".join(f"{len(v)} {k}" for k, v in ch.summary().items() if v and k != "unchanged")
    job = _queue(db, kind, plays, resource_map, locks, f"{kind}: {summary or 'no change'}",
                 project_id=project_id, request_id=request_id,
                 idempotent=all(classes[n].idempotent for n in work), max_attempts=max_attempts,
                 timeout=timeout)
    for name in work:
        res, cls = plan.resources[name], classes[name]
        row = db.get(Resource, res.resource_id) if name in updated else None
        if row is None:
            row = Resource(id=res.resource_id, name=name, type=res.type, project_id=project_id, stack_id=stack_id)
            db.add(row)
            row.status = BUILD
            row.hosts = list(res.hosts) if res.placed else []
        else:
            if res.placed:
                row.hosts = list(res.hosts)
            if row.status == ERROR:  # a failed resource changed back in place (a rollback): ACTIVE once it ran
                row.status = BUILD
        row.status_reason, row.last_job_id = "", job.id
        row.properties = _jsonable(res.properties)
        row.attributes = _jsonable(res.attributes)
        _allocate(db, row, {**cls.quota_usage(res.properties, res.attributes), **cls.allocations(res)},
                  needs.get(name, {}), placed.get(name) or (res.hosts[0] if res.placed and res.hosts else None))
    for _, row in doomed:
        row.status, row.status_reason, row.last_job_id = DELETING, "", job.id
    db.flush()
    return job


def _doomed(db: Session, ch: Changes, old_order: Iterable[str],
            extra: Iterable[Resource]) -> list[tuple[str, Resource]]:
    """(task name, row) of every recorded resource the update deletes, dependents first."""
    rank = {n: i for i, n in enumerate(old_order)}
    rows = []
    for name in ch.removed:
        row = db.get(Resource, ch.items[name].old_id)
        if row is not None and row.status != DELETED:
            rows.append((name + REPLACED_SUFFIX if name in ch.plan.resources else name, row))
    seen = {row.id for _, row in rows}
    rows += [(r.name + REPLACED_SUFFIX, r) for r in extra if r.id not in seen and r.status != DELETED]

    def order(item: tuple[str, Resource]) -> int:
        return rank.get(item[1].name, len(rank))

    return sorted(rows, key=order, reverse=True)


def removed_ids(ch: Changes, extra_deletes: Iterable[Resource] = ()) -> list[str]:
    """The ids of the recorded resources that applying ``ch`` deletes."""
    return [ch.items[n].old_id for n in ch.removed] + [r.id for r in extra_deletes]


def release_deleted(db: Session, job: Job, ids: Iterable[str], types=get_type) -> list[Resource]:
    """When an update's job ended: its removed rows (``ids``, DELETING) become DELETED
    and give back what they held if the job succeeded; else they are ACTIVE again when
    none of their delete tasks ran (the job failed or was cancelled before it reached
    them). Returns the rows changed."""
    touched = set(db.scalars(select(JobEvent.resource_id).where(JobEvent.job_id == job.id,
                                                                JobEvent.resource_id.is_not(None))))
    out = []
    for rid in ids:
        row = db.get(Resource, rid)
        if row is None or row.last_job_id != job.id or row.status not in (DELETING, ERROR):
            continue
        if job.status == SUCCEEDED and row.status == DELETING:
            row.status, row.status_reason = DELETED, ""
            quotas.release(db, row.id)
        elif job.status != SUCCEEDED and row.id not in touched:
            row.status, row.status_reason = ACTIVE, ""
        else:
            continue
        cls = types(row.type)
        if cls is not None:
            cls.on_state(db, row)
        out.append(row)
    return out
