"""``Stratus::*``: Stratus's own types. ``Stratus::Ansible::Task`` runs any module on
any host, so only a cloud administrator may submit it."""

from __future__ import annotations

from typing import Any

from stratus.orchestration.properties import MAP, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType, registered_result, task


class AnsibleTask(ResourceType):
    type_name = "Stratus::Ansible::Task"
    description = (
        "Runs one Ansible module with arguments on a host group. Its attributes are the "
        "module's result: get_attr [name, result, key...] or [name, changed]. Cloud "
        "administrators only."
    )
    cloud_admin_only = True
    properties_schema = {
        "module": Schema(STRING, "Fully qualified module name, e.g. ansible.builtin.copy.", required=True),
        "args": Schema(MAP, "The module's arguments.", default={}, update_allowed=True),
        "hosts": Schema(STRING, "Host group, host name, or names joined by ':'.", default="controller"),
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
    def hosts(cls, db, res: PlannedResource) -> list[str] | None:
        from stratus.hosts import registry

        return registry.resolve(db, cls.host_group(res.properties))

    @classmethod
    def realize(cls, result: dict[str, Any], host: str | None = None) -> dict[str, Any]:
        return {"result": result, "changed": bool(result.get("changed"))}

    @classmethod
    def runtime_attribute(cls, res: PlannedResource, attr: str, keys: list[Any]) -> str | None:
        return registered_result(res, ["changed"] if attr == "changed" else keys)

    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        return [task(res, res.properties["module"], res.properties.get("args") or {})]


def resource_mapping():
    return {AnsibleTask.type_name: AnsibleTask}
