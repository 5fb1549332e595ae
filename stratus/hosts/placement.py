"""Placement: pick a host of the resource's group with enough free capacity.

Free capacity = the host's capacity (from ``hypervisor_info``/``storage_info``) minus
the allocations recorded for it. Hosts with no reported capacity are not candidates for
resources that need some. Ties go to the host with the most free capacity (spread).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stratus.db.models.hosts import Host
from stratus.db.models.quotas import Allocation
from stratus.scheduler import selection, view
from stratus.scheduler.spec import RequestSpec
from stratus.scheduler.view import View


class NoValidHost(Exception):
    """No enabled host of the group has room (Nova's "No valid host was found").
    ``detail``: why, for logs and a server's fault details (the message is Nova's
    when the scheduler refused)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


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


@dataclass(frozen=True)
class _Candidate:
    name: str
    groups: frozenset[str]
    capacity: dict[str, int]
    reported: dict[str, Any]


class _Registry:
    """Enabled hosts as placement sees them, with rankings by free capacity per group
    and capacity kinds (made on first use)."""

    def __init__(self, hosts: list[_Candidate]) -> None:
        self.hosts = hosts
        self._ranked: dict[tuple[str, tuple[str, ...]], list[_Candidate]] = {}
        self._members: dict[str, dict[str, _Candidate]] = {}

    def in_group(self, group: str) -> dict[str, _Candidate]:
        """{name: host} of the group (or the one host of that name)."""
        got = self._members.get(group)
        if got is None:
            got = {h.name: h for h in self.hosts if group in h.groups or group == h.name}
            self._members[group] = got
        return got

    def ranked(self, group: str, keys: tuple[str, ...]) -> list[_Candidate]:
        """The group's hosts, most capacity of ``keys`` first (ties: by name)."""
        got = self._ranked.get((group, keys))
        if got is None:
            got = sorted(self.in_group(group).values(), key=lambda h: (-sum(h.capacity.get(k, 0) for k in keys), h.name))
            self._ranked[(group, keys)] = got
        return got


# Per database, read again only when the registry changed (its row count or newest
# update differ): a 10,000-host registry is not decoded and sorted on every request.
_CACHE: dict[str, tuple[tuple, _Registry]] = {}
_CACHE_LOCK = threading.Lock()


def enabled_hosts(db: Session) -> _Registry:
    stamp = tuple(db.execute(select(func.count(Host.name), func.max(Host.updated_at))).one())
    key = str(db.get_bind().url)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
    if hit and hit[0] == stamp:
        return hit[1]
    rows = db.execute(select(Host.name, Host.groups, Host.capacity, Host.reported).where(Host.enabled.is_(True))
                      .order_by(Host.name))
    reg = _Registry([_Candidate(n, frozenset(g or ()), {k: v for k, v in (c or {}).items() if isinstance(v, int)},
                                dict(r or {})) for n, g, c, r in rows])
    with _CACHE_LOCK:
        _CACHE[key] = (stamp, reg)
    return reg


def _best(reg: _Registry, group: str, need: Mapping[str, int], used: dict[str, Counter]) -> _Candidate | None:
    """The host of ``group`` with room for ``need`` and the most of it free (ties: by
    name). Hosts nothing is placed on yet are taken in rank order (the first that fits
    is the best of them); hosts with allocations are scored one by one."""
    keys, wanted = tuple(need), tuple(need.values())
    best, best_key = None, None

    def consider(h: _Candidate, free: list[int]) -> bool:
        """Keep ``h`` if it fits and beats the best so far; whether it fits."""
        nonlocal best, best_key
        if not all(f >= w for f, w in zip(free, wanted, strict=True)):
            return False
        key = (-sum(free), h.name)
        if best_key is None or key < best_key:
            best, best_key = h, key
        return True

    for h in reg.ranked(group, keys):
        if h.name not in used and consider(h, [h.capacity.get(k, 0) for k in keys]):
            break
    by_name = reg.in_group(group)
    for name, u in used.items():
        h = by_name.get(name)
        if h is not None:
            consider(h, [h.capacity.get(k, 0) - u[k] for k in keys])
    return best


def _schedule(db: Session, reg: _Registry, group: str, spec: RequestSpec, need: Mapping[str, int],
              used: dict[str, Counter], views: dict[str, View], specs: Iterable[RequestSpec]) -> str:
    """The scheduler's host for ``spec``; the view of ``group`` is read on first use and
    then follows this request's own placements (``View.consume`` adds them to ``used``)."""
    v = views.get(group)
    if v is None:
        def order(keys: tuple[str, ...]) -> Iterable[str]:
            return (h.name for h in reg.ranked(group, keys))

        v = views[group] = view.build(db, reg.in_group(group), order, used, view.Config.from_settings(spec.settings))
    if spec.group_id and spec.group_id not in v.groups:
        info = view.read_group(db, spec.group_id, exclude=[s.instance_uuid for s in specs])
        if info is not None:
            v.groups[spec.group_id] = info
    try:
        host = selection.select(spec, need, v)
    except selection.NoHostFits as exc:
        raise NoValidHost(str(exc), exc.detail) from None
    v.consume(host, need, spec.group_id)
    return host


def place(db: Session, needs: Mapping[str, Mapping[str, int]], groups: Mapping[str, str],
          specs: Mapping[str, RequestSpec] | None = None) -> dict[str, str]:
    """{resource name: host name} for every resource in ``needs``; a resource with a
    ``stratus.scheduler.spec.RequestSpec`` in ``specs`` is placed by the scheduler's
    filters and weighers."""
    if not needs:
        return {}
    reg = enabled_hosts(db)
    used = host_usage(db)
    specs = specs or {}
    views: dict[str, View] = {}
    out: dict[str, str] = {}
    for name, need in needs.items():
        group = groups.get(name, "compute")
        spec = specs.get(name)
        if spec is not None:
            out[name] = _schedule(db, reg, group, spec, need, used, views, specs.values())
            continue
        best = _best(reg, group, need, used)
        if best is None:
            wanted = ", ".join(f"{k}={v}" for k, v in need.items())
            raise NoValidHost(
                f"No valid host was found for {name!r}: no enabled host in group {group!r} has "
                f"{wanted} free; add capacity or run 'stratus host sync' to refresh it"
            )
        out[name] = best.name
        used.setdefault(best.name, Counter()).update(need)
    return out
