"""The Heat v1 API's calls that need no stack: discovery, build info, services, resource
types, template versions and validate, through the real `openstack` CLI (heatclient)
and raw HTTP, against the session's controller (``heat_cloud``)."""

from __future__ import annotations

import pytest

from tests.api.orchestration.heat_helpers import API

pytestmark = [pytest.mark.orchestration, pytest.mark.api]

GOOD = """
heat_template_version: 2018-08-31
description: one value
parameter_groups:
  - label: sizes
    parameters: [size]
parameters:
  size:
    type: number
    label: Size
    description: how big
    default: 2
    constraints:
      - range: {min: 1, max: 10}
  secret:
    type: string
    hidden: true
    constraints:
      - allowed_values: [a, b]
resources:
  v:
    type: OS::Heat::Value
    properties:
      value: {get_param: size}
outputs:
  out:
    value: {get_attr: [v, value]}
"""


@pytest.fixture(scope="module")
def member(heat_cloud):
    return heat_cloud.new_project_user(prefix="hapi")


def test_versions_document_without_token(heat_cloud):
    r = heat_cloud.http.get("/orchestration/")
    assert r.status_code == 300
    (v,) = r.json()["versions"]
    assert v["id"] == "v1.0" and v["status"] == "CURRENT"
    assert v["links"][0]["href"].endswith("/orchestration/v1/")


def test_build_info_and_services(heat_cloud, member):
    info = heat_cloud.cli("orchestration", "build", "info", "-f", "json", creds=member)
    assert set(info) == {"api", "engine"} and info["engine"]["revision"]
    services = heat_cloud.cli("orchestration", "service", "list", "-f", "json")
    assert [s["Binary"] for s in services] == ["heat-engine"] and services[0]["Status"] == "up"
    r = heat_cloud.request("GET", f"{API}/{member.project_id}/services", heat_cloud.token(member))
    assert r.status_code == 403 and r.json()["error"]["type"] == "Forbidden"


def test_another_projects_path_is_forbidden(heat_cloud, member):
    other = heat_cloud.new_project_user(prefix="hapi")
    r = heat_cloud.request("GET", f"{API}/{other.project_id}/stacks", heat_cloud.token(member))
    assert r.status_code == 403, r.text


def test_resource_types_list_show_and_template(heat_cloud, member):
    names = [t["Resource Type"] for t in heat_cloud.cli(
        "orchestration", "resource", "type", "list", "-f", "json", creds=member)]
    assert "OS::Nova::Server" in names and "OS::Heat::Value" in names
    described = heat_cloud.cli("orchestration", "resource", "type", "list", "--long", "-f", "json",
                               "--filter", "name=OS::Nova::.*", creds=member)
    assert described and all(t["Resource Type"].startswith("OS::Nova::") for t in described)
    assert all(t["Description"] for t in described)
    schema = heat_cloud.cli("orchestration", "resource", "type", "show", "OS::Nova::Server", "-f", "json",
                            creds=member)
    flavor = schema["properties"]["flavor"]
    assert flavor["type"] == "string" and flavor["required"] is True and "update_allowed" in flavor
    assert "networks" in schema["properties"] and schema["attributes"]
    assert schema["support_status"]["status"] == "SUPPORTED"
    hot = heat_cloud.cli("orchestration", "resource", "type", "show", "OS::Heat::Value", "--template-type",
                         "hot", "-f", "json", creds=member)
    assert hot["resources"]["OS::Heat::Value"]["properties"]["value"] == {"get_param": "value"}
    r = heat_cloud.request("GET", f"{API}/{member.project_id}/resource_types/OS::Nope::Thing",
                           heat_cloud.token(member))
    assert r.status_code == 404 and "OS::Nope::Thing" in r.json()["error"]["message"]


