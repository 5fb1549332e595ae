"""A registry of a resource type's named actions: ``func(res, args) -> tasks`` by name,
with the help text the type's ``actions`` shows. Modules of one namespace register
theirs with the decorator (``@SERVER_ACTIONS("reboot", "...")``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stratus.orchestration.resources import PlannedResource

Planner = Callable[[PlannedResource, dict[str, Any]], list[dict[str, Any]]]


class Actions:
    def __init__(self) -> None:
        self.help: dict[str, str] = {}  # the type's ``actions``
        self.planners: dict[str, Planner] = {}

    def __call__(self, name: str, help_text: str) -> Callable[[Planner], Planner]:
        """Register ``func(res, args) -> tasks`` as the action ``name``."""

        def register(func: Planner) -> Planner:
            self.help[name] = help_text
            self.planners[name] = func
            return func

        return register

    def plan(self, res: PlannedResource, action: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        """The tasks of ``action`` (KeyError when there is no such action)."""
        return self.planners[action](res, args)
