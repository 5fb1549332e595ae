"""Server actions that move a server or change its size: ``resize`` with
``confirmResize``/``revertResize``, ``migrate`` (cold, admin), ``os-migrateLive``
(admin) and ``os-resetState`` (admin), with their settlers.

Every move writes a ``Migration`` row (Nova's ``migrations`` table: what
``os-migrations`` lists). While a move is not confirmed the server holds capacity
twice, as Nova does: its host allocations from before the move are handed to the
migration (consumer = the migration's uuid) and the server's own are made for where
it goes. ``confirmResize`` frees the migration's; ``revertResize`` gives them back.

- resize is in place on the server's host (``allow_resize_to_same_host``): the
  ``OS::Nova::Server`` resource is updated to the new flavor (``submit_update``: quota
  and the host's capacity are checked for it, the ``instance`` module redefines the
  guest). The server ends in ``VERIFY_RESIZE``.
- migrate picks another enabled compute host with room (2.56: the admin may name it)
  and runs ``instance_action migrate`` on the source towards the destination's libvirt
  URI; the server ends in ``VERIFY_RESIZE`` on the new host; a revert migrates it back.
- os-migrateLive does the same with the guest running; it ends where it was
  (``ACTIVE``/``PAUSED``) and the migration is ``completed`` at once.

A destination's libvirt URI, as the source host reaches it, is its host variable
``stratus_migration_uri``, else ``stratus_libvirt_uri``, else
``qemu+tcp://<ansible_host or name>/system``; where its QEMU takes a live migration's
stream, ``stratus_live_migration_uri`` (``tcp://ADDRESS``; default: libvirt's choice,
the destination's hostname).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute import instance_actions, states
from stratus.compute.actions import ActionCall, ActionResult, handles
from stratus.compute.power import authorize
from stratus.compute.settle import settles
from stratus.compute.validation import bad, only
from stratus.db.locks import write_lock
from stratus.db.models.compute import Migration, Server
from stratus.db.models.hosts import Host
from stratus.db.models.jobs import ACTIVE as RESOURCE_ACTIVE
from stratus.db.models.jobs import SUCCEEDED, Job, Resource
from stratus.db.models.quotas import Allocation
from stratus.errors import BadRequest, Conflict, Forbidden
from stratus.hosts import placement
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.resources import get_type
from stratus.orchestration.submit import PLACEMENT_LOCK, submit_action, submit_update
from stratus.orchestration.types.nova_server import resolve_flavor
from stratus.scheduler.spec import RequestSpec

# Migration.status values (Nova's)
PRE_MIGRATING, MIGRATING, FINISHED, CONFIRMED = "pre-migrating", "migrating", "finished", "confirmed"
REVERTING, REVERTED, COMPLETED, ERROR, FAILED = "reverting", "reverted", "completed", "error", "failed"
RUNNING = "running"  # a live migration in progress
RESIZE, MIGRATION, LIVE_MIGRATION = "resize", "migration", "live-migration"
# the server's vm_state before the move (restored by confirm and revert)
OLD_VM_STATE = "old_vm_state"


# --- the request body -------------------------------------------------------------------

def _as_bool(field: str, value: Any, *, auto: bool = False) -> bool | str:
    """Nova's ``parameter_types.boolean`` (and ``"auto"`` where allowed)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.lower()
        if auto and low == "auto":
            return "auto"
        if low in ("true", "1", "yes", "on", "y", "t"):
            return True
        if low in ("false", "0", "no", "off", "n", "f"):
            return False
    allowed = "True, False, 'auto'" if auto else "True, False"
    bad(field, value, f"{value!r} is not one of [{allowed}]")


def _object(call: ActionCall, *, nullable: bool = False) -> dict[str, Any]:
    body = call.body
    if body is None and nullable:
        return {}
    if not isinstance(body, dict):
        bad(call.name, body, f"{body!r} is not of type 'object'")
    return body


_P = "os_compute_api:"
MEMBER_RULES = {"resize": f"{_P}servers:resize", "confirmResize": f"{_P}servers:confirm_resize",
                "revertResize": f"{_P}servers:revert_resize", "createImage": f"{_P}servers:create_image",
                "shelve": f"{_P}os-shelve:shelve", "unshelve": f"{_P}os-shelve:unshelve"}
ADMIN_RULES = {"migrate": f"{_P}os-migrate-server:migrate",
               "os-migrateLive": f"{_P}os-migrate-server:migrate_live",
               "os-resetState": f"{_P}os-admin-actions:reset_state",
               "shelveOffload": f"{_P}os-shelve:shelve_offload"}
