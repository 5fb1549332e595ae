"""``OS::Cinder::VolumeSnapshot``: A snapshot of a volume. (being written)."""

from __future__ import annotations

from stratus.orchestration.resources import ResourceType


class VolumeSnapshot(ResourceType):
    type_name = "OS::Cinder::VolumeSnapshot"
    description = "A snapshot of a volume."
