"""Stack create and adopt: the template (with its environment and files) is
loaded, validated and planned; the stack row (CREATE IN_PROGRESS), its nested stacks' rows
and one job for all their resources are recorded in the caller's transaction.

Every refusal (TemplateError, ResourceCheckFailed, QuotaExceeded, NoValidHost,
Forbidden, Conflict) is raised before anything is written, so the caller's rollback
leaves nothing. The job's end is settled by ``stratus.stacks.settle``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.jobs import ACTIVE, Resource
from stratus.db.models.orchestration import ADOPT, COMPLETE, CREATE, IN_PROGRESS, Stack
from stratus.errors import BadRequest, Conflict
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.submit import submit
from stratus.stacks import load, outputs, records

NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]*$")
NAME_MAX = 255


def settings_of(settings, context):
    """The controller's settings: given, from the plan context, else the defaults."""
    if settings is not None:
        return settings
    if context is not None and getattr(context, "settings", None) is not None:
        return context.settings
    from stratus.config import Settings

    return Settings()


def check_name(name: str) -> None:
    """Heat's rule for stack names (StackValidationFailed otherwise)."""
    if not isinstance(name, str) or not NAME_RE.match(name) or len(name) > NAME_MAX:
        raise TemplateError(f'Invalid stack name {name} must contain only alphanumeric or "_-." characters, '
                            f"must start with alpha and must be {NAME_MAX} characters or less.")


def check_unique(db: Session, project_id: str | None, name: str, *, exclude: str | None = None) -> None:
    """409 when a live root stack of the project has the name already."""
    q = select(Stack.id).where(Stack.project_id == project_id, Stack.name == name,
                               Stack.parent_id.is_(None), Stack.deleted_at.is_(None))
    if exclude:
        q = q.where(Stack.id != exclude)
    if db.scalar(q.limit(1)) is not None:
        raise Conflict(f"The Stack ({name}) already exists.", type="StackExists")


def check_size(loaded: load.Loaded, settings) -> None:
    limit = settings.orchestration_max_resources_per_stack
    if len(loaded.flat.resources) > limit:
        raise BadRequest(f"Request limit exceeded: Maximum resources per stack exceeded. The template has "
                         f"{len(loaded.flat.resources)} resources (nested stacks included); this cloud allows "
                         f"{limit} (orchestration_max_resources_per_stack).", type="RequestLimitExceeded")


def submit_stack(db: Session, ctx, loaded: load.Loaded, stack_id: str, *, kind: str, settings, context,
                 request_id: str | None, timeout: int, resource_ids: dict[str, str] | None = None):
    """``submit`` the flat template as the job of the stack ``stack_id`` (its row exists:
    the planner takes the pseudo parameters from it)."""
    return submit(db, loaded.flat, loaded.parameters, project_id=ctx.project_id, cloud_admin=ctx.is_admin,
                  request_id=request_id, kind=kind, stack_id=stack_id, resource_ids=resource_ids,
                  max_attempts=1, timeout=timeout, quota_defaults=settings.quota_defaults, context=context)


