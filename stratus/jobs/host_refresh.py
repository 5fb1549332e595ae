"""A job that refreshes hosts' capacity from the hosts themselves: ``hypervisor_info`` on compute
hosts, ``storage_info`` on block storage hosts, run with ansible-runner on the registry's
inventory; what they report is stored with :func:`registry.record_capacity`."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from stratus.db.session import Database
from stratus.hosts import registry
from stratus.jobs import runner


def storage_info_args() -> dict[str, Any]:
    """``storage_info``'s options from the storage host's variables (the ones the volume
    tasks use: ``stratus.orchestration.types.cinder_common.BACKEND``): its ``lvm`` backend
    (``stratus_volume_vg``) and ``file`` backend (``stratus_volume_dir``)."""
    from stratus.orchestration.types.cinder_common import BACKEND

    return {"backends": [{"name": "lvm", "driver": "lvm", "vg": BACKEND["vg"]},
                         {"name": "file", "driver": "file", "directory": BACKEND["directory"]}],
            "lvm_activation": BACKEND["lvm_activation"], "lvm_system_dir": BACKEND["lvm_system_dir"]}


PLAYS = [
    {"name": "Stratus: hypervisor capacity", "hosts": "compute", "gather_facts": False,
     # the host's libvirt URI, as its guests' tasks use it (a host variable, else the system one)
     "tasks": [{"name": "hypervisor", "stratus.cloud.hypervisor_info": {
         "uri": "{{ stratus_libvirt_uri | default('qemu:///system') }}"}}]},
    {"name": "Stratus: storage capacity", "hosts": "block_storage", "gather_facts": False,
     "tasks": [{"name": "storage", "stratus.cloud.storage_info": storage_info_args()}]},
]


def capacity_from(task: str, result: dict[str, Any]) -> dict[str, Any]:
    """The registry's capacity keys from one module's result."""
    if task == "storage":
        backends = {k: v for k, v in (result.get("backends") or {}).items() if v.get("available")}
        return {
            "volume_gb": int(sum(b.get("total_capacity_gb", 0) for b in backends.values())),
            "volume_free_gb": int(sum(b.get("free_capacity_gb", 0) for b in backends.values())),
            "storage_backends": backends,
        }
    hv = result.get("hypervisor", result)
    out = {"hypervisor": hv}
    for key, names in {"vcpus": ("vcpus",), "memory_mb": ("memory_mb", "ram_mb"),
                       "disk_gb": ("disk_gb", "local_gb")}.items():
        for name in names:
            if hv.get(name) is not None:
                out[key] = hv[name]
                break
    return out


def refresh(db: Database, state_dir: Path, plays: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run the info modules on every host of their group; returns {host: report}."""
    with db.session() as s:
        inventory = registry.inventory(s)
    reports: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}

    def on_event(ev: dict[str, Any]) -> bool:
        data = ev.get("event_data", {})
        host, task = data.get("host"), data.get("task")
        if ev.get("event") == "runner_on_ok" and host:
            reports.setdefault(host, {}).update(capacity_from(task, data.get("res") or {}))
        elif ev.get("event") in ("runner_on_failed", "runner_on_unreachable") and host:
            res = data.get("res") or {}
            failures[host] = f"{task}: {res.get('msg', 'failed')}"
        return True

    runner.run_playbook(f"refresh-{uuid.uuid4()}", plays or PLAYS, inventory, state_dir,
                        timeout=600, event_handler=on_event)
    with db.session() as s:
        for host, report in reports.items():
            registry.record_capacity(s, host, report)
    return {"refreshed": reports, "failed": failures}
