"""The planner: assigns ids, resolves properties and adds up what the template needs
(quota usage per project, capacity per host). ``stratus.orchestration.submit`` records
the plan, its allocations and its job in one DB transaction."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from stratus.orchestration.resources import PlanContext, PlannedResource
from stratus.orchestration.template import Template


@dataclass
class Plan:
    template: Template
    parameters: dict[str, Any]
    order: list[str]
    resources: dict[str, PlannedResource]
    quota_usage: Counter = field(default_factory=Counter)
    host_usage: dict[str, Counter] = field(default_factory=dict)  # resource name -> usage

    @property
    def idempotent(self) -> bool:
        return all(self.template.resources[n].type_class.idempotent for n in self.order)

    @property
    def resource_ids(self) -> dict[str, str]:
        return {n: r.resource_id for n, r in self.resources.items()}


def plan(template: Template, parameters: dict[str, Any] | None = None,
         resource_ids: dict[str, str] | None = None, project_id: str | None = None,
         context: PlanContext | None = None) -> Plan:
    """Plan ``template``; ``resource_ids`` keeps ids of resources that already exist.
    Hosts stay host groups here; ``submit`` places resources on hosts before compiling.
    ``context`` (the controller's settings and keys) reaches every resource's hooks."""
    from stratus.orchestration.compiler import resolve_properties

    ids = resource_ids or {}
    order = template.order()
    p = Plan(
        template=template,
        parameters=template.parameter_values(parameters),
        order=order,
        resources={
            n: PlannedResource(n, template.resources[n].type, ids.get(n) or str(uuid.uuid4()), {},
                               project_id=project_id, context=context)
            for n in order
        },
    )
    resolve_properties(p)
    account(p)
    return p


def account(p: Plan) -> None:
    """Add up the plan's quota usage and per-resource host usage (again after the
    checks, which may record what usage depends on, e.g. a server's flavor)."""
    p.quota_usage, p.host_usage = Counter(), {}
    for name in p.order:
        cls = p.template.resources[name].type_class
        res = p.resources[name]
        p.quota_usage.update(cls.quota_usage(res.properties, res.attributes))
        usage = cls.host_usage(res.properties, res.attributes)
        if usage:
            p.host_usage[name] = Counter(usage)
