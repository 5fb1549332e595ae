"""Cinder's ``limits``: the project's volume quotas as absolute limits and what it uses,
in Cinder's names (rate limits are gone from Cinder: ``[]``). Usage is what the quota
allocations count (``volumes``, ``gigabytes``, ``snapshots``, ``backups``,
``backup_gigabytes``), as the volume services record them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from stratus import quotas
from stratus.identity.policy import RuleDefault, register_defaults

register_defaults([
    RuleDefault("limits_extension:used_limits", "", "Show the used limits with the absolute ones"),
])

# quota resource -> (Cinder's absolute limit name, its usage name)
ABSOLUTE = {
    "volumes": ("maxTotalVolumes", "totalVolumesUsed"),
    "gigabytes": ("maxTotalVolumeGigabytes", "totalGigabytesUsed"),
    "snapshots": ("maxTotalSnapshots", "totalSnapshotsUsed"),
    "backups": ("maxTotalBackups", "totalBackupsUsed"),
    "backup_gigabytes": ("maxTotalBackupGigabytes", "totalBackupGigabytesUsed"),
}


def absolute(db: Session, project_id: str, quota_defaults=None, *, used: bool = True) -> dict[str, int]:
    """The ``absolute`` limits of ``project_id`` (with the used ones when ``used``)."""
    limit = quotas.limits(db, project_id, quota_defaults, "volume")
    usage = quotas.usage(db, project_id) if used else {}
    out: dict[str, int] = {}
    for resource, (max_name, used_name) in ABSOLUTE.items():
        out[max_name] = int(limit[resource])
        if used:
            out[used_name] = int(usage.get(resource, 0))
    return out
