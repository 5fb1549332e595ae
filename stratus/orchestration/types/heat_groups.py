"""``OS::Heat::ResourceGroup``, ``OS::Heat::AutoScalingGroup`` and
``OS::Heat::ScalingPolicy``.

The groups are owners of a nested stack (``stratus.orchestration.nested`` makes their
members ``<group>.<n>`` in the flat template and rewrites ``get_attr`` on them); they
run no task of their own. A ScalingPolicy takes signals (Heat's ``alarm_url`` /
``signal_url``): a signal records the group's new size on the group's resource
(``desired_size``) and starts an update of the stack that keeps its template
(``stratus.stacks.update.update(existing=True)``), whose expansion reads that size.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import INTEGER, LIST, MAP, NUMBER, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType
from stratus.orchestration.types.heat_stack import NestedStackOwner

CHANGE, EXACT, PERCENT = "change_in_capacity", "exact_capacity", "percent_change_in_capacity"


class ResourceGroup(NestedStackOwner):
    type_name = "OS::Heat::ResourceGroup"
    description = "count identically configured resources (members 0..count-1, %index% in their definition)."
    properties_schema = {
        "count": Schema(INTEGER, "How many members.", default=1, min_value=0, update_allowed=True),
        "index_var": Schema(STRING, "Text replaced by the member's index in resource_def.", default="%index%"),
        "resource_def": Schema(MAP, "The members' definition: type, properties, metadata.", required=True,
                               update_allowed=True),
        "removal_policies": Schema(LIST, "[{resource_list: [names or ids]}]: members removed first and their "
                                   "names never used again.", update_allowed=True),
        "removal_policies_mode": Schema(STRING, "append: add to the names removed before; update: replace them.",
                                        default="append", allowed_values=("append", "update"),
                                        update_allowed=True),
    }
    # Heat's update_policy keys (accepted; members are created and updated together)
    update_policy_schema = {
        "rolling_update": Schema(MAP, "min_in_service, max_batch_size, pause_time: accepted, not batched."),
        "batch_create": Schema(MAP, "max_batch_size, pause_time: accepted, not batched."),
    }
    attributes_schema = {
        "refs": "The members' references (a list).",
        "refs_map": "Member name -> reference.",
        "attributes": "[group, attributes, <attr>]: that attribute of every member (a list).",
        "removed_rsrc_list": "Names removed by removal_policies.",
        "show": "All attributes.",
    }

    @classmethod
    def has_attribute(cls, name: str) -> bool:
        return True  # any member attribute, resource.<n>[.<attr>] (rewritten by nested.expand)

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        removed = []
        for policy in res.properties.get("removal_policies") or []:
            if isinstance(policy, dict):
                removed.extend(str(n) for n in policy.get("resource_list") or [])
        return {"removed_rsrc_list": removed}


class AutoScalingGroup(NestedStackOwner):
    type_name = "OS::Heat::AutoScalingGroup"
    description = "A group resized between min_size and max_size by ScalingPolicy signals."
    properties_schema = {
        "min_size": Schema(INTEGER, "The fewest members.", required=True, min_value=0, update_allowed=True),
        "max_size": Schema(INTEGER, "The most members.", required=True, min_value=0, update_allowed=True),
        "desired_capacity": Schema(INTEGER, "Members to start with (default: min_size).", update_allowed=True),
        "resource": Schema(MAP, "The members' definition: type, properties, metadata.", required=True,
                           update_allowed=True),
        "cooldown": Schema(NUMBER, "Seconds after a resize during which signals are ignored.",
                           update_allowed=True),
        "rolling_updates": Schema(MAP, "Accepted; members are updated together.", update_allowed=True),
    }
    update_policy_schema = {
        "rolling_update": Schema(MAP, "min_in_service, max_batch_size, pause_time: accepted, not batched."),
    }
    attributes_schema = {
        "current_size": "The number of members.",
        "outputs": "[group, outputs, <attr>]: member name -> that attribute.",
        "outputs_list": "[group, outputs_list, <attr>]: that attribute of every member.",
        "refs": "The members' references (a list).",
        "refs_map": "Member name -> reference.",
        "show": "All attributes.",
    }

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        # what nested.expand compares on the next update: a changed desired_capacity wins
        # over the size scaling made
        return {k: res.properties.get(k) for k in ("min_size", "max_size", "desired_capacity")}


class ScalingPolicy(ResourceType):
    type_name = "OS::Heat::ScalingPolicy"
    description = "Resizes an AutoScalingGroup when signalled (its alarm_url / signal_url)."
    takes_signals = True
    properties_schema = {
        "auto_scaling_group_id": Schema(STRING, "The group (get_resource of an AutoScalingGroup).", required=True),
        "adjustment_type": Schema(STRING, "How scaling_adjustment is read.", required=True,
                                  allowed_values=(CHANGE, EXACT, PERCENT), update_allowed=True),
        "scaling_adjustment": Schema(NUMBER, "Members to add (negative: remove), the size, or a percentage.",
                                     required=True, update_allowed=True),
        "cooldown": Schema(NUMBER, "Seconds after a resize during which signals are ignored.",
                           update_allowed=True),
        "min_adjustment_step": Schema(INTEGER, "The least change a percent_change_in_capacity makes.",
                                      min_value=0, update_allowed=True),
    }
    attributes_schema = {
        "alarm_url": "The URL an alarm posts to (a signal).",
        "signal_url": "The URL that signals the policy.",
        "show": "All attributes.",
    }

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        # the pre-signed URL of the signal route (stratus.stacks.tickets); none offline
        context = res.context
        if context is None or context.keys is None or context.settings is None:
            return {}
        try:
            from stratus.stacks import tickets
        except ImportError:  # the signal route is not part of this controller
            return {}
        url = tickets.presigned_url(context.settings.signal_url, res.project_id, res.resource_id, context.keys)
        return {"alarm_url": url, "signal_url": url}

    @classmethod
    def handle_signal(cls, db, resource, data: dict[str, Any], context) -> None:
        props = resource.properties or {}
        group = _group_row(db, resource, str(props.get("auto_scaling_group_id") or ""))
        if group is None or group.type != AutoScalingGroup.type_name:
            raise ResourceCheckFailed(f"the scaling policy {resource.name} names the group "
                                      f"{props.get('auto_scaling_group_id')!r}, which is not an AutoScalingGroup "
                                      "of its stack", ("resources", resource.name, "properties",
                                                       "auto_scaling_group_id"))
        now = datetime.now(UTC)
        cooldown = float(props.get("cooldown") or group.properties.get("cooldown") or 0)
        last = (resource.attributes or {}).get("last_scaled_at")
        if cooldown and last and (now - datetime.fromisoformat(last)).total_seconds() < cooldown:
            return  # Heat: the signal is ignored while the cooldown lasts
        members = members_of(db, group)
        size = new_size(len(members), props, group.properties)
        if size == len(members) and "desired_size" not in (group.attributes or {}):
            return
        group.attributes = {**(group.attributes or {}), "desired_size": size}
        flag_modified(group, "attributes")
        resource.attributes = {**(resource.attributes or {}), "last_scaled_at": now.isoformat()}
        flag_modified(resource, "attributes")
        _start_update(db, group, context)


def new_size(current: int, policy: dict[str, Any], group: dict[str, Any]) -> int:
    """The group's size after one signal to ``policy`` (Heat's ``_calculate_new_capacity``),
    within the group's min_size..max_size."""
    adjustment = float(policy.get("scaling_adjustment") or 0)
    kind = policy.get("adjustment_type") or CHANGE
    if kind == EXACT:
        size = int(adjustment)
    elif kind == PERCENT:
        delta = current * adjustment / 100.0
        if abs(delta) < 1.0:
            rounded = int(math.ceil(delta) if delta > 0 else math.floor(delta))
        else:
            rounded = int(math.floor(delta) if delta > 0 else math.ceil(delta))
        step = int(policy.get("min_adjustment_step") or 0)
        if step and abs(rounded) < step:
            rounded = step if adjustment > 0 else -step
        size = current + rounded
    else:
        size = current + int(adjustment)
    lo, hi = int(group.get("min_size") or 0), int(group.get("max_size") or 0)
    return max(lo, min(hi, size))


