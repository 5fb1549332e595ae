"""A stack's life through the Heat API on the session's controller (``heat_cloud``):
create → CREATE_COMPLETE with outputs (``openstack stack create --wait`` as heatclient
polls it), the same name again → 409, delete leaving nothing (a Retain resource kept);
a failing resource rolled back to ROLLBACK_COMPLETE with nothing left, or kept
CREATE_FAILED with ``disable_rollback``. No guests: TestResource, Value, RandomString."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from stratus.db.models.jobs import ACTIVE, DELETED, Resource
from stratus.db.session import Database
from tests.api.orchestration.heat_helpers import API, stack_path, wait_stack

pytestmark = [pytest.mark.orchestration, pytest.mark.api]

TEMPLATE = {
    "heat_template_version": "2018-08-31",
    "parameters": {"greeting": {"type": "string", "default": "hello"}},
    "resources": {
        "word": {"type": "OS::Heat::TestResource", "properties": {"value": {"get_param": "greeting"}}},
        "secret": {"type": "OS::Heat::RandomString", "properties": {"length": 10}},
        "pair": {"type": "OS::Heat::Value",
                 "properties": {"value": {"list_join": ["-", [{"get_attr": ["word", "output"]},
                                                             {"get_param": "OS::stack_name"}]]}}},
        "kept": {"type": "OS::Heat::None", "deletion_policy": "Retain"},
    },
    "outputs": {"pair": {"value": {"get_attr": ["pair", "value"]}, "description": "word and stack name"}},
}


@pytest.fixture(scope="module")
def member(heat_cloud):
    return heat_cloud.new_project_user(prefix="hlife")


@pytest.fixture(scope="module")
def records(heat_cloud):
    db = Database(heat_cloud.database_url)
    yield db
    db.dispose()


def rows(records, stack_id: str) -> dict[str, Resource]:
    with records.session() as s:
        got = {r.name: r for r in s.scalars(select(Resource).where(Resource.stack_id == stack_id))}
        for r in got.values():
            s.expunge(r)
    return got


def post_stack(cloud, creds, token, name: str, template: dict, **extra):
    return cloud.request("POST", f"{API}/{creds.project_id}/stacks", token,
                         json={"stack_name": name, "template": template, **extra})


def test_create_with_outputs_409_and_delete_leaving_nothing_but_retained(heat_cloud, member, records, tmp_path):
    template = TEMPLATE
    path = tmp_path / "life.yaml"
    path.write_text(json.dumps(template))
    out = heat_cloud.cli("stack", "create", "-t", str(path), "--parameter", "greeting=hi", "--wait",
                         "-f", "json", "life", creds=member)
    # --wait prints the events as heatclient polls them, then the stack
    progress, _, shown = out.partition("\n{")
    assert "[life.word]: CREATE_COMPLETE  state changed" in progress, out
    assert "[life]: CREATE_COMPLETE  Stack CREATE completed successfully" in progress, out
    out = json.loads("{" + shown)
    assert out["stack_status"] == "CREATE_COMPLETE", out
    stack_id = out["id"]
    token = heat_cloud.token(member)
    got = wait_stack(heat_cloud, member, "life", "CREATE_COMPLETE")
    assert got["stack_status_reason"] == "Stack CREATE completed successfully"
    assert {o["output_key"]: o["output_value"] for o in got["outputs"]} == {"pair": "hi-life"}

    r = post_stack(heat_cloud, member, token, "life", template)
    assert r.status_code == 409, r.text
    assert "The Stack (life) already exists." in r.text

    r = heat_cloud.request("GET", f"{stack_path(heat_cloud, member, 'life')}/{stack_id}/events", token)
    assert r.status_code == 200, r.text
    seen = {(e["resource_name"], e["resource_status"]) for e in r.json()["events"]}
    assert {("word", "CREATE_IN_PROGRESS"), ("word", "CREATE_COMPLETE"), ("life", "CREATE_COMPLETE")} <= seen

    made = rows(records, stack_id)
    assert {n: r.status for n, r in made.items()} == dict.fromkeys(("word", "secret", "pair", "kept"), ACTIVE)
    r = heat_cloud.request("DELETE", f"{stack_path(heat_cloud, member, 'life')}/{stack_id}", token)
    assert r.status_code == 204, r.text
    wait_stack(heat_cloud, member, stack_id, "DELETE_COMPLETE")
    left = rows(records, stack_id)
    assert {n: r.status for n, r in left.items()} == {"word": DELETED, "secret": DELETED, "pair": DELETED,
                                                       "kept": ACTIVE}
    r = heat_cloud.request("GET", stack_path(heat_cloud, member, "life"), token)
    assert r.status_code == 404, r.text
    r = heat_cloud.request("DELETE", f"{stack_path(heat_cloud, member, 'life')}/{stack_id}", token)
    assert r.status_code == 404, r.text


FAILING = {
    "heat_template_version": "2018-08-31",
    "resources": {
        "fine": {"type": "OS::Heat::TestResource", "properties": {"value": "ok"}},
        "broken": {"type": "OS::Heat::TestResource", "properties": {"fail": True}, "depends_on": ["fine"]},
    },
}


def test_failed_create_rolls_back_and_disable_rollback_keeps_it_failed(heat_cloud, member, records):
    token = heat_cloud.token(member)
    r = post_stack(heat_cloud, member, token, "rolled", FAILING, disable_rollback=False)
    assert r.status_code == 201, r.text
    rolled = r.json()["stack"]["id"]
    r = post_stack(heat_cloud, member, token, "kept-failed", FAILING, disable_rollback=True)
    assert r.status_code == 201, r.text
    failed = r.json()["stack"]["id"]

    got = wait_stack(heat_cloud, member, "kept-failed", "CREATE_FAILED")
    assert got["stack_status_reason"].startswith("Resource CREATE failed: "), got
    assert "Test Resource failed broken" in got["stack_status_reason"]
    assert {n: r.status for n, r in rows(records, failed).items()} == {"fine": ACTIVE, "broken": "ERROR"}

    got = wait_stack(heat_cloud, member, "rolled", "ROLLBACK_COMPLETE")
    assert got["stack_status_reason"] == "Stack ROLLBACK completed successfully"
    assert {n: r.status for n, r in rows(records, rolled).items()} == {"fine": DELETED, "broken": DELETED}
    r = heat_cloud.request("GET", f"{stack_path(heat_cloud, member, 'rolled')}/{rolled}/events", token,
                           params={"resource_name": "rolled"})
    statuses = [e["resource_status"] for e in r.json()["events"]]
    assert statuses == ["CREATE_IN_PROGRESS", "CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"]
    for sid, name in ((rolled, "rolled"), (failed, "kept-failed")):
        r = heat_cloud.request("DELETE", f"{stack_path(heat_cloud, member, name)}/{sid}", token)
        assert r.status_code == 204, r.text
