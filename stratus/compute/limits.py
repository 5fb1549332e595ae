"""Nova's ``limits``: a project's compute quotas as absolute limits and what it uses
(from ``stratus.quotas``), in Nova's names; rate limits are gone from Nova ([]).

Which names a microversion shows: the network ones (floating IPs, security groups)
only before 2.36, ``maxImageMeta`` before 2.39, the personality ones before 2.57.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stratus import quotas
from stratus.db.models.compute import ServerGroup
from stratus.identity.policy import RuleDefault, register_defaults

register_defaults([
    RuleDefault("os_compute_api:limits", "@", "show the caller's project's limits"),
    RuleDefault("os_compute_api:limits:other_project", "rule:admin_required",
                "show another project's limits (tenant_id)"),
])

# quota resource -> Nova's absolute-limit names; the usage names after them
ABSOLUTE = {
    "ram": ("maxTotalRAMSize",), "instances": ("maxTotalInstances",), "cores": ("maxTotalCores",),
    "key_pairs": ("maxTotalKeypairs",), "metadata_items": ("maxServerMeta", "maxImageMeta"),
    "injected_files": ("maxPersonality",), "injected_file_content_bytes": ("maxPersonalitySize",),
    "server_groups": ("maxServerGroups",), "server_group_members": ("maxServerGroupMembers",),
    # the network service's quotas, shown under Nova's names before 2.36
    "floatingip": ("maxTotalFloatingIps",), "security_group": ("maxSecurityGroups",),
    "security_group_rule": ("maxSecurityGroupRules",),
}
USED = {"ram": "totalRAMUsed", "cores": "totalCoresUsed", "instances": "totalInstancesUsed",
        "server_groups": "totalServerGroupsUsed", "floatingip": "totalFloatingIpsUsed",
        "security_group": "totalSecurityGroupsUsed"}
NETWORK = ("floatingip", "security_group", "security_group_rule")
GONE = {(2, 36): {"maxTotalFloatingIps", "maxSecurityGroups", "maxSecurityGroupRules",
                  "totalFloatingIpsUsed", "totalSecurityGroupsUsed"},
        (2, 39): {"maxImageMeta"},
        (2, 57): {"maxPersonality", "maxPersonalitySize"}}


def absolute(db: Session, project_id: str, version, quota_defaults=None) -> dict[str, int]:
    """The ``absolute`` limits document of ``project_id`` at ``version``."""
    limit = quotas.limits(db, project_id, quota_defaults, "compute")
    limit.update({k: val for k, val in quotas.limits(db, project_id, quota_defaults, "network").items()
                  if k in NETWORK})
    used = quotas.usage(db, project_id)
    used["server_groups"] = db.scalar(select(func.count()).select_from(ServerGroup)
                                      .where(ServerGroup.project_id == project_id))
    out: dict[str, int] = {}
    for resource, names in ABSOLUTE.items():
        for name in names:
            out[name] = limit[resource]
    for resource, name in USED.items():
        out[name] = int(used.get(resource, 0))
    for since, names in GONE.items():
        if version >= since:
            for name in names:
                out.pop(name, None)
    return out
