"""CloudFormation's functions (``AWSTemplateFormatVersion: 2010-09-09`` templates, and
the ``Fn::*`` names early HOT versions still have): ``Ref``, ``Fn::GetAtt``,
``Fn::Join``, ``Fn::Base64``, ``Fn::Select``, ``Fn::Split``, ``Fn::Replace``,
``Fn::FindInMap``, ``Fn::GetAZs`` (and ``Fn::If``/``Fn::Equals``/``Fn::Not``/``Fn::And``/
``Fn::Or`` from ``functions_conditions``)."""

from __future__ import annotations

import json
from typing import Any

from stratus.orchestration.errors import TemplateError
from stratus.orchestration.functions import (
    PSEUDO_PARAMETERS,
    Expr,
    Function,
    ResolveContext,
    _dig,
    resolve,
)
from stratus.orchestration.functions_conditions import Not
from stratus.orchestration.functions_refs import GetAttrNamed, resource_active
from stratus.orchestration.functions_strings import StrReplaceOld

AVAILABILITY_ZONES = ["nova"]


class Ref(Function):
    """Returns a parameter's value, or a resource's id."""

    name = "Ref"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, str):
            raise self.usage("a parameter or resource name (a string)")
        self.kind: str | None = "parameter" if args in PSEUDO_PARAMETERS else None

    def validate(self, template) -> None:
        if self.args in template.resources:
            self.kind = "resource"
        elif self.args in template.parameters or self.args in PSEUDO_PARAMETERS:
            self.kind = "parameter"
        else:
            raise self.error(f"{self.args!r} is neither a parameter nor a resource of this template")

    def dependencies(self) -> set[str]:
        return {self.args} if self.kind == "resource" else set()

    def result(self, ctx: ResolveContext) -> Any:
        if self.kind == "resource":
            return ctx.resource_id(self.args) if resource_active(ctx, self.args) else None
        return ctx.param(self.args)


class ParamRef(Ref):
    """Returns a parameter's value (Ref in conditions)."""

    def validate(self, template) -> None:
        if self.args not in template.parameters and self.args not in PSEUDO_PARAMETERS:
            raise self.error(f"the parameter {self.args!r} is not defined; add it under 'Parameters'")
        self.kind = "parameter"


class GetAtt(GetAttrNamed):
    """Returns an attribute of a resource."""

    name = "Fn::GetAtt"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        if not isinstance(args, list) or len(args) != 2:
            raise TemplateError(f"{name or self.name} takes [resource_name, attribute_name]", path)
        super().__init__(args, path, name)


class Base64(Function):
    """Returns the string as it is (Heat takes user data as plain text)."""

    name = "Fn::Base64"

    def result(self, ctx: ResolveContext) -> Any:
        value = resolve(self.args, ctx)
        if not isinstance(value, str):
            raise self.error(f"{self.name} takes a string, not {value!r}")
        return value


class Select(Function):
    """Returns the item at an index of a list (or a key of a map); '' when absent."""

    name = "Fn::Select"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list) or len(args) != 2:
            raise self.usage("[index, [item, ...]] or [key, {key: value}]")

    def result(self, ctx: ResolveContext) -> Any:
        index = self.plan_time(resolve(self.args[0], ctx), "the index")
        items = resolve(self.args[1], ctx)
        if isinstance(items, Expr):
            try:
                return _dig(items, [int(index)], self.path)
            except (TypeError, ValueError):
                return _dig(items, [index], self.path)
        if items is None or items == "":
            return ""
        if isinstance(items, str):
            try:
                items = json.loads(items)
            except ValueError as exc:
                raise self.error(f"{self.name} selects from a list or map, not the text {items!r}") from exc
        if isinstance(items, dict):
            if not isinstance(index, str):
                raise self.error(f"the key of {self.name} on a map must be a string, not {index!r}")
            return items.get(index, "")
        if isinstance(items, list):
            try:
                return items[int(index)]
            except (TypeError, ValueError):
                raise self.error(f"the index of {self.name} on a list must be an integer, not {index!r}") from None
            except IndexError:
                return ""
        raise self.error(f"{self.name} selects from a list or map, not {items!r}")


class Split(Function):
    """Splits a string at a delimiter into a list."""

    name = "Fn::Split"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list) or len(args) != 2 or not isinstance(args[0], str):
            raise self.usage("[delimiter, string]")

    def result(self, ctx: ResolveContext) -> Any:
        from stratus.orchestration.functions import jinja_literal

        text = resolve(self.args[1], ctx)
        if isinstance(text, Expr):
            return Expr(f"(({text.inner}) | string).split({jinja_literal(self.args[0])})")
        if not isinstance(text, str):
            raise self.error(f"{self.name} splits a string, not {text!r}")
        return text.split(self.args[0])


class Replace(StrReplaceOld):
    """Substitutes values for placeholders in a string."""

    name = "Fn::Replace"
    EXAMPLE = "[{'$var': value}, 'text with $var']"

    def parse_args(self, args: Any) -> tuple[Any, Any]:
        if not isinstance(args, list) or len(args) != 2:
            raise self.usage(self.EXAMPLE)
        return args[1], args[0]


class FindInMap(Function):
    """Returns a value of the template's Mappings: [map, key, value_key]."""

    name = "Fn::FindInMap"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list) or len(args) != 3:
            raise self.usage("[mapping_name, key, value_key]")
        self.mappings: dict[str, Any] | None = None

    def validate(self, template) -> None:
        self.mappings = getattr(template, "mappings", None) or {}
        if isinstance(self.args[0], str) and self.args[0] not in self.mappings:
            raise self.error(f"the mapping {self.args[0]!r} is not defined; add it under 'Mappings'")

    def result(self, ctx: ResolveContext) -> Any:
        if self.mappings is None:
            raise self.error(f"{self.name} needs the template's Mappings (validate the template first)")
        keys = self.plan_time(resolve(self.args, ctx), "the keys")
        try:
            return self.mappings[keys[0]][keys[1]][keys[2]]
        except (KeyError, TypeError):
            raise self.error(f"no entry {keys[1]!r}/{keys[2]!r} in the mapping {keys[0]!r}") from None


class GetAZs(Function):
    """Returns the availability zones."""

    name = "Fn::GetAZs"

    def result(self, ctx: ResolveContext) -> Any:
        return list(AVAILABILITY_ZONES)


class CfnNot(Not):
    """The opposite of a condition."""

    listed = True
