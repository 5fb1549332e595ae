"""``OS::Cinder::VolumeAttachment``: A volume attached to a server. (being written)."""

from __future__ import annotations

from stratus.orchestration.resources import ResourceType


class VolumeAttachment(ResourceType):
    type_name = "OS::Cinder::VolumeAttachment"
    description = "A volume attached to a server."
