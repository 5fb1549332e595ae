"""Quotas per project: limits (admin-set, defaults from settings), usage counted from
allocations, and the check the planner makes before it records a job.

Resource names are the services' own (Nova, Cinder, Neutron), so each API shows its
part of one table: ``SERVICES[service]`` lists the names and their built-in defaults.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stratus.db.locks import write_lock
from stratus.db.models.quotas import Allocation, QuotaLimit

UNLIMITED = -1

# Built-in defaults, as the references ship them; settings.quota_defaults overrides.
SERVICES: dict[str, dict[str, int]] = {
    "compute": {
        "instances": 10, "cores": 20, "ram": 51200, "key_pairs": 100,
        "metadata_items": 128, "injected_files": 5, "injected_file_content_bytes": 10240,
        "injected_file_path_bytes": 255, "server_groups": 10, "server_group_members": 10,
    },
    "volume": {
        "volumes": 10, "gigabytes": 1000, "snapshots": 10, "backups": 10,
        "backup_gigabytes": 1000, "per_volume_gigabytes": -1, "groups": 10,
    },
    # Glance's unified-limit names: counts, and MiB stored / staged. Unlimited unless set.
    "image": {
        "image_count_total": -1, "image_count_uploading": -1, "image_size_total": -1,
        "image_stage_total": -1,
    },
    "network": {
        "network": 100, "subnet": 100, "subnetpool": -1, "port": 500, "router": 10,
        "floatingip": 50, "security_group": 10, "security_group_rule": 100, "rbac_policy": 10,
    },
}
# Limits a request is checked against but that are not counted as a sum of allocations.
NOT_COUNTED = {"metadata_items", "injected_files", "injected_file_content_bytes",
               "injected_file_path_bytes", "server_group_members", "per_volume_gigabytes"}
SERVICE_OF = {name: svc for svc, names in SERVICES.items() for name in names}


class QuotaExceeded(Exception):
    """A request would use more of ``resource`` than the project's limit allows."""

    def __init__(self, project_id: str, overs: dict[str, dict[str, int]]) -> None:
        self.project_id = project_id
        self.overs = overs  # resource -> {"requested", "used", "limit"}
        parts = [
            f"{r} (requested {o['requested']}, used {o['used']} of {o['limit']})"
            for r, o in sorted(overs.items())
        ]
        super().__init__(f"Quota exceeded for {', '.join(parts)} in project {project_id}")

    @property
    def resources(self) -> list[str]:
        return sorted(self.overs)


def defaults(overrides: Mapping[str, int] | None = None, service: str | None = None) -> dict[str, int]:
    out: dict[str, int] = {}
    for svc, names in SERVICES.items():
        if service is None or svc == service:
            out.update(names)
    for k, v in (overrides or {}).items():
        if k in out:
            out[k] = int(v)
    return out


# Services whose limits come from Keystone's unified limits (registered limits and
# project limits of the catalog service of this type), as Glance reads them.
UNIFIED_LIMITS = {"image": "image"}


def limits(db: Session, project_id: str, overrides: Mapping[str, int] | None = None,
           service: str | None = None) -> dict[str, int]:
    """Per resource: the unified limit (project, domain, registered default) for the
    services in UNIFIED_LIMITS, else the project's own quota row, else the defaults
    (``overrides`` = settings.quota_defaults over the built-in ones)."""
    from stratus.identity.limits import effective

    out = defaults(overrides, service)
    for row in db.scalars(select(QuotaLimit).where(QuotaLimit.project_id == project_id)):
        if row.resource in out:
            out[row.resource] = row.hard_limit
    for svc, service_type in UNIFIED_LIMITS.items():
        if service is None or service == svc:
            for name, value in effective(db, service_type, project_id, None).items():
                if SERVICES[svc].get(name) is not None and name in out:
                    out[name] = value
    return out


def usage(db: Session, project_id: str) -> dict[str, int]:
    rows = db.execute(
        select(Allocation.resource, func.sum(Allocation.amount))
        .where(Allocation.project_id == project_id, Allocation.host.is_(None))
        .group_by(Allocation.resource)
    )
    return {r: int(n or 0) for r, n in rows}


def set_limits(db: Session, project_id: str, values: Mapping[str, int]) -> None:
    for resource, limit in values.items():
        if resource not in SERVICE_OF:
            raise KeyError(resource)
        row = db.scalar(select(QuotaLimit).where(QuotaLimit.project_id == project_id,
                                                 QuotaLimit.resource == resource))
        if row is None:
            db.add(QuotaLimit(project_id=project_id, resource=resource, hard_limit=int(limit)))
        else:
            row.hard_limit = int(limit)
    db.flush()


def delete_limits(db: Session, project_id: str, service: str | None = None) -> None:
    for row in db.scalars(select(QuotaLimit).where(QuotaLimit.project_id == project_id)):
        if service is None or SERVICE_OF.get(row.resource) == service:
            db.delete(row)
    db.flush()


def lock_project(db: Session, project_id: str) -> None:
    """Serialise quota checks of one project until the transaction ends."""
    write_lock(db, f"quota:{project_id}")


def check(db: Session, project_id: str, deltas: Mapping[str, int],
          overrides: Mapping[str, int] | None = None) -> None:
    """Raise QuotaExceeded when adding ``deltas`` to the usage passes a limit."""
    wanted = {r: int(n) for r, n in deltas.items() if n and r in SERVICE_OF}
    if not wanted:
        return
    lock_project(db, project_id)
    lim = limits(db, project_id, overrides)
    used = usage(db, project_id)
    overs = {}
    for r, n in wanted.items():
        limit = lim[r]
        if limit == UNLIMITED:
            continue
        base = 0 if r in NOT_COUNTED else used.get(r, 0)
        if base + n > limit:
            overs[r] = {"requested": n, "used": base, "limit": limit}
    if overs:
        raise QuotaExceeded(project_id, overs)


def release(db: Session, consumer_id: str) -> None:
    """Free everything a resource held (on delete)."""
    for row in db.scalars(select(Allocation).where(Allocation.consumer_id == consumer_id)):
        db.delete(row)
    db.flush()
