"""A stack's template as the engine plans it: the template given (with its environment
and files) parsed into a :class:`Template`, nested stacks flattened into it
(``nested.expand``), and the pseudo parameters Heat gives every template
(``OS::stack_name``, ``OS::stack_id``, ``OS::project_id``).

Create, update, delete, snapshots and abandon all load a stack the same way, from its row
(:func:`from_row`) or from a request's fields (:func:`load`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stratus.orchestration import nested
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.planner import pseudo_parameters
from stratus.orchestration.template import Template


@dataclass
class Loaded:
    """A stack's template ready to plan: ``flat`` holds every nested stack's resources
    (``expansion.stacks`` says which prefix belongs to which nested stack)."""

    template: Template  # the template as given, parsed
    flat: Template  # nested stacks flattened in
    expansion: nested.Expansion
    parameters: dict[str, Any] = field(default_factory=dict)  # as given
    identity: dict[str, str] = field(default_factory=dict)  # the pseudo parameters


def identity(name: str, stack_id: str, project_id: str | None) -> dict[str, str]:
    """Heat's pseudo parameters of a stack."""
    return pseudo_parameters({"name": name, "id": stack_id, "project_id": project_id})


def parse(raw: Any, *, files: dict[str, Any] | None = None, environment: dict[str, Any] | None = None) -> Template:
    """``raw`` (the template as the request gave it, parsed YAML/JSON) as a Template;
    TemplateError when it is not one (``files`` for ``get_file`` and template resources,
    the ``environment``'s parameters and ``resource_registry``)."""
    if not isinstance(raw, dict):
        raise TemplateError("the template must be a mapping with heat_template_version and resources")
    return Template.from_dict(raw, files=dict(files or {}), environment=dict(environment or {}))


def load(raw: Any, *, name: str, stack_id: str, project_id: str | None, files: dict[str, Any] | None = None,
         environment: dict[str, Any] | None = None, parameters: dict[str, Any] | None = None,
         current: dict[str, dict[str, Any]] | None = None) -> Loaded:
    """Parse and flatten a stack's template. ``current``: the stack's recorded
    resources by flat name → attributes (an update keeps a group's members)."""
    given = dict(parameters or {})
    # the raw template is expanded (a nested template's get_param is of its own scope, and
    # template resource types exist once expanded); without nested stacks it is parsed as is
    source = raw if isinstance(raw, dict) else parse(raw, files=files, environment=environment)
    expansion = nested.expand(source, given, current=current, files=dict(files or {}),
                              environment=dict(environment or {}))
    tpl = expansion.template
    return Loaded(tpl, expansion.template, expansion, given, identity(name, stack_id, project_id))


def from_row(stack, *, current: dict[str, dict[str, Any]] | None = None) -> Loaded:
    """A stack row's template, files, environment and parameters, loaded; ``current``
    defaults to the stack's live resources (a scaled group keeps the members it has)."""
    if current is None:
        from sqlalchemy.orm import object_session

        from stratus.stacks.outputs import rows_by_name

        db = object_session(stack)
        if db is not None:
            current = {n: dict(r.attributes or {}) for n, r in rows_by_name(db, stack).items()}
    return load(stack.template, name=stack.name, stack_id=stack.id, project_id=stack.project_id,
                files=stack.files, environment=stack.environment, parameters=stack.parameters,
                current=current)


def stack_of(prefixes: dict[str, str], resource_name: str, root_id: str) -> str:
    """The id of the (nested) stack owning the flat resource ``resource_name``: the
    stack of its longest ``<prefix>.`` (``prefixes``: prefix → stack id), else the root."""
    best, owner = -1, root_id
    for prefix, sid in prefixes.items():
        if prefix and resource_name.startswith(prefix + ".") and len(prefix) > best:
            best, owner = len(prefix), sid
    return owner


def short_name(resource_name: str, prefix: str) -> str:
    """A flat resource's name inside its nested stack (``group.0`` → ``0``)."""
    return resource_name[len(prefix) + 1:] if prefix and resource_name.startswith(prefix + ".") else resource_name
