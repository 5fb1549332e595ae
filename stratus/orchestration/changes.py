"""What a stack update changes: the stack's recorded resources (its current flat
template) against the new flat template's plan, resource by resource, as Heat's
``StackUpdate`` decides it:

- ``added``: in the new template only; ``deleted``: recorded only;
- ``replaced``: a new resource (a new id under the same name) is made and the old one
  deleted, because the type changed, the recorded resource FAILED (CREATE_FAILED,
  UPDATE_FAILED, or CHECK_FAILED once marked unhealthy), or a changed property cannot
  change in place (the type's ``check_update_allowed`` raises UpdateReplace);
- ``updated``: changed in place (every changed property is ``update_allowed``);
- ``unchanged``: the same type, properties and dependencies.

Pure: :func:`compute` reads only the plan and the recorded resources given to it (no DB),
so a preview and the update itself decide the same way. It resolves the new properties
in dependency order with the ids and recorded attributes of the resources kept, so a
resource whose ``get_resource`` names a replaced one sees the new id and is updated (or
replaced) in turn.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stratus.orchestration import compiler
from stratus.orchestration.errors import UpdateReplace
from stratus.orchestration.planner import Plan
from stratus.orchestration.resources import PlannedResource
from stratus.orchestration.submit import _jsonable as jsonable

ADDED, DELETED, REPLACED, UPDATED, UNCHANGED = "added", "deleted", "replaced", "updated", "unchanged"
KINDS = (ADDED, DELETED, REPLACED, UNCHANGED, UPDATED)
FAILED_STATUSES = ("ERROR",)  # a resource row's status that Heat shows as <ACTION>_FAILED


@dataclass
class Current:
    """A recorded resource of the stack: as the planner sees it
    (``submit.planned_from``), with its row's status and Heat action and the names it
    depended on when it was made."""

    resource: PlannedResource
    status: str = "ACTIVE"
    action: str | None = None
    depends_on: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.resource.name


@dataclass
class Change:
    """What happens to one resource. ``prop_diff``: the properties that change (new
    values; a removed property maps to None); ``reason``: why it is replaced."""

    name: str
    kind: str
    type: str
    old_id: str | None = None  # the recorded resource (None: added)
    new_id: str | None = None  # the resource after the update (None: deleted)
    prop_diff: dict[str, Any] = field(default_factory=dict)
    reason: str = ""


@dataclass
class Changes:
    plan: Plan  # the new template's plan: kept resources carry their recorded ids
    items: dict[str, Change]  # every name, new template's order first, deleted last
    current: dict[str, Current]

    def names(self, kind: str) -> list[str]:
        return [n for n, c in self.items.items() if c.kind == kind]

    @property
    def made(self) -> list[str]:
        """Names whose (new) resource this update creates: added and replaced."""
        return [n for n, c in self.items.items() if c.kind in (ADDED, REPLACED)]

    @property
    def removed(self) -> list[str]:
        """Names whose recorded resource this update deletes: deleted and replaced."""
        return [n for n, c in self.items.items() if c.kind in (DELETED, REPLACED)]

    def summary(self) -> dict[str, list[str]]:
        return {kind: self.names(kind) for kind in KINDS}


def compute(plan: Plan, current: Mapping[str, Current], *, replace: Iterable[str] = ()) -> Changes:
    """Compare ``plan`` (the new flat template, planned) with ``current`` (the stack's
    recorded resources by name). ``replace``: names to replace whatever their diff says
    (a ``plan_update`` that refused in place). ``plan`` is changed: a kept resource gets
    its recorded id, hosts and attributes, a replaced one a fresh id, and every
    property is resolved again against them."""
    forced = set(replace)
    fresh = {n: plan.resources[n].resource_id for n in plan.order}
    replaced: dict[str, str] = {}
    for name in plan.order:
        cur = current.get(name)
        if cur is not None:
            _keep(plan.resources[name], cur)
    compiler.resolve_properties(plan)
    items: dict[str, Change] = {}
    for name in plan.order:
        res = plan.resources[name]
        cur = current.get(name)
        if cur is None:
            items[name] = Change(name, ADDED, res.type, new_id=res.resource_id)
            continue
        diff = prop_diff(cur.resource.properties, res.properties)
        reason = _replace_reason(plan, name, cur, diff, forced)
        if reason:
            replaced[name] = reason
            _fresh(res, fresh[name] if fresh[name] != cur.resource.resource_id else str(uuid.uuid4()))
            compiler.resolve_properties(plan)  # dependents now see the new id
            items[name] = Change(name, REPLACED, res.type, cur.resource.resource_id, res.resource_id,
                                 diff, reason)
        elif diff or _deps_changed(plan, name, cur):
            items[name] = Change(name, UPDATED, res.type, cur.resource.resource_id, res.resource_id, diff)
        else:
            items[name] = Change(name, UNCHANGED, res.type, cur.resource.resource_id, res.resource_id)
    for name, cur in current.items():
        if name not in plan.resources:
            items[name] = Change(name, DELETED, cur.resource.type, old_id=cur.resource.resource_id)
    return Changes(plan, items, dict(current))


def prop_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The properties whose value differs (recorded values are JSON: compare the new
    ones as recorded), with their new values."""
    new_json = {k: jsonable(v) for k, v in new.items()}
    return {k: new.get(k) for k in sorted(set(old) | set(new_json), key=str)
            if old.get(k) != new_json.get(k)}


def _replace_reason(plan: Plan, name: str, cur: Current, diff: dict[str, Any], forced: set[str]) -> str:
    res = plan.resources[name]
    if name in forced:
        return "its type cannot make the change in place"
    if cur.resource.type != res.type:
        return f"its type changes from {cur.resource.type} to {res.type}"
    if cur.status in FAILED_STATUSES:
        state = f"{cur.action or 'CREATE'}_FAILED"
        return f"it is {state}" + (" (marked unhealthy)" if cur.action == "CHECK" else "")
    if not diff:
        return ""
    cls = plan.template.resources[name].type_class
    try:
        cls.check_update_allowed(res, diff)
        cls.plan_update(res, diff)  # a type may refuse in place there (a value that cannot change)
    except UpdateReplace as exc:
        return f"{', '.join(exc.properties) or 'a property'} cannot change in place"
    except Exception:  # noqa: BLE001 - facts its DB check records are missing: the submit decides
        return ""
    return ""


def _deps_changed(plan: Plan, name: str, cur: Current) -> bool:
    """depends_on changed (only when the recorded dependencies are known)."""
    if not cur.depends_on:
        return False
    return set(plan.template.resources[name].depends_on) != set(cur.depends_on)


def _keep(res: PlannedResource, cur: Current) -> None:
    """The planned resource is the recorded one (its id, place and realized facts)."""
    res.resource_id = cur.resource.resource_id
    if cur.resource.type == res.type:
        res.attributes = dict(cur.resource.attributes)
        res.hosts, res.placed = list(cur.resource.hosts), cur.resource.placed


def _fresh(res: PlannedResource, rid: str) -> None:
    """The planned resource is a new one (a replacement): new id, nothing realized."""
    res.resource_id, res.attributes, res.placed = rid, {}, False
