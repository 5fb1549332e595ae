"""Cinder v3 ``GET /extensions``: the API extensions this volume service has, in
Cinder's shape (alias, name, description, updated, links). The list names only what
the routes serve."""

from __future__ import annotations

from fastapi import APIRouter

from stratus.api.routes.volume._common import VolumeAuth

router = APIRouter(tags=["volume: extensions"])

# alias, name, description, updated (Cinder's own values)
EXTENSIONS = [
    ("os-admin-actions", "AdminActions", "Enable admin actions.", "2012-08-25T00:00:00+00:00"),
    ("os-availability-zone", "AvailabilityZones", "Describe Availability Zones.", "2013-06-27T00:00:00+00:00"),
    ("os-extended-snapshot-attributes", "ExtendedSnapshotAttributes", "Extended SnapshotAttributes support.",
     "2012-06-19T00:00:00+00:00"),
    ("os-quota-sets", "Quotas", "Quota management support.", "2011-08-08T00:00:00+00:00"),
    ("os-services", "Services", "Services support.", "2012-10-28T00:00:00-00:00"),
    ("os-types-extra-specs", "TypesExtraSpecs", "Type extra specs support.", "2011-08-24T00:00:00+00:00"),
    ("os-types-manage", "TypesManage", "Types manage support.", "2011-08-24T00:00:00+00:00"),
    ("os-used-limits", "UsedLimits", "Provide data on limited resources that are being used.",
     "2013-10-03T00:00:00+00:00"),
    ("os-vol-host-attr", "VolumeHostAttribute", "Expose host as an attribute of a volume.",
     "2011-11-03T00:00:00+00:00"),
    ("os-vol-image-meta", "VolumeImageMetadata", "Show image metadata associated with the volume.",
     "2012-12-07T00:00:00+00:00"),
    ("os-vol-tenant-attr", "VolumeTenantAttribute", "Expose the internal project_id as an attribute of a "
     "volume.", "2011-11-03T00:00:00+00:00"),
    ("os-volume-actions", "VolumeActions", "Enable volume actions.", "2012-05-31T00:00:00+00:00"),
    ("os-volume-type-access", "VolumeTypeAccess", "Volume type access support.", "2014-06-26T00:00:00Z"),
    ("qos-specs", "Qos_specs_manage", "QoS specs support.", "2013-08-02T00:00:00+00:00"),
    ("scheduler-stats", "Scheduler_stats", "Scheduler stats support.", "2014-09-07T00:00:00+00:00"),
]


@router.get("/extensions")
def list_extensions(ctx: VolumeAuth):
    return {"extensions": [{"alias": alias, "name": name, "description": desc, "updated": updated, "links": []}
                           for alias, name, desc, updated in EXTENSIONS]}
