"""Resource types: one class per template type, registered by its type name.

Like Heat's ``resource_mapping()``: each class declares ``properties_schema`` and
``attributes_schema`` and turns itself into Ansible tasks (``plan_create``). The
planner asks it for quota usage and host placement (``quota_usage``, ``placement``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from stratus.orchestration.properties import ANY, MAP, STRING, Schema

_REGISTRY: dict[str, type[ResourceType]] = {}


def register(cls: type[ResourceType]) -> type[ResourceType]:
    _REGISTRY[cls.type_name] = cls
    return cls


def get_type(name: str) -> type[ResourceType] | None:
    return _REGISTRY.get(name)


def registered_types() -> list[str]:
    return sorted(_REGISTRY)


def register_var(resource_name: str) -> str:
    """The Ansible variable a resource's task result is registered in."""
    return "stratus_" + re.sub(r"[^0-9A-Za-z_]", "_", resource_name)


@dataclass
class PlannedResource:
    """One resource after planning: id assigned, properties resolved where possible."""

    name: str
    type: str
    resource_id: str
    properties: dict[str, Any]
    hosts: str = "controller"
    attributes: dict[str, Any] = field(default_factory=dict)  # known at plan time


class ResourceType:
    type_name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    properties_schema: ClassVar[dict[str, Schema]] = {}
    attributes_schema: ClassVar[dict[str, str]] = {"show": "All attributes of the resource."}
    open_properties: ClassVar[bool] = False
    # A playbook that can run again without harm: a restarted controller may re-queue it.
    idempotent: ClassVar[bool] = True

    @classmethod
    def has_attribute(cls, name: str) -> bool:
        return name in cls.attributes_schema

    # Planner hooks -------------------------------------------------------------------
    @classmethod
    def quota_usage(cls, props: dict[str, Any]) -> dict[str, int]:
        """Quota resources this resource consumes, e.g. {"instances": 1, "cores": 2}."""
        return {}

    @classmethod
    def host_usage(cls, props: dict[str, Any]) -> dict[str, int]:
        """Host capacity this resource consumes (vcpus, memory_mb, disk_gb)."""
        return {}

    @classmethod
    def host_group(cls, props: dict[str, Any]) -> str:
        return "controller"

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        """Attributes known before anything runs (ids, values)."""
        return {}

    @classmethod
    def runtime_attribute(cls, res: PlannedResource, attr: str, keys: list[Any]) -> str | None:
        """A Jinja expression yielding the attribute when the playbook runs."""
        return None

    @classmethod
    def realize(cls, result: dict[str, Any]) -> dict[str, Any]:
        """Attributes to record from the result of the resource's task when it ran."""
        return {}

    @classmethod
    def on_state(cls, db, resource) -> None:
        """Called by the job worker in its transaction whenever ``resource`` (a
        ``stratus.db.models.jobs.Resource`` row) changes status or attributes, so a
        service can keep its own records (a server's status, a port's binding) in step."""

    # Compiler hook --------------------------------------------------------------------
    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        """The Ansible tasks that create the resource (names start with the resource name)."""
        return []

    @classmethod
    def plan_delete(cls, res: PlannedResource) -> list[dict[str, Any]]:
        """The Ansible tasks that remove the resource (idempotent: gone already is fine)."""
        return []


@register
class NoneResource(ResourceType):
    type_name = "OS::Heat::None"
    description = "Does nothing; accepts any properties (a placeholder, as in Heat)."
    open_properties = True


@register
class ValueResource(ResourceType):
    type_name = "OS::Heat::Value"
    description = "Holds a value, available as the attribute 'value'."
    properties_schema = {"value": Schema(ANY, "The value.", required=True, update_allowed=True)}
    attributes_schema = {"value": "The value of the property 'value'.", "show": "All attributes."}

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        return {"value": res.properties.get("value")}


@register
class AnsibleTask(ResourceType):
    type_name = "Stratus::Ansible::Task"
    description = (
        "Runs one Ansible module with arguments on a host group. Its attributes are the "
        "module's result: get_attr [name, result, key...] or [name, changed]."
    )
    properties_schema = {
        "module": Schema(STRING, "Fully qualified module name, e.g. ansible.builtin.copy.", required=True),
        "args": Schema(MAP, "The module's arguments.", default={}, update_allowed=True),
        "hosts": Schema(STRING, "Host group (or pattern) the task runs on.", default="controller"),
    }
    attributes_schema = {
        "result": "The module's result (a mapping); follow with keys to pick a value.",
        "changed": "Whether the module changed something.",
        "show": "The module's result.",
    }

    @classmethod
    def host_group(cls, props: dict[str, Any]) -> str:
        return props.get("hosts") or "controller"

    @classmethod
    def realize(cls, result: dict[str, Any]) -> dict[str, Any]:
        return {"result": result, "changed": bool(result.get("changed"))}

    @classmethod
    def runtime_attribute(cls, res: PlannedResource, attr: str, keys: list[Any]) -> str | None:
        expr = f"hostvars[groups[{res.hosts!r}][0]][{register_var(res.name)!r}]"
        if attr == "changed":
            expr += "['changed']"
        for key in keys:
            expr += f"[{key!r}]" if not isinstance(key, int) else f"[{key}]"
        return "{{ " + expr + " }}"

    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        return [
            {
                "name": res.name,
                res.properties["module"]: res.properties.get("args") or {},
                "register": register_var(res.name),
                "tags": [res.name],
            }
        ]
