"""The compiler: a planned template becomes an Ansible playbook.

- Each resource's tasks run on exactly the hosts it was placed on (``res.hosts``: host
  names once placed; the host group in an offline compile).
- Resources are grouped by dependency level; a level is one play over the union of its
  resources' hosts with the ``free`` strategy, each resource's tasks in a block limited
  to its own hosts, so independent resources on different hosts run in parallel.
- Every value that came from a request or a template is data Ansible never templates:
  it is stored as ``{"__ansible_unsafe": value}`` and written with ``!unsafe``
  (``stratus.jobs.runner``). Only the compiler's own expressions (``functions.Expr``:
  runtime attributes) are templated.
- Every task is named after its resource (``<resource>`` or ``<resource>: <step>``)
  and tagged with it, so the job runner maps ansible-runner's events back to resources.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stratus.orchestration import functions
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.graph import levels
from stratus.orchestration.planner import Plan


class _Context:
    """What ``functions.resolve`` reads from a plan: parameters, ids, attributes (plan-time
    values or run-time ``Expr``), conditions (``plan.conditions``: name → bool, set by the
    planner with ``functions.evaluate_conditions``) and which resources exist."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def param(self, name: str) -> Any:
        try:
            return self.plan.parameters[name]
        except KeyError:
            raise TemplateError(f"the parameter {name!r} has no value", ("parameters", name)) from None

    def resource_id(self, name: str) -> Any:
        return self.plan.resources[name].resource_id

    def condition(self, name: str) -> bool:
        conditions = getattr(self.plan, "conditions", None) or {}
        if name not in conditions:
            raise TemplateError(f"the condition {name!r} is not defined; add it under 'conditions'",
                                ("conditions", name))
        return bool(conditions[name])

    def resource_active(self, name: str) -> bool:
        """Whether the resource is part of the plan (its ``condition`` holds)."""
        return name in self.plan.resources

    def attribute(self, name: str, attr: str | None, keys: list[Any]) -> Any:
        if attr is None:  # get_attr: [name] → every attribute the plan can give
            cls = self.plan.template.resources[name].type_class
            names = sorted(cls.attributes_schema) if cls else []
            out = {}
            for a in names:
                try:
                    out[a] = self.attribute(name, a, [])
                except TemplateError:
                    continue
            return out
        res = self.plan.resources[name]
        if attr in res.attributes:
            value = res.attributes[attr]
            return functions._dig(value, keys, ("resources", name))
        cls = self.plan.template.resources[name].type_class
        expr = cls.runtime_attribute(res, attr, keys) if cls else None
        if expr is None:
            raise TemplateError(f"the attribute {attr!r} of {name!r} is not available", ("resources", name))
        return functions.Expr(expr)


def resolve_properties(plan: Plan) -> None:
    """Resolve every resource's properties in order (functions → values or Expr)."""
    ctx = _Context(plan)
    for name in plan.order:
        res = plan.resources[name]
        cls = plan.template.resources[name].type_class
        props = functions.resolve(plan.template.resources[name].properties, ctx)
        for key, sch in cls.properties_schema.items():
            if props.get(key) is None and sch.default is not None:
                props[key] = sch.default
        res.properties = props
        if not res.placed:
            res.hosts = [cls.host_group(res.properties)]
        res.attributes.update(cls.plan_attributes(res))


def plays_for(steps: Iterable[tuple[str, list[str], list[dict[str, Any]]]], order: list[list[str]] | None = None,
              verb: str = "") -> list[dict[str, Any]]:
    """Plays from ``(resource name, hosts, tasks)``: one play per level of ``order``
    (lists of names that may run together; default: every step alone, in turn)."""
    by_name = {name: (hosts, tasks) for name, hosts, tasks in steps if tasks}
    groups = order if order is not None else [[n] for n in by_name]
    plays: list[dict[str, Any]] = []
    for level in groups:
        names = [n for n in level if n in by_name]
        if not names:
            continue
        union = sorted({h for n in names for h in by_name[n][0]})
        tasks: list[dict[str, Any]] = []
        for n in names:
            hosts, ts = by_name[n]
            if len(names) == 1 or set(hosts) == set(union):
                tasks.extend(ts)
            else:
                tasks.append({"name": n, "block": list(ts),
                              "when": f"inventory_hostname in {sorted(hosts)!r}"})
        play = {"name": f"Stratus: {verb}{', '.join(names)}", "hosts": ":".join(union),
                "gather_facts": False, "tasks": tasks}
        if len(names) > 1:
            play["strategy"] = "free"
        plays.append(play)
    return plays


def compile_plan(plan: Plan) -> list[dict[str, Any]]:
    """The playbook (a list of plays) for creating the plan's resources."""
    deps = {n: plan.template.resources[n].dependencies() for n in plan.order}
    return plays_for(
        ((name, plan.resources[name].hosts,
          plan.template.resources[name].type_class.plan_create(plan.resources[name]))
         for name in plan.order),
        levels(deps),
    )


def compile_outputs(plan: Plan) -> dict[str, Any]:
    return {k: functions.resolve(v.value, _Context(plan)) for k, v in plan.template.outputs.items()}
