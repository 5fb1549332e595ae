"""Drivers for the networking host side: iproute2, bridges/VXLAN, nftables, dnsmasq.

Plain Python in the shape of Neutron's ``agent/linux``: one class per external tool,
each taking a ``run(argv, data=None) -> (rc, stdout, stderr)`` callable so that tests
can drive them at the argv level and modules can pass ``AnsibleModule.run_command``.
Start with :mod:`.ip_lib`.
"""
