"""Stack update (PUT: a new template; PATCH: ``existing`` keeps the template,
parameters and environment not given) and its preview: resources added, deleted, updated
in place (``update_allowed`` properties) or replaced, as Heat's ``resource_changes``.

An update is one job (``submit_changes``): the stack goes UPDATE_IN_PROGRESS and
remembers what it was (``stack.previous``: template, files, environment, parameters and
resource ids), so that a failed or cancelled update rolls back — an update back to the
previous template (ROLLBACK_IN_PROGRESS → ROLLBACK_COMPLETE), keeping the replaced
resources whose delete never ran — when rollback is on. Nested stacks and group members
are resources of the flat template (``nested.expand``): a ResourceGroup from 5 to 3
members is two resources deleted.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.jobs import ACTIVE, DELETED, SUCCEEDED, Job, Resource
from stratus.db.models.orchestration import (
    COMPLETE,
    CREATE,
    DELETE,
    FAILED,
    IN_PROGRESS,
    ROLLBACK,
    SUSPEND,
    UPDATE,
    Stack,
)
from stratus.db.types import utcnow
from stratus.errors import BadRequest, Conflict
from stratus.orchestration import changes, nested, planner
from stratus.orchestration.changes import ADDED, REPLACED, UNCHANGED, UPDATED, Changes, Current
from stratus.orchestration.changes import DELETED as GONE
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.parameters import check_update
from stratus.orchestration.submit import planned_from
from stratus.orchestration.submit_changes import (
    REPLACED_SUFFIX,
    release_deleted,
    removed_ids,
    submit_changes,
)
from stratus.stacks import create, load, outputs, records, settle
from stratus.stacks.resources import heat_state

BUSY = "Updating a stack when another action is in progress is not supported."

# The plan context (settings, keys) of each stack's update in progress, for its rollback:
# the job-end hook that starts a rollback has none of its own. In memory only: after a
# controller restart a rollback runs without it (types that need the keys refuse).
_CONTEXTS: dict[str, Any] = {}


@dataclasses.dataclass
class Request:
    """What the stack becomes: the template, files, environment and parameters as given
    (stored on the stack as a create stores them)."""

    template: dict[str, Any]
    files: dict[str, Any]
    environment: dict[str, Any]
    parameters: dict[str, Any]


# ------------------------------------------------------------------------------ update


def update(db: Session, ctx, stack, *, template: dict[str, Any] | None = None, files: dict[str, Any] | None = None,
           environment: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None,
           existing: bool = False, clear_parameters: list[str] | None = None, timeout_mins: int | None = None,
           disable_rollback: bool | None = None, tags: list[str] | None = None, settings=None, context=None,
           request_id: str | None = None) -> None:
    """Start updating ``stack`` (UPDATE IN_PROGRESS); 409 while another operation runs.
    Raises TemplateError / ResourceCheckFailed / QuotaExceeded / BadRequest before
    anything is written."""
    settings = create.settings_of(settings, context)
    check_idle(stack)
    req = request(stack, template, files, environment, parameters, existing, clear_parameters)
    loaded, ch, rows = plan_changes(db, stack, req, context, ctx=ctx)
    create.check_size(loaded, settings)
    timeout_mins = timeout_mins or stack.timeout_mins or settings.orchestration_stack_timeout
    old_order = _order(stack)
    job = submit_changes(db, ch, project_id=stack.project_id, stack_id=stack.id, old_order=old_order,
                         cloud_admin=ctx.is_admin, request_id=request_id, kind="stack:update",
                         timeout=timeout_mins * 60, quota_defaults=settings.quota_defaults, context=context)
    # nothing refused: the records
    stack.previous = {"template": stack.template, "files": stack.files, "environment": stack.environment,
                      "parameters": stack.parameters, "timeout_mins": stack.timeout_mins,
                      "resources": {n: r.id for n, r in rows.items()}, "removed": removed_ids(ch)}
    stack.template, stack.files = req.template, req.files
    stack.environment, stack.parameters = req.environment, req.parameters
    stack.timeout_mins = timeout_mins
    if disable_rollback is not None:
        stack.disable_rollback = bool(disable_rollback)
    if tags is not None:
        stack.tags = list(tags)
    begin(db, stack, UPDATE, loaded, ch, job)
    if context is not None:
        _CONTEXTS[stack.id] = context


def check_idle(stack: Stack) -> None:
    """409 while the stack has an operation running; a deleted or suspended stack cannot
    be updated either (Heat's NotSupported)."""
    if stack.status == IN_PROGRESS:
        raise Conflict(BUSY, type="ActionInProgress")
    if stack.action == DELETE or stack.deleted_at is not None:
        raise records.not_found(stack.name)
    if stack.action == SUSPEND and stack.status == COMPLETE:
        raise BadRequest("Updating a stack when it is suspended is not supported.", type="NotSupported")


def request(stack: Stack, template, files, environment, parameters, existing: bool,
            clear_parameters: list[str] | None) -> Request:
    """The update's template, files, environment and parameters. PUT (``existing``
    false): the template is required and parameters not given take their defaults,
    except hidden ones the stack was given (they are kept). PATCH: what is not given
    stays; ``clear_parameters`` go back to their defaults."""
    clear = set(clear_parameters or [])
    if existing:
        tpl = template if template else stack.template
        fil = {**(stack.files or {}), **(files or {})}
        env = merge_environment(stack.environment or {}, environment or {})
        params = {k: v for k, v in {**(stack.parameters or {}), **(parameters or {})}.items() if k not in clear}
        for section in ("parameters", "parameter_defaults"):
            if isinstance(env.get(section), dict) and clear:
                env[section] = {k: v for k, v in env[section].items() if k not in clear}
        return Request(tpl, fil, env, params)
    if not template:
        raise BadRequest("No template specified: an update (PUT) needs the whole new template; "
                         "use PATCH (openstack stack update --existing) to keep the current one.")
    params = dict(parameters or {})
    declared = template.get("parameters") if isinstance(template, dict) else None
    for name, pdef in (declared or {}).items():
        if isinstance(pdef, dict) and pdef.get("hidden") and name not in params and name in (stack.parameters or {}):
            params[name] = stack.parameters[name]
    return Request(template, dict(files or {}), dict(environment or {}), params)


def merge_environment(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """PATCH: the given environment over the stack's, section by section (mappings
    merged, anything else replaced)."""
    out = dict(old)
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def plan_changes(db: Session, stack: Stack, req: Request, context,
                 rows: dict[str, Resource] | None = None, *, ctx=None, rollback: bool = False
                 ) -> tuple[load.Loaded, Changes, dict[str, Resource]]:
    """Load the new template, refuse changed immutable parameters, plan it and compare
    it with the stack's recorded resources (``rows`` by flat name; default: its live
    ones). A type whose ``plan_update`` refuses the change in place is replaced; a
    ``rollback`` changes a FAILED resource back in place where it can."""
    if rows is None:
        rows = outputs.rows_by_name(db, stack)
    current_attrs = {n: dict(r.attributes or {}) for n, r in rows.items()}
    loaded = load.load(req.template, name=stack.name, stack_id=stack.id, project_id=stack.project_id,
                       files=req.files, environment=req.environment, parameters=req.parameters,
                       current=current_attrs)
    check_immutable(stack, loaded)
    current = {n: Current(planned_from(r, context), r.status, r.action) for n, r in rows.items()}
    ch = changes.compute(_plan(db, stack, loaded, rows, context, ctx), current, replace_failed=not rollback)
    return loaded, ch, rows


def _plan(db, stack: Stack, loaded: load.Loaded, rows: dict[str, Resource], context, ctx=None) -> planner.Plan:
    """The new flat template planned as the stack's (its pseudo parameters; custom
    constraints for the caller), the recorded resources' ids kept."""
    ids = {n: r.id for n, r in rows.items() if n in loaded.flat.resources}
    return planner.plan(loaded.flat, loaded.parameters, ids, stack.project_id, context, db=db, ctx=ctx, stack=stack)


def check_immutable(stack: Stack, loaded: load.Loaded) -> None:
    """Heat's ImmutableParameterModified: a parameter declared ``immutable`` keeps its
    value across updates (``parameters.check_update``)."""
    if not any(getattr(p, "immutable", False) for p in loaded.flat.parameters.values()):
        return
    try:
        before = load.from_row(stack)
        old = before.flat.parameter_values(before.parameters)
        new = loaded.flat.parameter_values(loaded.parameters)
    except (TemplateError, ResourceCheckFailed, TypeError, ValueError):
        return  # the old values cannot be told: nothing to compare
    check_update(loaded.flat.parameters, old, new)


def _order(stack: Stack) -> list[str]:
    """The stack's current flat template's resource order (deletes run in reverse)."""
    try:
        return load.from_row(stack).flat.order()
    except (TemplateError, ResourceCheckFailed, LookupError, TypeError, ValueError):
        return []


def begin(db: Session, stack: Stack, action: str, loaded: load.Loaded, ch: Changes, job: Job) -> None:
    """Record the operation: new nested stacks' rows, the stack tree <action>_IN_PROGRESS,
    each resource the job touches with its Heat action and IN_PROGRESS event."""
    prefixes = nested_prefixes(db, stack, loaded)
    by_id = {sid: db.get(Stack, sid) for sid in set(prefixes.values())}
    inverse = {sid: prefix for prefix, sid in prefixes.items()}
    for sid, st in by_id.items():
        if sid != stack.id and st is not None:
            records.set_status(db, st, action, IN_PROGRESS, f"Stack {action} started")
    records.set_status(db, stack, action, IN_PROGRESS, f"Stack {action} started")
    job.stack_id, stack.current_job_id = stack.id, job.id
    for name, rid in job.resource_map.items():
        row = db.get(Resource, rid)
        if row is None:
            continue
        if name in ch.items and ch.items[name].kind == UPDATED and not name.endswith(REPLACED_SUFFIX):
            row.action = UPDATE
        elif row.status == "DELETING":
            row.action = DELETE
        else:
            row.action = CREATE
            row.stack_id = load.stack_of(prefixes, row.name, stack.id)
        owner = by_id.get(row.stack_id) or stack
        records.add_event(db, owner, load.short_name(row.name, inverse.get(owner.id, "")), row.id, row.type,
                          row.action, IN_PROGRESS, "state changed")
    db.flush()


def nested_prefixes(db: Session, stack: Stack, loaded: load.Loaded) -> dict[str, str]:
    """Prefix → stack id of the stack tree: the nested stacks it has, and rows for the
    nested stacks the new template adds."""
    from stratus.stacks.resources import _prefix

    have = {"": stack.id}
    todo = [stack]
    while todo:
        for child in records.children(db, todo.pop()):
            have[_prefix(db, child)] = child.id
            todo.append(child)
    new = [ns for ns in loaded.expansion.stacks if ns.prefix not in have]
    if new:
        fresh = dataclasses.replace(loaded, expansion=nested.Expansion(loaded.flat, new))
        have.update({p: sid for p, sid in create.add_nested(db, stack, fresh).items() if p})
    return have


# ------------------------------------------------------------------------------ preview


def preview(db: Session, ctx, stack, *, template: dict[str, Any] | None = None, files: dict[str, Any] | None = None,
            environment: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None,
            existing: bool = False, clear_parameters: list[str] | None = None, settings=None,
            context=None) -> dict[str, list[dict[str, Any]]]:
    """What an update would do, nothing changed: ``{"added": [...], "deleted": [...],
    "replaced": [...], "updated": [...], "unchanged": [...]}``, each item Heat's resource
    summary (resource_name, resource_type, physical_resource_id, ...)."""
    req = request(stack, template, files, environment, parameters, existing, clear_parameters)
    _, ch, rows = plan_changes(db, stack, req, context, ctx=ctx)
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in changes.KINDS}
    for name, item in ch.items.items():
        row = rows.get(name)
        if item.kind in (ADDED, REPLACED):  # the new resource, not made yet
            out[item.kind].append(summary(stack, name, item.type, "", "INIT", COMPLETE, "", None))
        else:
            action, status = heat_state(row)
            out[item.kind].append(summary(stack, name, row.type, row.id, action, status, row.status_reason or "",
                                          row))
    for kind in (UNCHANGED, UPDATED, GONE, ADDED, REPLACED):
        out[kind].sort(key=lambda r: r["resource_name"])
    return out


def summary(stack: Stack, name: str, rtype: str, physical_id: str, action: str, status: str, reason: str,
            row: Resource | None) -> dict[str, Any]:
    """Heat's resource summary (``format_stack_resource``) of a flat resource."""
    identity = {"stack_name": stack.name, "stack_id": stack.id, "tenant": stack.project_id, "path": ""}
    created = row.created_at if row is not None else None
    updated = (row.updated_at or row.created_at) if row is not None else None
    return {
        "resource_name": name, "logical_resource_id": name, "resource_type": rtype,
        "physical_resource_id": physical_id or "", "resource_action": action, "resource_status": status,
        "resource_status_reason": reason,
        "resource_identity": {**identity, "path": f"/resources/{name}"},
        "stack_identity": identity, "stack_name": stack.name, "required_by": [],
        "creation_time": _iso(created), "updated_time": _iso(updated),
        "description": "", "metadata": {}, "attributes": {},
    }


def _iso(when) -> str | None:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when is not None else None


# ------------------------------------------------------------------------------ settle


@settle.handles(UPDATE)
def settle_update(db: Session, stack: Stack, job: Job) -> None:
    """The update's job ended: UPDATE_COMPLETE, or UPDATE_FAILED and (rollback on, or
    a cancel asking for it) a rollback to what the stack was."""
    prev = dict(stack.previous or {})
    release_deleted(db, job, prev.get("removed", []))
    rows = settle.job_rows(db, job)
    settle.resource_events(db, job, rows)
    failed = [r for r in rows if r.status not in (ACTIVE, DELETED)]
    stack.outputs = outputs.resolve(db, stack)
    if job.status == SUCCEEDED and not failed:
        settle.settle_tree(db, stack, UPDATE, set(), "")
        _drop_empty_nested(db, stack)
        stack.previous, stack.current_job_id = {}, None
        _CONTEXTS.pop(stack.id, None)
        return
    reason = settle.failure_reason(job, failed, UPDATE)
    settle.settle_tree(db, stack, UPDATE, {r.id for r in failed} or {r.id for r in rows}, reason)
    cancel = prev.get("cancel")
    context = _CONTEXTS.pop(stack.id, None)
    if cancel == "rollback" or (cancel is None and not stack.disable_rollback):
        rollback(db, stack, context=context)


def rollback(db: Session, stack: Stack, *, context=None, request_id: str | None = None) -> None:
    """Roll a failed (or cancelled) update back: an update to ``stack.previous`` under
    the action ROLLBACK. A replaced resource whose delete never ran is taken back and its
    replacement deleted; what was deleted already is made again."""
    prev = dict(stack.previous or {})
    if not prev.get("template"):
        records.set_status(db, stack, ROLLBACK, FAILED, "Rollback could not start: nothing to roll back to")
        return
    req = Request(prev["template"], prev.get("files") or {}, prev.get("environment") or {},
                  prev.get("parameters") or {})
    try:
        with db.begin_nested():
            live = _live_rows(db, stack)
            wanted = prev.get("resources") or {}
            rows: dict[str, Resource] = {}
            for row in sorted(live, key=lambda r: r.created_at):
                if row.name not in rows or wanted.get(row.name) == row.id:
                    rows[row.name] = row
            extra = [r for r in live if rows.get(r.name) is not r]
            loaded, ch, _ = plan_changes(db, stack, req, context, rows, rollback=True)
            timeout = (prev.get("timeout_mins") or stack.timeout_mins or 60) * 60
            job = submit_changes(db, ch, project_id=stack.project_id, stack_id=stack.id, old_order=_order(stack),
                                 extra_deletes=extra, cloud_admin=True, request_id=request_id,
                                 kind="stack:rollback", timeout=timeout, context=context)
            stack.template, stack.files = req.template, req.files
            stack.environment, stack.parameters = req.environment, req.parameters
            stack.timeout_mins = prev.get("timeout_mins") or stack.timeout_mins
            stack.previous = {"rollback": True, "removed": removed_ids(ch, extra)}
            begin(db, stack, ROLLBACK, loaded, ch, job)
    except (ResourceCheckFailed, TemplateError, LookupError, ValueError) as exc:
        records.set_status(db, stack, ROLLBACK, FAILED, f"Rollback could not start: {exc}")


def _live_rows(db: Session, stack: Stack) -> list[Resource]:
    return list(db.scalars(select(Resource).where(Resource.stack_id.in_(outputs.tree_ids(db, stack)),
                                                  Resource.status != DELETED)))


_create_rollback = settle.HANDLERS.get(ROLLBACK)  # a failed create's rollback (stacks.delete)


@settle.handles(ROLLBACK)
def settle_rollback(db: Session, stack: Stack, job: Job) -> None:
    """An update's rollback ended: ROLLBACK_COMPLETE or ROLLBACK_FAILED (a failed
    create's rollback settles as ``stacks.delete`` says)."""
    prev = dict(stack.previous or {})
    if not prev.get("rollback"):
        if _create_rollback is not None:
            _create_rollback(db, stack, job)
        return
    release_deleted(db, job, prev.get("removed", []))
    rows = settle.job_rows(db, job)
    settle.resource_events(db, job, rows)
    failed = [r for r in rows if r.status not in (ACTIVE, DELETED)]
    stack.outputs = outputs.resolve(db, stack)
    stack.previous, stack.current_job_id = {}, None
    if job.status == SUCCEEDED and not failed:
        settle.settle_tree(db, stack, ROLLBACK, set(), "")
        _drop_empty_nested(db, stack)
    else:
        reason = settle.failure_reason(job, failed, ROLLBACK)
        settle.settle_tree(db, stack, ROLLBACK, {r.id for r in failed} or {r.id for r in rows}, reason)


def _drop_empty_nested(db: Session, stack: Stack) -> None:
    """Nested stacks the update removed (no resources left): DELETE_COMPLETE."""
    for child in records.children(db, stack):
        _drop_empty_nested(db, child)
        live = db.scalars(select(Resource.id).where(Resource.stack_id == child.id, Resource.status != DELETED))
        if live.first() is None and not records.children(db, child):
            records.set_status(db, child, DELETE, COMPLETE, "Stack DELETE completed successfully")
            child.deleted_at = utcnow()
