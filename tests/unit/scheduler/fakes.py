"""A fake scheduler view: hosts made in memory, no database."""

from __future__ import annotations

from collections import Counter
from typing import Any

from stratus.scheduler.view import Config, GroupInfo, HostState, View

CAP = {"vcpus": 8, "memory_mb": 16384, "disk_gb": 100}


def host(name: str, *, capacity: dict | None = None, used: dict | None = None, ratios: dict | None = None,
         zone: str = "nova", aggregates: dict | None = None, disabled: bool = False, forced_down: bool = False,
         reported: dict | None = None) -> HostState:
    return HostState(name, dict(CAP if capacity is None else capacity), Counter(used or {}),
                     ratios or {"vcpus": 1.0, "memory_mb": 1.0, "disk_gb": 1.0}, zone,
                     {k: set(v) for k, v in (aggregates or {}).items()}, disabled, forced_down, reported or {})


def view(*hosts: HostState, filters: tuple[str, ...] | None = None, groups: dict[str, GroupInfo] | None = None,
         max_fresh: int = 1000, **multipliers: Any) -> View:
    base = Config.from_settings(None)
    config = Config(base.ratios, {**base.multipliers, **multipliers},
                    base.enabled_filters if filters is None else filters, base.default_zone, max_fresh)
    return View(config, {h.name: h for h in hosts}, {h.name: h.used for h in hosts}, dict(groups or {}))


def group(gid: str, policy: str, members_on: dict[str, int] | None = None, **rules: Any) -> GroupInfo:
    return GroupInfo(gid, policy, rules, Counter(members_on or {}))
