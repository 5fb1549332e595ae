"""Intrinsic functions: the core (``Function``, ``parse``, ``walk``, ``resolve``, ``Expr``).

As in Heat's ``engine/hot/functions.py``, each function is a class that checks its
arguments when it is built, and offers ``validate(template)``, ``dependencies()`` and
``result(context)``. ``parse`` turns a raw snippet into a tree where function calls are
objects, using the function table of the template's version
(``stratus.orchestration.hot_versions.function_table``); ``resolve`` turns that tree into
plain values.

The functions themselves live in small files: ``functions_refs`` (get_param,
get_resource, get_attr, get_file, resource_facade), ``functions_strings`` (str_replace*,
list_join, str_split, digest, make_url), ``functions_lists`` (repeat, map_merge,
map_replace, list_concat*, contains, filter), ``functions_conditions`` (if, equals, not,
and, or), ``functions_yaql`` and ``functions_cfn`` (Ref, Fn::*).

Run-time values: a value only known when the playbook runs (a resource attribute the
planner cannot know) is an ``Expr``, a Jinja expression the compiler made. A function
whose input holds an ``Expr`` either builds a new ``Expr`` in which every piece of user
text is a Jinja string literal (``jinja_literal``; see ``TextBuilder``), or refuses with a
``TemplateError`` that names the path and says the value is only known at run time
(``plan_time``). User text never becomes template text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from stratus.orchestration.errors import TemplateError

Path = tuple[str, ...]

# Parameters every template may read without declaring them (the planner supplies them).
PSEUDO_PARAMETERS = frozenset({
    "OS::stack_name", "OS::stack_id", "OS::project_id",
    "AWS::StackName", "AWS::StackId", "AWS::Region", "AWS::AccountId",
})


class Expr(str):
    """A Jinja expression the compiler made (a runtime attribute): the only text in a
    playbook that Ansible may template. ``inner`` is the expression without braces."""

    inner: str

    def __new__(cls, inner: str) -> Expr:
        obj = super().__new__(cls, "{{ " + inner + " }}")
        obj.inner = inner
        return obj


class _Omit:
    """``if`` without a false branch (HOT 2021-04-16) whose condition is false: the
    enclosing item (map entry, list item, property) is left out."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Any = _Omit()


_LITERAL_SPECIAL = re.compile(r'(["\\\r])')


def jinja_literal(value: Any) -> str:
    """``str(value)`` as a Jinja expression that yields exactly that text, in Ansible and
    in plain Jinja alike. Ansible does not process backslash escapes in string constants
    (``{{ "a\\"b" }}`` renders ``a\\"b``), so the literal holds no backslash at all:
    quotes, backslashes and carriage returns are pieces of their own joined with ``~``.
    ``{{``/``}}`` inside a string constant are text, never template syntax."""
    text = str(value)
    if not _LITERAL_SPECIAL.search(text):
        return '"' + text + '"'
    parts = []
    for piece in _LITERAL_SPECIAL.split(text):
        if piece == '"':
            parts.append("'\"'")
        elif piece == "\\":
            parts.append('("%c" | format(92))')
        elif piece == "\r":
            parts.append('("%c" | format(13))')
        elif piece:
            parts.append('"' + piece + '"')
    return "(" + " ~ ".join(parts) + ")"


def has_expr(value: Any) -> bool:
    """Whether ``value`` (a resolved tree) holds a run-time ``Expr`` anywhere."""
    if isinstance(value, Expr):
        return True
    if isinstance(value, dict):
        return any(has_expr(k) or has_expr(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_expr(v) for v in value)
    return False


class ResolveContext(Protocol):
    """What resolving needs from the planner/compiler."""

    def param(self, name: str) -> Any: ...
    def resource_id(self, name: str) -> Any: ...
    def attribute(self, name: str, attr: str | None, path: list[Any]) -> Any:
        """The attribute's value (or an ``Expr``); ``attr`` None: every attribute as a map."""
    def condition(self, name: str) -> bool: ...
    def resource_active(self, name: str) -> bool: ...


class Function:
    """One function call. ``name`` is the name the template used (``list_join``,
    ``Fn::Join``); ``path`` is where the call is, ending with that name."""

    name = ""

    def __init__(self, args: Any, path: Path, name: str | None = None) -> None:
        if name:
            self.name = name
        self.args = args
        self.path = tuple(path)

    @classmethod
    def build(cls, raw: Any, path: Path, name: str, parser: Parser) -> Any:
        """Make the call from its raw arguments (parsed with the same table by default)."""
        return cls(parser.parse(raw, path), path, name)

    def validate(self, template) -> None:  # noqa: B027 - optional hook
        """Check references against the template (names that must exist)."""

    def dependencies(self) -> set[str]:
        return set()

    def result(self, ctx: ResolveContext) -> Any:
        raise NotImplementedError

    # helpers for subclasses -------------------------------------------------
    def error(self, message: str) -> TemplateError:
        return TemplateError(message, self.path)

    def usage(self, example: str) -> TemplateError:
        """The arguments are not of the function's shape: say which shape it takes."""
        return TemplateError(f"{self.name} takes {example}", self.path)

    def plan_time(self, value: Any, what: str) -> Any:
        """``value`` if it holds no run-time ``Expr``; else a clear refusal."""
        if has_expr(value):
            raise self.error(
                f"{what} is only known when the playbook runs (it comes from a resource "
                f"attribute), and {self.name} needs it when the template is planned; use "
                "parameters or literal values here"
            )
        return value

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.args == other.args  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.name, repr(self.args)))

    def __repr__(self) -> str:
        return f"{{{self.name}: {self.args!r}}}"


