"""Cinder's availability zones: the zones of the registry's ``block_storage`` hosts
(host variable ``stratus_storage_availability_zone``, else
``volume_default_availability_zone``). A zone is available while one of its hosts is
enabled and has a backend whose ``cinder-volume`` service is not disabled — the
scheduler could place a volume there."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.hosts import Host
from stratus.volume import scheduler


def storage_hosts(db: Session) -> list[Host]:
    """Every registry host of the block_storage group (enabled or not), by name."""
    return [h for h in db.scalars(select(Host).order_by(Host.name)) if scheduler.GROUP in (h.groups or ())]


def zones(db: Session, settings) -> dict[str, bool]:
    """Zone name → available, in name order."""
    from stratus.volume.services import disabled_backends

    disabled = disabled_backends(db)
    out: dict[str, bool] = {}
    for host in storage_hosts(db):
        zone = scheduler.zone_of(host, settings)
        backends = [b for b, r in ((host.reported or {}).get("storage_backends") or {}).items()
                    if (r or {}).get("available", True)]
        up = host.enabled and any(scheduler.service_host(host.name, b) not in disabled for b in backends)
        out[zone] = out.get(zone, False) or up
    return dict(sorted(out.items()))


def names(db: Session, settings) -> set[str]:
    """The zones a volume may ask for (every zone of a storage host)."""
    return set(zones(db, settings))


def listing(db: Session, settings) -> list[dict[str, Any]]:
    """Cinder's ``availabilityZoneInfo``."""
    return [{"zoneName": name, "zoneState": {"available": up}} for name, up in zones(db, settings).items()]
