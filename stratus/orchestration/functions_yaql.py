"""``yaql``: evaluates a YAQL expression on data, with the yaql library.

The subset Stratus runs (documented in docs/orchestration.md by the lead):
- the expression is evaluated when the template is planned, so its data must be known
  then: parameters, literals, and functions of them. Data only known when the playbook
  runs (a resource attribute) is refused with a clear error naming the path.
- yaql's standard library (queries such as ``select``/``where``/``sum``/``max``,
  strings, math, collections, ``$.data.<name>`` for the data given); nothing else.
- limits: the expression is at most ``MAX_EXPRESSION`` characters and ``MAX_NESTING``
  brackets deep; collections are limited to ``LIMIT_ITERATORS`` items and memory to
  ``MEMORY_QUOTA`` bytes (yaql's own quotas, with Heat's ``[yaql]`` defaults); an
  evaluation stops after ``TIME_LIMIT`` seconds.
- the result is plain data (tuples and sets become lists, maps become dicts).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Mapping
from typing import Any

from stratus.orchestration.functions import Expr, Function, ResolveContext, resolve

MAX_EXPRESSION = 4096
MAX_NESTING = 32
LIMIT_ITERATORS = 200  # Heat's [yaql] limit_iterators
MEMORY_QUOTA = 10000  # Heat's [yaql] memory_quota (bytes)
TIME_LIMIT = 2.0  # seconds


class _TooSlow(Exception):
    pass


def _with_deadline(seconds: float, fn, *args):
    """``fn(*args)``, stopped (``_TooSlow``) once it runs longer than ``seconds``: a
    profile hook on this thread checks the clock at every call."""
    deadline = time.monotonic() + seconds

    def check(frame, event, arg):
        if event == "call" and time.monotonic() > deadline:
            raise _TooSlow
        return None

    old = sys.gettrace()
    sys.settrace(check)
    try:
        return fn(*args)
    finally:
        sys.settrace(old)

_engine: Any = None


def _yaql():
    """The parser and root context, made once."""
    global _engine
    if _engine is None:
        import yaql

        parser = yaql.YaqlFactory().create({
            "yaql.limitIterators": LIMIT_ITERATORS,
            "yaql.memoryQuota": MEMORY_QUOTA,
        })
        _engine = (parser, yaql.create_context())
    return _engine


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        if isinstance(value, set | frozenset):
            with contextlib.suppress(TypeError):
                items.sort()
        return items
    return value


class Yaql(Function):
    """Evaluates a YAQL expression on the given data."""

    name = "yaql"
    EXAMPLE = "{expression: '$.data.var1.sum()', data: {var1: [3, 2, 1]}}"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, dict) or "expression" not in args or set(args) - {"expression", "data"}:
            raise self.usage(self.EXAMPLE)
        if isinstance(args["expression"], str):
            self.compile(args["expression"])
        elif not isinstance(args["expression"], Function):
            raise self.error(f"the 'expression' of {self.name} must be a string")

    def compile(self, expression: Any) -> Any:
        from yaql.language import exceptions

        if not isinstance(expression, str):
            raise self.error(f"the 'expression' of {self.name} must be a string, not {expression!r}")
        if len(expression) > MAX_EXPRESSION:
            raise self.error(f"the expression is {len(expression)} characters long; "
                             f"{self.name} takes at most {MAX_EXPRESSION}")
        depth = deepest = 0
        for ch in expression:
            depth += ch in "([{"
            depth -= ch in ")]}"
            deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            raise self.error(f"the expression nests {deepest} brackets deep; "
                             f"{self.name} takes at most {MAX_NESTING}")
        try:
            return _yaql()[0](expression)
        except (exceptions.YaqlException, RecursionError) as exc:
            raise self.error(f"bad expression {expression!r}: {exc}") from None

    def result(self, ctx: ResolveContext) -> Any:
        expression = resolve(self.args["expression"], ctx)
        if isinstance(expression, Expr):
            self.plan_time(expression, "the expression")
        statement = self.compile(expression)
        data = self.plan_time(resolve(self.args.get("data", {}), ctx), "the data")
        try:
            return _plain(_with_deadline(TIME_LIMIT, statement.evaluate, {"data": data},
                                         _yaql()[1].create_child_context()))
        except _TooSlow:
            raise self.error(f"evaluating {expression!r} took longer than {TIME_LIMIT:g} s") from None
        except RecursionError:
            raise self.error("the expression recursed too deeply") from None
        except Exception as exc:  # yaql raises many kinds (quotas, type errors, no method)
            raise self.error(f"evaluating {expression!r} failed: {type(exc).__name__}: {exc}") from None