register_defaults([RuleDefault(r, "rule:admin_or_member") for r in MEMBER_RULES.values()]
                  + [RuleDefault(r, "rule:admin_required") for r in ADMIN_RULES.values()])


def allow(call: ActionCall) -> None:
    """The policy of the call's action (Nova's rule names); without the route's policy
    checker (a direct call) the admin-only ones need a cloud admin."""
    rule = MEMBER_RULES.get(call.name) or ADMIN_RULES[call.name]
    if call.policy is not None:
        authorize(call, rule)
    elif rule in ADMIN_RULES.values() and not call.ctx.is_admin:
        raise Forbidden(f"Policy doesn't allow {rule} to be performed.")


def null_body(call: ActionCall) -> None:
    """The action takes no body (``{"confirmResize": null}``)."""
    if call.body is not None:
        bad(call.name, call.body, f"{call.body!r} is not of type 'null'")


# --- flavors ------------------------------------------------------------------------------

def _flavor(call: ActionCall, ref: Any) -> dict[str, Any]:
    """The flavor ``flavorRef`` names (its id, or a link ending in it) as a server embeds
    it, if the server's project may use it; Nova's 400 otherwise."""
    flavor_id = str(ref).rstrip("/").rsplit("/", 1)[-1]
    try:
        return resolve_flavor(call.db, flavor_id, call.server.project_id, (), admin=call.ctx.is_admin)
    except ResourceCheckFailed:
        raise BadRequest(f"Flavor {flavor_id} could not be found.") from None


# --- allocations -------------------------------------------------------------------------

def _host_allocations(db: Session, consumer: str) -> list[Allocation]:
    return list(db.scalars(select(Allocation).where(Allocation.consumer_id == consumer,
                                                    Allocation.host.is_not(None))))


def hold_for_migration(db: Session, server_id: str, migration: Migration) -> None:
    """Hand the server's host allocations to the migration (they stay until confirm)."""
    for row in _host_allocations(db, server_id):
        row.consumer_id = migration.uuid
    db.flush()


def drop_migration_hold(db: Session, migration: Migration) -> None:
    """Free what the migration held (confirm; or a failed move that is not undone)."""
    for row in _host_allocations(db, migration.uuid):
        db.delete(row)
    db.flush()


def give_back(db: Session, server_id: str, migration: Migration) -> None:
    """The server holds again what it held before the move (revert, or a failed move)."""
    for row in _host_allocations(db, server_id):
        db.delete(row)
    for row in _host_allocations(db, migration.uuid):
        row.consumer_id = server_id
    db.flush()


# --- destinations ------------------------------------------------------------------------

def libvirt_uri(host: Host) -> str:
    """The destination's libvirt URI as another compute host reaches it."""
    hv = host.vars or {}
    return (hv.get("stratus_migration_uri") or hv.get("stratus_libvirt_uri")
            or f"qemu+tcp://{hv.get('ansible_host') or host.name}/system")


def _need(resource: Resource) -> dict[str, int]:
    cls = get_type(resource.type)
    return dict(cls.host_usage(resource.properties, resource.attributes)) if cls else {}


def choose_destination(db: Session, server: Server, resource: Resource, host: str | None,
                       *, live: bool) -> Host:
    """The compute host the server moves to: ``host`` if given (it must exist, be another
    host and have room), else the scheduler's pick among the others. Raises BadRequest
    (Nova's 400s); capacity is taken in the caller's transaction (placement lock)."""
    write_lock(db, PLACEMENT_LOCK)
    source = server.host or (resource.hosts or [None])[0]
    need = _need(resource)
    if host is not None:
        row = db.get(Host, host)
        if row is None or "compute" not in (row.groups or []):
            raise BadRequest(f"Compute host {host} could not be found.")
        if host == source:
            if live:
                raise BadRequest(f"Unable to migrate instance ({server.id}) to current host ({host}).")
            raise BadRequest("Cannot migrate to the host where the server exists.")
        candidates = [host]
    else:
        spec = RequestSpec(instance_uuid=server.id, project_id=server.project_id,
                           flavor=dict(server.flavor or {}), ignore_hosts=[source] if source else [],
                           availability_zone=None)
        try:
            got = placement.place(db, {resource.name: need}, {resource.name: "compute"},
                                  {resource.name: spec})[resource.name]
            candidates = [got] if got != source else []
        except placement.NoValidHost:
            candidates = []
        if not candidates:  # a placement that ignores specs may have picked the source
            candidates = [h.name for h in placement.enabled_hosts(db).ranked("compute", tuple(need))
                          if h.name != source]
    for name in candidates:
        try:
            placement.place(db, {resource.name: need}, {resource.name: name})
        except placement.NoValidHost:
            continue
        row = db.get(Host, name)
        if row is not None and row.enabled:
            for cap, amount in need.items():
                db.add(Allocation(consumer_id=server.id, project_id=server.project_id, resource=cap,
                                  amount=amount, host=name))
            return row
    raise BadRequest("No valid host was found. There are not enough hosts available.")


