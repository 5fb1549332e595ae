"""Stack actions, snapshots, abandon and adopt through the Heat API on the session's
controller (``heat_cloud``): suspend → SUSPEND_COMPLETE, resume only from there (400
otherwise), check; a snapshot listed, shown and deleted; abandon returns Heat's abandon
data and forgets the stack, adopt takes the same resources back (ADOPT_COMPLETE, the
same ids and values). No guests: TestResource, RandomString, Value."""

from __future__ import annotations

import pytest

from tests.api.orchestration.heat_helpers import API, stack_path, wait_stack

pytestmark = [pytest.mark.orchestration, pytest.mark.api]

TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "resources": {
        "word": {"type": "OS::Heat::TestResource", "properties": {"value": "w"}},
        "secret": {"type": "OS::Heat::RandomString", "properties": {"length": 16}},
        "both": {"type": "OS::Heat::Value",
                 "properties": {"value": {"list_join": [":", [{"get_attr": ["word", "output"]},
                                                             {"get_attr": ["secret", "value"]}]]}}},
    },
    "outputs": {"both": {"value": {"get_attr": ["both", "value"]}}},
}


@pytest.fixture(scope="module")
def member(heat_cloud):
    return heat_cloud.new_project_user(prefix="hact")


def make(cloud, creds, token, name: str) -> tuple[str, dict]:
    r = cloud.request("POST", f"{API}/{creds.project_id}/stacks", token,
                      json={"stack_name": name, "template": TEMPLATE})
    assert r.status_code == 201, r.text
    return r.json()["stack"]["id"], wait_stack(cloud, creds, name, "CREATE_COMPLETE")


def test_suspend_resume_check(heat_cloud, member):
    token = heat_cloud.token(member)
    sid, _ = make(heat_cloud, member, token, "acts")
    actions = f"{stack_path(heat_cloud, member, 'acts')}/{sid}/actions"
    r = heat_cloud.request("POST", actions, token, json={"resume": None})
    assert r.status_code == 400, r.text
    assert "State (CREATE, COMPLETE) invalid for resume" in r.text
    for body, status in (({"suspend": None}, "SUSPEND_COMPLETE"), ({"resume": None}, "RESUME_COMPLETE"),
                         ({"check": None}, "CHECK_COMPLETE")):
        r = heat_cloud.request("POST", actions, token, json=body)
        assert r.status_code == 200, r.text
        got = wait_stack(heat_cloud, member, sid, status)
        assert got["stack_status_reason"] == f"Stack {status.split('_')[0]} completed successfully"
        r = heat_cloud.request("GET", f"{stack_path(heat_cloud, member, 'acts')}/{sid}/resources", token)
        assert {x["resource_status"] for x in r.json()["resources"]} == {status}, r.text
    r = heat_cloud.request("DELETE", f"{stack_path(heat_cloud, member, 'acts')}/{sid}", token)
    assert r.status_code == 204, r.text


def test_snapshots_then_abandon_and_adopt(heat_cloud, member):
    token = heat_cloud.token(member)
    sid, got = make(heat_cloud, member, token, "keep")
    both = got["outputs"][0]["output_value"]
    assert both.startswith("w:") and len(both) == 2 + 16
    base = f"{stack_path(heat_cloud, member, 'keep')}/{sid}"

    r = heat_cloud.request("POST", f"{base}/snapshots", token, json={"name": "snap1"})
    assert r.status_code == 200, r.text
    snap = r.json()
    snap_id = snap["id"]
    assert snap["status"] == "COMPLETE" and snap["name"] == "snap1"
    r = heat_cloud.request("GET", f"{base}/snapshots", token)
    assert [s["id"] for s in r.json()["snapshots"]] == [snap_id]
    r = heat_cloud.request("GET", f"{base}/snapshots/{snap_id}", token)
    assert r.status_code == 200 and r.json()["snapshot"]["data"]["template"] == TEMPLATE, r.text
    r = heat_cloud.request("DELETE", f"{base}/snapshots/{snap_id}", token)
    assert r.status_code == 204, r.text
    r = heat_cloud.request("GET", f"{base}/snapshots/{snap_id}", token)
    assert r.status_code == 404, r.text

    r = heat_cloud.request("DELETE", f"{base}/abandon", token)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["name"] == "keep" and data["id"] == sid and data["template"] == TEMPLATE
    assert set(data["resources"]) == {"word", "secret", "both"}
    ids = {n: d["resource_id"] for n, d in data["resources"].items()}
    assert heat_cloud.request("GET", stack_path(heat_cloud, member, "keep"), token).status_code == 404

    r = heat_cloud.request("POST", f"{API}/{member.project_id}/stacks", token,
                           json={"stack_name": "kept", "adopt_stack_data": data, "template": TEMPLATE})
    assert r.status_code == 201, r.text
    got = wait_stack(heat_cloud, member, "kept", "ADOPT_COMPLETE")
    assert got["outputs"][0]["output_value"] == both
    r = heat_cloud.request("GET", f"{stack_path(heat_cloud, member, 'kept')}/{got['id']}/resources", token)
    assert {x["resource_name"]: x["physical_resource_id"] for x in r.json()["resources"]} == ids
    r = heat_cloud.request("DELETE", f"{stack_path(heat_cloud, member, 'kept')}/{got['id']}", token)
    assert r.status_code == 204, r.text
    wait_stack(heat_cloud, member, got["id"], "DELETE_COMPLETE")
