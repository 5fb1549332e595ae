"""Stack update through the Heat API with the real clients (``openstack stack update``,
``--dry-run``, ``--existing``, ``stack cancel``) against the session's controller
(``heat_cloud``): in place (same physical id), replacement (a new physical id, the old
resource deleted), resources added and removed, a preview that writes nothing, PATCH,
and a failed or cancelled update rolled back. OS::Heat::TestResource / Value and
Stratus::Ansible::Task on the host hc1 are the resources: no guests."""

from __future__ import annotations

import uuid

import pytest
import yaml

from tests.api.orchestration.heat_helpers import HOST, wait_stack

pytestmark = [pytest.mark.orchestration, pytest.mark.api]


def hot(resources: dict, **extra) -> dict:
    return {"heat_template_version": "2018-08-31", "resources": resources, **extra}


def test_resource(**props) -> dict:
    return {"type": "OS::Heat::TestResource", "properties": props}


test_resource.__test__ = False  # a template helper


def write(tmp_path, name: str, template: dict) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(template))
    return str(path)


def physical_ids(cloud, creds, stack: str) -> dict[str, str]:
    return {r["resource_name"]: r["physical_resource_id"]
            for r in cloud.cli("stack", "resource", "list", stack, "-f", "json", creds=creds)}


def test_update_in_place_replace_add_remove_with_dry_run_and_patch(heat_cloud, tmp_path):
    cloud, creds = heat_cloud, heat_cloud.new_project_user(prefix="upd")
    first = hot({"a": test_resource(value="one"), "b": test_resource(value="x"), "c": test_resource(value="c")},
                parameters={"p": {"type": "string", "default": "p0"}},
                outputs={"a": {"value": {"get_attr": ["a", "output"]}}})
    cloud.cli("stack", "create", "-t", write(tmp_path, "t1.yaml", first), "--wait", "-f", "json", "su1",
              creds=creds)
    before = physical_ids(cloud, creds, "su1")
    second = hot({"a": test_resource(value="two"), "b": test_resource(value="x", update_replace_value="y"),
                  "d": {"type": "OS::Heat::Value", "properties": {"value": {"get_param": "p"}}}},
                 parameters={"p": {"type": "string", "default": "p0"}},
                 outputs={"a": {"value": {"get_attr": ["a", "output"]}}})
    t2 = write(tmp_path, "t2.yaml", second)

    # the preview: what openstack stack update --dry-run prints, and nothing changed
    dry = cloud.cli("stack", "update", "--dry-run", "-t", t2, "su1", "-f", "json", creds=creds)
    names = {kind: sorted(r["resource_name"] for r in items) for kind, items in dry.items()}
    assert names == {"added": ["d"], "deleted": ["c"], "replaced": ["b"], "unchanged": [], "updated": ["a"]}
    updated = dry["updated"][0]
    assert updated["physical_resource_id"] == before["a"] and updated["resource_type"] == "OS::Heat::TestResource"
    assert cloud.cli("stack", "show", "su1", "-f", "json", creds=creds)["stack_status"] == "CREATE_COMPLETE"
    assert physical_ids(cloud, creds, "su1") == before

    cloud.cli("stack", "update", "-t", t2, "--wait", "su1", creds=creds)
    assert cloud.cli("stack", "show", "su1", "-f", "json", creds=creds)["stack_status"] == "UPDATE_COMPLETE"
    res = {r["resource_name"]: r for r in cloud.cli("stack", "resource", "list", "su1", "-f", "json", creds=creds)}
    after = {n: r["physical_resource_id"] for n, r in res.items()}
    assert after.keys() == {"a", "b", "d"}
    assert after["a"] == before["a"]  # in place
    assert after["b"] != before["b"]  # replaced
    assert res["a"]["resource_status"] == "UPDATE_COMPLETE" and res["d"]["resource_status"] == "CREATE_COMPLETE"
    out = cloud.cli("stack", "output", "show", "su1", "a", "-f", "json", creds=creds)
    assert out["output_value"] == "two"
    events = cloud.cli("stack", "event", "list", "su1", "-f", "json", creds=creds)
    assert any(e["resource_name"] == "c" and e["resource_status"] == "DELETE_COMPLETE" for e in events)

    # PATCH (--existing): the template kept, one parameter given
    cloud.cli("stack", "update", "--existing", "--parameter", "p=p1", "--wait", "su1", creds=creds)
    d = cloud.cli("stack", "resource", "show", "su1", "d", "-f", "json", creds=creds)
    assert d["attributes"]["value"] == "p1"
    assert physical_ids(cloud, creds, "su1")["b"] == after["b"]  # b unchanged by the PATCH

    cloud.cli("stack", "delete", "--yes", "su1", creds=creds)


def test_failed_update_rolls_back_and_cancel_update(heat_cloud, tmp_path):
    cloud, creds = heat_cloud, heat_cloud.admin  # Stratus::Ansible::Task is a cloud administrator's type
    name = "sf-" + uuid.uuid4().hex[:8]
    ok = hot({"a": test_resource(value="one"),
              "t": {"type": "Stratus::Ansible::Task", "properties": {
                  "module": "ansible.builtin.command", "args": {"cmd": "/bin/true"}, "hosts": HOST}}})
    cloud.cli("stack", "create", "-t", write(tmp_path, "ok.yaml", ok), "--enable-rollback", name, creds=creds)
    wait_stack(cloud, creds, name, "CREATE_COMPLETE", timeout=120)
    before = physical_ids(cloud, creds, name)
    bad = hot({"a": test_resource(value="one", update_replace_value="new"),
               "t": {"type": "Stratus::Ansible::Task", "properties": {
                   "module": "ansible.builtin.command", "args": {"cmd": "/bin/false"}, "hosts": HOST}}})
    r = cloud.cli("stack", "update", "-t", write(tmp_path, "bad.yaml", bad), name, creds=creds, check=False)
    assert r.returncode == 0, r.stderr
    st = wait_stack(cloud, creds, name, "ROLLBACK_COMPLETE", timeout=120)
    assert st["stack_status_reason"] == "Stack ROLLBACK completed successfully"
    assert physical_ids(cloud, creds, name) == before  # the replaced resource taken back, the new one deleted

    # another action while an update runs: 409; then cancel it (rolled back)
    slow = hot({"a": test_resource(value="one"),
                "t": {"type": "Stratus::Ansible::Task", "properties": {
                    "module": "ansible.builtin.command", "args": {"cmd": "sleep 60"}, "hosts": HOST}}})
    cloud.cli("stack", "update", "-t", write(tmp_path, "slow.yaml", slow), name, creds=creds)
    busy = cloud.cli("stack", "update", "--existing", name, creds=creds, check=False)
    assert busy.returncode != 0 and "another action is in progress" in busy.stderr, busy.stderr
    cloud.cli("stack", "cancel", name, creds=creds)
    wait_stack(cloud, creds, name, "ROLLBACK_COMPLETE", timeout=60)
    assert physical_ids(cloud, creds, name) == before
    events = [(e["resource_name"], e["resource_status"], e["resource_status_reason"])
              for e in cloud.cli("stack", "event", "list", name, "-f", "json", creds=creds)]
    failed = [e for e in events if e[0] == name and e[1] == "UPDATE_FAILED"]
    assert "/bin/false" in failed[0][2] or "non-zero return code" in failed[0][2], failed
    assert failed[-1][2] == "Stack UPDATE cancelled"
    cloud.cli("stack", "delete", "--yes", name, creds=creds)
