"""``OS::Cinder::*``: volumes, snapshots and attachments (one module each)."""

from __future__ import annotations

from stratus.orchestration.types import cinder_upload  # noqa: F401 - registers the upload_image action
from stratus.orchestration.types.cinder_attachment import VolumeAttachment
from stratus.orchestration.types.cinder_snapshot import VolumeSnapshot
from stratus.orchestration.types.cinder_volume import Volume


def resource_mapping():
    return {cls.type_name: cls for cls in (Volume, VolumeSnapshot, VolumeAttachment)}
