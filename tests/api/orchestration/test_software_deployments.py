"""Software configs and deployments through the Heat API on the session's controller, no
guest: the config and deployment routes in Heat's shapes; config types (SoftwareConfig,
CloudConfig, MultipartMime, StructuredConfig) as records; a stack's deployment that the
test completes the way a guest does (reads the server's deployments metadata, POSTs its
result to deploy_signal_id) and one whose non-zero status code fails its resource with
the script's stderr."""

from __future__ import annotations

import email
import json

import httpx
import pytest
import yaml

from tests.api.orchestration.heat_helpers import API, wait_stack
from tests.api.orchestration.signal_helpers import create_stack, from_host, resource

pytestmark = [pytest.mark.orchestration, pytest.mark.api]


@pytest.fixture(scope="module")
def creds(heat_cloud):
    return heat_cloud.new_project_user(prefix="soft")


def api(cloud, creds, method: str, path: str, **kw) -> httpx.Response:
    return cloud.request(method, f"{API}/{creds.project_id}{path}", cloud.token(creds), **kw)


def test_config_and_deployment_routes_in_heats_shapes(heat_cloud, creds):
    body = {"name": "cfg", "group": "script", "config": "#!/bin/sh\necho hi\n",
            "inputs": [{"name": "who", "default": "world"}], "outputs": [{"name": "result"}],
            "options": {"k": "v"}}
    r = api(heat_cloud, creds, "POST", "/software_configs", json=body)
    assert r.status_code == 200, r.text
    config = r.json()["software_config"]
    assert {k: config[k] for k in ("name", "group", "config", "options")} == {
        "name": "cfg", "group": "script", "config": "#!/bin/sh\necho hi\n", "options": {"k": "v"}}
    assert config["inputs"][0]["name"] == "who" and config["inputs"][0]["type"] == "String"
    assert config["outputs"] == [{"type": "String", "description": None, "error_output": False, "name": "result"}]
    listed = api(heat_cloud, creds, "GET", "/software_configs").json()["software_configs"]
    assert [c["id"] for c in listed] == [config["id"]] and "config" not in listed[0]
    # heatclient reads the same (openstack software config show / list)
    shown = heat_cloud.cli("software", "config", "show", config["id"], "-f", "json", creds=creds)
    assert shown["id"] == config["id"] and shown["group"] == "script" and shown["name"] == "cfg"
    assert [c["id"] for c in heat_cloud.cli("software", "config", "list", "-f", "json", creds=creds)] == [
        config["id"]]
    assert api(heat_cloud, creds, "GET", f"/software_configs/{config['id']}").json()["software_config"] == config

    server = "5c3b7fd4-3d52-4e1c-9b7e-9d0ac0f0e2a1"
    r = api(heat_cloud, creds, "POST", "/software_deployments",
            json={"config_id": config["id"], "server_id": server, "input_values": {"who": "x"}})
    assert r.status_code == 200, r.text
    dep = r.json()["software_deployment"]
    assert (dep["action"], dep["status"], dep["server_id"]) == ("INIT", "COMPLETE", server)
    r = api(heat_cloud, creds, "PUT", f"/software_deployments/{dep['id']}",
            json={"status": "FAILED", "status_reason": "no", "output_values": {"deploy_status_code": 1}})
    assert r.json()["software_deployment"]["status"] == "FAILED"
    assert r.json()["software_deployment"]["output_values"] == {"deploy_status_code": 1}
    listed = api(heat_cloud, creds, "GET", "/software_deployments", params={"server_id": server})
    assert [d["id"] for d in listed.json()["software_deployments"]] == [dep["id"]]
    meta = api(heat_cloud, creds, "GET", f"/software_deployments/metadata/{server}").json()["metadata"]
    assert [m["id"] for m in meta] == [config["id"]]
    shown = heat_cloud.cli("software", "deployment", "show", dep["id"], "-f", "json", creds=creds)
    assert (shown["id"], shown["server_id"], shown["status"]) == (dep["id"], server, "FAILED")
    # a config in use stays; the deployment goes, then the config
    assert api(heat_cloud, creds, "DELETE", f"/software_configs/{config['id']}").status_code == 409
    assert api(heat_cloud, creds, "DELETE", f"/software_deployments/{dep['id']}").status_code == 204
    assert api(heat_cloud, creds, "DELETE", f"/software_configs/{config['id']}").status_code == 204
    r = api(heat_cloud, creds, "GET", f"/software_configs/{config['id']}")
    assert r.status_code == 404, r.text


CONFIGS = {
    "heat_template_version": "2018-08-31",
    "resources": {
        "script": {"type": "OS::Heat::SoftwareConfig",
                   "properties": {"group": "script", "config": "#!/bin/sh\necho one\n"}},
        "cloud": {"type": "OS::Heat::CloudConfig",
                  "properties": {"cloud_config": {"packages": ["htop"], "runcmd": ["echo two"]}}},
        "mime": {"type": "OS::Heat::MultipartMime",
                 "properties": {"parts": [{"config": {"get_resource": "cloud"}},
                                          {"config": {"get_resource": "script"}, "filename": "run.sh",
                                           "subtype": "x-shellscript"}]}},
        "structured": {"type": "OS::Heat::StructuredConfig", "properties": {"config": {"a": 1}}},
    },
    "outputs": {"mime": {"value": {"get_attr": ["mime", "config"]}},
                "cloud": {"value": {"get_attr": ["cloud", "config"]}}},
}


