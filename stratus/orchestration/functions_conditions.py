"""Conditions: ``if`` (in resources and outputs) and the condition functions
``equals``, ``not``, ``and``, ``or`` (in the ``conditions`` section and in ``if``'s
first argument).

A condition is true/false, the name of a condition of the ``conditions`` section, or a
condition function; conditions only read parameters, so they are always known when the
template is planned."""

from __future__ import annotations

from typing import Any

from stratus.orchestration.errors import TemplateError
from stratus.orchestration.functions import (
    OMIT,
    Function,
    Parser,
    ResolveContext,
    _resolve,
    resolve,
    truth,
)


def check_condition_names(fn: Function, conds: list[tuple[tuple[str, ...], Any]], template) -> None:
    """Every condition named in ``conds`` ((path, condition) pairs) is defined under
    ``conditions`` (Heat's rule: ``if`` and the condition functions only name those)."""
    defined = getattr(template, "conditions", None) or {}
    for path, cond in conds:
        if isinstance(cond, str) and cond not in defined:
            known = f" (defined: {', '.join(sorted(defined))})" if defined else ""
            raise TemplateError(
                f"{fn.name} refers to the condition {cond!r}, which is not defined; "
                f"add it under 'conditions'{known}",
                path,
            )
        if not isinstance(cond, str | bool | Function):
            raise TemplateError(
                f"{fn.name} takes conditions: true, false, a condition name or a condition "
                f"function; not {cond!r}",
                path,
            )


class If(Function):
    """Returns one of two values, chosen by a condition."""

    name = "if"
    nullable = False  # [condition, value_if_true] alone (HOT 2021-04-16)

    @classmethod
    def build(cls, raw: Any, path: tuple[str, ...], name: str, parser: Parser) -> Any:
        sizes = (2, 3) if cls.nullable else (3,)
        if not isinstance(raw, list) or len(raw) not in sizes:
            shape = "[condition, value_if_true, value_if_false]"
            if cls.nullable:
                shape += " or [condition, value_if_true]"
            raise TemplateError(f"{name} takes {shape}", path)
        args = [parser.conditions.parse(raw[0], (*path, "0"))]
        args += [parser.parse(v, (*path, str(i))) for i, v in enumerate(raw[1:], 1)]
        return cls(args, path, name)

    def validate(self, template) -> None:
        check_condition_names(self, [((*self.path, "0"), self.args[0])], template)

    def result(self, ctx: ResolveContext) -> Any:
        if truth(resolve(self.args[0], ctx), ctx, (*self.path, "0")):
            return _resolve(self.args[1], ctx)
        return _resolve(self.args[2], ctx) if len(self.args) == 3 else OMIT


class IfNullable(If):
    """Returns one of two values, chosen by a condition; without a false value, the
    enclosing item is left out when the condition is false."""

    nullable = True


class Equals(Function):
    """Whether two values are equal."""

    name = "equals"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list) or len(args) != 2:
            raise self.usage("[value_1, value_2]")

    def result(self, ctx: ResolveContext) -> Any:
        a, b = (self.plan_time(resolve(v, ctx), "the value") for v in self.args)
        return a == b


class Not(Function):
    """The opposite of a condition."""

    name = "not"
    listed = False  # Fn::Not takes [condition]

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if self.listed:
            if not isinstance(args, list) or len(args) != 1:
                raise self.usage("[condition]")
            self.condition = args[0]
        else:
            if args is None or isinstance(args, list | dict):
                raise self.usage("a condition: true, false, a condition name or a condition function")
            self.condition = args

    def validate(self, template) -> None:
        check_condition_names(self, [(self.path, self.condition)], template)

    def result(self, ctx: ResolveContext) -> Any:
        return not truth(resolve(self.condition, ctx), ctx, self.path)


class _Boolean(Function):
    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list) or len(args) < 2:
            raise self.usage("a list of at least 2 conditions")

    def validate(self, template) -> None:
        check_condition_names(self, [((*self.path, str(i)), c) for i, c in enumerate(self.args)], template)

    def values(self, ctx: ResolveContext) -> Any:
        return (truth(resolve(c, ctx), ctx, (*self.path, str(i))) for i, c in enumerate(self.args))


class And(_Boolean):
    """True when all the conditions are true."""

    name = "and"

    def result(self, ctx: ResolveContext) -> Any:
        return all(self.values(ctx))


class Or(_Boolean):
    """True when any of the conditions is true."""

    name = "or"

    def result(self, ctx: ResolveContext) -> Any:
        return any(self.values(ctx))
