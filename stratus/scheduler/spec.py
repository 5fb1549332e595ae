"""What a resource asks of the scheduler beyond capacity (Nova's RequestSpec)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestSpec:
    """Made by a resource type's ``scheduling`` hook (``OS::Nova::Server``) at plan time.

    ``flavor``: {"vcpus", "ram", "disk", "ephemeral", "swap", "extra_specs"} (Nova's
    embedded flavor); ``image_properties``: the image's properties (hw_machine_type,
    hw_architecture, img_hv_type, ...); ``availability_zone``: the zone asked for (None:
    any); ``force_hosts``/``force_nodes``: hosts an admin named ("zone:host" or 2.74's
    ``host``); ``ignore_hosts``: hosts to skip (a migration's source); ``group``: the
    server group hint (its policy and rules are read by the scheduler); ``instance_uuid``
    and ``project_id`` name the server. ``settings``: the controller's settings
    (``res.context.settings`` in the hook: allocation ratios, weigher multipliers,
    enabled filters, default zone); None: their defaults."""

    instance_uuid: str
    project_id: str | None = None
    flavor: dict[str, Any] = field(default_factory=dict)
    image_properties: dict[str, Any] = field(default_factory=dict)
    availability_zone: str | None = None
    force_hosts: list[str] = field(default_factory=list)
    force_nodes: list[str] = field(default_factory=list)
    ignore_hosts: list[str] = field(default_factory=list)
    group_id: str | None = None
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    settings: Any = None