def create(db: Session, ctx, *, name: str, template: dict[str, Any], files: dict[str, Any] | None = None,
           environment: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None,
           timeout_mins: int | None = None, disable_rollback: bool | None = None, tags: list[str] | None = None,
           adopt_data: dict[str, Any] | None = None, settings=None, context=None, request_id: str | None = None):
    """Record a new stack and the job that makes it; returns the Stack row (CREATE
    IN_PROGRESS). Raises TemplateError / ResourceCheckFailed / Conflict (name taken in
    the project: 409) / QuotaExceeded before anything is written. ``adopt_data``
    (``stack abandon``'s output): the resources are taken over, not made (ADOPT)."""
    settings = settings_of(settings, context)
    check_name(name)
    check_unique(db, ctx.project_id, name)
    stack_id = str(uuid.uuid4())
    if adopt_data is not None:
        template = template or adopt_data.get("template") or {}
        files = files if files is not None else adopt_data.get("files")
        environment = environment if environment is not None else adopt_data.get("environment")
    loaded = load.load(template, name=name, stack_id=stack_id, project_id=ctx.project_id, files=files,
                       environment=environment, parameters=parameters)
    check_size(loaded, settings)
    timeout_mins = timeout_mins or settings.orchestration_stack_timeout
    if disable_rollback is None:
        disable_rollback = not settings.orchestration_rollback_on_failure
    taken = _taken_over(db, ctx, loaded, adopt_data)
    action = ADOPT if adopt_data is not None else CREATE
    stack = Stack(id=stack_id, name=name, project_id=ctx.project_id, user_id=ctx.user_id, action=action,
                  status=IN_PROGRESS, status_reason="", template=template, files=dict(files or {}),
                  environment=dict(environment or {}), parameters=dict(parameters or {}),
                  disable_rollback=bool(disable_rollback), timeout_mins=timeout_mins, tags=list(tags or []))
    job = None
    with db.begin_nested():  # a refusal below leaves no stack row behind
        db.add(stack)
        db.flush()  # the planner reads the stack's identity (OS::stack_name, …)
        if loaded.flat.resources and len(taken) < len(loaded.flat.resources):
            job = submit_stack(db, ctx, loaded, stack_id, kind="stack:create", settings=settings,
                               context=context, request_id=request_id, timeout=timeout_mins * 60)
    prefixes = add_nested(db, stack, loaded)
    records.set_status(db, stack, action, IN_PROGRESS, f"Stack {action} started")
    if taken:
        _record_taken(db, ctx, stack, loaded, prefixes, taken)
    if job is not None:
        job.stack_id = stack.id
        stack.current_job_id = job.id
        attach(db, stack, job, prefixes, action)
    else:
        finish_now(db, stack, action)
    db.flush()
    return stack


def add_nested(db: Session, stack: Stack, loaded: load.Loaded) -> dict[str, str]:
    """Stack rows for the expansion's nested stacks; returns prefix → stack id ("" = the root)."""
    prefixes = {"": stack.id}
    for ns in loaded.expansion.stacks:
        parent = prefixes.get(ns.parent, stack.id)
        sid = str(uuid.uuid4())
        child = Stack(id=sid, name=f"{stack.name}-{ns.owner}-{sid[:12]}", project_id=stack.project_id,
                      user_id=stack.user_id, parent_id=parent, owner_resource=ns.owner, action=stack.action,
                      status=IN_PROGRESS, template=ns.template, parameters=dict(ns.parameters),
                      disable_rollback=stack.disable_rollback, timeout_mins=stack.timeout_mins)
        db.add(child)
        prefixes[ns.prefix] = sid
    db.flush()
    return prefixes


def attach(db: Session, stack: Stack, job, prefixes: dict[str, str], action: str) -> None:
    """The job's resources belong to their (nested) stacks, with Heat's ``action``, each
    with its <action>_IN_PROGRESS event; nested stacks get their own stack event."""
    by_id = {sid: db.get(Stack, sid) for sid in prefixes.values()}
    inverse = {sid: prefix for prefix, sid in prefixes.items()}
    for sid, nested_stack in by_id.items():
        if sid != stack.id:
            records.set_status(db, nested_stack, action, IN_PROGRESS, f"Stack {action} started")
    for name, rid in job.resource_map.items():
        row = db.get(Resource, rid)
        if row is None:
            continue
        sid = load.stack_of(prefixes, name, stack.id)
        row.stack_id, row.action = sid, action
        records.add_event(db, by_id[sid], load.short_name(name, inverse[sid]), row.id, row.type, action,
                          IN_PROGRESS, "state changed")


def finish_now(db: Session, stack: Stack, action: str) -> None:
    """A stack with nothing to run (no resources, or all taken over) is complete at once."""
    for child in records.children(db, stack):
        finish_now(db, child, action)
    if stack.parent_id is None:
        stack.outputs = outputs.resolve(db, stack)
    records.set_status(db, stack, action, COMPLETE, f"Stack {action} completed successfully")


# --- adopt and external_id ----------------------------------------------------------------