class FunctionTable(dict):
    """A version's functions: name → class. ``refused`` maps the names this version does
    not have (removed ones, later ones, ones not allowed in this section) to the reason."""

    def __init__(self, version: str, functions: Mapping[str, type[Function]],
                 refused: Mapping[str, str] | None = None, kind: str = "functions") -> None:
        super().__init__(functions)
        self.version = version
        self.kind = kind
        self.refused = dict(refused or {})


class Parser:
    """Parses snippets with one version's function table (and its condition table for
    the conditions that ``if``/``and``/``or``/``not`` take); ``files`` serves get_file."""

    def __init__(self, table: FunctionTable, files: Mapping[str, str] | None = None) -> None:
        self.table = table
        self.files = files

    @property
    def conditions(self) -> Parser:
        from stratus.orchestration.hot_versions import condition_table

        if self.table.kind == "conditions":
            return self
        return Parser(condition_table(self.table.version), self.files)

    def parse(self, snippet: Any, path: Path = ()) -> Any:
        if isinstance(snippet, dict):
            if len(snippet) == 1:
                (key, value), = snippet.items()
                if isinstance(key, str):
                    if key in self.table:
                        return self.table[key].build(value, (*path, key), key, self)
                    if key in self.table.refused:
                        raise TemplateError(self.table.refused[key], (*path, key))
            return {k: self.parse(v, (*path, str(k))) for k, v in snippet.items()}
        if isinstance(snippet, list):
            return [self.parse(v, (*path, str(i))) for i, v in enumerate(snippet)]
        return snippet


def parse(snippet: Any, path: Path = (), table: FunctionTable | None = None,
          files: Mapping[str, str] | None = None) -> Any:
    """Return ``snippet`` with every ``{fn: args}`` mapping replaced by a Function.
    ``table`` None: the newest HOT version's table. get_file is resolved here from
    ``files`` (name → content)."""
    if table is None:
        from stratus.orchestration.hot_versions import LATEST, function_table

        table = function_table(LATEST)
    return Parser(table, files).parse(snippet, tuple(path))


def parse_condition(snippet: Any, path: Path = (), version: str | None = None) -> Any:
    """Parse a condition (a ``conditions`` entry, a resource's or output's
    ``condition``) with the version's condition functions."""
    from stratus.orchestration.hot_versions import LATEST, condition_table

    return Parser(condition_table(version or LATEST)).parse(snippet, tuple(path))


def walk(tree: Any) -> Iterator[Function]:
    """Every function call in a parsed tree (outer ones first)."""
    if isinstance(tree, Function):
        yield tree
        yield from walk(tree.args)
    elif isinstance(tree, dict):
        for v in tree.values():
            yield from walk(v)
    elif isinstance(tree, list | tuple):
        for v in tree:
            yield from walk(v)


def dependencies(tree: Any) -> set[str]:
    deps: set[str] = set()
    for fn in walk(tree):
        deps |= fn.dependencies()
    return deps


def resolve(tree: Any, ctx: ResolveContext) -> Any:
    """Plain values (and ``Expr``) for a parsed tree. Items an ``if`` left out disappear
    from their map or list; left out as a whole, the value is None."""
    value = _resolve(tree, ctx)
    return None if value is OMIT else value


def _resolve(tree: Any, ctx: ResolveContext) -> Any:
    if isinstance(tree, Function):
        return tree.result(ctx)
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            value = _resolve(v, ctx)
            if value is not OMIT:
                out[k] = value
        return out
    if isinstance(tree, list):
        return [v for v in (_resolve(v, ctx) for v in tree) if v is not OMIT]
    return tree


