"""The Heat v1 stack API through the real `openstack stack ...` CLI (heatclient) and raw
HTTP: one stack made with ``stack create --wait`` and looked at every way heatclient
looks (list, show by name through the 302, resources, events, outputs, template,
environment), the list's filters and pages, another project's view (404), and delete."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.api.orchestration.heat_helpers import API, wait_stack

pytestmark = [pytest.mark.orchestration, pytest.mark.api]

TEMPLATE = """
heat_template_version: 2018-08-31
description: values for the API tests
parameters:
  size:
    type: number
    default: 2
  word:
    type: string
    hidden: true
    default: sesame
resources:
  first:
    type: OS::Heat::Value
    properties:
      value: {get_param: size}
  second:
    type: OS::Heat::Value
    depends_on: first
    properties:
      value: {str_replace: {template: n-V, params: {V: {get_attr: [first, value]}}}}
outputs:
  joined:
    description: the second value
    value: {get_attr: [second, value]}
"""


@pytest.fixture(scope="module")
def world(heat_cloud, tmp_path_factory):
    """A member of a fresh project with one stack (size=3, tags a,b) made through the CLI."""
    member = heat_cloud.new_project_user(prefix="hst")
    tpl = tmp_path_factory.mktemp("hst") / "values.yaml"
    tpl.write_text(TEMPLATE)
    name = f"api-{uuid.uuid4().hex[:8]}"
    out = heat_cloud.cli("stack", "create", "--wait", "-t", str(tpl), "--parameter", "size=3", "--tags", "a,b",
                         name, "-f", "json", creds=member)
    # --wait prints the events it saw, then the stack
    assert f"[{name}]: CREATE_COMPLETE" in out, out
    made = json.loads(out[out.index("\n{") + 1:])
    assert made["stack_status"] == "CREATE_COMPLETE", made
    return {"member": member, "name": name, "id": made["id"], "tpl": tpl}


def test_list_show_and_the_redirects(heat_cloud, world):
    member, name, sid = world["member"], world["name"], world["id"]
    listed = heat_cloud.cli("stack", "list", "-f", "json", creds=member)
    assert [(s["Stack Name"], s["ID"], s["Stack Status"]) for s in listed] == [(name, sid, "CREATE_COMPLETE")]
    shown = heat_cloud.cli("stack", "show", name, "-f", "json", creds=member)
    assert shown["id"] == sid and shown["stack_status"] == "CREATE_COMPLETE"
    params = shown["parameters"]
    assert params["size"] == "3" and params["word"] == "******"
    assert params["OS::stack_id"] == sid and params["OS::stack_name"] == name
    assert params["OS::project_id"] == member.project_id
    assert shown["outputs"] == [{"output_key": "joined", "output_value": "n-3", "description": "the second value"}]
    assert sorted(shown["tags"]) == ["a", "b"]
    token = heat_cloud.token(member)
    base = f"{API}/{member.project_id}/stacks"
    for ref, sub in ((name, ""), (sid, ""), (name, "/resources"), (name, "/events"), (sid, "/template")):
        r = heat_cloud.request("GET", f"{base}/{ref}{sub}?x=1", token)
        assert r.status_code == 302, r.text
        assert r.headers["location"] == f"{heat_cloud.url}{base}/{name}/{sid}{sub}?x=1"


def test_resources_events_outputs_template(heat_cloud, world):
    member, name = world["member"], world["name"]
    resources = heat_cloud.cli("stack", "resource", "list", name, "-f", "json", creds=member)
    assert sorted((r["resource_name"], r["resource_type"], r["resource_status"]) for r in resources) == [
        ("first", "OS::Heat::Value", "CREATE_COMPLETE"), ("second", "OS::Heat::Value", "CREATE_COMPLETE")]
    first = heat_cloud.cli("stack", "resource", "show", name, "first", "-f", "json", creds=member)
    assert first["required_by"] == ["second"] and first["attributes"]["value"] == 3
    assert {link["rel"] for link in first["links"]} == {"self", "stack"}
    events = heat_cloud.cli("stack", "event", "list", name, "-f", "json", creds=member)
    seen = [(e["resource_name"], e["resource_status"]) for e in events]
    assert seen[0] == (name, "CREATE_IN_PROGRESS") and seen[-1] == (name, "CREATE_COMPLETE"), seen
    assert ("first", "CREATE_COMPLETE") in seen and ("second", "CREATE_COMPLETE") in seen
    event = next(e for e in events if e["resource_name"] == "first" and e["resource_status"] == "CREATE_COMPLETE")
    detail = heat_cloud.cli("stack", "event", "show", name, "first", event["id"], "-f", "json", creds=member)
    assert detail["resource_type"] == "OS::Heat::Value"
    outputs = heat_cloud.cli("stack", "output", "list", name, "-f", "json", creds=member)
    assert outputs == [{"output_key": "joined", "description": "the second value"}]
    out = heat_cloud.cli("stack", "output", "show", name, "joined", "-f", "json", creds=member)
    assert out["output_value"] == "n-3"
    template = heat_cloud.cli("stack", "template", "show", name, "-f", "json", creds=member)
    assert template["resources"]["second"]["depends_on"] == "first"
    env = heat_cloud.cli("stack", "environment", "show", name, "-f", "json", creds=member)
    assert env["parameters"]["size"] in ("3", 3) and "resource_registry" in env


def test_list_filters_and_pages(heat_cloud, world):
    member, name, sid = world["member"], world["name"], world["id"]
    token, url = heat_cloud.token(member), f"{API}/{member.project_id}/stacks"

    def ids(query: str) -> list[str]:
        r = heat_cloud.request("GET", f"{url}?{query}", token)
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["stacks"]]

    assert ids("tags=a,b") == [sid] and ids("tags=a,c") == []
    assert ids("tags_any=c,b") == [sid] and ids("not_tags_any=b") == [] and ids("not_tags=a,c") == [sid]
    assert ids(f"name={name}&status=CREATE_COMPLETE") == [sid] and ids("status=FAILED") == []
    assert ids("action=CREATE&sort_keys=stack_name&sort_dir=asc") == [sid]
    r = heat_cloud.request("GET", f"{url}?limit=1", token).json()
    assert r["links"][0]["rel"] == "next" and f"marker={sid}" in r["links"][0]["href"]
    assert ids(f"limit=1&marker={sid}") == []
    assert heat_cloud.request("GET", f"{url}?with_count=true", token).json()["count"] == 1
    (detail,) = heat_cloud.request("GET", f"{url}/detail", token).json()["stacks"]
    assert detail["id"] == sid and detail["parameters"]["OS::stack_id"] == sid and "outputs" in detail
    r = heat_cloud.request("GET", f"{url}?global_tenant=true", token)
    assert r.status_code == 403 and "stacks:global_index" in r.json()["error"]["message"]


def test_another_projects_stack_is_not_found(heat_cloud, world):
    other = heat_cloud.new_project_user(prefix="hst")
    token = heat_cloud.token(other)
    base = f"{API}/{other.project_id}/stacks"
    for path in (world["name"], world["id"], f"{world['name']}/{world['id']}",
                 f"{world['name']}/{world['id']}/resources"):
        r = heat_cloud.request("GET", f"{base}/{path}", token)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["type"] == "EntityNotFound"
    assert heat_cloud.cli("stack", "list", "-f", "json", creds=other) == []
    got = heat_cloud.cli("stack", "show", world["name"], creds=other, check=False)
    assert got.returncode != 0 and "Stack not found" in got.stderr
    # the administrator sees it, with its project, through global_tenant
    admin = heat_cloud.request("GET", f"{API}/stacks?global_tenant=true")
    assert admin.status_code == 200, admin.text
    mine = [s for s in admin.json()["stacks"] if s["id"] == world["id"]]
    assert mine and mine[0]["project"] == world["member"].project_id


def test_preview_makes_nothing(heat_cloud, world):
    member = world["member"]
    name = f"pre-{uuid.uuid4().hex[:6]}"
    got = heat_cloud.cli("stack", "create", "--dry-run", "-t", str(world["tpl"]), name, "-f", "json", creds=member)
    assert got["stack_name"] == name and got["parameters"]["size"] == "2"
    assert sorted((r["resource_name"], r["required_by"]) for r in got["resources"]) == [
        ("first", ["second"]), ("second", [])]
    assert [s["Stack Name"] for s in heat_cloud.cli("stack", "list", "-f", "json", creds=member)] == [
        world["name"]]
    r = heat_cloud.request("POST", f"{API}/{member.project_id}/stacks", heat_cloud.token(member),
                           json={"stack_name": world["name"], "template": {"heat_template_version": "2018-08-31"}})
    assert r.status_code == 409 and world["name"] in r.json()["error"]["message"], r.text


def test_check_mark_unhealthy_and_snapshots(heat_cloud, world):
    member, name = world["member"], world["name"]
    heat_cloud.cli("stack", "check", "--wait", name, creds=member)
    wait_stack(heat_cloud, member, name, "CHECK_COMPLETE", timeout=60)
    heat_cloud.cli("stack", "resource", "mark", "unhealthy", name, "first", "looks odd", creds=member)
    shown = heat_cloud.cli("stack", "resource", "show", name, "first", "-f", "json", creds=member)
    assert shown["resource_status"] == "CHECK_FAILED" and "looks odd" in shown["resource_status_reason"]
    heat_cloud.cli("stack", "resource", "mark", "unhealthy", "--reset", name, "first", creds=member)
    shown = heat_cloud.cli("stack", "resource", "show", name, "first", "-f", "json", creds=member)
    assert shown["resource_status"] != "CHECK_FAILED"
    snap = heat_cloud.cli("stack", "snapshot", "create", name, "--name", "s1", "-f", "json", creds=member)
    listed = heat_cloud.cli("stack", "snapshot", "list", name, "-f", "json", creds=member)
    assert [(s["id"], s["name"], s["action"]) for s in listed] == [(snap["ID"], "s1", "SNAPSHOT")]
    detail = heat_cloud.cli("stack", "snapshot", "show", name, snap["ID"], "-f", "json", creds=member)
    detail = detail["snapshot"]  # heatclient shows the body as it is
    assert detail["id"] == snap["ID"] and detail["data"]["template"]["resources"]["first"]
    heat_cloud.cli("stack", "snapshot", "delete", name, snap["ID"], creds=member)
    assert heat_cloud.cli("stack", "snapshot", "list", name, "-f", "json", creds=member) == []


def test_update_preview_then_patch_update(heat_cloud, world):
    member, name = world["member"], world["name"]
    changes = heat_cloud.cli("stack", "update", "--dry-run", "--existing", "--parameter", "size=4", name,
                             "-f", "json", creds=member)
    # heatclient prints resource_changes: {change: [Heat's resource summaries]}
    touched = sorted(r["resource_name"] for r in changes["updated"] + changes["unchanged"])
    assert touched == ["first", "second"] and not changes["replaced"] and not changes["added"], changes
    assert "first" in [r["resource_name"] for r in changes["updated"]], changes
    heat_cloud.cli("stack", "update", "--wait", "--existing", "--parameter", "size=4", name, creds=member)
    shown = heat_cloud.cli("stack", "show", name, "-f", "json", creds=member)
    assert shown["stack_status"] == "UPDATE_COMPLETE" and shown["parameters"]["size"] == "4"
    assert shown["outputs"][0]["output_value"] == "n-4"


def test_abandon_then_adopt(heat_cloud, world, tmp_path):
    member = world["member"]
    name = f"ab-{uuid.uuid4().hex[:6]}"
    heat_cloud.cli("stack", "create", "--wait", "-t", str(world["tpl"]), name, creds=member)
    data = tmp_path / "abandoned.json"
    heat_cloud.cli("stack", "abandon", name, "--output-file", str(data), creds=member)
    abandoned = json.loads(data.read_text())
    assert abandoned["name"] == name and set(abandoned["resources"]) == {"first", "second"}
    assert name not in [s["Stack Name"] for s in heat_cloud.cli("stack", "list", "-f", "json", creds=member)]
    heat_cloud.cli("stack", "adopt", "--wait", "--adopt-file", str(data), name, creds=member)
    shown = heat_cloud.cli("stack", "show", name, "-f", "json", creds=member)
    assert shown["stack_status"] == "ADOPT_COMPLETE", shown
    resources = heat_cloud.cli("stack", "resource", "list", name, "-f", "json", creds=member)
    assert {r["physical_resource_id"] for r in resources} == {
        r["resource_id"] for r in abandoned["resources"].values()}
    heat_cloud.cli("stack", "delete", "--yes", "--wait", name, creds=member)


def test_delete_then_show_deleted(heat_cloud, world):
    member, name, sid = world["member"], world["name"], world["id"]
    heat_cloud.cli("stack", "delete", "--yes", "--wait", name, creds=member)
    wait_stack(heat_cloud, member, sid, "DELETE_COMPLETE", timeout=60)
    assert heat_cloud.cli("stack", "list", "-f", "json", creds=member) == []
    token = heat_cloud.token(member)
    r = heat_cloud.request("GET", f"{API}/{member.project_id}/stacks?show_deleted=true", token)
    assert (sid, "DELETE_COMPLETE") in [(s["id"], s["stack_status"]) for s in r.json()["stacks"]]
    r = heat_cloud.request("GET", f"{API}/{member.project_id}/stacks/{name}", token)
    assert r.status_code == 404
