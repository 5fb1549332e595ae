"""Intrinsic functions: ``get_param``, ``get_resource``, ``get_attr`` (Heat's HOT shapes).

As in Heat's ``engine/hot/functions.py``, each function is a class that checks its
arguments when it is built, and offers ``validate(template)``, ``dependencies()`` and
``result(context)``. ``parse`` turns a raw snippet into a tree where function calls are
objects; ``resolve`` turns that tree into plain values.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

from stratus.orchestration.errors import TemplateError


class Expr(str):
    """A Jinja expression the compiler made (a runtime attribute): the only text in a
    playbook that Ansible may template. ``inner`` is the expression without braces."""

    inner: str

    def __new__(cls, inner: str) -> Expr:
        obj = super().__new__(cls, "{{ " + inner + " }}")
        obj.inner = inner
        return obj


def jinja_literal(value: Any) -> str:
    """``value`` as a Jinja string literal (JSON's escapes are Jinja's)."""
    return json.dumps(str(value))


class ResolveContext(Protocol):
    def param(self, name: str) -> Any: ...
    def resource_id(self, name: str) -> Any: ...
    def attribute(self, name: str, attr: str, path: list[Any]) -> Any: ...


class Function:
    name = ""

    def __init__(self, args: Any, path: tuple[str, ...]) -> None:
        self.args = args
        self.path = path

    def validate(self, template) -> None:  # noqa: B027 - optional hook
        """Check references against the template (names that must exist)."""

    def dependencies(self) -> set[str]:
        return set()

    def result(self, ctx: ResolveContext) -> Any:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.args == other.args  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.name, repr(self.args)))

    def __repr__(self) -> str:
        return f"{{{self.name}: {self.args!r}}}"


class GetParam(Function):
    """``{get_param: name}`` or ``{get_param: [name, key-or-index, ...]}``."""

    name = "get_param"

    def __init__(self, args: Any, path: tuple[str, ...]) -> None:
        super().__init__(args, path)
        parts = args if isinstance(args, list) else [args]
        if not parts or not isinstance(parts[0], str):
            raise TemplateError("get_param takes a parameter name or [name, path...]", path)
        self.param, self.keys = parts[0], list(parts[1:])

    def validate(self, template) -> None:
        if self.param not in template.parameters:
            raise TemplateError(
                f"the parameter {self.param!r} is not defined; add it under 'parameters'",
                self.path,
            )

    def result(self, ctx: ResolveContext) -> Any:
        return _dig(ctx.param(self.param), self.keys, self.path)


class GetResource(Function):
    """``{get_resource: name}``: the resource's id."""

    name = "get_resource"

    def __init__(self, args: Any, path: tuple[str, ...]) -> None:
        super().__init__(args, path)
        if not isinstance(args, str):
            raise TemplateError("get_resource takes a resource name (a string)", path)
        self.resource = args

    def validate(self, template) -> None:
        if self.resource not in template.resources:
            raise TemplateError(
                f"get_resource refers to {self.resource!r}, which is not a resource of this template",
                self.path,
            )

    def dependencies(self) -> set[str]:
        return {self.resource}

    def result(self, ctx: ResolveContext) -> Any:
        return ctx.resource_id(self.resource)


class GetAttr(Function):
    """``{get_attr: [resource, attribute, key-or-index...]}``."""

    name = "get_attr"

    def __init__(self, args: Any, path: tuple[str, ...]) -> None:
        super().__init__(args, path)
        if not (isinstance(args, list) and len(args) >= 2 and all(isinstance(a, str) for a in args[:2])):
            raise TemplateError("get_attr takes [resource_name, attribute_name, path...]", path)
        self.resource, self.attr, self.keys = args[0], args[1], list(args[2:])

    def validate(self, template) -> None:
        res = template.resources.get(self.resource)
        if res is None:
            raise TemplateError(
                f"get_attr refers to {self.resource!r}, which is not a resource of this template",
                self.path,
            )
        cls = res.type_class
        if cls is not None and not cls.has_attribute(self.attr):
            raise TemplateError(
                f"the resource {self.resource!r} ({res.type}) has no attribute {self.attr!r}; "
                f"it has: {', '.join(sorted(cls.attributes_schema)) or 'none'}",
                self.path,
            )

    def dependencies(self) -> set[str]:
        return {self.resource}

    def result(self, ctx: ResolveContext) -> Any:
        return ctx.attribute(self.resource, self.attr, self.keys)


class ListJoin(Function):
    """``{list_join: [delimiter, [item, ...]]}``: items (strings) joined."""

    name = "list_join"

    def __init__(self, args: Any, path: tuple[str, ...]) -> None:
        super().__init__(args, path)
        if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], str)
                and isinstance(args[1], list | Function)):
            raise TemplateError("list_join takes [delimiter, [item, ...]]", path)

    def result(self, ctx: ResolveContext) -> Any:
        items = resolve(self.args[1], ctx)
        if not isinstance(items, list):
            raise TemplateError("list_join needs a list of strings", self.path)
        if any(isinstance(i, Expr) for i in items):
            # Known only when the playbook runs: one expression, user text as literals.
            parts = [f"({i.inner})" if isinstance(i, Expr) else jinja_literal(i) for i in items]
            return Expr(f" ~ {jinja_literal(self.args[0])} ~ ".join(parts) if parts else '""')
        return self.args[0].join(str(i) for i in items)


FUNCTIONS: dict[str, type[Function]] = {f.name: f for f in (GetParam, GetResource, GetAttr, ListJoin)}


def parse(snippet: Any, path: tuple[str, ...] = ()) -> Any:
    """Return ``snippet`` with every ``{fn: args}`` mapping replaced by a Function."""
    if isinstance(snippet, dict):
        if len(snippet) == 1:
            (key, value), = snippet.items()
            if key in FUNCTIONS:
                return FUNCTIONS[key](parse(value, (*path, key)), path)
        return {k: parse(v, (*path, str(k))) for k, v in snippet.items()}
    if isinstance(snippet, list):
        return [parse(v, (*path, str(i))) for i, v in enumerate(snippet)]
    return snippet


def walk(tree: Any) -> Iterator[Function]:
    """Every function call in a parsed tree (outer ones first)."""
    if isinstance(tree, Function):
        yield tree
        yield from walk(tree.args)
    elif isinstance(tree, dict):
        for v in tree.values():
            yield from walk(v)
    elif isinstance(tree, list):
        for v in tree:
            yield from walk(v)


def dependencies(tree: Any) -> set[str]:
    deps: set[str] = set()
    for fn in walk(tree):
        deps |= fn.dependencies()
    return deps


def resolve(tree: Any, ctx: ResolveContext) -> Any:
    if isinstance(tree, Function):
        return tree.result(ctx)
    if isinstance(tree, dict):
        return {k: resolve(v, ctx) for k, v in tree.items()}
    if isinstance(tree, list):
        return [resolve(v, ctx) for v in tree]
    return tree


def _dig(value: Any, keys: list[Any], path: tuple[str, ...]) -> Any:
    for key in keys:
        try:
            value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise TemplateError(f"no element {key!r} in {value!r}", path) from exc
    return value