# --- records ----------------------------------------------------------------------------

def _migration(call: ActionCall, kind: str, source: str | None, dest: str | None,
               new_flavor: dict[str, Any] | None = None) -> Migration:
    server = call.server
    old = {**(server.flavor or {}), "id": server.flavor_id}  # the embedded flavor (with its id)
    row = Migration(uuid=str(uuid.uuid4()), server_id=server.id, project_id=server.project_id,
                    user_id=call.ctx.user_id, migration_type=kind, status=PRE_MIGRATING,
                    source_compute=source, dest_compute=dest, old_flavor=old,
                    new_flavor=new_flavor or old)
    call.db.add(row)
    call.db.flush()
    return row


def _started(call: ActionCall, migration: Migration, job: Job, task: str, action: str) -> None:
    server = call.server
    migration.job_id = job.id
    migration.status = RUNNING if migration.migration_type == LIVE_MIGRATION else MIGRATING
    server.system_metadata = {**(server.system_metadata or {}), OLD_VM_STATE: server.vm_state}
    server.task_state = task
    instance_actions.record(call.db, call.ctx, server, action, job.id, req_id=call.request_id)


def pending(db: Session, server_id: str, *statuses: str) -> Migration | None:
    """The server's newest migration in one of ``statuses``."""
    return db.scalars(select(Migration).where(Migration.server_id == server_id,
                                              Migration.status.in_(statuses))
                      .order_by(Migration.id.desc())).first()


def _resource(db: Session, server: Server) -> Resource:
    row = db.get(Resource, server.id)
    if row is None:
        raise Conflict(f"Instance {server.id} has no resource record to act on; it cannot be moved.")
    return row


def _kind(job: Job, kind: str) -> Job:
    """Label an update job with the action it carries out (its settler is found by it)."""
    job.kind = kind
    return job


# --- resize -----------------------------------------------------------------------------

@handles("resize")
def resize(call: ActionCall) -> ActionResult:
    body = _object(call)
    only(body, call.name, {"flavorRef", "OS-DCF:diskConfig"})
    ref = body.get("flavorRef")
    if ref is None:
        bad(call.name, body, "'flavorRef' is a required property")
    if not isinstance(ref, str | int) or isinstance(ref, bool) or str(ref) == "":
        bad("flavorRef", ref, "It must be a flavor id or a link to one.")
    server, db = call.server, call.db
    allow(call)
    states.check(server, "resize", [states.ACTIVE, states.STOPPED], [None], admin=call.ctx.is_admin)
    flavor = _flavor(call, ref)
    if flavor["id"] == server.flavor_id:
        raise BadRequest("When resizing, instances must change flavor!")
    old_disk = int((server.flavor or {}).get("disk") or 0)
    if flavor["disk"] == 0 and old_disk > 0:
        raise BadRequest("Server disk was unable to be resized because: Resize to zero disk "
                         "flavor is not allowed.")
    if flavor["disk"] < old_disk:
        raise BadRequest(f"Server disk was unable to be resized because: the root disk cannot "
                         f"shrink from {old_disk} GB to {flavor['disk']} GB; pick a flavor with a "
                         "disk at least as big.")
    if not getattr(call.settings, "allow_resize_to_same_host", True):
        raise BadRequest("No valid host was found. A resize here stays on the server's host and "
                         "allow_resize_to_same_host is false; set it to true to resize.")
    _resource(db, server)
    migration = _migration(call, RESIZE, server.host, server.host, flavor)
    hold_for_migration(db, server.id, migration)
    try:
        job = submit_update(db, server.id, {"flavor": flavor["id"]}, request_id=call.request_id,
                            context=call.plan)
    except placement.NoValidHost:
        raise BadRequest(f"No valid host was found. Host {server.host} has no room for flavor "
                         f"{flavor['name']} next to the held {server.flavor.get('name', server.flavor_id)} "
                         "(a resize stays on its host until confirmed).") from None
    _started(call, migration, _kind(job, "action:resize"), states.RESIZE_PREP, instance_actions.RESIZE)
    return ActionResult(202)


