"""OS::Heat::WaitCondition(+Handle) and the AWS::CloudFormation pair through the Heat
API on the session's controller, no guest: signals sent with the handle's curl_cli
(its ticket as the token), with a Keystone token, and to a CFN pre-signed URL; a
FAILURE signal and a timeout fail the stack in Heat's words; refusals in Heat's 400s."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.api.orchestration.heat_helpers import wait_stack
from tests.api.orchestration.signal_helpers import (
    attributes,
    create_stack,
    from_host,
    resource,
    run_curl_cli,
    signal,
)

pytestmark = [pytest.mark.orchestration, pytest.mark.api]


def hot(count: int = 1, timeout: int = 120) -> dict:
    return {
        "heat_template_version": "2018-08-31",
        "resources": {
            "handle": {"type": "OS::Heat::WaitConditionHandle"},
            "wait": {"type": "OS::Heat::WaitCondition",
                     "properties": {"handle": {"get_resource": "handle"}, "count": count, "timeout": timeout}},
            "nothing": {"type": "OS::Heat::None"},
        },
        "outputs": {"data": {"value": {"get_attr": ["wait", "data"]}}},
    }


@pytest.fixture(scope="module")
def creds(heat_cloud):
    return heat_cloud.new_project_user(prefix="wait")


def test_curl_cli_and_token_signals_complete_the_wait_with_their_data(heat_cloud, creds):
    name, sid = create_stack(heat_cloud, creds, hot(count=2), prefix="wc-ok")
    attrs = attributes(heat_cloud, creds, name, sid, "handle", "curl_cli")
    assert attrs["curl_cli"].startswith("curl -i -X POST -H 'X-Auth-Token: ")
    assert attrs["token"] in attrs["curl_cli"] and attrs["endpoint"] in attrs["curl_cli"]

    # the guest's way: curl_cli + --data-binary, the ticket as the only credential
    r = run_curl_cli(from_host(heat_cloud, attrs["curl_cli"]), json.dumps({"status": "SUCCESS", "reason": "first", "data": "d1",
                                                    "id": "a"}))
    assert r.returncode == 0, r.stdout + r.stderr
    # a signal by the handle's token to the Heat resource-signal path
    r = signal(heat_cloud, creds, name, sid, "handle", {"data": "d2"}, token=attrs["token"])
    assert r.status_code == 200, r.text
    assert resource(heat_cloud, creds, name, sid, "wait")["resource_status"] == "CREATE_IN_PROGRESS"
    # openstack stack resource signal: a project member's Keystone token; Heat's defaults apply
    r = signal(heat_cloud, creds, name, sid, "handle", {"data": "d3", "id": "c"})
    assert r.status_code == 200, r.text

    stack = wait_stack(heat_cloud, creds, sid, "CREATE_COMPLETE", timeout=120)
    data = json.loads({o["output_key"]: o for o in stack["outputs"]}["data"]["output_value"])
    # the id defaults to the signal's number (2): Heat's normalise_signal_data
    assert data == {"a": "d1", "2": "d2", "c": "d3"}


def test_timeout_fails_the_wait_with_the_count_received(heat_cloud, creds):
    name, sid = create_stack(heat_cloud, creds, hot(count=2, timeout=3), prefix="wc-late")
    attrs = attributes(heat_cloud, creds, name, sid, "handle", "curl_cli")
    assert run_curl_cli(from_host(heat_cloud, attrs["curl_cli"]), json.dumps({"reason": "one of two"})).returncode == 0
    with pytest.raises(AssertionError, match="CREATE_FAILED"):
        wait_stack(heat_cloud, creds, sid, "CREATE_COMPLETE", timeout=120)
    reason = resource(heat_cloud, creds, name, sid, "wait")["resource_status_reason"]
    assert "WaitConditionTimeout: resources.wait: 1 of 2 received - one of two" in reason


def test_refusals_and_a_failure_signal_in_heats_words(heat_cloud, creds):
    name, sid = create_stack(heat_cloud, creds, hot(timeout=60), prefix="wc-no")
    attrs = attributes(heat_cloud, creds, name, sid, "handle", "curl_cli")
    # a type that takes no signals
    r = signal(heat_cloud, creds, name, sid, "nothing", {"status": "SUCCESS"})
    assert r.status_code == 400, r.text
    assert "signal is not supported for resource." in r.text
    # a status Heat does not know
    r = signal(heat_cloud, creds, name, sid, "handle", {"status": "DONE"}, token=attrs["token"])
    assert r.status_code == 400 and "Metadata format invalid" in r.text, r.text
    # the handle's ticket opens that handle only, and a forged one nothing
    r = signal(heat_cloud, creds, name, sid, "nothing", {}, token=attrs["token"])
    assert r.status_code == 401, r.text
    forged = attrs["token"][:-4] + ("0000" if not attrs["token"].endswith("0000") else "1111")
    r = httpx.post(from_host(heat_cloud, attrs["endpoint"]), headers={"X-Auth-Token": forged}, json={})
    assert r.status_code == 401, r.text
    # another project's member cannot signal with a Keystone token
    other = heat_cloud.new_project_user(prefix="wait-other")
    r = heat_cloud.request("POST", f"/orchestration/v1/{creds.project_id}/stacks/{name}/{sid}/resources/handle/signal",
                           heat_cloud.token(other), json={})
    assert r.status_code in (403, 404), r.text
    # a FAILURE signal fails the wait, and the stack, with Heat's reason
    r = run_curl_cli(from_host(heat_cloud, attrs["curl_cli"]),
                     json.dumps({"status": "FAILURE", "reason": "the disk is full"}))
    assert r.returncode == 0, r.stdout + r.stderr
    with pytest.raises(AssertionError, match="CREATE_FAILED"):
        wait_stack(heat_cloud, creds, sid, "CREATE_COMPLETE", timeout=120)
    wait = resource(heat_cloud, creds, name, sid, "wait")
    assert wait["resource_status"] == "CREATE_FAILED"
    assert "WaitConditionFailure: resources.wait: the disk is full" in wait["resource_status_reason"]


def test_cfn_wait_condition_completes_from_its_presigned_url(heat_cloud, creds):
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"},
            "Wait": {"Type": "AWS::CloudFormation::WaitCondition",
                     "Properties": {"Handle": {"Ref": "Handle"}, "Timeout": 120}},
        },
        "Outputs": {"Data": {"Value": {"Fn::GetAtt": ["Wait", "Data"]}}},
    }
    name, sid = create_stack(heat_cloud, creds, template, prefix="wc-cfn")
    url = from_host(heat_cloud, attributes(heat_cloud, creds, name, sid, "Handle", "url")["url"])
    assert "?signature=" in url
    # cfn-signal's PUT; all four keys are required
    r = httpx.put(url, json={"Status": "SUCCESS", "Reason": "ok"})
    assert r.status_code == 400 and "Metadata format invalid" in r.text, r.text
    r = httpx.put(url, json={"Status": "SUCCESS", "Reason": "ok", "UniqueId": "i1", "Data": "ready"})
    assert r.status_code == 200, r.text
    stack = wait_stack(heat_cloud, creds, sid, "CREATE_COMPLETE", timeout=120)
    assert json.loads(stack["outputs"][0]["output_value"]) == {"i1": "ready"}
