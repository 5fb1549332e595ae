"""Fill the registry from any Ansible inventory (ansible's own InventoryManager reads
every format: INI, YAML, directories with group_vars, inventory plugins), and give it
back as an inventory the job runner writes for ansible-runner."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.db.models.hosts import Host
from stratus.db.types import utcnow

DEFAULT_INTERPRETER = "/usr/bin/python3"
# Variables Ansible adds itself; they are not the host's connection or role settings.
_MAGIC = {
    "ansible_config_file", "ansible_facts", "ansible_playbook_python", "ansible_version",
    "group_names", "groups", "inventory_dir", "inventory_file", "inventory_hostname",
    "inventory_hostname_short", "playbook_dir", "omit", "ansible_check_mode",
    "ansible_diff_mode", "ansible_forks", "ansible_inventory_sources", "ansible_run_tags",
    "ansible_skip_tags", "ansible_verbosity", "ansible_search_path", "role_names",
    "ansible_collection_name", "ansible_role_names", "ansible_play_role_names",
    "ansible_dependent_role_names", "hostvars", "environment", "vars",
}


def read_inventory(sources: Iterable[str]) -> list[dict[str, Any]]:
    """[{name, groups, vars}] for every host of the inventory ``sources``."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=list(sources))
    variables = VariableManager(loader=loader, inventory=inventory)
    out = []
    for host in inventory.get_hosts():
        hv = variables.get_vars(host=host, include_hostvars=False)
        out.append({
            "name": host.name,
            "groups": sorted(g.name for g in host.get_groups() if g.name not in ("all", "ungrouped")),
            "vars": {k: _plain(v) for k, v in hv.items() if k not in _MAGIC},
        })
    return out


def sync(db: Session, sources: Iterable[str], prune: bool = False) -> dict[str, list[str]]:
    """Create or update hosts from the inventory; ``prune`` removes hosts it lacks."""
    found = read_inventory(sources)
    seen, added, updated = set(), [], []
    for h in found:
        seen.add(h["name"])
        row = db.get(Host, h["name"])
        if row is None:
            db.add(Host(name=h["name"], groups=h["groups"], vars=h["vars"]))
            added.append(h["name"])
        elif row.groups != h["groups"] or row.vars != h["vars"]:
            row.groups, row.vars = h["groups"], h["vars"]
            updated.append(h["name"])
    removed = []
    if prune:
        for row in db.scalars(select(Host)):
            if row.name not in seen:
                db.delete(row)
                removed.append(row.name)
    db.flush()
    return {"added": added, "updated": updated, "removed": removed}


def record_capacity(db: Session, name: str, info: dict[str, Any]) -> Host:
    """Store what ``hypervisor_info`` / ``storage_info`` reported for ``name``.

    Capacity keys the planner uses: ``vcpus``, ``memory_mb``, ``disk_gb`` (compute) and
    ``volume_gb`` (block storage); the rest of the report is kept as ``reported``.
    """
    host = db.get(Host, name)
    if host is None:
        raise LookupError(f"host {name!r} is not in the registry; run 'stratus host sync -i INVENTORY'")
    cap = dict(host.capacity)
    for key in ("vcpus", "memory_mb", "disk_gb", "volume_gb"):
        if key in info and info[key] is not None:
            cap[key] = int(info[key])
    host.capacity = cap
    host.reported = {**host.reported, **_plain(info)}
    host.refreshed_at = utcnow()
    db.flush()
    return host


def resolve(db: Session, pattern: str) -> list[str]:
    """Enabled host names that ``pattern`` names: host names or group names, several
    joined by ':' or ','. Raises LookupError naming what matched nothing."""
    names = [p.strip() for p in pattern.replace(",", ":").split(":") if p.strip()]
    rows = list(db.scalars(select(Host).where(Host.enabled.is_(True)).order_by(Host.name)))
    out: list[str] = []
    for name in names:
        hits = [h.name for h in rows if h.name == name or name in (h.groups or [])]
        if not hits:
            raise LookupError(f"no enabled host or group {name!r} in the host registry "
                              "(run 'stratus host sync -i INVENTORY')")
        out.extend(h for h in hits if h not in out)
    return out


def inventory(db: Session, only: Iterable[str] | None = None) -> dict[str, Any]:
    """The registry as a YAML/JSON inventory (``all`` → hosts with vars, role groups);
    with ``only``, just those hosts (what a job's plays name)."""
    hosts: dict[str, Any] = {}
    children: dict[str, dict[str, Any]] = {}
    query = select(Host).where(Host.enabled.is_(True)).order_by(Host.name)
    if only is not None:
        query = query.where(Host.name.in_(list(only)))
    for row in db.scalars(query):
        hv = dict(row.vars)
        hv.setdefault("ansible_python_interpreter", DEFAULT_INTERPRETER)
        hosts[row.name] = hv
        for g in row.groups:
            children.setdefault(g, {"hosts": {}})["hosts"][row.name] = None
    return {"all": {"hosts": hosts, "children": children}}


def _plain(value: Any) -> Any:
    """Ansible's tagged/unsafe strings and lazy containers → plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)
