"""Nested stacks flattened into their parent's template: ``OS::Heat::Stack``, template
resources (``resource_registry`` types backed by a template file), ``ResourceGroup`` and
``AutoScalingGroup`` members become resources of one flat template, named
``<owner>.<member>`` (``group.0``, ``app.db``), so one plan and one job make a stack with
all its nested stacks, independent resources in parallel. ``get_attr`` on an owner
(``[group, refs]``, ``[group, attributes, x]``, ``[app, outputs.y]`` …) is rewritten
into the members' own references.

(Skeleton: ``expand`` returns the template unchanged until nested stacks are built.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stratus.orchestration.template import Template


@dataclass
class NestedStack:
    """One nested stack of an expansion: its resources are the flat template's resources
    whose names start with ``prefix`` + "."; ``owner`` is the resource of ``parent``
    (a prefix, "" for the root stack) that owns it."""

    prefix: str
    owner: str
    parent: str
    template: dict[str, Any]  # the nested template as given (for the stack's record)
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class Expansion:
    template: Template  # flat: every nested stack's resources included
    stacks: list[NestedStack] = field(default_factory=list)


def expand(template: Template, parameters: dict[str, Any] | None = None, *,
           current: dict[str, dict[str, Any]] | None = None) -> Expansion:
    """Flatten ``template``'s nested stacks. ``current``: the stack's existing resources
    by flat name -> recorded attributes (a group's current size, kept members)."""
    return Expansion(template=template)
