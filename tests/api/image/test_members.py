"""Image sharing as Glance has it, through openstacksdk, the CLI and raw HTTP: the owner
adds a project, the member sees the image in lists only once it accepted, a third
project sees nothing; community images are listed only when asked for; private ones
stay private."""

from __future__ import annotations

import pytest

from tests.api.image.conftest import fault


@pytest.fixture
def shared(project_a):
    img = project_a.create(name="to-share", visibility="shared", disk_format="raw", container_format="bare")
    yield img
    project_a("DELETE", f"/images/{img['id']}")


def test_share_accept_and_third_project(sqlite_controller, project_a, project_b, project_c, shared):
    a_conn = sqlite_controller.conn(project_a.creds)
    image_id, b, c = shared["id"], project_b.project_id, project_c.project_id

    member = a_conn.image.add_member(image_id, member=b)
    assert member.status == "pending"
    raw = project_a("GET", f"/images/{image_id}/members/{b}").json()
    assert set(raw) == {"created_at", "updated_at", "image_id", "member_id", "status", "schema"}
    assert (raw["image_id"], raw["member_id"], raw["schema"]) == (image_id, b, "/v2/schemas/member")

    # pending: B may show it but does not list it, except by member_status
    assert project_b.show(image_id)["id"] == image_id
    assert image_id not in project_b.ids()
    assert image_id in project_b.ids(member_status="pending")
    assert image_id in project_b.ids(member_status="all")

    # B accepts with the CLI (its own membership)
    sqlite_controller.cli("image", "set", "--accept", image_id, creds=project_b.creds)
    assert image_id in project_b.ids()
    assert image_id not in project_b.ids(member_status="pending")
    listed = sqlite_controller.cli("image", "member", "list", image_id, "-f", "json", creds=project_a.creds)
    assert [(m["Member ID"], m["Status"]) for m in listed] == [(b, "accepted")]

    # C sees nothing of it
    fault(project_c("GET", f"/images/{image_id}"), 404, f"No image found with ID {image_id}")
    assert image_id not in project_c.ids(visibility="all", member_status="all")
    fault(project_c("GET", f"/images/{image_id}/members"), 404, f"Image {image_id} not found.")
    fault(project_c("GET", f"/images/{image_id}/members/{b}"), 404)
    fault(project_c("PUT", f"/images/{image_id}/members/{c}", json={"status": "accepted"}), 404)

    # B sees only its own membership and may not share further or remove
    assert [m["member_id"] for m in project_b("GET", f"/images/{image_id}/members").json()["members"]] == [b]
    fault(project_b("POST", f"/images/{image_id}/members", json={"member": c}), 403,
          f"Not allowed to create members for image {image_id}")
    fault(project_b("DELETE", f"/images/{image_id}/members/{b}"), 403, "Not allowed to delete members")
    # the owner may not accept for B
    fault(project_a("PUT", f"/images/{image_id}/members/{b}", json={"status": "rejected"}), 403,
          f"Not allowed to update members for image {image_id}")
    assert project_a("GET", f"/images/{image_id}/members/{b}").json()["status"] == "accepted"

    # B rejects: gone from its default list, still showable
    r = project_b("PUT", f"/images/{image_id}/members/{b}", json={"status": "rejected"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert image_id not in project_b.ids()
    assert image_id in project_b.ids(member_status="rejected")

    # the owner stops sharing: B no longer sees it
    a_conn.image.remove_member(b, image_id)
    fault(project_b("GET", f"/images/{image_id}"), 404)
    assert project_a("GET", f"/images/{image_id}/members").json() == {"members": [], "schema": "/v2/schemas/members"}


def test_cli_add_project_and_member_refusals(sqlite_controller, project_a, project_b, shared):
    image_id, b = shared["id"], project_b.project_id
    added = sqlite_controller.cli("image", "add", "project", image_id, b, "-f", "json")  # as cloud admin
    assert added["status"] == "pending"
    fault(project_a("POST", f"/images/{image_id}/members", json={"member": b}), 409,
          f"Member {b} is duplicated for image {image_id}")
    fault(project_a("POST", f"/images/{image_id}/members", json={}), 400, "Member to be added not specified")
    fault(project_a("POST", f"/images/{image_id}/members", json={"member": ""}), 400, "Member can't be empty")
    fault(project_a("POST", f"/images/{image_id}/members", json=["x"]), 400, 'Expected a member in the form')
    fault(project_a("POST", f"/images/{image_id}/members", content=b"{", headers={"Content-Type": "application/json"}),
          400, "Malformed JSON in request body.")
    fault(project_b("PUT", f"/images/{image_id}/members/{b}", json={"status": "maybe"}), 400,
          'Status must be "pending", "accepted" or "rejected".')
    fault(project_b("PUT", f"/images/{image_id}/members/{b}", json={}), 400, "Status not specified")
    fault(project_a("GET", f"/images/{image_id}/members/nobody"), 404,
          f"nobody not found in the member list of the image {image_id}.")
    fault(project_a("DELETE", f"/images/{image_id}/members/nobody"), 404)
    members = project_a("GET", f"/images/{image_id}/members").json()["members"]
    assert [(m["member_id"], m["status"]) for m in members] == [(b, "pending")]


def test_only_shared_images_take_members(project_a, project_b, project_c):
    private = project_a.create(name="private-one", visibility="private")
    community = project_a.create(name="community-one", visibility="community")
    try:
        for img in (private, community):
            fault(project_a("POST", f"/images/{img['id']}/members", json={"member": project_b.project_id}),
                  403, "Only shared images have members.")
            fault(project_a("GET", f"/images/{img['id']}/members"), 403, "Only shared images have members.")
        # private: invisible to others
        fault(project_b("GET", f"/images/{private['id']}"), 404)
        assert private["id"] not in project_b.ids(visibility="all")
        # community: anyone may show it; lists show it only when asked for
        assert project_c.show(community["id"])["visibility"] == "community"
        assert community["id"] not in project_c.ids()
        assert community["id"] in project_c.ids(visibility="community")
        assert community["id"] in project_c.ids(visibility="all")
        assert community["id"] in project_a.ids()  # its owner lists it
        fault(project_c.patch(community["id"], [{"op": "replace", "path": "/name", "value": "x"}]), 403)
        assert project_a.show(community["id"])["name"] == "community-one"
    finally:
        for img in (private, community):
            project_a("DELETE", f"/images/{img['id']}")
