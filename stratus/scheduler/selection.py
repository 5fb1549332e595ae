"""Pick one host for a request: forced hosts (an admin's "zone:host") skip the filters
but not the capacity check; otherwise the hosts with room go through the enabled
filters in order and the survivors are weighed."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from stratus.scheduler import filters, weighers
from stratus.scheduler.spec import RequestSpec
from stratus.scheduler.view import View

log = logging.getLogger(__name__)

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


class NoHostFits(Exception):
    """No host passed; ``detail`` says which filter removed the last ones."""

    def __init__(self, detail: str) -> None:
        super().__init__(NO_VALID_HOST)
        self.detail = detail


def select(spec: RequestSpec, need: Mapping[str, int], view: View) -> str:
    """The name of the best host of ``view`` for ``spec`` needing ``need``; NoHostFits
    (with the per-filter counts in ``detail``, also logged) when none is left."""
    who = f"instance {spec.instance_uuid}"
    forced = [*spec.force_hosts, *spec.force_nodes]
    if forced:
        hosts = [view.hosts[n] for n in dict.fromkeys(forced) if n in view.hosts]
        if not hosts:
            raise _none(who, f"forced host(s) {', '.join(forced)} are not enabled compute hosts")
        steps = [("forced hosts", len(hosts))]
        hosts = [h for h in hosts if filters.has_room(h, need)]
        steps.append(("capacity", len(hosts)))
    else:
        hosts = [h for h in view.hosts.values() if filters.has_room(h, need)]
        steps = [("capacity", len(hosts))]
        for name, check in filters.enabled(view.config.enabled_filters):
            if not hosts:
                break
            hosts = [h for h in hosts if check(h, spec, view)]
            steps.append((name, len(hosts)))
    if not hosts:
        wanted = ", ".join(f"{k}={v}" for k, v in need.items())
        counts = ", ".join(f"{name} returned {n} host(s)" for name, n in steps)
        raise _none(who, f"{len(view.hosts)} candidate host(s) for {wanted}: {counts}")
    weighed = weighers.weigh(hosts, spec, view)
    return weighed[0][1].name


def _none(who: str, detail: str) -> NoHostFits:
    log.info("no valid host for %s: %s", who, detail)
    return NoHostFits(f"{who}: {detail}")
