"""``OS::Nova::KeyPair``, ``OS::Nova::Flavor`` and ``OS::Nova::ServerGroup``: compute
records a template makes through the compute service (``stratus.compute``), as
``ControllerRecord`` types."""

from __future__ import annotations


def resource_mapping():
    return {}
