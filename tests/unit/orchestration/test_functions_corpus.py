"""The function templates of the corpus (tests/orchestration/templates/h1-functions-*):
parsed with their version's tables, validated, their conditions evaluated and their
OS::Heat::Value resources and outputs resolved — every function's result checked.

A small evaluator stands in for the planner here (values only, no types), so these
templates test the functions alone; the corpus test compiles them through Template."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from stratus.orchestration import functions, hot_versions
from tests.unit.orchestration._functions_ctx import template

pytestmark = pytest.mark.orchestration
CORPUS = Path(__file__).resolve().parents[2] / "orchestration" / "templates"


class Evaluator:
    """Resolves a template of OS::Heat::Value resources with its parameters' defaults."""

    def __init__(self, path: Path) -> None:
        raw = yaml.safe_load(path.read_text())
        cfn = "AWSTemplateFormatVersion" in raw
        self.version = hot_versions.CFN if cfn else hot_versions.canonical(raw["heat_template_version"])
        key = (lambda hot, aws: aws) if cfn else (lambda hot, aws: hot)
        table = hot_versions.function_table(self.version)
        files = {p.name: p.read_text() for p in path.parent.iterdir() if p.is_file()}
        self.params = {n: self.default(d) for n, d in (raw.get(key("parameters", "Parameters")) or {}).items()}
        conds = {n: functions.parse_condition(c, ("conditions", n), self.version)
                 for n, c in (raw.get(key("conditions", "Conditions")) or {}).items()}
        self.resources = {}
        self.resource_conditions = {}
        for name, rdef in raw[key("resources", "Resources")].items():
            props = rdef.get(key("properties", "Properties")) or {}
            self.resources[name] = functions.parse(props, ("resources", name, "properties"), table, files)
            self.resource_conditions[name] = rdef.get(key("condition", "Condition"), True)
        outputs = raw.get(key("outputs", "Outputs")) or {}
        self.outputs = {n: functions.parse(o[key("value", "Value")], ("outputs", n), table, files)
                        for n, o in outputs.items()}
        tpl = template(parameters=self.params, resources=self.resources, conditions=conds,
                       mappings=raw.get("Mappings"))
        for tree in [*self.resources.values(), *self.outputs.values(), *conds.values()]:
            for fn in functions.walk(tree):
                fn.validate(tpl)
        self.conditions = functions.evaluate_conditions(conds, self)
        self.values: dict[str, Any] = {}

    @staticmethod
    def default(pdef: dict) -> Any:
        value, ptype = pdef.get("default", pdef.get("Default")), pdef.get("type", pdef.get("Type"))
        if ptype == "comma_delimited_list":
            return value.split(",")
        return value

    # ResolveContext
    def param(self, name: str) -> Any:
        return self.params[name]

    def resource_id(self, name: str) -> str:
        return f"id-{name}"

    def condition(self, name: str) -> bool:
        return self.conditions[name]

    def resource_active(self, name: str) -> bool:
        cond = self.resource_conditions[name]
        return cond if isinstance(cond, bool) else self.conditions[cond]

    def attribute(self, name: str, attr: str | None, path: list[Any]) -> Any:
        if name not in self.values:
            self.values[name] = functions.resolve(self.resources[name], self)["value"]
        attrs = {"value": self.values[name]}
        return attrs if attr is None else functions._dig(attrs[attr], path, ())

    def results(self) -> dict[str, Any]:
        return {n: functions.resolve(o, self) for n, o in self.outputs.items()}


EXPECTED = {
    "h1-functions-strings.yaml": {
        "greeting": "Hello web on 8080 with [1, 2]",
        "strict": "host-web",
        "vstrict": "zone=z1",
        "joined": "a-b-c-x-Hello web on 8080 with [1, 2]",
        "second": "b",
        "hashed": hashlib.sha256(b"web").hexdigest(),
        "url": "https://web.example.com:8080/api/v1?q=b",
        "script": '#!/bin/sh\necho "{{ not templated }}"\n',
    },
    "h1-functions-lists.yaml": {
        "rules": [{"port": "80", "protocol": "tcp"}, {"port": "80", "protocol": "udp"},
                  {"port": "443", "protocol": "tcp"}, {"port": "443", "protocol": "udp"}],
        "pairs": ["x=1", "y=2"],
        "renamed": {"A": 1, "b": 3, "c": "four"},
        "concat": [1, 2, 2, 3],
        "unique": [1, 2, 3],
        "has_https": True,
        "filtered": [1, 3],
        "total": 523,
        "all_of_total": {"value": 523},
    },
    "h1-functions-conditions.yaml": {
        "always": {"size": "large", "zones": ["z1", "z2"]},
        "dev_only": None,
        "dev_id": None,
        "which": "production",
        "dev_note": None,
        "any": "no",
    },
    "h1-functions-2013.yaml": {
        "joined": "web,web",
        "picked": "web",
        "replaced": "name=web",
        "encoded": "#!/bin/sh web",
        "zones": ["nova"],
        "ref": "id-joined",
    },
    "h1-functions-cfn.yaml": {
        "Label": "prod-m1.large-big",
        "Parts": "prod",
        "Script": "env=prod",
        "FlavorId": "id-Flavor",
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_function_templates_resolve_to_what_heat_gives(name):
    assert Evaluator(CORPUS / name).results() == EXPECTED[name]


def test_the_corpus_function_templates_cover_every_function():
    used: set[str] = set()
    for name in EXPECTED:
        ev = Evaluator(CORPUS / name)
        trees = [*ev.resources.values(), *ev.outputs.values()]
        used |= {fn.name for t in trees for fn in functions.walk(t)}
    used |= {"get_file"}  # resolved while parsing: no function object remains
    every = set(hot_versions.function_table("2021-04-16")) - {"resource_facade"}
    assert every <= used
