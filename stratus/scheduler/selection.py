"""Pick one host for a request: forced hosts (an admin's "zone:host") skip the filters
but not the capacity check; otherwise candidates go through capacity and the enabled
filters in order and the survivors are weighed. Candidates are every host holding
allocations and, as Nova's placement limits its answer (max_placement_results), the
first ``scheduler_max_placement_results`` hosts with nothing allocated that pass, the
roomiest first: a 10,000-host registry is not filtered and weighed host by host."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping

from stratus.scheduler import filters, weighers
from stratus.scheduler.spec import RequestSpec
from stratus.scheduler.view import HostState, View

log = logging.getLogger(__name__)

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


class NoHostFits(Exception):
    """No host passed; ``detail`` says how many hosts each step removed."""

    def __init__(self, detail: str) -> None:
        super().__init__(NO_VALID_HOST)
        self.detail = detail


def select(spec: RequestSpec, need: Mapping[str, int], view: View) -> str:
    """The name of the best host of ``view`` for ``spec`` needing ``need``; NoHostFits
    (with what each step removed in ``detail``, also logged) when none is left."""
    who = f"instance {spec.instance_uuid}"
    wanted = ", ".join(f"{k}={v}" for k, v in need.items())
    forced = [*spec.force_hosts, *spec.force_nodes]
    if forced:
        hosts = [h for n in dict.fromkeys(forced) if (h := view.state(n)) is not None]
        if not hosts:
            raise _none(who, f"forced host(s) {', '.join(forced)} are not enabled compute hosts")
        passed = [h for h in hosts if filters.has_room(h, need)]
        if not passed:
            raise _none(who, f"forced host(s) {', '.join(h.name for h in hosts)}: capacity removed "
                             f"{len(hosts)} for {wanted}")
    else:
        passed, removed, seen = _filtered(spec, need, view)
        if not passed:
            steps = ", ".join(f"{name} removed {n}" for name, n in removed.items() if n)
            raise _none(who, f"{seen} candidate host(s) for {wanted}: {steps or 'none left'}")
    return weighers.weigh(passed, spec, view)[0][1].name


def _filtered(spec: RequestSpec, need: Mapping[str, int], view: View) -> tuple[list[HostState], Counter, int]:
    """(hosts passing capacity and every enabled filter, how many each step removed,
    how many were looked at)."""
    checks = filters.for_request(view.config.enabled_filters, spec, view)
    removed: Counter = Counter({"capacity": 0, **{name: 0 for name, _ in checks}})
    passed: list[HostState] = []
    fresh_passed = seen = 0
    keep = None
    if "AvailabilityZoneFilter" in removed:  # by name first: other zones' hosts are never looked at closely
        def keep(name: str) -> bool:
            if view.zone(name) == spec.availability_zone:
                return True
            nonlocal seen
            seen += 1
            removed["AvailabilityZoneFilter"] += 1
            return False
    for host, fresh in view.scan(tuple(need), keep):
        if fresh and fresh_passed >= view.config.max_fresh:
            break
        seen += 1
        if not filters.has_room(host, need):
            removed["capacity"] += 1
            continue
        for name, check in checks:
            if not check(host, spec, view):
                removed[name] += 1
                break
        else:
            passed.append(host)
            fresh_passed += fresh
    return passed, removed, seen


def _none(who: str, detail: str) -> NoHostFits:
    log.info("no valid host for %s: %s", who, detail)
    return NoHostFits(f"{who}: {detail}")
