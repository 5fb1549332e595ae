"""Shared by the test_functions* modules: a resolve context, a template stand-in, and
Ansible's own templating to render run-time expressions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from stratus.orchestration import functions
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.hot_versions import function_table


class Ctx:
    """Parameters, resource ids, attributes (plan-time values, or run-time ones as
    ``hostvars['<resource>']['<attr>']`` expressions), conditions, inactive resources."""

    def __init__(self, params: dict[str, Any] | None = None, attrs: dict[str, dict[str, Any]] | None = None,
                 runtime: set[str] | None = None, conditions: dict[str, bool] | None = None,
                 inactive: set[str] | None = None) -> None:
        self.params = params or {}
        self.attrs = attrs or {}
        self.runtime = runtime or set()
        self.conditions = conditions or {}
        self.inactive = inactive or set()

    def param(self, name: str) -> Any:
        return self.params[name]

    def resource_id(self, name: str) -> Any:
        return f"id-{name}"

    def attribute(self, name: str, attr: str | None, path: list[Any]) -> Any:
        if attr is None:
            return dict(self.attrs.get(name, {}))
        if name in self.runtime:
            return functions._dig(functions.Expr(f"hostvars[{functions.jinja_literal(name)}]"
                                                 f"[{functions.jinja_literal(attr)}]"), path, ())
        return functions._dig(self.attrs[name][attr], path, ())

    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise TemplateError(f"the condition {name!r} is not defined")
        return self.conditions[name]

    def resource_active(self, name: str) -> bool:
        return name not in self.inactive


def template(parameters=(), resources=(), conditions=(), mappings=None) -> Any:
    """A stand-in for Template as functions' validate() reads it."""
    return SimpleNamespace(
        parameters={p: {"type": "string"} for p in parameters},
        resources={r: SimpleNamespace(type="OS::Heat::None", type_class=None) for r in resources},
        conditions={c: True for c in conditions},
        mappings=mappings or {},
    )


def run(snippet: Any, ctx: Ctx | None = None, version: str = "2021-04-16", path=("x",),
        tpl: Any = None, files=None) -> Any:
    """Parse (with the version's table), validate, resolve."""
    tree = functions.parse(snippet, path, table=function_table(version), files=files)
    if tpl is not None:
        for fn in functions.walk(tree):
            fn.validate(tpl)
    return functions.resolve(tree, ctx or Ctx())


_templar = None


def render(value: str, hostvars: dict[str, Any], **more: Any) -> Any:
    """What Ansible makes of the playbook text ``value`` (an Expr) with ``hostvars``
    (and ``more`` variables)."""
    global _templar
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    if _templar is None:
        _templar = Templar(loader=DataLoader(), variables={})
    templar = _templar.copy_with_new_env(available_variables={"hostvars": hostvars, **more})
    return templar.template(trust_as_template(str(value)))
