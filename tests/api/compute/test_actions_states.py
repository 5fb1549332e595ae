"""Server actions that are refused (Nova's 400/403/404/409, nothing changed, no job),
lock/unlock, os-instance-actions paging and microversion shapes, os-interface refusals —
on a live controller, with server rows written into its database (no guest)."""

from __future__ import annotations

import pytest

from .servers_db import ServerRows

pytestmark = [pytest.mark.api, pytest.mark.compute]


def mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


@pytest.fixture(scope="module")
def env(sqlite_controller):
    ctl = sqlite_controller
    member = ctl.new_project_user("member", prefix="pw")
    reader = ctl.new_project_user("reader", prefix="pr")
    role = ctl.request("GET", "/identity/v3/roles", params={"name": "reader"}).json()["roles"][0]["id"]
    r = ctl.request("PUT", f"/identity/v3/projects/{member.project_id}/users/{reader.user_id}/roles/{role}")
    assert r.status_code == 204, r.text
    reader.project_id, reader.project_name = member.project_id, None  # a reader of the member's project
    other = ctl.new_project_user("member", prefix="po")
    rows = ServerRows(ctl)
    yield ctl, rows, member, reader, other, ctl.token(member), ctl.token(other)
    rows.close()


def act(ctl, sid, body, token, version="2.1", **kw):
    return ctl.request("POST", f"/compute/v2.1/servers/{sid}/action", token=token, json=body,
                       headers=mv(version), **kw)


def fault(r, status: int, kind: str) -> str:
    assert r.status_code == status, r.text
    return r.json()[kind]["message"]


@pytest.mark.parametrize("vm_state,body,action", [
    ("stopped", {"os-stop": None}, "stop"),
    ("active", {"os-start": None}, "start"),
    ("active", {"unpause": None}, "unpause"),
    ("paused", {"pause": None}, "pause"),
    ("active", {"resume": None}, "resume"),
    ("stopped", {"suspend": None}, "suspend"),
    ("stopped", {"reboot": {"type": "SOFT"}}, "reboot"),
    ("building", {"reboot": {"type": "HARD"}}, "reboot"),
    ("active", {"restore": None}, "restore"),
])
def test_wrong_vm_state_is_409_and_changes_nothing(env, vm_state, body, action):
    ctl, rows, member, _, _, token, _ = env
    sid = rows.add(member.project_id, vm_state=vm_state)
    jobs = rows.jobs()
    msg = fault(act(ctl, sid, body, token), 409, "conflictingRequest")
    assert msg == f"Cannot '{action}' instance {sid} while it is in vm_state {vm_state}"
    assert rows.get(sid)["vm_state"] == vm_state and rows.get(sid)["task_state"] is None
    assert rows.actions(sid) == [] and rows.jobs() == jobs


def test_busy_server_is_409_task_state(env):
    ctl, rows, member, _, _, token, _ = env
    sid = rows.add(member.project_id, task_state="powering-off")
    msg = fault(act(ctl, sid, {"pause": None}, token), 409, "conflictingRequest")
    assert msg == f"Cannot 'pause' instance {sid} while it is in task_state powering-off"
    assert rows.get(sid)["task_state"] == "powering-off" and rows.actions(sid) == []


def test_malformed_and_unknown_actions_are_400(env):
    ctl, rows, member, _, _, token, _ = env
    sid = rows.add(member.project_id)
    assert fault(act(ctl, sid, {"explode": None}, token), 400, "badRequest") == "There is no such action: explode"
    two = {"os-stop": None, "os-start": None}
    assert fault(act(ctl, sid, two, token), 400, "badRequest") == "Malformed request body"
    for raw in (b"not json", b"[]", b"{}"):
        r = ctl.request("POST", f"/compute/v2.1/servers/{sid}/action", token=token, content=raw,
                        headers={"Content-Type": "application/json"})
        assert fault(r, 400, "badRequest") == "Malformed request body"
    msg = fault(act(ctl, sid, {"reboot": {}}, token), 400, "badRequest")
    assert msg.startswith("Invalid input for field/attribute reboot.") and "'type' is a required property" in msg
    msg = fault(act(ctl, sid, {"reboot": {"type": "GENTLE"}}, token), 400, "badRequest")
    assert msg.startswith("Invalid input for field/attribute type. Value: GENTLE.")
    assert rows.get(sid)["task_state"] is None and rows.actions(sid) == []


