"""References: ``get_param``, ``get_resource``, ``get_attr``, ``get_file``,
``resource_facade``.

A reference to a resource whose ``condition`` is false resolves to None (as Heat's
references to resources that do not exist)."""

from __future__ import annotations

from typing import Any

from stratus.orchestration.errors import TemplateError
from stratus.orchestration.functions import (
    PSEUDO_PARAMETERS,
    Function,
    Parser,
    ResolveContext,
    _dig,
)


def resource_active(ctx: ResolveContext, name: str) -> bool:
    """Whether the resource ``name`` exists in this plan (its condition holds)."""
    check = getattr(ctx, "resource_active", None)
    return True if check is None else bool(check(name))


def check_resource(fn: Function, name: str, template) -> Any:
    """The template's definition of resource ``name``, or a clear error."""
    res = template.resources.get(name)
    if res is None:
        raise fn.error(f"{fn.name} refers to {name!r}, which is not a resource of this template")
    return res


class GetParam(Function):
    """Returns the value of a template parameter (optionally a path into it)."""

    name = "get_param"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        parts = args if isinstance(args, list) else [args]
        if not parts or not isinstance(parts[0], str):
            raise self.usage("a parameter name or [name, key-or-index, ...]")
        for key in parts[1:]:
            if not isinstance(key, str | int | Function):
                raise self.error(f"{self.name} path items must be strings or integers, not {key!r}")
        self.param, self.keys = parts[0], list(parts[1:])

    def validate(self, template) -> None:
        if self.param not in template.parameters and self.param not in PSEUDO_PARAMETERS:
            raise self.error(f"the parameter {self.param!r} is not defined; add it under 'parameters'")

    def result(self, ctx: ResolveContext) -> Any:
        from stratus.orchestration.functions import resolve

        return _dig(ctx.param(self.param), self.plan_time(resolve(self.keys, ctx), "the path"), self.path)


class GetResource(Function):
    """Returns the id of a resource of the template."""

    name = "get_resource"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, str):
            raise self.usage("a resource name (a string)")
        self.resource = args

    def validate(self, template) -> None:
        check_resource(self, self.resource, template)

    def dependencies(self) -> set[str]:
        return {self.resource}

    def result(self, ctx: ResolveContext) -> Any:
        if not resource_active(ctx, self.resource):
            return None
        return ctx.resource_id(self.resource)


class GetAttr(Function):
    """Returns an attribute of a resource (optionally a path into it), or all of them."""

    name = "get_attr"
    all_attributes = True  # [resource] alone: every attribute (HOT 2015-10-15 and later)

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        shape = ("[resource_name] or [resource_name, attribute_name, key-or-index...]"
                 if self.all_attributes else "[resource_name, attribute_name, key-or-index...]")
        if not isinstance(args, list) or not args or not isinstance(args[0], str):
            raise self.usage(shape)
        if len(args) == 1:
            if not self.all_attributes:
                raise self.usage(shape + " (the all-attributes form [resource_name] needs "
                                 "heat_template_version 2015-10-15 or later)")
            self.resource, self.attr, self.keys = args[0], None, []
            return
        if not isinstance(args[1], str | Function):
            raise self.usage(shape)
        for key in args[2:]:
            if not isinstance(key, str | int | Function):
                raise self.error(f"{self.name} path items must be strings or integers, not {key!r}")
        self.resource, self.attr, self.keys = args[0], args[1], list(args[2:])

    def validate(self, template) -> None:
        res = check_resource(self, self.resource, template)
        cls = res.type_class
        if cls is not None and isinstance(self.attr, str) and not cls.has_attribute(self.attr):
            raise self.error(
                f"the resource {self.resource!r} ({res.type}) has no attribute {self.attr!r}; "
                f"it has: {', '.join(sorted(cls.attributes_schema)) or 'none'}"
            )

    def dependencies(self) -> set[str]:
        return {self.resource}

    def result(self, ctx: ResolveContext) -> Any:
        from stratus.orchestration.functions import resolve

        if not resource_active(ctx, self.resource):
            return None
        attr = self.plan_time(resolve(self.attr, ctx), "the attribute name")
        if attr is not None and not isinstance(attr, str):
            raise self.error(f"the attribute name must be a string, not {attr!r}")
        return ctx.attribute(self.resource, attr, self.plan_time(resolve(self.keys, ctx), "the path"))


class GetAttrNamed(GetAttr):
    """Returns an attribute of a resource (optionally a path into it)."""

    all_attributes = False  # HOT 2013-05-23 and 2014-10-16


class GetFile(Function):
    """Returns the content of a file given with the template (resolved when parsed)."""

    name = "get_file"

    @classmethod
    def build(cls, raw: Any, path: tuple[str, ...], name: str, parser: Parser) -> Any:
        if not isinstance(raw, str):
            raise TemplateError(f"{name} takes a file name (a string), not {raw!r}", path)
        files = parser.files or {}
        if raw not in files:
            raise TemplateError(
                f"no file {raw!r} was given with the template; give it in the request's "
                "'files' (the clients do this for local paths) or next to the template file",
                path,
            )
        return files[raw]


class ResourceFacade(Function):
    """Returns data (metadata, deletion_policy, update_policy) of the resource that uses
    this template as its type."""

    name = "resource_facade"
    KINDS = ("metadata", "deletion_policy", "update_policy")

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if args not in self.KINDS:
            raise self.usage("one of " + ", ".join(self.KINDS))

    def result(self, ctx: ResolveContext) -> Any:
        facade = getattr(ctx, "resource_facade", None)
        if facade is None:
            raise self.error(
                f"{self.name} only works in a template used as a resource type "
                "(a nested stack); this template is not one"
            )
        return facade(self.args)