def stack_ids(db, stack_id: str | None) -> list[str]:
    """The ids of the root stack of ``stack_id`` and all its nested stacks."""
    from stratus.db.models.orchestration import Stack
    from stratus.stacks import records

    stack = db.get(Stack, stack_id) if stack_id else None
    if stack is None:
        return []
    todo, out = [records.root(db, stack)], []
    while todo:
        st = todo.pop()
        out.append(st.id)
        todo.extend(db.scalars(select(Stack).where(Stack.parent_id == st.id)))
    return out


def members_of(db, group) -> list:
    """The group's member Resource rows (direct members, not deleted)."""
    from stratus.db.models.jobs import DELETED, Resource

    ids = stack_ids(db, group.stack_id) or [group.stack_id]
    prefix = group.name + "."
    rows = db.scalars(select(Resource).where(Resource.stack_id.in_(ids), Resource.name.startswith(prefix)))
    return [r for r in rows if "." not in r.name[len(prefix):] and r.status != DELETED]


def _group_row(db, policy, ref: str):
    from stratus.db.models.jobs import Resource

    row = db.get(Resource, ref) if ref else None
    if row is not None:
        return row
    ids = stack_ids(db, policy.stack_id) or [policy.stack_id]
    return db.scalars(select(Resource).where(Resource.stack_id.in_(ids), Resource.name == ref)).first()


def _start_update(db, group, context) -> None:
    """Update the group's root stack keeping its template (its expansion reads the size)."""
    from stratus.db.models.orchestration import Stack
    from stratus.identity.context import RequestContext
    from stratus.stacks import records, update

    stack = records.root(db, db.get(Stack, group.stack_id))
    ctx = RequestContext(user_id=stack.user_id or "", user_name="", user_domain_id="", roles=("member",),
                         project_id=stack.project_id)
    update.update(db, ctx, stack, existing=True, settings=getattr(context, "settings", None), context=context)


def resource_mapping():
    return {c.type_name: c for c in (ResourceGroup, AutoScalingGroup, ScalingPolicy)}

