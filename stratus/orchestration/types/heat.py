"""``OS::Heat::*``: placeholders and values."""

from __future__ import annotations

import importlib
from typing import Any

from stratus.orchestration.properties import ANY, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType


class NoneResource(ResourceType):
    type_name = "OS::Heat::None"
    description = "Does nothing; accepts any properties (a placeholder, as in Heat)."
    open_properties = True

    @classmethod
    def plan_update(cls, res, prop_diff):
        return []


class ValueResource(ResourceType):
    type_name = "OS::Heat::Value"
    description = "Holds a value, available as the attribute 'value'."
    properties_schema = {"value": Schema(ANY, "The value.", required=True, update_allowed=True)}
    attributes_schema = {"value": "The value of the property 'value'.", "show": "All attributes."}

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        return {"value": res.properties.get("value")}


# OS::Heat::* types kept in modules of their own (each with resource_mapping())
PARTS = ("heat_values", "heat_groups", "heat_stack", "heat_signals", "heat_software")


def resource_mapping():
    mapping = {c.type_name: c for c in (NoneResource, ValueResource)}
    for part in PARTS:
        try:
            module = importlib.import_module(f"stratus.orchestration.types.{part}")
        except ModuleNotFoundError as exc:
            if exc.name != f"stratus.orchestration.types.{part}":
                raise
            continue
        mapping.update(module.resource_mapping())
    return mapping
