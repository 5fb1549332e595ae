"""Cinder's ``os-services``, from the host registry: ``cinder-scheduler`` on each
``controller`` host (the controller itself places volumes; with no controller host
registered, the one this controller runs on), ``cinder-volume`` as ``<host>@<backend>``
for each backend a ``block_storage`` host reported (``stratus host refresh``).

A service is ``up`` while its host is in the registry and enabled; ``status`` is
``disabled`` after ``PUT /os-services/disable`` (kept in ``volume_services``). A
disabled cinder-volume takes no new volumes (:mod:`stratus.volume.scheduler` skips it);
its volumes stay usable.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.hosts import Host
from stratus.db.models.volume import VolumeService
from stratus.errors import BadRequest, NotFound
from stratus.identity.policy import RuleDefault, register_defaults
from stratus.volume import scheduler

register_defaults([
    RuleDefault("volume_extension:services:index", "rule:admin_required", "List volume services"),
    RuleDefault("volume_extension:services:update", "rule:admin_required",
                "Enable or disable a volume service"),
])

SCHEDULER = "cinder-scheduler"
VOLUME = "cinder-volume"


@dataclass
class Service:
    binary: str
    host: str
    zone: str
    up: bool
    updated_at: datetime | None
    state: VolumeService | None = None

    @property
    def disabled(self) -> bool:
        return bool(self.state and self.state.disabled)

    def view(self, version) -> dict[str, Any]:
        out: dict[str, Any] = {
            "binary": self.binary, "host": self.host, "zone": self.zone,
            "status": "disabled" if self.disabled else "enabled",
            "state": "up" if self.up else "down",
            "updated_at": _time(self.updated_at),
            "disabled_reason": self.state.disabled_reason if self.disabled else None,
        }
        if self.binary == VOLUME:
            out.update({"replication_status": "disabled", "active_backend_id": None, "frozen": False})
        if version >= (3, 7):
            out["cluster_name"] = None
        return out


def _time(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f") if value else None


def disabled_backends(db: Session) -> set[str]:
    """``host@backend`` of the disabled cinder-volume services."""
    rows = db.scalars(select(VolumeService.host).where(VolumeService.binary == VOLUME,
                                                       VolumeService.disabled.is_(True)))
    return set(rows)


def all_services(db: Session, settings) -> list[Service]:
    states = {(s.host, s.binary): s for s in db.scalars(select(VolumeService))}
    hosts = list(db.scalars(select(Host).order_by(Host.name)))
    out: list[Service] = []
    controllers = [h for h in hosts if "controller" in (h.groups or ())]
    zone = settings.volume_default_availability_zone
    if controllers:
        for h in controllers:
            out.append(Service(SCHEDULER, h.name, zone, bool(h.enabled), h.refreshed_at or h.updated_at,
                               states.get((h.name, SCHEDULER))))
    else:
        name = socket.gethostname()
        out.append(Service(SCHEDULER, name, zone, True, None, states.get((name, SCHEDULER))))
    for h in hosts:
        if scheduler.GROUP not in (h.groups or ()):
            continue
        backends = (h.reported or {}).get("storage_backends") or {}
        for backend in sorted(backends):
            if (backends[backend] or {}).get("available") is False:
                continue
            name = scheduler.service_host(h.name, backend)
            out.append(Service(VOLUME, name, scheduler.zone_of(h, settings), bool(h.enabled),
                               h.refreshed_at or h.updated_at, states.get((name, VOLUME))))
    return out


def listing(db: Session, settings, *, host: str | None = None, binary: str | None = None) -> list[Service]:
    """Services, filtered by host (a storage host's name also matches its ``host@backend``) and binary."""
    out = all_services(db, settings)
    if host:
        out = [s for s in out if s.host == host or s.host.split("@", 1)[0] == host]
    if binary:
        out = [s for s in out if s.binary == binary]
    return out


def set_state(db: Session, settings, action: str, body: Any) -> dict[str, Any]:
    """``enable``, ``disable`` or ``disable-log-reason`` of one service; Cinder's answer."""
    if action not in ("enable", "disable", "disable-log-reason"):
        raise NotFound(f"Unknown action {action!r}: use enable, disable or disable-log-reason.")
    if not isinstance(body, dict):
        raise BadRequest("Invalid request body: give {\"host\": ..., \"binary\": ...}.")
    host, binary = body.get("host"), body.get("binary")
    for field, value in (("host", host), ("binary", binary)):
        if not isinstance(value, str) or not value.strip():
            raise BadRequest(f"Missing required element '{field}' in request body.")
    reason = None
    if action == "disable-log-reason":
        reason = body.get("disabled_reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 255:
            raise BadRequest("Disabled reason contains invalid characters or is too long: give 1 to 255 "
                             "characters.")
    matches = [s for s in all_services(db, settings) if s.host == host and s.binary == binary]
    if not matches:
        raise NotFound(f"Service {host} could not be found (binary {binary}); see `openstack volume service "
                       "list` for the hosts and binaries.")
    row = db.get(VolumeService, (host, binary))
    if row is None:
        row = VolumeService(host=host, binary=binary)
        db.add(row)
    row.disabled = action != "enable"
    row.disabled_reason = reason
    db.flush()
    out: dict[str, Any] = {"host": host, "binary": binary, "status": "disabled" if row.disabled else "enabled",
                           "disabled": row.disabled}
    if reason is not None:
        out["disabled_reason"] = reason
    return out
