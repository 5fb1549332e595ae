"""The extensions this Neutron API implements: exactly what clients may switch on.

One constant, ``EXTENSIONS`` (alias → (name, description)); ``GET /v2.0/extensions``
lists it and ``/extensions/{alias}`` answers 404 for any other alias. Add an alias only
with the feature it names.
"""

from __future__ import annotations

from typing import Any

UPDATED = "2026-12-01T00:00:00-00:00"

EXTENSIONS: dict[str, tuple[str, str]] = {
    "network": ("Network", "Core networks"),
    "subnet": ("Subnet", "Core subnets"),
    "port": ("Port", "Core ports"),
    "router": ("Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 networks and "
               "gateway-ing to external networks"),
    "external-net": ("Neutron external network", "Adds external network attribute to network resource."),
    "ext-gw-mode": ("Neutron L3 Configurable external gateway mode", "Extension of the router abstraction "
                    "for specifying whether SNAT should occur on the external gateway"),
    "extraroute": ("Neutron Extra Route", "Extra routes configuration for L3 router"),
    "extraroute-atomic": ("Atomically add/remove extra routes", "Edit extra routes of a router on server "
                          "side by atomically adding/removing extra routes"),
    "provider": ("Provider Network", "Expose mapping of virtual networks to physical networks"),
    "binding": ("Port Binding", "Expose port bindings of a virtual port to external application"),
    "security-group": ("security-group", "The security groups extension."),
    "port-security": ("Port Security", "Provides port security"),
    "allowed-address-pairs": ("Allowed Address Pairs", "Provides allowed address pairs"),
    "quotas": ("Quota management support", "Expose functions for quotas management per tenant"),
    "quota_details": ("Quota details management support", "Expose functions for quotas usage statistics "
                      "per project"),
    "standard-attr-description": ("standard-attr-description", "Extension to add descriptions to standard "
                                  "attributes"),
    "standard-attr-revisions": ("Resource revision numbers", "This extension will display the revision "
                                "number of neutron resources."),
    "standard-attr-timestamp": ("Resource timestamps", "Adds created_at and updated_at fields to all "
                                "Neutron resources that have Neutron standard attributes."),
    "standard-attr-tag": ("Tag support for resources with standard attribute: subnet, trunk, router, "
                          "network, policy, subnetpool, port, security_group, floatingip",
                          "Enables to set tag on resources with standard attribute."),
    "subnet_allocation": ("Subnet Allocation", "Enables allocation of subnets from a subnet pool"),
    "default-subnetpools": ("Default Subnetpools", "Provides ability to mark and use a subnetpool as the "
                            "default."),
    "rbac-policies": ("RBAC Policies", "Allows creation and modification of policies that control tenant "
                      "access to resources."),
    "availability_zone": ("Availability Zone", "The availability zone extension."),
    "network_availability_zone": ("Network Availability Zone", "Availability zone support for network."),
    "router_availability_zone": ("Router Availability Zone", "Availability zone support for router."),
    "net-mtu": ("Network MTU", "Provides MTU attribute for a network resource."),
    "net-mtu-writable": ("Network MTU (writable)", "Provides a writable MTU attribute for a network "
                         "resource."),
    "fields": ("Fields", "Lets the user choose which fields a list or show returns."),
    "sorting": ("Sorting support", "Enables sorting of resources."),
    "pagination": ("Pagination support", "Enables pagination of resources."),
    "filter-validation": ("Filter parameters validation", "Provides validation on filter parameters."),
    "project-id": ("project_id field enabled", "Extension that indicates that project_id field is "
                   "enabled."),
    "stateful-security-group": ("Stateful security group", "Indicates if the security group is stateful "
                                "or not"),
}


def view(alias: str) -> dict[str, Any]:
    name, description = EXTENSIONS[alias]
    return {"alias": alias, "name": name, "description": description, "updated": UPDATED, "links": []}
