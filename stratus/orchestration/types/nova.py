"""``OS::Nova::*``: servers (``nova_server``; their actions in ``nova_actions`` and
``nova_moves``), and the compute records templates make: key pairs, flavors and server
groups (``nova_records``)."""

from __future__ import annotations

from stratus.orchestration.types import nova_actions, nova_moves, nova_records  # noqa: F401 - register actions
from stratus.orchestration.types.nova_server import Server


def resource_mapping():
    return {Server.type_name: Server, **nova_records.resource_mapping()}
