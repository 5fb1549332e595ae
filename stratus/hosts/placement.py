"""Placement: pick a host of the resource's group with enough free capacity.

Free capacity = the host's capacity (from ``hypervisor_info``/``storage_info``) minus
the allocations recorded for it. Hosts with no reported capacity are not candidates for
resources that need some. Ties go to the host with the most free capacity (spread).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stratus.db.models.hosts import Host
from stratus.db.models.quotas import Allocation


class NoValidHost(Exception):
    """No enabled host of the group has room (Nova's "No valid host was found")."""


def host_usage(db: Session) -> dict[str, Counter]:
    used: dict[str, Counter] = {}
    rows = db.execute(
        select(Allocation.host, Allocation.resource, func.sum(Allocation.amount))
        .where(Allocation.host.is_not(None))
        .group_by(Allocation.host, Allocation.resource)
    )
    for host, res, n in rows:
        used.setdefault(host, Counter())[res] = int(n or 0)
    return used


def place(db: Session, needs: Mapping[str, Mapping[str, int]], groups: Mapping[str, str]) -> dict[str, str]:
    """{resource name: host name} for every resource in ``needs``."""
    if not needs:
        return {}
    hosts = list(db.scalars(select(Host).where(Host.enabled.is_(True)).order_by(Host.name)))
    used = host_usage(db)
    out: dict[str, str] = {}
    for name, need in needs.items():
        group = groups.get(name, "compute")
        best, best_free = None, None
        for h in hosts:
            if group not in h.groups and group != h.name:
                continue
            free = {k: int(h.capacity.get(k, 0)) - used.get(h.name, Counter())[k] for k in need}
            if all(free[k] >= v for k, v in need.items()):
                score = sum(free.values())
                if best is None or score > best_free:
                    best, best_free = h, score
        if best is None:
            wanted = ", ".join(f"{k}={v}" for k, v in need.items())
            raise NoValidHost(
                f"No valid host was found for {name!r}: no enabled host in group {group!r} has "
                f"{wanted} free; add capacity or run 'stratus host sync' to refresh it"
            )
        out[name] = best.name
        used.setdefault(best.name, Counter()).update(need)
    return out
