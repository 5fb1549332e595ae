"""Neutron's records: networks (and their segment allocations), subnets and subnet
pools, ports (fixed IPs, security groups), routers (their ports), floating IPs,
security groups and rules, RBAC policies and tags.

A record's id is the id of its ``OS::Neutron::*`` resource (``resources.id``) when the
pipeline realizes it on hosts (networks, ports, routers, floating IPs, security groups):
the resource row holds what the job realized, this row what Neutron shows. Uniqueness
Neutron relies on is a constraint here, so that two requests can never be given the
same address, MAC, VNI/VLAN id or floating IP, whatever the backend and concurrency:

- ``network_ip_allocations``: one row per (subnet, address);
- ``network_ports``: one MAC per network;
- ``network_segment_allocations``: one (type, physical network, id) per network;
- ``network_floating_ips``: one floating address per external network.

Every Neutron resource has the standard attributes: ``revision_number`` (bumped on each
change), ``created_at``/``updated_at`` and tags (``network_tags``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from stratus.db.base import Base
from stratus.db.types import UTCDateTime, utcnow


class _Standard:
    """Neutron's standard attributes."""

    description: Mapped[str] = mapped_column(Text, default="")
    revision_number: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Network(_Standard, Base):
    __tablename__ = "network_networks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="", index=True)
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    external: Mapped[bool] = mapped_column(Boolean, default=False)  # router:external
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)  # the default external net
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # provider:network_type (local, flat, vlan, vxlan), provider:physical_network,
    # provider:segmentation_id; the allocation row holds the uniqueness
    network_type: Mapped[str] = mapped_column(String(16), default="vxlan")
    physical_network: Mapped[str | None] = mapped_column(String(64))
    segmentation_id: Mapped[int | None] = mapped_column(Integer)
    availability_zone_hints: Mapped[list[str]] = mapped_column(JSON, default=list)
    dns_domain: Mapped[str] = mapped_column(String(255), default="")
    # the hosts its segment was last planned on (stratus.network.hostplan): where a later
    # converge removes it when no port is left there
    segment_hosts: Mapped[list[str]] = mapped_column(JSON, default=list)


class SegmentAllocation(Base):
    """A VNI, VLAN id or flat physical network held by one network. ``physical_network``
    is "" for VXLAN (one VNI space); a flat network holds (flat, physnet, 0)."""

    __tablename__ = "network_segment_allocations"
    __table_args__ = (UniqueConstraint("network_type", "physical_network", "segmentation_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network_type: Mapped[str] = mapped_column(String(16))
    physical_network: Mapped[str] = mapped_column(String(64), default="")
    segmentation_id: Mapped[int] = mapped_column(Integer, default=0)
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="CASCADE"),
                                            index=True)


class SubnetPool(_Standard, Base):
    __tablename__ = "network_subnet_pools"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)  # CIDRs
    default_prefixlen: Mapped[int] = mapped_column(Integer)
    min_prefixlen: Mapped[int] = mapped_column(Integer)
    max_prefixlen: Mapped[int] = mapped_column(Integer)
    default_quota: Mapped[int | None] = mapped_column(Integer)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    address_scope_id: Mapped[str | None] = mapped_column(String(36))


class Subnet(_Standard, Base):
    __tablename__ = "network_subnets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    ip_version: Mapped[int] = mapped_column(Integer)
    cidr: Mapped[str] = mapped_column(String(64))
    gateway_ip: Mapped[str | None] = mapped_column(String(64))
    enable_dhcp: Mapped[bool] = mapped_column(Boolean, default=True)
    ipv6_ra_mode: Mapped[str | None] = mapped_column(String(32))
    ipv6_address_mode: Mapped[str | None] = mapped_column(String(32))
    subnetpool_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_subnet_pools.id", ondelete="RESTRICT"), index=True)
    dns_nameservers: Mapped[list[str]] = mapped_column(JSON, default=list)
    host_routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # destination, nexthop
    allocation_pools: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # start, end


