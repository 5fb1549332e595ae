"""A stack's guest talks back, on the session's Heat controller (``heat_cloud``) with
this machine's libvirt (QEMU/TCG) and ONE boot of the tiny guest:

- the stack makes a network, a subnet and a server whose user_data runs the
  WaitConditionHandle's ``curl_cli`` (the guest's curl is busybox wget): the guest
  reaches the controller through the network's metadata relay (169.254.169.254 in the
  qdhcp- namespace, routed by DHCP option 121), the WaitCondition completes with the
  guest's data and the stack is CREATE_COMPLETE;
- the same stack's SoftwareDeployments (group script; group ansible, which on this guest
  without Python runs raw-style playbooks only) are pulled by the guest's agent from
  the relay, run, and its deploy_stdout / deploy_status_code / outputs reported;
- a second stack deploys a failing script to the same server: its deployment fails the
  resource with the script's stderr.
"""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest

from tests.api.orchestration.heat_helpers import API, wait_stack
from tests.api.orchestration.signal_helpers import create_stack, resource
from tests.integration.compute.actions_guest import cleanup, remove_images

pytestmark = [pytest.mark.orchestration, pytest.mark.compute, pytest.mark.network]

USER_DATA = """#!/bin/sh
wc_notify --data-binary '{"status": "SUCCESS", "reason": "booted", "data": "hello from '"$(hostname)"'"}'
"""


def guest_stack(image: str, flavor: str, cidr: str) -> dict:
    return {
        "heat_template_version": "2018-08-31",
        "resources": {
            "net": {"type": "OS::Neutron::Net"},
            "subnet": {"type": "OS::Neutron::Subnet",
                       "properties": {"network": {"get_resource": "net"}, "cidr": cidr}},
            "handle": {"type": "OS::Heat::WaitConditionHandle"},
            "server": {"type": "OS::Nova::Server", "depends_on": ["subnet"],
                       "properties": {"name": "guest", "image": image, "flavor": flavor,
                                      "networks": [{"network": {"get_resource": "net"}}],
                                      "user_data": {"str_replace": {
                                          "template": USER_DATA,
                                          "params": {"wc_notify": {"get_attr": ["handle", "curl_cli"]}}}}}},
            "wait": {"type": "OS::Heat::WaitCondition", "depends_on": ["server"],
                     "properties": {"handle": {"get_resource": "handle"}, "timeout": 240}},
            "hello": {"type": "OS::Heat::SoftwareConfig",
                      "properties": {"group": "script", "inputs": [{"name": "who"}],
                                     "outputs": [{"name": "greeting"}],
                                     "config": "#!/bin/sh\necho \"hello $who\"\n"
                                               "printf 'hi %s' \"$who\" > \"$heat_outputs_path.greeting\"\n"}},
            "deploy": {"type": "OS::Heat::SoftwareDeployment",
                       "properties": {"config": {"get_resource": "hello"}, "server": {"get_resource": "server"},
                                      "input_values": {"who": "stratus"}}},
            # the tiny guest has no Python: its ansible hook runs raw-style playbooks only
            "playbook": {"type": "OS::Heat::SoftwareConfig",
                         "properties": {"group": "ansible", "inputs": [{"name": "who"}],
                                        "config": "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
                                                  "    - name: greet\n      raw: echo \"raw $who\"\n"}},
            "deploy_playbook": {"type": "OS::Heat::SoftwareDeployment",
                                "properties": {"config": {"get_resource": "playbook"},
                                               "server": {"get_resource": "server"},
                                               "input_values": {"who": "ansible"}}},
        },
        "outputs": {
            "data": {"value": {"get_attr": ["wait", "data"]}},
            "server": {"value": {"get_resource": "server"}},
            "stdout": {"value": {"get_attr": ["deploy", "deploy_stdout"]}},
            "code": {"value": {"get_attr": ["deploy", "deploy_status_code"]}},
            "greeting": {"value": {"get_attr": ["deploy", "greeting"]}},
            "playbook": {"value": {"get_attr": ["deploy_playbook", "deploy_stdout"]}},
        },
    }


def failing_stack(server_id: str) -> dict:
    return {
        "heat_template_version": "2018-08-31",
        "resources": {
            "broken": {"type": "OS::Heat::SoftwareConfig",
                       "properties": {"group": "script",
                                      "config": "#!/bin/sh\necho 'no space left on /srv' >&2\nexit 4\n"}},
            "deploy": {"type": "OS::Heat::SoftwareDeployment",
                       "properties": {"config": {"get_resource": "broken"}, "server": server_id}},
        },
    }


def test_guest_signals_its_wait_condition_and_runs_its_deployments(heat_cloud, guest_image, request):
    tag = uuid.uuid4().hex[:6]
    member = heat_cloud.new_project_user(prefix="guest")
    image = heat_cloud.cli("image", "create", f"tiny-{tag}", "--public", "--disk-format", "qcow2",
                           "--container-format", "bare", "--file", guest_image["qcow2"], "-f", "json")
    request.addfinalizer(lambda: remove_images(image["id"]))
    heat_cloud.cli("flavor", "create", f"stack.tiny-{tag}", "--vcpus", "1", "--ram", "128", "--disk", "1")

    name, sid = create_stack(heat_cloud, member, guest_stack(image["id"], f"stack.tiny-{tag}", "10.77.14.0/24"),
                             prefix="guest")
    token = heat_cloud.token(member)

    def delete(stack_name, stack_id):
        """Delete the stack and wait until it is gone (its network, relay and guest too)."""
        heat_cloud.request("DELETE", f"{API}/{member.project_id}/stacks/{stack_name}/{stack_id}", token)
        with contextlib.suppress(AssertionError):  # cleanup() still removes the guest
            wait_stack(heat_cloud, member, stack_id, "DELETE_COMPLETE", timeout=120)

    server_id = resource(heat_cloud, member, name, sid, "server")["physical_resource_id"]
    request.addfinalizer(lambda: cleanup(server_id))
    request.addfinalizer(lambda: delete(name, sid))

    stack = wait_stack(heat_cloud, member, sid, "CREATE_COMPLETE", timeout=300)
    out = {o["output_key"]: o.get("output_value") for o in stack["outputs"]}
    assert json.loads(out["data"]) == {"1": "hello from guest"}
    assert out["stdout"] == "hello stratus\n" and out["code"] == 0 and out["greeting"] == "hi stratus"
    assert out["playbook"] == "raw ansible\n"

    bad, bad_id = create_stack(heat_cloud, member, failing_stack(server_id), prefix="guest-bad")
    request.addfinalizer(lambda: delete(bad, bad_id))
    with pytest.raises(AssertionError, match="CREATE_FAILED"):
        wait_stack(heat_cloud, member, bad_id, "CREATE_COMPLETE", timeout=120)
    deploy = resource(heat_cloud, member, bad, bad_id, "deploy")
    assert deploy["resource_status"] == "CREATE_FAILED"
    assert "Deployment exited with non-zero status code: 4" in deploy["resource_status_reason"]
    assert "no space left on /srv" in deploy["resource_status_reason"]
