"""Volume types through the real ``openstack`` CLI and openstacksdk: the default type
bootstrap makes, create/set/show/list/delete with extra specs, private types and their
access, and what members may not do (Cinder's status codes and fault bodies; every
refusal leaves the type as it was). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import openstack.exceptions
import pytest
import sqlalchemy as sa

pytestmark = [pytest.mark.api, pytest.mark.block_storage]


@pytest.fixture(scope="module")
def people(controller):
    """Two projects with a member each: ``mine`` gets access to private types, ``other`` never."""
    return {"mine": controller.new_project_user("member", "vt"), "other": controller.new_project_user("member", "vt")}


def _name(prefix: str = "vt") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _type(controller, ref: str, token: str | None = None):
    return controller.request("GET", f"/volume/v3/types/{ref}", token=token)


def _fault(r, status: int, key: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {key} and body[key]["code"] == status, body
    return body[key]["message"]


def test_bootstrap_made_the_default_type(controller):
    listed = controller.cli("volume", "type", "list", "-f", "json")
    assert "__DEFAULT__" in [t["Name"] for t in listed]
    default = controller.cli("volume", "type", "list", "--default", "-f", "json")
    assert [t["Name"] for t in default] == ["__DEFAULT__"]
    r = controller.request("GET", "/volume/v3/types/default")
    assert r.status_code == 200 and r.json()["volume_type"]["name"] == "__DEFAULT__"
    vt = r.json()["volume_type"]
    assert vt["is_public"] is True and vt["os-volume-type-access:is_public"] is True
    assert {"id", "name", "description", "extra_specs", "qos_specs_id"} <= set(vt)
    # the default type cannot go: volumes without a type are made of it
    msg = _fault(controller.request("DELETE", f"/volume/v3/types/{vt['id']}"), 400, "badRequest")
    assert "default volume type" in msg
    assert _type(controller, vt["id"]).status_code == 200


def test_type_lifecycle_with_the_cli(controller, people):
    mine = people["mine"]
    name = _name()
    made = controller.cli("volume", "type", "create", "--private", "--description", "fast disks",
                          "--property", "volume_backend_name=file", "--property", "multiattach=<is> True",
                          "--project", mine.project_id, name, "-f", "json")
    try:
        assert made["name"] == name and made["is_public"] is False
        shown = controller.cli("volume", "type", "show", name, "-f", "json")
        assert shown["access_project_ids"] == [mine.project_id]
        assert shown["properties"] == {"volume_backend_name": "file", "multiattach": "<is> True"}
        assert shown["description"] == "fast disks"
        controller.cli("volume", "type", "set", "--property", "iops=100", "--description", "faster", name)
        controller.cli("volume", "type", "unset", "--property", "multiattach", name)
        shown = controller.cli("volume", "type", "show", name, "-f", "json")
        assert shown["properties"] == {"volume_backend_name": "file", "iops": "100"}
        assert shown["description"] == "faster"
        private = controller.cli("volume", "type", "list", "--private", "--long", "-f", "json")
        assert name in [t["Name"] for t in private]
        assert "__DEFAULT__" not in [t["Name"] for t in private]
        # rename through the sdk (PUT /types/{id}) and back
        conn = controller.conn()
        conn.block_storage.update_type(made["id"], name=name + "-x")
        assert conn.block_storage.get_type(made["id"]).name == name + "-x"
        conn.block_storage.update_type(made["id"], name=name)
    finally:
        controller.cli("volume", "type", "delete", name)
    assert _type(controller, made["id"]).status_code == 404


def test_private_type_is_seen_only_by_projects_with_access(controller, people):
    mine, other = people["mine"], people["other"]
    name = _name("priv")
    vt = controller.cli("volume", "type", "create", "--private", "--property", "volume_backend_name=lvm",
                        "--property", "multiattach=<is> True", name, "-f", "json")
    try:
        controller.cli("volume", "type", "set", "--project", mine.project_id, name)
        # the member of the project with access sees it, with the user-visible specs only
        seen = controller.conn(mine).block_storage
        listed = {t.name: t for t in seen.types()}
        assert name in listed and "__DEFAULT__" in listed
        assert listed[name].extra_specs == {"multiattach": "<is> True"}
        assert controller.cli("volume", "type", "show", name, "-f", "json", creds=mine)["id"] == vt["id"]
        # another project's member: not listed, not shown (404 by id and by name)
        assert name not in [t["Name"] for t in controller.cli("volume", "type", "list", "-f", "json", creds=other)]
        tok = controller.token(other)
        msg = _fault(_type(controller, vt["id"], tok), 404, "itemNotFound")
        assert msg == f"Volume type {vt['id']} could not be found."
        msg = _fault(_type(controller, name, tok), 404, "itemNotFound")
        assert msg == f"Volume type with name {name} could not be found."
        r = controller.cli("volume", "type", "show", name, creds=other, check=False)
        assert r.returncode != 0
        # the access list is for administrators
        access = controller.request("GET", f"/volume/v3/types/{vt['id']}/os-volume-type-access")
        assert access.json() == {"volume_type_access": [{"volume_type_id": vt["id"], "project_id": mine.project_id}]}
        _fault(controller.request("GET", f"/volume/v3/types/{vt['id']}/os-volume-type-access",
                                  token=controller.token(mine)), 403, "forbidden")
        # granting twice is a conflict; taking away what was never given a 404
        again = controller.request("POST", f"/volume/v3/types/{vt['id']}/action",
                                   json={"addProjectAccess": {"project": mine.project_id}})
        _fault(again, 409, "conflictingRequest")
        gone = controller.request("POST", f"/volume/v3/types/{vt['id']}/action",
                                  json={"removeProjectAccess": {"project": other.project_id}})
        _fault(gone, 404, "itemNotFound")
        # take it away: the member no longer sees it
        controller.cli("volume", "type", "unset", "--project", mine.project_id, name)
        assert name not in [t.name for t in seen.types()]
        assert _type(controller, vt["id"], controller.token(mine)).status_code == 404
    finally:
        controller.cli("volume", "type", "delete", name)


def test_members_cannot_manage_types_and_refusals_change_nothing(controller, people):
    mine = people["mine"]
    tok = controller.token(mine)
    name = _name("ro")
    vt = controller.request("POST", "/volume/v3/types", json={"volume_type": {
        "name": name, "extra_specs": {"volume_backend_name": "file"}}})
    assert vt.status_code == 200, vt.text
    vt = vt.json()["volume_type"]
    before = _type(controller, vt["id"]).json()
    base = f"/volume/v3/types/{vt['id']}"
    try:
        refusals = [
            ("POST", "/volume/v3/types", {"volume_type": {"name": _name("no")}}),
            ("PUT", base, {"volume_type": {"name": _name("no")}}),
            ("DELETE", base, None),
            ("POST", base + "/extra_specs", {"extra_specs": {"volume_backend_name": "lvm"}}),
            ("PUT", base + "/extra_specs/volume_backend_name", {"volume_backend_name": "lvm"}),
            ("DELETE", base + "/extra_specs/volume_backend_name", None),
            ("POST", base + "/action", {"addProjectAccess": {"project": mine.project_id}}),
        ]
        for method, path, body in refusals:
            r = controller.request(method, path, token=tok, json=body)
            assert "not authorized" in _fault(r, 403, "forbidden"), (method, path)
        # the sdk sees the same refusal
        with pytest.raises(openstack.exceptions.ForbiddenException):
            controller.conn(mine).block_storage.create_type(name=_name("no"))
        # bad input from an administrator: Cinder's 400s / 409
        bad = [
            ("POST", "/volume/v3/types", {"volume_type": {"name": name}}, 409, "conflictingRequest"),
            ("POST", "/volume/v3/types", {"volume_type": {"name": "  "}}, 400, "badRequest"),
            ("POST", "/volume/v3/types", {"volume_type": {"name": "x" * 256}}, 400, "badRequest"),
            ("POST", "/volume/v3/types", {"name": "unwrapped"}, 400, "badRequest"),
            ("POST", "/volume/v3/types", {"volume_type": {"name": _name("no"), "extra_specs": {"k": 1}}},
             400, "badRequest"),
            ("POST", "/volume/v3/types", {"volume_type": {"name": _name("no"),
                                                          "os-volume-type-access:is_public": "maybe"}},
             400, "badRequest"),
            ("PUT", base, {"volume_type": {}}, 400, "badRequest"),
            ("PUT", base, {"volume_type": {"name": "__DEFAULT__"}}, 409, "conflictingRequest"),
            ("POST", base + "/extra_specs", {"extra_specs": {"bad{key}": "v"}}, 400, "badRequest"),
            ("PUT", base + "/extra_specs/volume_backend_name", {"other": "lvm"}, 400, "badRequest"),
            ("POST", base + "/action", {"addProjectAccess": {"project": mine.project_id}}, 400, "badRequest"),
            ("POST", base + "/action", {"dance": {}}, 400, "badRequest"),
            ("GET", base + "/extra_specs/nope", None, 404, "itemNotFound"),
            ("GET", base + "/os-volume-type-access", None, 404, "itemNotFound"),
        ]
        for method, path, body, status, key in bad:
            _fault(controller.request(method, path, json=body), status, key)
        after = _type(controller, vt["id"]).json()
        assert after == before
        names = [t["name"] for t in controller.request("GET", "/volume/v3/types",
                                                       params={"is_public": "none"}).json()["volume_types"]]
        assert not [n for n in names if n.startswith("no-") or n == "unwrapped"]
    finally:
        assert controller.request("DELETE", base).status_code == 202


def test_a_type_in_use_keeps_its_specs(controller):
    """A volume of the type was placed by its specs: they stay, and so does the type."""
    vt = controller.request("POST", "/volume/v3/types", json={"volume_type": {
        "name": _name("used"), "extra_specs": {"volume_backend_name": "file"}}}).json()["volume_type"]
    base = f"/volume/v3/types/{vt['id']}"
    engine = sa.create_engine(controller.database_url)
    vol = str(uuid.uuid4())
    try:
        # the record a volume create (the volumes service) writes
        with engine.begin() as c:
            c.execute(sa.text(
                "INSERT INTO volume_volumes (id, project_id, user_id, size, status, attach_status, "
                "status_reason, bootable, multiattach, encrypted, volume_type_id, availability_zone, format, "
                "created_at) VALUES (:id, 'p', 'u', 1, 'available', 'detached', '', false, false, false, :t, "
                "'nova', 'raw', CURRENT_TIMESTAMP)"), {"id": vol, "t": vt["id"]})
        for method, path, body, msg in [
            ("DELETE", base, None, "Target volume type is still in use."),
            ("POST", base + "/extra_specs", {"extra_specs": {"volume_backend_name": "lvm"}},
             "Volume Type is currently in use."),
            ("DELETE", base + "/extra_specs/volume_backend_name", None, "Volume Type is currently in use."),
        ]:
            assert _fault(controller.request(method, path, json=body), 400, "badRequest") == msg
        assert controller.request("GET", base + "/extra_specs").json() == {
            "extra_specs": {"volume_backend_name": "file"}}
    finally:
        with engine.begin() as c:
            c.execute(sa.text("DELETE FROM volume_volumes WHERE id = :id"), {"id": vol})
        engine.dispose()
        assert controller.request("DELETE", base).status_code == 202
