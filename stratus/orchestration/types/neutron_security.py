"""``OS::Neutron::SecurityGroup`` and ``SecurityGroupRule``: rules applied to every port
of the group on every host.
"""

from __future__ import annotations


def resource_mapping():
    return {}
