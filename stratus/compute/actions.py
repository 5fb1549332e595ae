"""``POST /servers/{id}/action``: the registry of server actions. Each action module
(``stratus.compute.power``, ``.moves``, ...) registers its handlers with
:func:`handles`; the route finds the server, takes the body's one key and calls the
handler with an :class:`ActionCall`; the handler checks the state
(``stratus.compute.states.check``), records the instance action, submits the work and
returns an :class:`ActionResult`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from stratus.db.models.compute import Server
from stratus.identity.context import RequestContext
from stratus.orchestration.resources import PlanContext
from stratus.versions import APIVersion


@dataclass
class ActionCall:
    db: Session
    ctx: RequestContext
    server: Server
    name: str  # the body's key, e.g. "os-stop"
    body: Any  # the value under that key
    version: APIVersion
    plan: PlanContext  # for orchestration.submit_*(..., context=)
    settings: Any
    request_id: str | None = None
    policy: Any = None  # the route's PolicyChecker (``policy.enforce(rule, target)``)


@dataclass
class ActionResult:
    status: int = 202
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[ActionCall], ActionResult]
ACTIONS: dict[str, Handler] = {}
# The modules that register actions (and their settlers, ``stratus.compute.settle``).
ACTION_MODULES = ("stratus.compute.power", "stratus.compute.guest", "stratus.compute.moves",
                  "stratus.compute.snapshots", "stratus.compute.interfaces")


def load() -> dict[str, Handler]:
    """Import every action module (idempotent); the registry."""
    for name in ACTION_MODULES:
        importlib.import_module(name)
    return ACTIONS


def handles(*names: str) -> Callable[[Handler], Handler]:
    """Register ``func(call) -> ActionResult`` for the body keys ``names``."""

    def register(func: Handler) -> Handler:
        for name in names:
            ACTIONS[name] = func
        return func

    return register