class Port(_Standard, Base):
    __tablename__ = "network_ports"
    __table_args__ = (UniqueConstraint("network_id", "mac_address"),
                      Index("ix_network_ports_device", "device_id", "device_owner"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="CASCADE"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    mac_address: Mapped[str] = mapped_column(String(32))
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")
    device_id: Mapped[str] = mapped_column(String(255), default="")
    # compute:<zone>, network:dhcp, network:router_interface, network:router_gateway,
    # network:floatingip, or what the user set
    device_owner: Mapped[str] = mapped_column(String(255), default="")
    binding_host_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    binding_vif_type: Mapped[str] = mapped_column(String(64), default="unbound")
    binding_vnic_type: Mapped[str] = mapped_column(String(64), default="normal")
    binding_profile: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    binding_vif_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    port_security_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    allowed_address_pairs: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    extra_dhcp_opts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    dns_name: Mapped[str] = mapped_column(String(255), default="")


class IPAllocation(Base):
    """A fixed IP of a port: the (subnet, address) pair is unique, so IPAM can never give
    an address twice (a concurrent request fails its insert and picks again)."""

    __tablename__ = "network_ip_allocations"
    __table_args__ = (UniqueConstraint("subnet_id", "ip_address"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    network_id: Mapped[str] = mapped_column(String(36), index=True)
    subnet_id: Mapped[str] = mapped_column(ForeignKey("network_subnets.id", ondelete="CASCADE"))
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"), index=True)
    ip_address: Mapped[str] = mapped_column(String(64))


class SecurityGroup(_Standard, Base):
    __tablename__ = "network_security_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    stateful: Mapped[bool] = mapped_column(Boolean, default=True)


class DefaultSecurityGroup(Base):
    """The project's ``default`` group, made on first use; the primary key makes two
    concurrent first uses agree on one group."""

    __tablename__ = "network_default_security_groups"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"))


class SecurityGroupRule(_Standard, Base):
    __tablename__ = "network_security_group_rules"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"), index=True)
    remote_group_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(16))  # ingress, egress
    ethertype: Mapped[str] = mapped_column(String(8))  # IPv4, IPv6
    protocol: Mapped[str | None] = mapped_column(String(40))  # name or number, as given
    port_range_min: Mapped[int | None] = mapped_column(Integer)
    port_range_max: Mapped[int | None] = mapped_column(Integer)
    remote_ip_prefix: Mapped[str | None] = mapped_column(String(64))


class PortSecurityGroup(Base):
    __tablename__ = "network_port_security_groups"
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"),
                                         primary_key=True)
    security_group_id: Mapped[str] = mapped_column(
        ForeignKey("network_security_groups.id", ondelete="CASCADE"), primary_key=True, index=True)


class Router(_Standard, Base):
    __tablename__ = "network_routers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    admin_state_up: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="ACTIVE")
    # external_gateway_info: the gateway port (its network and fixed IPs) and SNAT
    gw_port_id: Mapped[str | None] = mapped_column(
        ForeignKey("network_ports.id", ondelete="SET NULL"))
    enable_snat: Mapped[bool] = mapped_column(Boolean, default=True)
    routes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)  # destination, nexthop
    host: Mapped[str | None] = mapped_column(String(255))  # the network host it lives on
    availability_zone_hints: Mapped[list[str]] = mapped_column(JSON, default=list)


class RouterPort(Base):
    """A port the router owns: ``network:router_interface`` (one per attached subnet, or
    a port the user gave) or ``network:router_gateway``."""

    __tablename__ = "network_router_ports"
    router_id: Mapped[str] = mapped_column(ForeignKey("network_routers.id", ondelete="CASCADE"),
                                           primary_key=True)
    port_id: Mapped[str] = mapped_column(ForeignKey("network_ports.id", ondelete="CASCADE"),
                                         primary_key=True)
    port_type: Mapped[str] = mapped_column(String(255))


class FloatingIP(_Standard, Base):
    __tablename__ = "network_floating_ips"
    __table_args__ = (
        UniqueConstraint("floating_network_id", "floating_ip_address", name="uq_network_floating_ips_address"),
        UniqueConstraint("floating_network_id", "fixed_port_id", "fixed_ip_address",
                         name="uq_network_floating_ips_fixed"))
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    floating_network_id: Mapped[str] = mapped_column(ForeignKey("network_networks.id", ondelete="RESTRICT"))
    floating_ip_address: Mapped[str] = mapped_column(String(64))
    # the network:floatingip port that holds the address on the external network
    floating_port_id: Mapped[str | None] = mapped_column(ForeignKey("network_ports.id", ondelete="SET NULL"))
    fixed_port_id: Mapped[str | None] = mapped_column(ForeignKey("network_ports.id", ondelete="SET NULL"),
                                                      index=True)
    fixed_ip_address: Mapped[str | None] = mapped_column(String(64))
    router_id: Mapped[str | None] = mapped_column(ForeignKey("network_routers.id", ondelete="SET NULL"),
                                                  index=True)
    status: Mapped[str] = mapped_column(String(16), default="DOWN")


class RBACPolicy(Base):
    """``network_rbac``: share an object with a project (``*`` = every project)."""

    __tablename__ = "network_rbac_policies"
    __table_args__ = (UniqueConstraint("object_type", "object_id", "target_tenant", "action"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)  # the owner who shares
    object_type: Mapped[str] = mapped_column(String(32))  # network, ...
    object_id: Mapped[str] = mapped_column(String(36), index=True)
    target_tenant: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(32))  # access_as_shared, access_as_external


class Tag(Base):
    """Tags of any Neutron resource (``resource_type``: networks, subnets, ports, ...)."""

    __tablename__ = "network_tags"
    resource_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    resource_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