def _resized(call: ActionCall) -> Migration:
    """The finished move that ``confirmResize``/``revertResize`` settles (Nova's checks)."""
    null_body(call)
    allow(call)
    states.check(call.server, call.name, [states.RESIZED], [None], admin=call.ctx.is_admin)
    migration = pending(call.db, call.server.id, FINISHED)
    if migration is None:
        raise BadRequest("Instance has not been resized.")
    return migration


@handles("confirmResize")
def confirm_resize(call: ActionCall) -> ActionResult:
    server, db = call.server, call.db
    migration = _resized(call)
    drop_migration_hold(db, migration)
    migration.status = CONFIRMED
    server.vm_state = _settled_vm_state(server)
    server.old_flavor = None
    instance_actions.record(db, call.ctx, server, instance_actions.CONFIRM_RESIZE,
                            req_id=call.request_id, finished=True)
    return ActionResult(204)


@handles("revertResize")
def revert_resize(call: ActionCall) -> ActionResult:
    server, db = call.server, call.db
    migration = _resized(call)
    _resource(db, server)
    if migration.migration_type == RESIZE:
        old_id = str((migration.old_flavor or {}).get("id") or "")
        try:
            resolve_flavor(db, old_id, server.project_id, (), admin=True)
        except ResourceCheckFailed:
            raise BadRequest("Flavor used by the instance could not be found.") from None
        drop_migration_hold(db, migration)  # the update takes the old flavor's room anew
        job = _kind(submit_update(db, server.id, {"flavor": old_id}, request_id=call.request_id,
                                  context=call.plan), "action:revertResize")
    else:  # a cold migration goes back to its source
        source = db.get(Host, migration.source_compute or "")
        if source is None:
            raise Conflict(f"Cannot 'revertResize' instance {server.id}: its source host "
                           f"{migration.source_compute} is no longer registered.")
        job = submit_action(db, server.id, "migrate", {"dest_uri": libvirt_uri(source)},
                            project_id=server.project_id, request_id=call.request_id, context=call.plan)
        job.kind = "action:revertResize"
    migration.job_id, migration.status = job.id, REVERTING
    server.task_state = states.RESIZE_REVERTING
    instance_actions.record(db, call.ctx, server, instance_actions.REVERT_RESIZE, job.id,
                            req_id=call.request_id)
    return ActionResult(202)


# --- migrate and live migrate --------------------------------------------------------------

@handles("migrate")
def migrate(call: ActionCall) -> ActionResult:
    allow(call)
    body = _object(call, nullable=True)
    if body:
        if call.version < (2, 56):
            only(body, call.name, set())
        only(body, call.name, {"host"})
    host = body.get("host")
    if host is not None and (not isinstance(host, str) or not host):
        bad("host", host, "It must be a host name.")
    states.check(call.server, "migrate", [states.ACTIVE, states.STOPPED], [None], admin=True)
    return _move(call, MIGRATION, host)


@handles("os-migrateLive")
def migrate_live(call: ActionCall) -> ActionResult:
    allow(call)
    body = _object(call)
    allowed = {"host", "block_migration"}
    if call.version < (2, 25):
        allowed.add("disk_over_commit")
    if (2, 30) <= call.version < (2, 68):
        allowed.add("force")
    only(body, call.name, allowed)
    required = ["block_migration", "host"] + (["disk_over_commit"] if call.version < (2, 25) else [])
    for key in required:
        if key not in body:
            bad(call.name, body, f"'{key}' is a required property")
    _as_bool("block_migration", body["block_migration"], auto=call.version >= (2, 25))
    for key in ("disk_over_commit", "force"):
        if key in body:
            _as_bool(key, body[key])
    host = body["host"]
    if host is not None and (not isinstance(host, str) or not host):
        bad("host", host, "It must be a host name or null.")
    states.check(call.server, "live-migration", [states.ACTIVE, states.PAUSED], [None], admin=True)
    return _move(call, LIVE_MIGRATION, host)