def test_config_types_are_records_and_mime_is_built_as_heat_does(heat_cloud, creds):
    name, sid = create_stack(heat_cloud, creds, CONFIGS, prefix="cfgs")
    stack = wait_stack(heat_cloud, creds, sid, "CREATE_COMPLETE", timeout=120)
    out = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    assert out["cloud"].startswith("#cloud-config\n")
    assert yaml.safe_load(out["cloud"]) == {"packages": ["htop"], "runcmd": ["echo two"]}
    message = email.message_from_string(out["mime"])
    parts = message.get_payload()
    assert message.get_content_type() == "multipart/mixed" and len(parts) == 2
    assert parts[0].get_content_type() == "text/plain" and parts[0].get_payload().startswith("#cloud-config")
    assert parts[1].get_content_type() == "text/x-shellscript" and parts[1].get_filename() == "run.sh"
    assert parts[1].get_payload() == "#!/bin/sh\necho one\n"
    # each config is a software config record with the resource's id
    for res in ("script", "cloud", "mime", "structured"):
        rid = resource(heat_cloud, creds, name, sid, res)["physical_resource_id"]
        got = api(heat_cloud, creds, "GET", f"/software_configs/{rid}").json()["software_config"]
        assert got["group"] == ("script" if res == "script" else "Heat::Ungrouped")
    assert json.loads(got["config"]) == {"a": 1}


def deployment_template(config: str, outputs: list | None = None) -> dict:
    return {
        "heat_template_version": "2018-08-31",
        "resources": {
            "server": {"type": "OS::Heat::None"},  # any id: Heat does not look at the server
            "config": {"type": "OS::Heat::SoftwareConfig",
                       "properties": {"group": "script", "config": config, "inputs": [{"name": "who"}],
                                      "outputs": outputs or []}},
            "deploy": {"type": "OS::Heat::SoftwareDeployment",
                       "properties": {"config": {"get_resource": "config"}, "server": {"get_resource": "server"},
                                      "input_values": {"who": "world"}}},
        },
        "outputs": {"stdout": {"value": {"get_attr": ["deploy", "deploy_stdout"]}},
                    "code": {"value": {"get_attr": ["deploy", "deploy_status_code"]}},
                    "result": {"value": {"get_attr": ["deploy", "result"]}}},
    }


def guest_reads(cloud, creds, name, sid) -> dict:
    """What the server's agent reads: its deployments' derived configs (Heat's metadata)."""
    server = resource(cloud, creds, name, sid, "server")["physical_resource_id"]
    meta = api(cloud, creds, "GET", f"/software_deployments/metadata/{server}").json()["metadata"]
    assert len(meta) == 1, meta
    return meta[0]


def test_a_deployment_completes_with_the_servers_result(heat_cloud, creds):
    name, sid = create_stack(heat_cloud, creds, deployment_template("#!/bin/sh\necho hello $who\n",
                                                                    [{"name": "result"}]), prefix="dep-ok")
    derived = guest_reads(heat_cloud, creds, name, sid)
    inputs = {i["name"]: i["value"] for i in derived["inputs"]}
    assert derived["group"] == "script" and derived["config"] == "#!/bin/sh\necho hello $who\n"
    assert inputs["who"] == "world" and inputs["deploy_action"] == "CREATE"
    assert inputs["deploy_resource_name"] == "deploy" and inputs["deploy_signal_verb"] == "POST"
    assert resource(heat_cloud, creds, name, sid, "deploy")["resource_status"] == "CREATE_IN_PROGRESS"
    r = httpx.post(from_host(heat_cloud, inputs["deploy_signal_id"]),
                   json={"deploy_stdout": "hello world\n", "deploy_stderr": "", "deploy_status_code": 0,
                         "result": "42"})
    assert r.status_code == 200, r.text
    stack = wait_stack(heat_cloud, creds, sid, "CREATE_COMPLETE", timeout=120)
    out = {o["output_key"]: o["output_value"] for o in stack["outputs"]}
    assert out == {"stdout": "hello world\n", "code": 0, "result": "42"}
    server = inputs["deploy_server_id"]
    deps = api(heat_cloud, creds, "GET", "/software_deployments", params={"server_id": server}).json()
    (dep,) = deps["software_deployments"]
    assert (dep["status"], dep["status_reason"]) == ("COMPLETE", "Outputs received")


def test_a_failing_deployment_fails_its_resource_with_the_scripts_stderr(heat_cloud, creds):
    name, sid = create_stack(heat_cloud, creds, deployment_template("#!/bin/sh\nexit 3\n"), prefix="dep-bad")
    inputs = {i["name"]: i["value"] for i in guest_reads(heat_cloud, creds, name, sid)["inputs"]}
    r = httpx.post(from_host(heat_cloud, inputs["deploy_signal_id"]),
                   json={"deploy_stdout": "", "deploy_stderr": "cannot write /etc/motd\n", "deploy_status_code": 3})
    assert r.status_code == 200, r.text
    with pytest.raises(AssertionError, match="CREATE_FAILED"):
        wait_stack(heat_cloud, creds, sid, "CREATE_COMPLETE", timeout=120)
    deploy = resource(heat_cloud, creds, name, sid, "deploy")
    assert deploy["resource_status"] == "CREATE_FAILED"
    reason = deploy["resource_status_reason"]
    assert "Deployment to server failed: deploy_status_code : Deployment exited with non-zero status code: 3" \
        in reason
    assert "cannot write /etc/motd" in reason
