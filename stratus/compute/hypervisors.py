"""``os-hypervisors``: the compute hosts of the registry as Nova's compute nodes —
capacity from what ``hypervisor_info`` reported (``stratus host refresh``), use from
the allocations placement recorded, servers from the server rows. A hypervisor's id is
its nova-compute service's (integer before 2.53, uuid from 2.53 on)."""

from __future__ import annotations

import fnmatch
import json
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute import services
from stratus.db.models.compute import ComputeService, Server
from stratus.db.models.hosts import Host
from stratus.errors import BadRequest, NotFound
from stratus.hosts.placement import host_usage
from stratus.identity.policy import RuleDefault, register_defaults

register_defaults([
    RuleDefault(f"os_compute_api:os-hypervisors:{name}", "rule:admin_required", f"Hypervisors: {name}")
    for name in ("list", "list-detail", "statistics", "show", "uptime", "search", "servers")
])

STAT_KEYS = ("count", "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
             "free_ram_mb", "free_disk_gb", "current_workload", "running_vms", "disk_available_least")


@dataclass
class Node:
    """One compute host with what the API shows of it."""

    service: ComputeService
    host: Host | None
    used: Counter
    servers: list[tuple[str, str]]  # (server id, domain name)

    @property
    def name(self) -> str:
        return self.service.host

    def capacity(self, key: str) -> int:
        return int((self.host.capacity if self.host else {}).get(key) or 0)

    @property
    def reported(self) -> dict[str, Any]:
        hv = (self.host.reported if self.host else {}).get("hypervisor")
        return hv if isinstance(hv, dict) else {}


def nodes(db: Session) -> list[Node]:
    """Every nova-compute service's node, in id order."""
    rows = services.rows(db, binary=services.COMPUTE)
    used = host_usage(db)
    by_host: dict[str, list[tuple[str, str]]] = {}
    for sid, host in db.execute(select(Server.id, Server.host).where(Server.deleted.is_(False),
                                                                      Server.host.is_not(None))
                                .order_by(Server.created_at)):
        by_host.setdefault(host, []).append((sid, f"instance-{sid}"))
    hosts = {h.name: h for h in db.scalars(select(Host))}
    return [Node(s, hosts.get(s.host), used.get(s.host, Counter()), by_host.get(s.host, [])) for s in rows]


def ident(node: Node, version) -> int | str:
    return node.service.uuid if version >= (2, 53) else node.service.id


def find(db: Session, hypervisor_id: str, version) -> Node:
    if version >= (2, 53):
        try:
            uuid.UUID(hypervisor_id)
        except ValueError:
            raise BadRequest(f"Invalid uuid {hypervisor_id}") from None
    for node in nodes(db):
        if str(ident(node, version)) == hypervisor_id:
            return node
    raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")


def matching(db: Session, pattern: str) -> list[Node]:
    """Nodes whose host name contains ``pattern`` (Nova's LIKE %pattern%; ``*``/``?``
    wildcards also work); NotFound when none does."""
    glob = pattern if any(c in pattern for c in "*?[") else f"*{pattern}*"
    got = [n for n in nodes(db) if fnmatch.fnmatchcase(n.name, glob)]
    if not got:
        raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
    return got


def _cpu_info(node: Node, version) -> Any:
    model = node.reported.get("cpu_model") or ""
    arch = model.split()[0] if model else ""
    info = {"arch": arch, "model": model, "vendor": "", "features": [],
            "topology": {"sockets": 1, "cores": node.capacity("vcpus"), "threads": 1}}
    return info if version >= (2, 28) else json.dumps(info)


def view(node: Node, version, *, detail: bool, with_servers: bool = False) -> dict[str, Any]:
    svc = node.service
    out: dict[str, Any] = {
        "id": ident(node, version),
        "hypervisor_hostname": node.name,
        "state": "up" if services.up(node.host, svc) else "down",
        "status": "disabled" if svc.disabled else "enabled",
    }
    if detail:
        vcpus, ram, disk = node.capacity("vcpus"), node.capacity("memory_mb"), node.capacity("disk_gb")
        used_cpu, used_ram, used_disk = node.used["vcpus"], node.used["memory_mb"], node.used["disk_gb"]
        out.update({
            "vcpus": vcpus, "memory_mb": ram, "local_gb": disk,
            "vcpus_used": used_cpu, "memory_mb_used": used_ram, "local_gb_used": used_disk,
            "free_ram_mb": ram - used_ram, "free_disk_gb": disk - used_disk,
            "disk_available_least": int(node.reported.get("free_disk_gb", disk - used_disk) or 0),
            "current_workload": 0, "running_vms": len(node.servers),
            "hypervisor_type": "QEMU",
            "hypervisor_version": int(node.reported.get("hypervisor_version") or 0),
            "host_ip": (node.host.vars.get("ansible_host") if node.host else None) or node.name,
            "cpu_info": _cpu_info(node, version),
            "service": {"host": node.name, "id": ident(node, version), "disabled_reason": svc.disabled_reason},
        })
    if with_servers and node.servers:
        out["servers"] = [{"name": name, "uuid": sid} for sid, name in node.servers]
    return out


def statistics(db: Session) -> dict[str, int]:
    out = dict.fromkeys(STAT_KEYS, 0)
    for node in nodes(db):
        doc = view(node, (2, 1), detail=True)
        out["count"] += 1
        for key in STAT_KEYS[1:]:
            out[key] += doc[key]
    return out


def page(items: list[Node], version, limit: int | None, marker: str | None) -> list[Node]:
    """Items after ``marker`` (an id), at most ``limit`` (2.33)."""
    if marker is not None:
        at = [i for i, n in enumerate(items) if str(ident(n, version)) == marker]
        if not at:
            raise BadRequest(f"marker [{marker}] not found")
        items = items[at[0] + 1:]
    if limit is not None:
        items = items[:limit]
    return items
