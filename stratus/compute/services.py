"""``os-services``: one row per service a registry host runs, by its role — compute
hosts run ``nova-compute``, controllers ``nova-scheduler`` and ``nova-conductor``.

Rows are made when the registry names a host (``stratus host sync``) and read here;
a disabled or forced-down nova-compute takes its host out of scheduling (the
scheduler's ComputeFilter reads these rows). A service is ``up`` while its host is in
the registry, enabled there, and not forced down.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stratus.compute import zones
from stratus.compute.validation import bad, boolean, only, text
from stratus.compute.wire_time import nova_time
from stratus.db.models.compute import AggregateHost, ComputeService, Server
from stratus.db.models.hosts import Host
from stratus.errors import BadRequest, Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults

register_defaults([
    RuleDefault("os_compute_api:os-services:list", "rule:admin_required", "List compute services"),
    RuleDefault("os_compute_api:os-services:update", "rule:admin_required",
                "Enable, disable or force down a compute service"),
    RuleDefault("os_compute_api:os-services:delete", "rule:admin_required", "Delete a compute service"),
])

# binaries each registry role runs
ROLE_BINARIES = {"compute": ("nova-compute",), "controller": ("nova-scheduler", "nova-conductor")}
COMPUTE = "nova-compute"


def ensure_rows(db: Session) -> None:
    """Add the rows of services that registry hosts run and that have none yet."""
    have = set(db.execute(select(ComputeService.host, ComputeService.binary)).all())
    for name, groups in db.execute(select(Host.name, Host.groups)):
        for role, binaries in ROLE_BINARIES.items():
            if role in (groups or ()):
                for binary in binaries:
                    if (name, binary) not in have:
                        _add(db, name, binary)
                        have.add((name, binary))


def _add(db: Session, host: str, binary: str) -> None:
    """Insert one row; a concurrent request that inserted it first wins (savepoint)."""
    try:
        with db.begin_nested():
            db.add(ComputeService(uuid=str(uuid.uuid4()), host=host, binary=binary))
    except IntegrityError:
        pass


def rows(db: Session, host: str | None = None, binary: str | None = None) -> list[ComputeService]:
    ensure_rows(db)
    query = select(ComputeService).order_by(ComputeService.id)
    if host is not None:
        query = query.where(ComputeService.host == host)
    if binary is not None:
        query = query.where(ComputeService.binary == binary)
    return list(db.scalars(query))


def is_up(db: Session, svc: ComputeService) -> bool:
    return up(db.get(Host, svc.host), svc)


def up(host: Host | None, svc: ComputeService) -> bool:
    """A service is up while its host is in the registry, enabled, and it is not forced down."""
    return host is not None and host.enabled and not svc.forced_down


def updated_at(db: Session, svc: ComputeService) -> datetime | None:
    """The last news of the service: its host's last report, else its row's change."""
    host = db.get(Host, svc.host)
    stamps = [t for t in (host.refreshed_at if host else None, svc.updated_at, svc.created_at) if t]
    return max(stamps) if stamps else None


def view(db: Session, svc: ComputeService, version, default_zone: str, host_zones: dict[str, str]) -> dict[str, Any]:
    out = {
        "id": svc.uuid if version >= (2, 53) else svc.id,
        "binary": svc.binary,
        "host": svc.host,
        "zone": zones.service_zone(svc.binary, svc.host, host_zones, default_zone),
        "status": "disabled" if svc.disabled else "enabled",
        "state": "up" if is_up(db, svc) else "down",
        "updated_at": nova_time(updated_at(db, svc)),
        "disabled_reason": svc.disabled_reason,
    }
    if version >= (2, 11):
        out["forced_down"] = svc.forced_down
    return out


def find(db: Session, service_id: str, version) -> ComputeService:
    """The service of ``service_id``: its uuid at 2.53 and later, its integer id before."""
    ensure_rows(db)
    if version >= (2, 53):
        try:
            uuid.UUID(service_id)
        except ValueError:
            raise BadRequest(f"Invalid uuid {service_id}") from None
        svc = db.scalar(select(ComputeService).where(ComputeService.uuid == service_id))
    else:
        if not service_id.isdigit():
            raise BadRequest(f"Service id in request is not valid: {service_id!r} is not an integer "
                             "(ids are uuids from microversion 2.53 on)")
        svc = db.get(ComputeService, int(service_id))
    if svc is None:
        raise NotFound(f"Service {service_id} could not be found.")
    return svc


def _compute_only(svc: ComputeService) -> None:
    if svc.binary != COMPUTE:
        raise BadRequest(f"Updating a {svc.binary} service is not supported. Only nova-compute "
                         "services can be updated.")


def by_host_binary(db: Session, body: Any) -> tuple[ComputeService, dict[str, Any]]:
    """The service a legacy PUT names with ``host`` and ``binary``."""
    if not isinstance(body, dict):
        bad("body", body, "The request body must be an object with 'host' and 'binary'")
    host = text(body, "host", required=True)
    binary = text(body, "binary", required=True)
    got = rows(db, host=host, binary=binary)
    if not got:
        raise NotFound(f"Compute host {host} with binary {binary} could not be found.")
    _compute_only(got[0])
    return got[0], body


def legacy_update(db: Session, action: str, body: Any) -> dict[str, Any]:
    """PUT /os-services/{enable,disable,disable-log-reason,force-down} (before 2.53)."""
    if action not in ("enable", "disable", "disable-log-reason", "force-down"):
        raise NotFound(f"Unknown action {action!r}: use enable, disable, disable-log-reason or force-down.")
    svc, body = by_host_binary(db, body)
    out: dict[str, Any] = {"host": svc.host, "binary": svc.binary}
    if action == "force-down":
        only(body, "body", ("host", "binary", "forced_down"))
        forced = boolean(body, "forced_down")
        if forced is None:
            bad("forced_down", body, "'forced_down' is a required property")
        svc.forced_down = forced
        out["forced_down"] = forced
    elif action == "enable":
        only(body, "body", ("host", "binary"))
        svc.disabled, svc.disabled_reason = False, None
        out["status"] = "enabled"
    else:
        allowed = ("host", "binary", "disabled_reason") if action == "disable-log-reason" else ("host", "binary")
        only(body, "body", allowed)
        reason = text(body, "disabled_reason", required=action == "disable-log-reason")
        svc.disabled, svc.disabled_reason = True, reason
        out["status"] = "disabled"
        if action == "disable-log-reason":
            out["disabled_reason"] = reason
    db.flush()
    return out


def update(db: Session, svc: ComputeService, body: Any) -> ComputeService:
    """PUT /os-services/{uuid} (2.53): ``status``, ``disabled_reason``, ``forced_down``."""
    if not isinstance(body, dict):
        bad("body", body, "The request body must be an object")
    only(body, "body", ("status", "disabled_reason", "forced_down"))
    status = body.get("status")
    if status is not None and status not in ("enabled", "disabled"):
        bad("status", status, "'status' must be 'enabled' or 'disabled'")
    reason = text(body, "disabled_reason")
    forced = boolean(body, "forced_down")
    if status is None and forced is None:
        raise BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.")
    if reason is not None and status != "disabled":
        raise BadRequest("Specifying 'disabled_reason' with status 'enabled' or without 'status' is invalid; "
                         "send \"status\": \"disabled\" with the reason.")
    _compute_only(svc)
    if status is not None:
        svc.disabled = status == "disabled"
        svc.disabled_reason = reason if svc.disabled else None
    if forced is not None:
        svc.forced_down = forced
    db.flush()
    return svc


def remove(db: Session, svc: ComputeService) -> None:
    """Delete a service row: refused for a compute that still hosts servers (as Nova)
    and for a host the registry still has in that role (its row would come back)."""
    if svc.binary == COMPUTE:
        hosting = db.scalar(select(Server.id).where(Server.host == svc.host, Server.deleted.is_(False)).limit(1))
        if hosting is not None:
            raise Conflict("Unable to delete compute service that is hosting instances. Migrate or "
                           "delete the instances first.")
    host = db.get(Host, svc.host)
    roles = [r for r, b in ROLE_BINARIES.items() if svc.binary in b]
    if host is not None and any(r in (host.groups or ()) for r in roles):
        raise Conflict(f"Service {svc.binary} on host {svc.host} is still in the host registry (group "
                       f"{roles[0]!r}); remove the host from the inventory and run 'stratus host sync "
                       "--prune' first, or disable the service instead.")
    if svc.binary == COMPUTE:
        db.execute(delete(AggregateHost).where(AggregateHost.host == svc.host))
    db.delete(svc)
    db.flush()
