"""``stratus compile`` with a memory: a template compiled against its offline state.

What the state file (``offline_state``) recorded for the stack decides each resource's
tasks, as a stack update would:

- a resource the state does not know (or knows with another type) is created, with a
  new id;
- a recorded resource keeps its id and the attributes it realized (an
  ``OS::Heat::RandomString`` keeps its string) while its properties are unchanged, and
  its create tasks run again (modules are idempotent: a run converges the hosts);
- changed properties update it in place (``plan_update``), or replace it (a new id)
  when the type raises ``UpdateReplace``;
- recorded resources the template dropped, and the old ones of replaced resources, are
  deleted (``plan_delete``) in plays before the rest, in reverse dependency order.

Independent resources share a play (one per dependency level, as the controller's
jobs), and a last play on localhost records what the run realized. Types that need the
controller (``ControllerRecord``: images, flavors, projects...) are refused here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stratus.orchestration import compiler, offline_state, planner
from stratus.orchestration.compiler import plays_for
from stratus.orchestration.errors import ResourceCheckFailed, UpdateReplace
from stratus.orchestration.graph import levels
from stratus.orchestration.offline_state import StackState, normal
from stratus.orchestration.planner import Plan
from stratus.orchestration.resources import (
    ControllerRecord,
    PlannedResource,
    ResourceType,
    get_type,
)
from stratus.orchestration.template import Template


@dataclass
class OfflineCompile:
    """The playbook and what it does to each resource."""

    plan: Plan
    playbook: list[dict[str, Any]]
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{verb}: {_names(names)}" for verb, names in (
            ("create", self.created), ("update", self.updated), ("replace", self.replaced),
            ("keep", self.unchanged), ("delete", self.deleted)) if names]
        return "; ".join(parts) or "nothing to do"


def _names(names: list[str], most: int = 8) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def compile_offline(template: Template, parameters: dict[str, Any] | None, state_path: str | Path,
                    stack: str) -> OfflineCompile:
    """The playbook that brings ``stack`` (as recorded in ``state_path``) to ``template``."""
    state = offline_state.read(state_path, stack)
    ids = {n: r.id for n, r in state.resources.items()
           if n in template.resources and template.resources[n].effective_type == r.type}
    identity = {"name": stack, "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"stratus-offline-stack:{stack}"))}
    while True:
        plan, same = _plan(template, parameters, state, ids, identity)
        _refuse_controller_types(plan)
        steps, out, replaced = [], OfflineCompile(plan, []), []
        for name in plan.order:
            res, cls = plan.resources[name], plan.template.resources[name].type_class
            if name not in ids:
                out.created.append(name)
                steps.append((name, res.hosts, cls.plan_create(res)))
            elif name in same:
                out.unchanged.append(name)
                steps.append((name, res.hosts, cls.plan_create(res)))
            else:
                old = state.resources[name].properties
                new = normal(res.properties)
                diff = {k: res.properties.get(k) for k in set(old) | set(new) if old.get(k) != new.get(k)}
                try:
                    steps.append((name, res.hosts, cls.plan_update(res, diff)))
                    out.updated.append(name)
                except UpdateReplace:
                    replaced.append(name)
        if not replaced:
            break
        for name in replaced:  # plan again: dependents must see the new ids
            ids.pop(name)
    out.replaced = [n for n in out.created if n in state.resources]
    out.created = [n for n in out.created if n not in state.resources]
    gone = [n for n in state.resources if n not in ids or n not in plan.resources]
    out.deleted = [n for n in gone if n not in plan.resources]
    deletes = [(n, r.hosts, _delete_tasks(r)) for n, r in
               sorted(((n, state.resources[n]) for n in gone), key=lambda item: -item[1].position)]
    deps = {n: plan.template.resources[n].dependencies() for n in plan.order}
    record = {
        name: {"id": plan.resources[name].resource_id, "type": plan.resources[name].type, "position": i,
               "hosts": list(plan.resources[name].hosts), "properties": plan.resources[name].properties,
               "attributes": plan.resources[name].attributes}
        for i, name in enumerate(plan.order)
    }
    out.playbook = [
        *plays_for(deletes, verb="delete "),
        *plays_for(steps, levels(deps)),
        offline_state.record_play(state_path, stack, record, compiler.compile_outputs(plan)),
    ]
    return out


def _plan(template: Template, parameters: dict[str, Any] | None, state: StackState,
          ids: dict[str, str], identity: dict[str, str]) -> tuple[Plan, set[str]]:
    """Plan with the recorded ids, then again with the recorded attributes of the
    resources whose properties did not change, until that set is stable (a value kept
    upstream may make a resource downstream unchanged too)."""
    plan = planner.plan(template, parameters, resource_ids=ids, stack=identity)
    seeded: set[str] = set()
    for _ in range(len(plan.order) + 1):
        same = {n for n in ids if n in plan.resources
                and normal(plan.resources[n].properties) == state.resources[n].properties}
        if same == seeded:
            break
        for name in plan.order:
            plan.resources[name].attributes = (dict(state.resources[name].attributes) if name in same else {})
        compiler.resolve_properties(plan)
        seeded = same
    return plan, seeded


OFFLINE_TYPES = "OS::Heat::Value, OS::Heat::RandomString, OS::Heat::TestResource, OS::Heat::None, Stratus::Ansible::Task"


def needs_controller(cls: type[ResourceType]) -> bool:
    """Whether a type's resources live in the controller: a ``ControllerRecord`` (an
    image, a flavor, a project) or a type checked against the controller's database
    (a network's segment, a subnet's addresses, a server's image and flavor)."""
    return issubclass(cls, ControllerRecord) or getattr(cls.check, "__func__", None) is not _BASE_CHECK


_BASE_CHECK = ResourceType.check.__func__


def _refuse_controller_types(plan: Plan) -> None:
    for name in plan.order:
        cls = plan.template.resources[name].type_class
        if not isinstance(cls, type) or not needs_controller(cls):
            continue
        where = ("resources", name, "type")
        if issubclass(cls, ControllerRecord):
            try:
                cls.controller(plan.resources[name])  # its own refusal
            except ResourceCheckFailed as exc:
                raise ResourceCheckFailed(exc.message, where) from exc
        raise ResourceCheckFailed(
            f"{cls.type_name} needs the controller (its records and checks are in the controller's "
            f"database): create the stack through the API (openstack stack create); an offline compile "
            f"makes host-level resources only ({OFFLINE_TYPES})", where)


def _delete_tasks(rec: offline_state.Recorded) -> list[dict[str, Any]]:
    cls = get_type(rec.type)
    if cls is None:
        return []
    res = PlannedResource(rec.name, rec.type, rec.id or str(uuid.uuid4()), dict(rec.properties),
                          hosts=list(rec.hosts), attributes=dict(rec.attributes))
    return cls.plan_delete(res)
