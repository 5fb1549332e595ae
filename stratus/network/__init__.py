"""The network service (Neutron v2.0): records, IPAM and the host state they imply.

- ``query``: Neutron's list semantics (filters, fields, sort, pages) for every collection;
- ``networks``, ``segments``, ``subnets``, ``subnetpools``, ``rbac``, ``tags``, ``access``:
  networks and what hangs off them; ``ipam``: fixed IPs, unique per subnet;
- ``ports``: ports (MACs, fixed IPs, binding, security groups, address pairs);
- ``routers``, ``floatingips``, ``router_hosts``: routers, gateways, interfaces, floating IPs;
- ``security_groups``, ``sg_rules``: groups, rules and the rules a port gets on its host;
- ``hostplan``: the host state of networks, ports and routers computed from the records
  (segments on the hosts of their ports, DHCP and routers on network hosts), and the
  tasks and jobs that converge hosts to it.
"""