def test_template_versions_and_functions(heat_cloud, member):
    versions = heat_cloud.cli("orchestration", "template", "version", "list", "-f", "json", creds=member)
    by_version = {v["Version"]: v for v in versions}
    assert by_version["heat_template_version.2016-10-14"]["Type"] == "hot"
    assert "heat_template_version.newton" in by_version["heat_template_version.2016-10-14"]["Aliases"]
    assert any(v["Type"] == "cfn" for v in versions)
    funcs = heat_cloud.cli("orchestration", "template", "function", "list", "heat_template_version.2016-10-14",
                           "-f", "json", creds=member)
    names = {f["Functions"] for f in funcs}
    assert {"get_param", "get_attr", "str_replace", "list_join"} <= names and "filter" not in names
    conds = heat_cloud.cli("orchestration", "template", "function", "list", "2016-10-14", "--with_conditions",
                           "-f", "json", creds=member)
    assert {"equals", "not", "and", "or"} <= {f["Functions"] for f in conds}


def test_validate_shapes_parameters_as_heat(heat_cloud, member, tmp_path):
    tpl = tmp_path / "good.yaml"
    tpl.write_text(GOOD)
    got = heat_cloud.cli("orchestration", "template", "validate", "-t", str(tpl), "-f", "json", creds=member)
    assert got["Description"] == "one value"
    size = got["Parameters"]["size"]
    assert size == {"Type": "Number", "Description": "how big", "Label": "Size", "NoEcho": "false", "Default": 2,
                    "MinValue": 1, "MaxValue": 10}
    assert got["Parameters"]["secret"]["NoEcho"] == "true"
    assert got["Parameters"]["secret"]["AllowedValues"] == ["a", "b"]
    assert got["ParameterGroups"] == [{"label": "sizes", "parameters": ["size"]}]
    assert "resource_registry" in got["Environment"]


@pytest.mark.parametrize("body, path", [
    ({"heat_template_version": "2018-08-31",
      "resources": {"web": {"type": "OS::Nova::Server", "properties": {"flavor": 1, "image": "x"}}}},
     "resources.web.properties"),
    ({"heat_template_version": "2018-08-31", "resources": {"v": {"type": "OS::Nope::Thing"}}},
     "resources.v.type"),
    ({"heat_template_version": "1999-01-01", "resources": {}}, "heat_template_version"),
    ({"heat_template_version": "2018-08-31",
      "resources": {"v": {"type": "OS::Heat::Value", "properties": {"value": {"get_resource": "nope"}}}}},
     "resources.v"),
])
def test_bad_templates_are_400_with_the_path(heat_cloud, member, body, path):
    token = heat_cloud.token(member)
    for url, payload in ((f"{API}/{member.project_id}/validate", {"template": body}),
                         (f"{API}/{member.project_id}/stacks", {"stack_name": "bad", "template": body})):
        r = heat_cloud.request("POST", url, token, json=payload)
        assert r.status_code == 400, (url, r.status_code, r.text)
        err = r.json()["error"]
        assert err["type"] == "StackValidationFailed" and path in err["message"], err


def test_malformed_requests_are_400(heat_cloud, member):
    token, base = heat_cloud.token(member), f"{API}/{member.project_id}"
    cases = [
        ("POST", "/stacks", {"stack_name": "x", "template_url": "http://example.com/t.yaml"}, "template_url"),
        ("POST", "/stacks", {"template": {"heat_template_version": "2018-08-31"}}, "stack name"),
        ("POST", "/stacks", {"stack_name": "1bad", "template": {}}, "Invalid stack name"),
        ("POST", "/validate", {"template": "a: [b"}, "not in valid format"),
        ("POST", "/validate", [1, 2], "JSON object"),
        ("GET", "/stacks?sort_keys=nope", None, "Sort key"),
        ("GET", "/stacks?limit=-1", None, "limit"),
        ("GET", "/stacks?show_deleted=maybe", None, "show_deleted"),
    ]
    for method, path, body, words in cases:
        r = heat_cloud.request(method, base + path, token, json=body)
        assert r.status_code == 400, (path, r.text)
        assert words in r.json()["error"]["message"], (path, r.text)
