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

# OS::stack_id of a template planned without a stack (stratus compile / validate)
OFFLINE_STACK_ID = "00000000-0000-0000-0000-000000000000"
REGION = "RegionOne"  # offline; the controller's is settings.region


@dataclass
class Plan:
    template: Template  # as planned: resources/outputs whose condition is false left out
    parameters: dict[str, Any]  # the values, pseudo parameters (OS::stack_name …) included
    order: list[str]
    resources: dict[str, PlannedResource]
    quota_usage: Counter = field(default_factory=Counter)
    host_usage: dict[str, Counter] = field(default_factory=dict)  # resource name -> usage
    conditions: dict[str, bool] = field(default_factory=dict)  # each condition's truth

    @property
    def idempotent(self) -> bool:
        return all(self.template.resources[n].type_class.idempotent for n in self.order)

    @property
    def resource_ids(self) -> dict[str, str]:
        return {n: r.resource_id for n, r in self.resources.items()}


def pseudo_parameters(stack: Any = None, project_id: str | None = None, region: str | None = None) -> dict[str, Any]:
    """``OS::stack_name``, ``OS::stack_id``, ``OS::project_id`` (and their ``AWS::*``
    names) of ``stack`` (an object or mapping with name, id, project_id); offline
    defaults when there is none."""
    def get(key: str) -> Any:
        if stack is None:
            return None
        return stack.get(key) if isinstance(stack, dict) else getattr(stack, key, None)

    name, sid, project = get("name") or "stack", get("id") or OFFLINE_STACK_ID, get("project_id") or project_id or ""
    return {
        "OS::stack_name": name, "OS::stack_id": sid, "OS::project_id": project, "OS::region": region or REGION,
        # CloudFormation's names of the same (Heat's: the stack's ARN-like id, one region)
        "AWS::StackName": name, "AWS::StackId": sid, "AWS::AccountId": project, "AWS::Region": region or REGION,
    }


def plan(template: Template, parameters: dict[str, Any] | None = None,
         resource_ids: dict[str, str] | None = None, project_id: str | None = None,
         context: PlanContext | None = None, *, db=None, ctx=None, stack: Any = None) -> Plan:
    """Plan ``template``; ``resource_ids`` keeps ids of resources that already exist.
    Hosts stay host groups here; ``submit`` places resources on hosts before compiling.
    ``context`` (the controller's settings and keys) reaches every resource's hooks.
    Parameters are checked (custom constraints against ``db`` when given, for ``ctx``
    or ``project_id``); resources whose condition is false are left out; ``stack``
    gives the pseudo parameters."""
    from stratus.orchestration.compiler import resolve_properties

    ids = resource_ids or {}
    if ctx is None and context is not None:  # the caller as the submitting service knows it
        from stratus.orchestration.constraints import Caller

        ctx = Caller(project_id, context.cloud_admin, context.user_id)
    values = template.parameter_values(parameters, db, ctx, project_id=project_id)
    values.update(pseudo_parameters(stack, project_id, getattr(getattr(context, "settings", None), "region", None)))
    planned, conditions = template.for_values(values)
    order = planned.order()
    p = Plan(
        template=planned,
        parameters=values,
        order=order,
        resources={
            n: PlannedResource(n, planned.resources[n].effective_type, ids.get(n) or str(uuid.uuid4()), {},
                               project_id=project_id, context=context)
            for n in order
        },
        conditions=conditions,
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
