"""/auth/system, /auth/domains and /auth/projects (what the caller can scope to), and
OS-REVOKE events (revocations services can poll)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"


def _get(ctl, path, token):
    r = ctl.request("GET", V3 + path, token=token)
    assert r.status_code == 200, r.text
    return r.json()


def test_auth_scopes_show_only_the_callers_own(sqlite_controller):
    ctl = sqlite_controller
    user = ctl.new_project_user("member", "sc")
    token = ctl.token(user)
    assert _get(ctl, "/auth/system", token)["system"] == []
    assert _get(ctl, "/auth/domains", token)["domains"] == []
    assert [p["id"] for p in _get(ctl, "/auth/projects", token)["projects"]] == [user.project_id]
    # a domain role makes the domain scopable; the system stays closed
    reader = ctl.request("GET", f"{V3}/roles", params={"name": "reader"}).json()["roles"][0]["id"]
    path = f"{V3}/domains/default/users/{user.user_id}/roles/{reader}"
    assert ctl.request("PUT", path).status_code == 204
    assert [d["id"] for d in _get(ctl, "/auth/domains", token)["domains"]] == ["default"]
    assert _get(ctl, "/auth/system", token)["system"] == []
    ctl.request("DELETE", path)
    # the cloud admin has the system
    assert _get(ctl, "/auth/system", ctl.admin_token())["system"] == [{"all": True}]


def test_revoke_events_list_revocations_to_admins_only(sqlite_controller):
    ctl = sqlite_controller
    user = ctl.new_project_user("member", "rv")
    start = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    token = ctl.token(user)
    access = ctl.request("GET", f"{V3}/auth/tokens", token=token, headers={"X-Subject-Token": token})
    audit_id = access.json()["token"]["audit_ids"][0]
    assert ctl.request("DELETE", f"{V3}/auth/tokens", token=token,
                       headers={"X-Subject-Token": token}).status_code == 204
    events = _get(ctl, f"/OS-REVOKE/events?since={start}", ctl.admin_token())["events"]
    mine = [e for e in events if e.get("audit_id") == audit_id]
    assert len(mine) == 1 and mine[0]["issued_before"] and mine[0]["revoked_at"]
    later = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert _get(ctl, f"/OS-REVOKE/events?since={later}", ctl.admin_token())["events"] == []
    r = ctl.request("GET", f"{V3}/OS-REVOKE/events", token=ctl.token(user))
    assert r.status_code == 403
    r = ctl.request("GET", f"{V3}/OS-REVOKE/events?since=yesterday")
    assert r.status_code == 400 and "since" in r.text
