"""Host aggregates (admin): named sets of hosts with metadata; the metadata key
``availability_zone`` makes the aggregate an availability zone. Nova's rules hold: a
host is in at most one zone, a zone is never empty-named nor the internal zone, and a
host's zone does not change under servers that run on it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from stratus.compute import zones
from stratus.compute.validation import bad, only, section, text
from stratus.compute.wire_time import nova_time
from stratus.db.models.compute import (
    Aggregate,
    AggregateHost,
    AggregateMetadata,
    ComputeService,
    Server,
)
from stratus.db.models.hosts import Host
from stratus.errors import BadRequest, Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults

register_defaults([
    RuleDefault(f"os_compute_api:os-aggregates:{name}", "rule:admin_required", f"Host aggregates: {name}")
    for name in ("index", "create", "show", "update", "delete", "add_host", "remove_host", "set_metadata")
])

AZ = zones.AZ_KEY


# --- reading ------------------------------------------------------------------------


def get(db: Session, aggregate_id: str) -> Aggregate:
    agg = db.get(Aggregate, int(aggregate_id)) if str(aggregate_id).isdigit() else None
    if agg is None:
        raise NotFound(f"Aggregate {aggregate_id} could not be found.")
    return agg


def hosts_of(db: Session, agg: Aggregate) -> list[str]:
    return list(db.scalars(select(AggregateHost.host).where(AggregateHost.aggregate_id == agg.id)
                           .order_by(AggregateHost.host)))


def metadata_of(db: Session, agg: Aggregate) -> dict[str, str]:
    return {m.key: m.value for m in db.scalars(
        select(AggregateMetadata).where(AggregateMetadata.aggregate_id == agg.id))}


def listing(db: Session) -> list[Aggregate]:
    return list(db.scalars(select(Aggregate).order_by(Aggregate.id)))


def view(db: Session, agg: Aggregate, version, *, full: bool = True) -> dict[str, Any]:
    """Nova's aggregate document (``full=False``: create's, without hosts and metadata)."""
    meta = metadata_of(db, agg)
    out: dict[str, Any] = {
        "id": agg.id, "name": agg.name, "availability_zone": meta.get(AZ),
        "created_at": nova_time(agg.created_at), "updated_at": nova_time(agg.updated_at),
        "deleted": False, "deleted_at": None,
    }
    if full:
        out["hosts"] = hosts_of(db, agg)
        out["metadata"] = meta
    if version >= (2, 41):
        out["uuid"] = agg.uuid
    return out


# --- rules --------------------------------------------------------------------------


def _zone_name(agg_id: Any, zone: Any, action: str) -> str:
    if not zone or not isinstance(zone, str) or not zone.strip():
        raise BadRequest(f"Cannot {action} aggregate {agg_id}. Reason: Aggregate does not support "
                         "empty named availability zone; give the zone a name or leave it out.")
    if ":" in zone:
        raise BadRequest(f"Cannot {action} aggregate {agg_id}. Reason: availability zone {zone!r} may not "
                         "hold ':' (it separates zone and host in 'zone:host'); choose another name.")
    if zone == zones.INTERNAL:
        raise BadRequest(f"Cannot {action} aggregate {agg_id}. Reason: the availability zone cannot be "
                         f"{zones.INTERNAL!r}, the zone of the controller services; choose another name.")
    return zone


def _check_hosts_zone(db: Session, agg: Aggregate, hosts: list[str], zone: str | None, action: str) -> None:
    """Refuse moving ``hosts`` to ``zone`` (None: out of this aggregate's zone) when one
    is in another aggregate of another zone, or runs servers whose zone would change."""
    current = zones.host_zones(db)
    if zone is not None:
        others = set()
        for host in hosts:
            for other in db.scalars(select(AggregateMetadata.value).join(
                    AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
                    .where(AggregateHost.host == host, AggregateMetadata.key == AZ,
                           AggregateHost.aggregate_id != agg.id)):
                if other != zone:
                    others.add(other)
        if others:
            raise Conflict(f"Cannot {action} aggregate {agg.id}. Reason: One or more hosts already in "
                           f"availability zone(s) {sorted(others)}; a host is in one zone only — take it "
                           "out of the other zone's aggregate first.")
    busy = []
    for host in hosts:
        before = current.get(host)
        after = zone if zone is not None else _zone_without(db, host, agg)
        if before != after and db.scalar(select(Server.id).where(Server.host == host,
                                                                  Server.deleted.is_(False)).limit(1)):
            busy.append(host)
    if busy:
        raise Conflict(f"Cannot {action} aggregate {agg.id}. Reason: One or more hosts contain instances in "
                       f"this zone ({', '.join(busy)}); migrate or delete their servers before changing "
                       "the hosts' availability zone.")


def _zone_without(db: Session, host: str, agg: Aggregate) -> str | None:
    """The zone ``host`` keeps from its other aggregates when it leaves ``agg``'s zone."""
    return db.scalar(select(AggregateMetadata.value).join(
        AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id)
        .where(AggregateHost.host == host, AggregateMetadata.key == AZ,
               AggregateHost.aggregate_id != agg.id).limit(1))


def _name_free(db: Session, name: str, agg: Aggregate | None) -> None:
    other = db.scalar(select(Aggregate).where(Aggregate.name == name))
    if other is not None and other is not agg:
        raise Conflict(f"Aggregate {name} already exists.")


def _set_meta(db: Session, agg: Aggregate, updates: dict[str, str | None]) -> None:
    """Set keys; a None value removes its key."""
    for key, value in updates.items():
        row = db.get(AggregateMetadata, (agg.id, key))
        if value is None:
            if row is not None:
                db.delete(row)
        elif row is None:
            db.add(AggregateMetadata(aggregate_id=agg.id, key=key, value=value))
        else:
            row.value = value
    db.flush()


# --- writing ------------------------------------------------------------------------


def create(db: Session, body: Any) -> Aggregate:
    spec = section(body, "aggregate")
    only(spec, "aggregate", ("name", "availability_zone"))
    name = text(spec, "name", required=True, strip=True)
    zone = text(spec, "availability_zone", nullable=True, strip=True)
    _name_free(db, name, None)
    if zone is not None:
        _zone_name(name, zone, "create")
    agg = Aggregate(uuid=str(uuid.uuid4()), name=name)
    db.add(agg)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict(f"Aggregate {name} already exists.") from None
    if zone:
        _set_meta(db, agg, {AZ: zone})
    return agg


def update(db: Session, agg: Aggregate, body: Any) -> Aggregate:
    spec = section(body, "aggregate")
    only(spec, "aggregate", ("name", "availability_zone"))
    if not spec:
        bad("aggregate", spec, "{} does not have enough properties")
    name = text(spec, "name", strip=True)
    if "availability_zone" in spec:
        zone = text(spec, "availability_zone", nullable=True, strip=True)
        if zone is not None:
            _zone_name(agg.id, zone, "update")
        if zone != metadata_of(db, agg).get(AZ):
            _check_hosts_zone(db, agg, hosts_of(db, agg), zone, "update")
        _set_meta(db, agg, {AZ: zone})
    if name is not None:
        _name_free(db, name, agg)
        agg.name = name
    _touch(db, agg)
    return agg


def set_metadata(db: Session, agg: Aggregate, body: Any) -> Aggregate:
    spec = section(body, "set_metadata")
    only(spec, "set_metadata", ("metadata",))
    meta = section(spec, "metadata")
    updates: dict[str, str | None] = {}
    for key, value in meta.items():
        if not 1 <= len(key) <= 255 or any(ord(c) < 32 for c in key):
            bad("metadata", meta, f"key {key!r} must be 1 to 255 printable characters")
        if value is not None and not isinstance(value, str):
            bad(f"metadata.{key}", value, "a metadata value is a string (or null to remove the key)")
        if value is not None and len(value) > 255:
            bad(f"metadata.{key}", value, "is too long (255 characters at most)")
        updates[key] = value
    if AZ in updates and updates[AZ] is not None:
        _zone_name(agg.id, updates[AZ], "update")
    if AZ in updates and updates[AZ] != metadata_of(db, agg).get(AZ):
        _check_hosts_zone(db, agg, hosts_of(db, agg), updates[AZ], "update")
    _set_meta(db, agg, updates)
    _touch(db, agg)
    return agg


def _compute_host(db: Session, host: str) -> None:
    """A host aggregates may hold: a compute host of the registry (or one with a
    nova-compute service row)."""
    row = db.get(Host, host)
    if row is not None and "compute" in (row.groups or ()):
        return
    if db.scalar(select(ComputeService.id).where(ComputeService.host == host,
                                                 ComputeService.binary == "nova-compute")) is None:
        raise NotFound(f"Compute host {host} could not be found.")


def add_host(db: Session, agg: Aggregate, body: Any) -> Aggregate:
    spec = section(body, "add_host")
    only(spec, "add_host", ("host",))
    host = text(spec, "host", required=True)
    _compute_host(db, host)
    if db.get(AggregateHost, (agg.id, host)) is not None:
        raise Conflict(f"Aggregate {agg.id} already has host {host}.")
    zone = metadata_of(db, agg).get(AZ)
    if zone is not None:
        _check_hosts_zone(db, agg, [host], zone, "add host to")
    db.add(AggregateHost(aggregate_id=agg.id, host=host))
    _touch(db, agg)
    return agg


def remove_host(db: Session, agg: Aggregate, body: Any) -> Aggregate:
    spec = section(body, "remove_host")
    only(spec, "remove_host", ("host",))
    host = text(spec, "host", required=True)
    row = db.get(AggregateHost, (agg.id, host))
    if row is None:
        raise NotFound(f"Cannot remove host {host} in aggregate {agg.id}: the host is not in it.")
    if metadata_of(db, agg).get(AZ) is not None:
        try:
            _check_hosts_zone(db, agg, [host], None, "remove host from")
        except Conflict as exc:
            raise Conflict(f"Cannot remove host {host} in aggregate {agg.id}: {exc.message}") from None
    db.delete(row)
    _touch(db, agg)
    return agg


def remove(db: Session, agg: Aggregate) -> None:
    if hosts_of(db, agg):
        raise BadRequest(f"Cannot remove aggregate {agg.id}. Reason: Host aggregate is not empty; "
                         "remove its hosts first (remove_host).")
    db.execute(delete(AggregateMetadata).where(AggregateMetadata.aggregate_id == agg.id))
    db.delete(agg)
    db.flush()


def _touch(db: Session, agg: Aggregate) -> None:
    from stratus.db.types import utcnow

    agg.updated_at = utcnow()
    db.flush()
