"""The compiler: a planned template becomes an Ansible playbook.

Resources are taken in dependency order; consecutive resources on the same host group
share a play. Every task is named after its resource (``<resource>`` or
``<resource>: <step>``) and tagged with it, so the job runner maps ansible-runner's
events back to resources. Values of ``get_attr`` that are only known when the playbook
runs become Jinja expressions over the registered result of the resource's task.
"""

from __future__ import annotations

from typing import Any

from stratus.orchestration import functions
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.planner import Plan


class _Context:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def param(self, name: str) -> Any:
        return self.plan.parameters[name]

    def resource_id(self, name: str) -> Any:
        return self.plan.resources[name].resource_id

    def attribute(self, name: str, attr: str, keys: list[Any]) -> Any:
        res = self.plan.resources[name]
        if attr in res.attributes:
            value = res.attributes[attr]
            return functions._dig(value, keys, ("resources", name))
        cls = self.plan.template.resources[name].type_class
        expr = cls.runtime_attribute(res, attr, keys) if cls else None
        if expr is None:
            raise TemplateError(f"the attribute {attr!r} of {name!r} is not available", ("resources", name))
        return expr


def resolve_properties(plan: Plan) -> None:
    """Resolve every resource's properties in order (functions → values or Jinja)."""
    ctx = _Context(plan)
    for name in plan.order:
        res = plan.resources[name]
        cls = plan.template.resources[name].type_class
        props = functions.resolve(plan.template.resources[name].properties, ctx)
        for key, sch in cls.properties_schema.items():
            if props.get(key) is None and sch.default is not None:
                props[key] = sch.default
        res.properties = props
        res.hosts = cls.host_group(res.properties)
        res.attributes.update(cls.plan_attributes(res))


def plays_for(steps, verb: str = "") -> list[dict[str, Any]]:
    """Plays from ``(resource name, host group, tasks)`` in order: consecutive steps on
    the same host group share a play."""
    plays: list[dict[str, Any]] = []
    for name, hosts, tasks in steps:
        if not tasks:
            continue
        if plays and plays[-1]["hosts"] == hosts:
            plays[-1]["tasks"].extend(tasks)
            plays[-1]["name"] += f", {name}"
        else:
            plays.append({"name": f"Stratus: {verb}{name}", "hosts": hosts, "gather_facts": False,
                          "tasks": list(tasks)})
    return plays


def compile_plan(plan: Plan) -> list[dict[str, Any]]:
    """The playbook (a list of plays) for creating the plan's resources."""
    return plays_for(
        (name, plan.resources[name].hosts,
         plan.template.resources[name].type_class.plan_create(plan.resources[name]))
        for name in plan.order
    )


def compile_outputs(plan: Plan) -> dict[str, Any]:
    return {k: functions.resolve(v, _Context(plan)) for k, v in plan.template.outputs.items()}
