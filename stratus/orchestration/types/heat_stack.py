"""``OS::Heat::Stack`` and template resources: owners of a nested stack.

``stratus.orchestration.nested.expand`` puts the nested template's resources into the
root's flat template (``<owner>.<name>``) and rewrites ``get_attr`` on the owner into
the nested outputs, so the owner itself runs no task: its schema validates what it is
given and its resource stands for the nested stack in listings and events (Heat's
``StackResource``: the owner's physical id is the nested stack's).
"""

from __future__ import annotations

from typing import Any, ClassVar

from stratus.orchestration.properties import ANY, INTEGER, MAP, Schema
from stratus.orchestration.resources import ResourceType, get_type, register


class NestedStackOwner(ResourceType):
    """A resource whose work is its nested stack's resources (no task of its own)."""

    nested_owner: ClassVar[bool] = True

    @classmethod
    def plan_update(cls, res, prop_diff):
        return []  # the members change; the owner has nothing to do

    @classmethod
    def plan_check(cls, res):
        return []


class NestedStackResource(NestedStackOwner):
    type_name = "OS::Heat::Stack"
    description = ("A nested stack: its template (inline or with get_file) and parameters; its outputs are "
                   "this resource's attributes.")
    properties_schema = {
        "template": Schema(ANY, "The nested template (a mapping, or its YAML/JSON text with get_file).",
                           required=True, update_allowed=True),
        "parameters": Schema(MAP, "Values of the nested template's parameters.", update_allowed=True),
        "timeout": Schema(INTEGER, "Minutes the nested stack may take (the root's timeout holds).",
                          update_allowed=True),
        "context": Schema(MAP, "Where the nested stack runs (region_name): only this cloud's region."),
    }
    attributes_schema = {
        "outputs": "The nested stack's outputs (a map); [name, outputs, <key>] for one.",
        "stack_name": "The nested stack's name.",
        "show": "All attributes.",
    }

    @classmethod
    def has_attribute(cls, name: str) -> bool:
        return name in cls.attributes_schema or name.startswith("outputs.")


class TemplateResource(NestedStackOwner):
    """A type backed by a template file (``resource_registry`` or a ``*.yaml`` type):
    its properties are the template's parameters, its attributes the template's outputs
    and ``OS::stack_id`` (when the template has that output) its reference."""

    open_properties = True  # checked against the template's parameters by nested.expand
    template_resource: ClassVar[bool] = True
    outputs: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def has_attribute(cls, name: str) -> bool:
        return True  # outputs of whichever template the type maps to (checked by nested.expand)


def template_resource_type(type_name: str, template: dict[str, Any]) -> type[ResourceType]:
    """The registered class of a template resource type named ``type_name`` (a new
    subclass of TemplateResource the first time; an existing type is left alone)."""
    existing = get_type(type_name)
    if existing is not None:
        return existing
    outputs = tuple(str(k) for k in (template.get("outputs") or {}) if k != "OS::stack_id")
    params = template.get("parameters") or {}
    cls = type(f"TemplateResource_{abs(hash(type_name))}", (TemplateResource,), {
        "type_name": type_name,
        # (nothing of the template's own text: the registry is the process's, not the project's)
        "description": "A resource made by a template (a template resource).",
        "properties_schema": {str(p): Schema(ANY, "A parameter of the template.", update_allowed=True)
                              for p in params},
        "attributes_schema": {**{o: "An output of the template." for o in outputs}, "show": "All attributes."},
        "outputs": outputs,
    })
    register(cls)
    return cls


def resource_mapping():
    return {NestedStackResource.type_name: NestedStackResource}
