"""Availability zones as Nova derives them: a compute host's zone is the
``availability_zone`` metadata of an aggregate holding it, else the default zone
(``default_availability_zone``); services that are not nova-compute live in the
internal zone. ``os-availability-zone`` lists the zones that have compute services."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute.wire_time import nova_time
from stratus.db.models.compute import AggregateHost, AggregateMetadata
from stratus.identity.policy import RuleDefault, register_defaults

register_defaults([
    RuleDefault("os_compute_api:os-availability-zone:list", "rule:admin_or_reader", "List availability zones"),
    RuleDefault("os_compute_api:os-availability-zone:detail", "rule:admin_required",
                "List availability zones with their hosts and services"),
])

# Nova's internal_service_availability_zone: where scheduler/conductor services live.
INTERNAL = "internal"
AZ_KEY = "availability_zone"


def host_zones(db: Session) -> dict[str, str]:
    """{host: zone} for every host in an aggregate with a zone (several aggregates of
    one zone: that zone; the aggregate rules refuse a host in two zones)."""
    rows = db.execute(
        select(AggregateHost.host, AggregateMetadata.value)
        .join(AggregateMetadata, AggregateMetadata.aggregate_id == AggregateHost.aggregate_id)
        .where(AggregateMetadata.key == AZ_KEY)
        .order_by(AggregateHost.host, AggregateMetadata.value)
    )
    out: dict[str, list[str]] = {}
    for host, zone in rows:
        if zone not in out.setdefault(host, []):
            out[host].append(zone)
    return {h: ",".join(z) for h, z in out.items()}


def host_zone(db: Session, host: str | None) -> str | None:
    """The availability zone of ``host``'s aggregates (None: it is in the default zone)."""
    if not host:
        return None
    return db.scalar(select(AggregateMetadata.value).join(
        AggregateHost, AggregateHost.aggregate_id == AggregateMetadata.aggregate_id).where(
        AggregateHost.host == host, AggregateMetadata.key == AZ_KEY).limit(1))


def zone_of(db: Session, host: str, default: str) -> str:
    return host_zone(db, host) or default


def service_zone(binary: str, host: str, zones: dict[str, str], default: str) -> str:
    """The zone a service shows: compute services their host's, the others internal."""
    return zones.get(host, default) if binary == "nova-compute" else INTERNAL


def listing(db: Session, default_zone: str, *, detail: bool) -> list[dict[str, Any]]:
    """``availabilityZoneInfo``: zones with an enabled compute service are available,
    zones whose compute services are all disabled are not; ``detail`` adds the hosts
    and their services, and the internal zone of the controller services."""
    from stratus.compute import services

    rows = services.rows(db)
    zones = host_zones(db)
    by_zone: dict[str, dict[str, dict[str, Any]]] = {}
    available: set[str] = set()
    for svc in rows:
        if svc.binary != "nova-compute" and not detail:
            continue
        zone = service_zone(svc.binary, svc.host, zones, default_zone)
        if svc.binary == "nova-compute" and not svc.disabled:
            available.add(zone)
        up = services.is_up(db, svc)
        by_zone.setdefault(zone, {}).setdefault(svc.host, {})[svc.binary] = {
            "available": up and not svc.disabled,
            "active": not svc.disabled,
            "updated_at": nova_time(services.updated_at(db, svc)),
        }
    out = []
    for zone in sorted(by_zone, key=lambda z: (z not in available and z != INTERNAL, z)):
        out.append({
            "zoneName": zone,
            "zoneState": {"available": zone in available or zone == INTERNAL},
            "hosts": by_zone[zone] if detail else None,
        })
    return out
