"""Plan → check → place → compile → record: one DB transaction holds the job, its
resources (BUILD), their allocations (quota usage and host capacity) and the job's
resource locks.

The caller owns the transaction (an API route's session, or ``Database.session()``):
if it rolls back, nothing of the request remains. The worker picks the job up after
the commit. Placement comes before compiling, so every task runs on exactly the hosts
its resource was placed on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.locks import write_lock
from stratus.db.models.jobs import BUILD, DELETING, QUEUED, Job, JobEvent, JobResource, Resource
from stratus.db.models.orchestration import Stack
from stratus.db.models.quotas import Allocation
from stratus.errors import Forbidden
from stratus.hosts import placement
from stratus.orchestration import compiler, planner
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.resources import PlanContext, PlannedResource, get_type
from stratus.orchestration.template import Template

PLACEMENT_LOCK = "placement"


def submit(
    db: Session,
    template: Template | Mapping[str, Any],
    parameters: Mapping[str, Any] | None = None,
    *,
    project_id: str | None = None,
    cloud_admin: bool = False,
    request_id: str | None = None,
    kind: str = "template",
    stack_id: str | None = None,
    resource_ids: Mapping[str, str] | None = None,
    max_attempts: int = 2,
    timeout: int = 600,
    quota_defaults: Mapping[str, int] | None = None,
    context: PlanContext | None = None,
) -> Job:
    """Record a job that makes ``template``'s resources; raises TemplateError,
    ResourceCheckFailed, Forbidden, QuotaExceeded or placement.NoValidHost before
    anything is written. ``cloud_admin`` says the caller is a cloud administrator (False,
    the default, refuses types that reach any host: ``Stratus::Ansible::Task``).
    ``context``: the controller's settings and keys, for types that need them."""
    tpl = template if isinstance(template, Template) else Template.from_dict(dict(template))
    plan = planner.plan(tpl, dict(parameters or {}), dict(resource_ids or {}), project_id, context, db=db,
                        stack=db.get(Stack, stack_id) if stack_id else None)
    classes = {n: tpl.resources[n].type_class for n in plan.order}
    if not cloud_admin:
        refused = sorted({cls.type_name for cls in classes.values() if cls.cloud_admin_only})
        if refused:
            raise Forbidden(f"only a cloud administrator may use {', '.join(refused)}; "
                            "use the service APIs or ask an administrator")
    write_lock(db, PLACEMENT_LOCK)  # quota check + placement + records: one at a time
    by_id = {r.resource_id: r for r in plan.resources.values()}
    for name in plan.order:
        classes[name].check(db, plan.resources[name], by_id)
    planner.account(plan)
    # A resource planned again (an update) gives back what it held before it is counted
    # anew; if anything below refuses, the caller's rollback restores it.
    for res in plan.resources.values():
        if db.get(Resource, res.resource_id) is not None:
            quotas.release(db, res.resource_id)
    if project_id is not None:
        quotas.check(db, project_id, plan.quota_usage, quota_defaults)
    specs = {n: spec for n in plan.host_usage
             if (spec := classes[n].scheduling(db, plan.resources[n])) is not None}
    placed = placement.place(db, plan.host_usage, {n: plan.resources[n].hosts[0] for n in plan.host_usage},
                             specs)
    bind_hosts(db, plan, classes, placed, plan.order)
    compiler.resolve_properties(plan)  # again: runtime attributes now name the placed hosts
    playbook = compiler.compile_plan(plan)

    locks = [rid for n in plan.order
             for rid in (plan.resources[n].resource_id, *classes[n].locks(plan.resources[n]))]
    job = _queue(db, kind, playbook, plan.resource_ids, locks,
                 f"{len(plan.order)} resource(s): {', '.join(plan.order)}", project_id=project_id,
                 request_id=request_id, idempotent=plan.idempotent, max_attempts=max_attempts, timeout=timeout)
    for name in plan.order:
        res = plan.resources[name]
        cls = classes[name]
        row = db.get(Resource, res.resource_id)
        if row is None:
            row = Resource(id=res.resource_id, name=name, type=res.type, project_id=project_id,
                           stack_id=stack_id)
            db.add(row)
        row.status, row.status_reason, row.last_job_id = BUILD, "", job.id
        row.properties = _jsonable(res.properties)
        row.attributes = _jsonable(res.attributes)
        row.hosts = list(res.hosts) if res.placed else []
        _allocate(db, row, {**cls.quota_usage(res.properties, res.attributes), **cls.allocations(res)},
                  plan.host_usage.get(name, {}), placed.get(name))
    db.flush()
    return job


def bind_hosts(db: Session, plan, classes, placed: Mapping[str, str], names) -> None:
    """Give each of ``names`` its hosts: the one placement chose, else the type's own
    (``hosts``); then the type's ``on_placed``."""
    for name in names:
        res = plan.resources[name]
        try:
            hosts = [placed[name]] if name in placed else classes[name].hosts(db, res)
        except LookupError as exc:
            raise ResourceCheckFailed(str(exc), ("resources", name)) from exc
        if hosts is not None:
            res.hosts, res.placed = hosts, True
        classes[name].on_placed(db, res)


