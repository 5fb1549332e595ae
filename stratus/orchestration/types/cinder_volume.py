"""``OS::Cinder::Volume``: A block-storage volume on a storage host. (being written)."""

from __future__ import annotations

from stratus.orchestration.resources import ResourceType


class Volume(ResourceType):
    type_name = "OS::Cinder::Volume"
    description = "A block-storage volume on a storage host."
