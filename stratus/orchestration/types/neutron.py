"""``OS::Neutron::*``: the mapping of the network service's resource types, one module
per kind: ``neutron_net`` (Net, Subnet), ``neutron_port`` (Port), ``neutron_router``
(Router, RouterInterface, FloatingIP, FloatingIPAssociation) and ``neutron_security``
(SecurityGroup, SecurityGroupRule).

Every type's ``check`` writes or finds its Neutron record (``stratus.network``) and
records the host state it needs (``stratus.network.hostplan.converge``); its
``plan_*`` emit that state as tasks (``hostplan.tasks``). The API and stacks use them
the same way.
"""

from __future__ import annotations

from stratus.orchestration.types import neutron_net, neutron_port, neutron_router, neutron_security


def resource_mapping():
    out = {}
    for module in (neutron_net, neutron_port, neutron_router, neutron_security):
        out.update(module.resource_mapping())
    return out