def _move(call: ActionCall, kind: str, host: str | None) -> ActionResult:
    """Migrate (``kind`` migration or live-migration) the call's server to ``host`` or
    the scheduler's pick: the migration row, the capacity on both hosts, the job."""
    server, db = call.server, call.db
    live = kind == LIVE_MIGRATION
    resource = _resource(db, server)
    migration = _migration(call, kind, server.host, None)
    hold_for_migration(db, server.id, migration)
    dest = choose_destination(db, server, resource, host, live=live)
    migration.dest_compute = dest.name
    args: dict[str, Any] = {"dest_uri": libvirt_uri(dest)}
    if live:
        args["live"] = True
        if (dest.vars or {}).get("stratus_live_migration_uri"):
            args["migration_uri"] = dest.vars["stratus_live_migration_uri"]
    job = submit_action(db, server.id, "migrate", args, project_id=server.project_id,
                        request_id=call.request_id, context=call.plan)
    if live:
        _started(call, migration, job, states.MIGRATING, instance_actions.LIVE_MIGRATION)
    else:
        _started(call, migration, job, states.RESIZE_PREP, instance_actions.MIGRATE)
    return ActionResult(202)


@handles("os-resetState")
def reset_state(call: ActionCall) -> ActionResult:
    allow(call)
    body = _object(call)
    only(body, call.name, {"state"})
    if "state" not in body:
        bad(call.name, body, "'state' is a required property")
    state = body["state"]
    if state not in ("active", "error"):
        bad("state", state, f"{state!r} is not one of ['active', 'error']")
    call.server.vm_state, call.server.task_state = state, None
    instance_actions.record(call.db, call.ctx, call.server, "resetState", req_id=call.request_id,
                            finished=True)
    return ActionResult(202)


# --- settlers -------------------------------------------------------------------------------

def _settled_vm_state(server: Server) -> str:
    """ACTIVE or STOPPED, as the server was before the move (Nova's old_vm_state)."""
    old = (server.system_metadata or {}).get(OLD_VM_STATE)
    return states.STOPPED if old == states.STOPPED else states.ACTIVE


def _place(server: Server, resource: Resource, host: str | None) -> None:
    """The server and its resource are on ``host`` now (also the attribute the
    resource-to-server sync reads)."""
    server.host = server.node = host
    resource.hosts = [host] if host else []
    resource.attributes = {**(resource.attributes or {}), "host": host}


@settles("action:resize", "action:migrate", "action:revertResize")
def moved(db: Session, server: Server, resource: Resource, job: Job) -> None:
    """A resize, migration or revert job ended: the server's flavor, host, allocations,
    vm/task state and the migration's status follow what happened."""
    migration = db.scalars(select(Migration).where(Migration.job_id == job.id)).first()
    server.task_state = None
    if migration is None:
        return
    ok = job.status == SUCCEEDED
    old, new = dict(migration.old_flavor or {}), dict(migration.new_flavor or {})
    if migration.status == REVERTING:
        if not ok:
            migration.status, server.vm_state = ERROR, states.ERROR
            server.fault = {"code": 500, "message": f"Revert of the resize failed: {job.status_reason}"}
            return
        if migration.migration_type == MIGRATION:
            give_back(db, server.id, migration)
            _place(server, resource, migration.source_compute)
            resource.status = RESOURCE_ACTIVE
        server.flavor, server.flavor_id = old, str(old.get("id", server.flavor_id))
        server.old_flavor, migration.status = None, REVERTED
        server.vm_state = _settled_vm_state(server)
        return
    if not ok:
        migration.status = ERROR if migration.migration_type != LIVE_MIGRATION else FAILED
        if migration.migration_type == RESIZE:  # the guest may be half-changed: Nova's ERROR
            drop_migration_hold(db, migration)
            server.vm_state = states.ERROR
            server.fault = {"code": 500, "message": f"Resize error: {job.status_reason}"}
        else:  # instance_action migrate leaves (or puts back) the guest on its source
            give_back(db, server.id, migration)
            resource.status = RESOURCE_ACTIVE
            server.vm_state = (server.system_metadata or {}).get(OLD_VM_STATE, server.vm_state)
        return
    if migration.migration_type == LIVE_MIGRATION:
        drop_migration_hold(db, migration)
        _place(server, resource, migration.dest_compute)
        migration.status = COMPLETED
        return
    if migration.migration_type == MIGRATION:
        _place(server, resource, migration.dest_compute)
    else:
        server.flavor, server.old_flavor = new, old
        server.flavor_id = str(new.get("id", server.flavor_id))
    migration.status, server.vm_state = FINISHED, states.RESIZED