def planned_from(row: Resource, context: PlanContext | None = None) -> PlannedResource:
    """A recorded resource as the planner sees it (for update, delete and actions)."""
    cls = get_type(row.type)
    hosts = list(row.hosts or []) or ([cls.host_group(row.properties)] if cls else ["controller"])
    return PlannedResource(row.name, row.type, row.id, dict(row.properties), hosts=hosts,
                           attributes=dict(row.attributes), project_id=row.project_id,
                           placed=bool(row.hosts), context=context)


def submit_delete(
    db: Session,
    resource_ids: list[str],
    *,
    project_id: str | None = None,
    request_id: str | None = None,
    max_attempts: int = 2,
    timeout: int = 600,
    context: PlanContext | None = None,
    levels: list[list[str]] | None = None,
) -> Job:
    """Record a job that removes resources (in the given order: dependents first).
    When it succeeds they become DELETED and their allocations are released.
    ``context``: the controller's settings, for types whose delete needs them.
    ``levels``: groups of resource names (every resource in one) removed together,
    group after group (a stack's delete: its dependency levels, dependents first);
    default: one resource after the other."""
    write_lock(db, PLACEMENT_LOCK)
    rows = [_row(db, rid) for rid in resource_ids]
    steps, locks = [], []
    for row in rows:
        cls = get_type(row.type)
        planned = planned_from(row, context)
        if cls is not None:
            cls.check_delete(db, planned)
        # the resources after it (what it depends on: a port's network) see it going
        row.status = DELETING
        db.flush()
        steps.append((row.name, planned.hosts, cls.plan_delete(planned) if cls else []))
        locks.extend(cls.locks(planned) if cls else [])
    if levels is not None and sorted(n for group in levels for n in group) != sorted(r.name for r in rows):
        raise ValueError("levels must name every resource of the delete exactly once")
    plays = compiler.plays_for(steps, levels, verb="delete ")
    job = _queue(db, "delete", plays, {r.name: r.id for r in rows}, [r.id for r in rows] + locks,
                 f"delete {len(rows)} resource(s)", project_id=project_id, request_id=request_id,
                 idempotent=True, max_attempts=max_attempts, timeout=timeout)
    for row in rows:
        row.status, row.status_reason, row.last_job_id = DELETING, "", job.id
    db.flush()
    return job


def submit_action(
    db: Session,
    resource_id: str,
    action: str,
    args: Mapping[str, Any] | None = None,
    *,
    project_id: str | None = None,
    request_id: str | None = None,
    max_attempts: int = 1,
    timeout: int = 600,
    context: PlanContext | None = None,
) -> Job:
    """Record a job that runs a named action (reboot, …) on a resource. The resource
    keeps its status and allocations; its jobs stay serialised with the others."""
    row = _row(db, resource_id)
    cls = get_type(row.type)
    if cls is None or action not in cls.actions:
        known = ", ".join(sorted(cls.actions)) if cls else "none"
        raise TemplateError(f"{row.type} has no action {action!r}; actions: {known or 'none'}")
    planned = planned_from(row, context)
    tasks = cls.plan_action(planned, action, dict(args or {}))
    plays = compiler.plays_for([(row.name, planned.hosts, tasks)], verb=f"{action} ")
    job = _queue(db, f"action:{action}", plays, {row.name: row.id}, [row.id, *cls.locks(planned)],
           f"{action} {row.name}", project_id=project_id, request_id=request_id, idempotent=False,
           max_attempts=max_attempts, timeout=timeout)
    db.flush()
    return job


def submit_steps(
    db: Session,
    resource_ids: list[str],
    plan: Callable[[type, PlannedResource], list[dict[str, Any]]],
    *,
    kind: str,
    project_id: str | None = None,
    request_id: str | None = None,
    timeout: int = 600,
    context: PlanContext | None = None,
) -> Job:
    """Record one job that runs, resource after resource in the given order, the tasks
    ``plan(type class, planned resource)`` gives (a stack's suspend, resume or check:
    ``cls.plan_suspend`` …). As with ``submit_action`` the resources keep their status
    and allocations (a failed task marks its resource ERROR); a resource with no tasks
    just takes part, and a job with none at all ends at once."""
    rows = [_row(db, rid) for rid in resource_ids]
    steps, locks = [], []
    for row in rows:
        cls = get_type(row.type)
        planned = planned_from(row, context)
        steps.append((row.name, planned.hosts, plan(cls, planned) if cls else []))
        locks.extend(cls.locks(planned) if cls else [])
    plays = compiler.plays_for(steps, verb=f"{kind} ")
    job = _queue(db, kind, plays, {r.name: r.id for r in rows}, [r.id for r in rows] + locks,
                 f"{kind}: {len(rows)} resource(s)", project_id=project_id, request_id=request_id,
                 idempotent=False, max_attempts=1, timeout=timeout)
    db.flush()
    return job


