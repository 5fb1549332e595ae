"""``OS::Neutron::Router``, ``RouterInterface``, ``FloatingIP`` and
``FloatingIPAssociation``: routers in qrouter- namespaces on a network host.
"""

from __future__ import annotations


def resource_mapping():
    return {}