def _taken_over(db: Session, ctx, loaded: load.Loaded, adopt_data: dict[str, Any] | None
                ) -> dict[str, tuple[str, dict[str, Any]]]:
    """Resources taken over instead of made: name → (resource id, recorded data). With
    ``adopt_data`` every resource it names; ``external_id`` resources always. A
    resource taken over must be one the project may use; an adopt must cover the whole
    template (nothing is made beside what is taken over)."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    given = (adopt_data or {}).get("resources") or {}
    if adopt_data is not None and not isinstance(given, dict):
        raise TemplateError("adopt_data.resources must be a mapping of resource names to their data",
                            ("adopt_data", "resources"))
    for name, rdef in loaded.flat.resources.items():
        ext = getattr(rdef, "external_id", None)
        if ext:
            out[name] = (str(ext), {})
        elif name in given:
            data = given[name] or {}
            rid = data.get("resource_id")
            if not rid:
                raise TemplateError(f"the adopted resource {name!r} has no resource_id",
                                    ("adopt_data", "resources", name))
            out[name] = (str(rid), data)
    if adopt_data is not None:
        missing = sorted(set(loaded.flat.resources) - set(out))
        if missing:
            raise TemplateError(f"adopt_data has no data for the resource(s) {', '.join(missing)}; adopt takes over "
                                "every resource of the template (use the whole output of 'stack abandon')",
                                ("adopt_data", "resources"))
    elif out and len(out) < len(loaded.flat.resources):
        raise TemplateError(f"external_id resources ({', '.join(sorted(out))}) are taken over only in a stack "
                            "whose resources are all external; make the others in a stack of their own",
                            ("resources", sorted(out)[0], "external_id"))
    for name, (rid, _data) in out.items():
        row = db.get(Resource, rid)
        rdef = loaded.flat.resources[name]
        rtype = getattr(rdef, "effective_type", rdef.type)
        if row is None and getattr(rdef, "external_id", None):
            raise ResourceCheckFailed(f"external_id {rid}: no {rtype} with this id exists; name an existing "
                                      "resource of the project", ("resources", name, "external_id"), 404)
        if row is None:
            continue  # adopt data from elsewhere: trusted as Heat trusts it
        if row.project_id != ctx.project_id and not ctx.is_admin:
            raise ResourceCheckFailed(f"the resource {rid} is not one of the project's", ("resources", name), 404)
        if row.type != rtype:
            raise ResourceCheckFailed(f"the resource {rid} is a {row.type}, not a {rtype}", ("resources", name))
        if row.status != ACTIVE:
            raise ResourceCheckFailed(f"the resource {rid} is {row.status}; only an ACTIVE resource can be taken over",
                                      ("resources", name), 409)
        owner = db.get(Stack, row.stack_id) if row.stack_id else None
        if owner is not None and owner.deleted_at is None:
            raise ResourceCheckFailed(f"the resource {rid} belongs to the stack {owner.name} ({owner.id}); "
                                      "abandon that stack first", ("resources", name), 409)
    return out


def _record_taken(db: Session, ctx, stack: Stack, loaded: load.Loaded, prefixes: dict[str, str],
                  taken: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """The taken-over resources' rows (made from the adopt data when this cloud has no
    record of them, as Heat trusts adopt data), ACTIVE, with their events."""
    inverse = {sid: prefix for prefix, sid in prefixes.items()}
    action = ADOPT if stack.action == ADOPT else CREATE
    for name, (rid, data) in taken.items():
        row = db.get(Resource, rid)
        rdef = loaded.flat.resources[name]
        if row is None:
            attrs = (data.get("resource_data") or {}).get("attributes") or {}
            row = Resource(id=rid, name=name, type=rdef.type, project_id=ctx.project_id, status=ACTIVE,
                           properties=(data.get("resource_data") or {}).get("properties") or {},
                           attributes=dict(attrs), hosts=list((data.get("resource_data") or {}).get("hosts") or []))
            db.add(row)
        sid = load.stack_of(prefixes, name, stack.id)
        row.name, row.stack_id, row.action = name, sid, action
        owner = db.get(Stack, sid)
        records.add_event(db, owner, load.short_name(name, inverse[sid]), rid, rdef.type, action, IN_PROGRESS,
                          "state changed")
        records.add_event(db, owner, load.short_name(name, inverse[sid]), rid, rdef.type, action, COMPLETE,
                          "state changed")
