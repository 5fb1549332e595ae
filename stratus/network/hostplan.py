"""The host state of the network service, computed from its records, and the tasks that
converge hosts to it.

Desired state (``converge``) is a plain dict computed from the DB when a request is
checked (so compiled tasks read no DB, and an offline compile needs none):

- a network's segment (bridge + VXLAN/VLAN/flat uplink) is present on every host with a
  bound port on it (compute ports, the DHCP port, router ports on network hosts) and
  absent from hosts that had it and have none left; VXLAN flood lists name exactly the
  other hosts that have it (their ``stratus_tunnel_ip``);
- a network with a DHCP-enabled subnet has dnsmasq in ``qdhcp-<id>`` on one network host
  (the ``network`` group of the host registry), with a fixed lease for every port;
- a router lives in ``qrouter-<id>`` on one network host, with its interfaces, gateway,
  SNAT, routes and floating IPs (``router_hosts``);
- a bound port is plugged on its host with port security and its security groups' rules
  (``sg_rules``).

Every converge job carries the whole desired state of what it touches (idempotent
modules), so a later job supersedes an earlier one; jobs on a network, router or
security group are serialised by their resource locks.

Contract (other files call these; keep the names):

- ``converge(db, *, networks=(), ports=(), routers=(), security_groups=(), only_host=None)
  -> dict``: the desired state of those objects (ports of the groups included);
  ``only_host`` limits it to one host (a server's own job).
- ``hosts_of(state) -> list[str]``: every host the state touches.
- ``tasks(res, state) -> list[dict]``: the tasks, ordered: segments present → things
  removed (ports, DHCP, routers) → things present (DHCP, routers, ports + security
  groups) → segments removed.
- ``submit(db, *, networks=(), ports=(), routers=(), security_groups=(), request_id=None,
  context=None) -> Job | None``: a converge job for changes that are not a resource's
  own create/update/delete (a port's DHCP lease after a server bound it elsewhere, a
  rule change reaching 200 ports); None when nothing needs to run.
- ``network_hosts(db) -> list[str]``: the enabled hosts of the ``network`` group.
"""

from __future__ import annotations
