"""The template corpus (tests/orchestration/templates/): every template validates (and,
when it needs nothing but its defaults and no nested template, plans offline: the
compile of the corpus is ``stratus compile``'s test); each ``error-*.yaml`` gives the one error its header names:

    # expect-path: resources.db.type
    # expect-error: unknown resource type 'OS::Trove::Instance'

Other helpers add ``<helper>-*.yaml`` files; they are validated the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from stratus.orchestration import planner
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.template import Template

pytestmark = pytest.mark.orchestration
CORPUS = Path(__file__).resolve().parents[2] / "orchestration" / "templates"
FILES = sorted(CORPUS.glob("*.yaml"))


def expectation(path: Path) -> tuple[str, str] | None:
    head = {}
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            break
        key, _, value = line[1:].partition(":")
        head[key.strip()] = value.strip()
    if "expect-error" not in head:
        return None
    return head.get("expect-path", ""), head["expect-error"]


def test_the_corpus_is_there():
    names = {p.name for p in FILES}
    assert {"all_sections.yaml", "functions.yaml", "server_with_floating_ip.yaml", "net_router.yaml",
            "volume_attached.yaml", "parameter_groups.yaml", "cfn_instance.yaml", "error-trove.yaml"} <= names


@pytest.mark.parametrize("path", [p for p in FILES if expectation(p) is None], ids=lambda p: p.name)
def test_valid_templates_validate(path):
    tpl = Template.load(path)
    assert tpl.resources or tpl.parameters
    offline = (all(s.has_default for s in tpl.parameters.values())
               and not any(r.is_template_resource for r in tpl.resources.values()))
    if offline:  # parameters checked, conditions applied, every property resolved
        plan = planner.plan(tpl, {})
        assert set(plan.order) <= set(tpl.resources)


@pytest.mark.parametrize("path", [p for p in FILES if expectation(p) is not None], ids=lambda p: p.name)
def test_bad_templates_give_their_one_error(path):
    where, words = expectation(path)
    with pytest.raises(TemplateError) as exc:
        Template.load(path)
    assert ".".join(exc.value.path) == where, str(exc.value)
    assert words in str(exc.value)
    assert "Traceback" not in str(exc.value)


def test_all_sections_plans_with_its_conditions():
    tpl = Template.load(CORPUS / "all_sections.yaml")
    dev = planner.plan(tpl, {})
    assert "prod_only" not in dev.order and "kept" in dev.order
    assert dev.resources["settings"].attributes["value"]["debug"] == "verbose"
    assert tpl.resources["adopted"].external_id == "0a1b2c3d-0000-4000-8000-000000000001"
    prod = planner.plan(tpl, {"env": "prod"})
    assert "prod_only" in prod.order and "kept" not in prod.order
    assert set(prod.template.outputs) == {"settings", "prod_note", "volume"}
    with pytest.raises(TemplateError, match="an even count"):
        planner.plan(tpl, {"count": 3})


def test_functions_resolve_offline():
    plan = planner.plan(Template.load(CORPUS / "functions.yaml"), {})
    strings = plan.resources["strings"].attributes["value"]
    assert strings["replaced"] == "name=web port=80"
    assert strings["boot"] == '#!/bin/sh\necho "booted web"\n'
    assert strings["split"] == "b"
    lists = plan.resources["lists"].attributes["value"]
    assert lists["repeated"] == [{"port": "80", "protocol": "tcp"}, {"port": "443", "protocol": "tcp"}]
    assert lists["unique"] == ["a", "b"] and lists["yaql_len"] == 3 and lists["has"] is True


def test_heats_old_property_names_are_renamed():
    tpl = Template.load(CORPUS / "legacy_property_names.yaml")
    assert set(tpl.resources["router_interface"].properties) == {"router", "subnet"}
    assert "network" in tpl.resources["port"].properties and "network_id" not in tpl.resources["port"].properties
    plan = planner.plan(tpl, {})
    assert plan.resources["floating_ip"].properties["floating_network"] == "public"
    assert plan.resources["subnet"].properties["network"] == plan.resources["net"].resource_id
    with pytest.raises(TemplateError, match="not both") as exc:
        Template.from_dict({"heat_template_version": "2018-08-31", "resources": {"s": {
            "type": "OS::Neutron::Subnet", "properties": {"network": "a", "network_id": "a"}}}})
    assert exc.value.path == ("resources", "s", "properties", "network_id")