def test_other_projects_server_is_404_and_reader_is_403(env):
    ctl, rows, member, reader, _, token, other_token = env
    sid = rows.add(member.project_id)
    msg = fault(act(ctl, sid, {"os-stop": None}, other_token), 404, "itemNotFound")
    assert msg == f"Instance {sid} could not be found."
    r = act(ctl, sid, {"os-stop": None}, ctl.token(reader))
    assert "os_compute_api:servers:stop" in fault(r, 403, "forbidden")
    for path in ("os-instance-actions", "os-interface"):
        r = ctl.request("GET", f"/compute/v2.1/servers/{sid}/{path}", token=other_token)
        assert r.status_code == 404, r.text
    assert rows.get(sid)["vm_state"] == "active" and rows.actions(sid) == []


def test_lock_with_reason_blocks_actions_until_unlocked(env):
    ctl, rows, member, _, _, token, _ = env
    sid = rows.add(member.project_id)
    long = "x" * 256
    msg = fault(act(ctl, sid, {"lock": {"locked_reason": long}}, token, "2.73"), 400, "badRequest")
    assert msg.startswith("Invalid input for field/attribute locked_reason.")
    assert not rows.get(sid)["locked"]
    r = act(ctl, sid, {"lock": {"locked_reason": "maintenance"}}, token, "2.73")
    assert r.status_code == 202, r.text
    lock_req = r.headers["x-compute-request-id"]
    got = rows.get(sid)
    assert (got["locked"], got["locked_by"], got["locked_reason"]) == (True, "owner", "maintenance")
    msg = fault(act(ctl, sid, {"os-stop": None}, token), 409, "conflictingRequest")
    assert msg == f"Instance {sid} is locked"
    assert rows.get(sid)["task_state"] is None
    # the reason is a 2.73 field: an older request locks without one
    assert act(ctl, sid, {"unlock": None}, token).status_code == 202
    assert act(ctl, sid, {"lock": {"locked_reason": "ignored"}}, token, "2.72").status_code == 202
    assert rows.get(sid)["locked_reason"] is None
    assert act(ctl, sid, {"unlock": None}, token).status_code == 202
    assert not rows.get(sid)["locked"]
    assert [a for a, _ in rows.actions(sid)] == ["lock", "unlock", "lock", "unlock"]
    r = ctl.request("GET", f"/compute/v2.1/servers/{sid}/os-instance-actions/{lock_req}", token=token,
                    headers=mv("2.51"))
    assert r.status_code == 200, r.text
    shown = r.json()["instanceAction"]
    assert shown["action"] == "lock" and shown["events"] == [] and shown["instance_uuid"] == sid


def test_admin_lock_needs_admin_to_unlock(env):
    ctl, rows, member, _, _, token, _ = env
    sid = rows.add(member.project_id)
    assert act(ctl, sid, {"lock": None}, ctl.admin_token()).status_code == 202
    assert rows.get(sid)["locked_by"] == "admin"
    r = act(ctl, sid, {"unlock": None}, token)
    assert "unlock_override" in fault(r, 403, "forbidden")
    assert rows.get(sid)["locked"]
    assert act(ctl, sid, {"unlock": None}, ctl.admin_token()).status_code == 202
    assert not rows.get(sid)["locked"]


def test_instance_actions_paging_and_shapes(env):
    ctl, rows, member, _, _, token, _ = env
    sid = rows.add(member.project_id)
    reqs = []
    for body in ({"lock": None}, {"unlock": None}, {"lock": None}):
        r = act(ctl, sid, body, token)
        reqs.append(r.headers["x-compute-request-id"])
    url = f"/compute/v2.1/servers/{sid}/os-instance-actions"
    old = ctl.request("GET", url, token=token, headers=mv("2.57")).json()["instanceActions"]
    assert [a["request_id"] for a in old] == reqs[::-1]  # newest first
    assert set(old[0]) == {"action", "instance_uuid", "request_id", "user_id", "project_id",
                           "start_time", "message"}
    assert old[0]["user_id"] == member.user_id and old[0]["project_id"] == member.project_id
    page = ctl.request("GET", url, token=token, headers=mv("2.58"), params={"limit": 2}).json()
    assert [a["request_id"] for a in page["instanceActions"]] == reqs[:0:-1]
    assert "updated_at" in page["instanceActions"][0]
    (link,) = page["links"]
    assert link["rel"] == "next" and f"marker={reqs[1]}" in link["href"]
    rest = ctl.request("GET", url, token=token, headers=mv("2.58"),
                       params={"limit": 2, "marker": reqs[1]}).json()
    assert [a["request_id"] for a in rest["instanceActions"]] == [reqs[0]] and "links" not in rest
    r = ctl.request("GET", url, token=token, headers=mv("2.58"), params={"marker": "req-nope"})
    assert fault(r, 400, "badRequest") == "Marker req-nope could not be found."
    future = "2999-01-01T00:00:00Z"
    r = ctl.request("GET", url, token=token, headers=mv("2.58"), params={"changes-since": future})
    assert r.json()["instanceActions"] == []
    r = ctl.request("GET", url, token=token, headers=mv("2.66"),
                    params={"changes-since": future, "changes-before": "2000-01-01T00:00:00Z"})
    assert "changes-since must be less than or equal to changes-before" in fault(r, 400, "badRequest")
    r = ctl.request("GET", url, token=token, headers=mv("2.58"), params={"changes-since": "yesterday"})
    assert "changes-since" in fault(r, 400, "badRequest")
    r = ctl.request("GET", f"{url}/req-nope", token=token)
    assert fault(r, 404, "itemNotFound") == f"Action for request_id req-nope on instance {sid} not found"
    # before 2.51 a non-admin sees no events
    shown = ctl.request("GET", f"{url}/{reqs[0]}", token=token, headers=mv("2.50")).json()["instanceAction"]
    assert "events" not in shown