def submit_update(
    db: Session,
    resource_id: str,
    properties: Mapping[str, Any],
    *,
    request_id: str | None = None,
    max_attempts: int = 1,
    timeout: int = 600,
    quota_defaults: Mapping[str, int] | None = None,
    context: PlanContext | None = None,
) -> Job:
    """Record a job that changes a resource in place (``plan_update``); raises
    UpdateReplace when a changed property is not ``update_allowed``. Quota and host
    capacity are checked for the new properties on the resource's own host."""
    write_lock(db, PLACEMENT_LOCK)
    row = _row(db, resource_id)
    cls = get_type(row.type)
    planned = planned_from(row, context)
    new_props = {**row.properties, **dict(properties)}
    prop_diff = {k: v for k, v in new_props.items() if row.properties.get(k) != v}
    planned.properties = new_props
    cls.check(db, planned)
    tasks = cls.plan_update(planned, prop_diff)
    quotas.release(db, row.id)
    if row.project_id is not None:
        quotas.check(db, row.project_id, cls.quota_usage(new_props, planned.attributes), quota_defaults)
    usage = cls.host_usage(new_props, planned.attributes)
    if usage:
        placement.place(db, {row.name: usage}, {row.name: planned.hosts[0]})
    plays = compiler.plays_for([(row.name, planned.hosts, tasks)], verb="update ")
    job = _queue(db, "update", plays, {row.name: row.id}, [row.id, *cls.locks(planned)],
                 f"update {row.name}: {', '.join(sorted(prop_diff)) or 'no change'}",
                 project_id=row.project_id, request_id=request_id, idempotent=cls.idempotent,
                 max_attempts=max_attempts, timeout=timeout)
    row.properties, row.last_job_id, row.status_reason = _jsonable(new_props), job.id, ""
    if planned.placed:  # a check may move it (a port bound to another host)
        row.hosts = list(planned.hosts)
    row.attributes = _jsonable(planned.attributes)
    _allocate(db, row, {**cls.quota_usage(new_props, planned.attributes), **cls.allocations(planned)}, usage,
              planned.hosts[0] if planned.hosts else None)  # on no host: an unbound port
    db.flush()
    return job


def submit_tasks(
    db: Session,
    name: str,
    hosts: list[str],
    tasks: list[dict[str, Any]],
    *,
    locks: list[str] = (),
    kind: str = "converge",
    project_id: str | None = None,
    request_id: str | None = None,
    max_attempts: int = 2,
    timeout: int = 600,
) -> Job:
    """Record a job of ready-made idempotent ``tasks`` (named after ``name``) on
    ``hosts`` that belongs to no one resource: a service converging hosts to what
    several records say (``stratus.network.hostplan.submit``). ``locks`` serialise it
    with the jobs of the resources it touches."""
    plays = compiler.plays_for([(name, list(hosts), list(tasks))], verb=f"{kind} ")
    job = _queue(db, kind, plays, {}, list(locks), f"{kind}: {len(tasks)} task(s) on {len(hosts)} host(s)",
                 project_id=project_id, request_id=request_id, idempotent=True,
                 max_attempts=max_attempts, timeout=timeout)
    db.flush()
    return job


def _allocate(db: Session, row: Resource, pools: Mapping[str, int], host_usage: Mapping[str, int],
              host: str | None) -> None:
    """Record what ``row`` holds: quota and pooled values, and capacity on ``host``."""
    for pool, amount in pools.items():
        db.add(Allocation(consumer_id=row.id, project_id=row.project_id, resource=pool, amount=amount))
    for cap, amount in host_usage.items():
        db.add(Allocation(consumer_id=row.id, project_id=row.project_id, resource=cap, amount=amount,
                          host=host))


def _row(db: Session, rid: str) -> Resource:
    row = db.get(Resource, rid)
    if row is None:
        raise LookupError(f"resource {rid} does not exist")
    return row


def _queue(db: Session, kind: str, playbook: list, resource_map: dict[str, str], locks: list[str],
           message: str, *, project_id, request_id, idempotent: bool, max_attempts: int, timeout: int) -> Job:
    """Add a QUEUED job, its resource locks (each id once) and its ``job_queued`` event."""
    job = Job(id=str(uuid.uuid4()), kind=kind, status=QUEUED, project_id=project_id,
              request_id=request_id, playbook=playbook, resource_map=resource_map,
              idempotent=idempotent, max_attempts=max(1, max_attempts), timeout=timeout)
    db.add(job)
    for rid in dict.fromkeys(locks):
        db.add(JobResource(job_id=job.id, resource_id=rid))
    db.add(JobEvent(job_id=job.id, attempt=0, event="job_queued", status=QUEUED, message=message,
                    request_id=request_id))
    return job


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