def truth(value: Any, ctx: ResolveContext, path: Path) -> bool:
    """A resolved condition: a boolean, or the name of a condition."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and not isinstance(value, Expr):
        return ctx.condition(value)
    raise TemplateError(
        f"a condition must be true, false, the name of a condition or a condition function "
        f"(equals, not, and, or); got {value!r}",
        path,
    )


class _ConditionContext:
    """Evaluates the conditions section lazily, in any order, refusing circles."""

    def __init__(self, conditions: Mapping[str, Any], ctx: ResolveContext) -> None:
        self.conditions = conditions
        self.ctx = ctx
        self.values: dict[str, bool] = {}
        self.stack: list[str] = []

    def param(self, name: str) -> Any:
        return self.ctx.param(name)

    def condition(self, name: str) -> bool:
        if name in self.values:
            return self.values[name]
        if name not in self.conditions:
            raise TemplateError(
                f"the condition {name!r} is not defined; add it under 'conditions'",
                ("conditions", *self.stack[-1:]),
            )
        if name in self.stack:
            raise TemplateError(
                "circular reference between conditions: " + " -> ".join([*self.stack, name]),
                ("conditions", name),
            )
        path = ("conditions", name)
        raw = self.conditions[name]
        if not isinstance(raw, bool | Function):
            raise TemplateError(
                f"the definition of the condition {name!r} is invalid: {raw!r}; give true, false "
                "or a condition function (equals, not, and, or, ...)",
                path,
            )
        self.stack.append(name)
        value = resolve(raw, self)
        if not isinstance(value, bool):
            raise TemplateError(
                f"the condition {name!r} must evaluate to true or false, not {value!r}", path
            )
        self.values[name] = value
        self.stack.pop()
        return self.values[name]

    def __getattr__(self, attr: str) -> Any:  # resource_id/attribute: refused by parsing
        return getattr(self.ctx, attr)


def evaluate_conditions(conditions: Mapping[str, Any], ctx: ResolveContext) -> dict[str, bool]:
    """Every condition of the template's ``conditions`` section (parsed with
    ``parse_condition``) as a boolean, given the parameter values ``ctx.param`` returns."""
    cctx = _ConditionContext(conditions, ctx)
    return {name: cctx.condition(name) for name in conditions}


def _dig(value: Any, keys: list[Any], path: Path) -> Any:
    for key in keys:
        if isinstance(value, Expr):
            index = str(int(key)) if isinstance(key, int) or str(key).isdigit() else jinja_literal(key)
            value = Expr(f"({value.inner})[{index}]")
            continue
        try:
            value = value[int(key)] if isinstance(value, list) else value[key]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise TemplateError(f"no element {key!r} in {value!r}", path) from exc
    return value


class TextBuilder:
    """Text made of pieces, some only known at run time: ``result()`` is a plain string
    when every piece is known, else an ``Expr`` where known pieces are Jinja literals."""

    def __init__(self) -> None:
        self.pieces: list[tuple[bool, str]] = []  # (is jinja code, text)

    def text(self, s: str) -> TextBuilder:
        if s:
            self.pieces.append((False, s))
        return self

    def code(self, jinja: str) -> TextBuilder:
        self.pieces.append((True, jinja))
        return self

    def value(self, v: Any) -> TextBuilder:
        """A run-time value as text (strings as they are, None as '', others as JSON)."""
        if isinstance(v, Expr):
            return self.code(expr_text(v))
        return self.text(v)

    def result(self) -> str:
        if not any(is_code for is_code, _ in self.pieces):
            return "".join(t for _, t in self.pieces)
        merged: list[str] = []
        buf = ""
        for is_code, t in self.pieces:
            if is_code:
                if buf:
                    merged.append(jinja_literal(buf))
                    buf = ""
                merged.append(t)
            else:
                buf += t
        if buf:
            merged.append(jinja_literal(buf))
        return Expr(" ~ ".join(merged))


def expr_text(e: Expr) -> str:
    """Jinja code: the run-time value ``e`` as text, the way Heat turns values into text
    (a string as it is, nothing as '', lists and maps as JSON)."""
    x = f"({e.inner})"
    return f"({x} if {x} is string else ('' if {x} is none else ({x} | to_json)))"


def __getattr__(name: str) -> Any:
    """``FUNCTIONS``: the newest HOT version's table (the name before per-version tables)."""
    if name == "FUNCTIONS":
        from stratus.orchestration.hot_versions import LATEST, function_table

        return function_table(LATEST)
    raise AttributeError(name)


# The functions, re-exported so ``from stratus.orchestration.functions import GetAttr``
# keeps working.
from stratus.orchestration.functions_refs import GetAttr, GetFile, GetParam, GetResource  # noqa: E402
from stratus.orchestration.functions_strings import ListJoin  # noqa: E402

__all__ = [
    "OMIT", "PSEUDO_PARAMETERS", "Expr", "Function", "FunctionTable", "GetAttr", "GetFile",
    "GetParam", "GetResource", "ListJoin", "Parser", "ResolveContext", "TextBuilder",
    "dependencies", "evaluate_conditions", "expr_text", "has_expr", "jinja_literal", "parse",
    "parse_condition", "resolve", "truth", "walk",
]