def test_deleted_servers_actions_from_2_21(env):
    ctl, rows, member, _, _, token, _ = env
    sid = rows.add(member.project_id)
    assert act(ctl, sid, {"lock": None}, token).status_code == 202
    rows.set(sid, deleted=True, vm_state="deleted")
    url = f"/compute/v2.1/servers/{sid}/os-instance-actions"
    assert ctl.request("GET", url, token=token, headers=mv("2.20")).status_code == 404
    r = ctl.request("GET", url, token=token, headers=mv("2.21"))
    assert r.status_code == 200 and [a["action"] for a in r.json()["instanceActions"]] == ["lock"]


def test_interfaces_of_a_server_without_ports_and_refused_attachments(env):
    ctl, rows, member, _, _, token, _ = env
    sid = rows.add(member.project_id)
    base = f"/compute/v2.1/servers/{sid}/os-interface"
    r = ctl.request("GET", base, token=token)
    assert r.status_code == 200 and r.json() == {"interfaceAttachments": []}
    msg = fault(ctl.request("GET", f"{base}/p1", token=token), 404, "itemNotFound")
    assert msg == f"Instance {sid} does not have a port with id p1"
    both = {"interfaceAttachment": {"port_id": "p1", "net_id": "n1"}}
    assert fault(ctl.request("POST", base, token=token, json=both), 400, "badRequest") == (
        "Must not input both network_id and port_id")
    msg = fault(ctl.request("POST", base, token=token, json={"interfaceAttachment": {}}), 400, "badRequest")
    assert "Give port_id" in msg
    # a server that never reached a host has no guest to plug into
    msg = fault(ctl.request("POST", base, token=token, json={"interfaceAttachment": {"net_id": "n1"}}),
                409, "conflictingRequest")
    assert msg.startswith(f"Cannot 'attach_interface' instance {sid}")
    assert rows.get(sid)["task_state"] is None and rows.actions(sid) == []


def test_force_delete_deletes_without_soft_delete(env):
    ctl, rows, member, _, _, token, _ = env
    sid = rows.add(member.project_id, locked=True, locked_by="owner")
    msg = fault(act(ctl, sid, {"forceDelete": None}, token), 409, "conflictingRequest")
    assert msg == f"Instance {sid} is locked" and not rows.get(sid)["deleted"]
    rows.set(sid, locked=False, locked_by=None)
    assert act(ctl, sid, {"forceDelete": None}, token).status_code == 202
    got = rows.get(sid)
    assert got["deleted"] and got["vm_state"] == "deleted"  # it never reached a host: deleted at once
    assert [a for a, _ in rows.actions(sid)] == ["delete"]
    assert act(ctl, sid, {"restore": None}, token).status_code == 404


def test_change_password_is_not_supported_without_an_agent(env):
    ctl, rows, member, _, _, token, _ = env
    sid = rows.add(member.project_id)
    msg = fault(act(ctl, sid, {"changePassword": {}}, token), 400, "badRequest")
    assert "'adminPass' is a required property" in msg
    r = act(ctl, sid, {"changePassword": {"adminPass": "s3cret"}}, token)
    assert fault(r, 501, "notImplemented").startswith("Unable to set password on instance")
    rows.set(sid, vm_state="stopped")
    msg = fault(act(ctl, sid, {"changePassword": {"adminPass": "s3cret"}}, token), 409, "conflictingRequest")
    assert msg == f"Cannot 'changePassword' instance {sid} while it is in vm_state stopped"
    assert rows.actions(sid) == [] and rows.get(sid)["task_state"] is None
