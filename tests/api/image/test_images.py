"""Glance v2 image records through openstacksdk, the ``openstack`` CLI and raw HTTP:
discovery, create, list (filters, sort, paging), JSON-patch, delete, protected, actions,
tags, schemas, the count quota, and Glance's 400/403/409/413/415 answers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.api.image.conftest import PATCH_20, PATCH_21, Glance, fault, terminal_stdin


def test_discovery_answers_glance_versions_and_the_cli_lists(sqlite_controller):
    r = sqlite_controller.http.get("/image")
    assert r.status_code == 300
    versions = r.json()["versions"]
    assert [v["status"] for v in versions].count("CURRENT") == 1
    assert {v["links"][0]["href"] for v in versions} == {f"{sqlite_controller.url}/image/v2/"}
    assert sqlite_controller.http.get("/image/").status_code == 300
    # what failed before: "The image service ... does not have any supported versions"
    assert isinstance(sqlite_controller.cli("image", "list", "-f", "json"), list)


def test_cli_create_set_list_protect_delete(sqlite_controller):
    creds = sqlite_controller.new_project_user(prefix="imgcli")
    cli = lambda *a, **kw: sqlite_controller.cli(*a, creds=creds, **kw)  # noqa: E731
    with terminal_stdin():
        img = cli("image", "create", "--disk-format", "qcow2", "--container-format", "bare",
                  "--property", "os_distro=debian", "--tag", "t1", "--min-disk", "2",
                  "--protected", "cli-img", "-f", "json")
    assert img["status"] == "queued" and img["disk_format"] == "qcow2"
    assert img["protected"] is True and img["min_disk"] == 2 and img["tags"] == ["t1"]
    assert img["properties"]["os_distro"] == "debian"
    assert img["owner"] == creds.project_id

    cli("image", "set", "--property", "hw_disk_bus=virtio", "--tag", "t2", "--min-ram", "64", img["id"])
    shown = cli("image", "show", img["id"], "-f", "json")
    assert shown["properties"]["hw_disk_bus"] == "virtio" and shown["min_ram"] == 64
    assert sorted(shown["tags"]) == ["t1", "t2"]

    listed = cli("image", "list", "--long", "--tag", "t2", "--property", "os_distro=debian",
                 "--sort", "name:asc", "-f", "json")
    assert [i["ID"] for i in listed] == [img["id"]]
    assert listed[0]["Protected"] is True and listed[0]["Disk Format"] == "qcow2"
    assert cli("image", "list", "--tag", "nope", "-f", "json") == []

    refused = cli("image", "delete", img["id"], check=False)
    assert refused.returncode != 0
    assert cli("image", "show", img["id"], "-f", "json")["id"] == img["id"]
    cli("image", "set", "--unprotected", img["id"])
    cli("image", "delete", img["id"])
    gone = cli("image", "show", img["id"], check=False)
    assert gone.returncode != 0 and "No Image found" in gone.stderr


def test_sdk_create_with_id_properties_and_hidden(sqlite_controller, project_a):
    conn = sqlite_controller.conn(project_a.creds)
    image_id = str(uuid.uuid4())
    img = conn.image.create_image("sdk-img", id=image_id, disk_format="raw", container_format="bare",
                                  min_disk=1, min_ram=128, architecture="x86_64", tags=["x"],
                                  meta={"os_hidden": True}, allow_duplicates=True)
    assert img.id == image_id and img.min_ram == 128 and img.is_hidden
    raw = project_a.show(image_id)
    assert raw["architecture"] == "x86_64" and raw["visibility"] == "shared"
    assert raw["self"] == f"/v2/images/{image_id}" and raw["schema"] == "/v2/schemas/image"
    # hidden images are listed only when asked for
    assert image_id not in [i.id for i in conn.image.images()]
    assert image_id in [i.id for i in conn.image.images(is_hidden=True)]
    # the same id again: 409, nothing else created
    before = project_a.ids(os_hidden="true")
    fault(project_a("POST", "/images", json={"id": image_id, "name": "dup"}), 409, image_id, "already exists")
    assert project_a.ids(os_hidden="true") == before
    assert project_a.show(image_id)["name"] == "sdk-img"


@pytest.mark.parametrize(("body", "status", "text"), [
    ({"name": "x", "status": "active"}, 403, "Attribute 'status' is read-only."),
    ({"name": "x", "checksum": "0" * 32}, 403, "Attribute 'checksum' is read-only."),
    ({"name": "x", "self": "/v2/images/x"}, 403, "Attribute 'self' is read-only."),
    ({"name": "x", "os_glance_import_task": "t"}, 403, "Attribute 'os_glance_import_task' is reserved."),
    ({"name": "x", "deleted": "true"}, 403, "Attribute 'deleted' is reserved."),
    ({"name": "x", "locations": []}, 403, "Attribute 'locations' is reserved."),
    ({"name": "x", "disk_format": "floppy"}, 400, "'floppy' is not one of"),
    ({"name": "x", "container_format": "zip"}, 400, "attribute 'container_format'"),
    ({"name": "x", "os_distro": 5}, 400, "5 is not of type 'string'"),
    ({"name": "x", "min_disk": -1}, 400, "Invalid value '-1' for parameter 'min_disk'"),
    ({"name": "x", "min_ram": "1"}, 400, "attribute 'min_ram'"),
    ({"name": "x", "id": "not-a-uuid"}, 400, "attribute 'id'"),
    ({"name": "x", "visibility": "public"}, 403, "publicize_image"),
    ({"name": "x", "visibility": "everyone"}, 400, "attribute 'visibility'"),
    ({"name": "x", "owner": "someone-else"}, 403, "You are not permitted to create images owned by 'someone-else'"),
    ({"name": "x", "p" * 256: "v"}, 400, "Custom property should not be greater than 255 characters."),
    ([{"name": "x"}], 400, "Request body must be a JSON object"),
])
def test_create_refusals_change_nothing(project_a, body, status, text):
    before = project_a.ids(visibility="all", os_hidden="false")
    fault(project_a("POST", "/images", json=body), status, text)
    assert project_a.ids(visibility="all", os_hidden="false") == before


def test_bad_json_and_missing_body_answer_400(project_a):
    fault(project_a("POST", "/images", content=b"{not json", headers={"Content-Type": "application/json"}),
          400, "Malformed JSON in request body.")
    fault(project_a("POST", "/images"), 400, "Body expected in request.")
    img = project_a.create(name="json-target")
    fault(project_a.patch(img["id"], None, raw="[{"), 400, "Malformed JSON in request body.")
    assert project_a.show(img["id"]) == img


def test_admin_publicizes_and_every_project_sees_public(sqlite_controller, admin_glance, project_b):
    img = admin_glance.create(name="public-img", visibility="public", disk_format="raw",
                              container_format="bare")
    try:
        assert img["visibility"] == "public"
        assert img["id"] in project_b.ids()
        fault(project_b.patch(img["id"], [{"op": "replace", "path": "/name", "value": "mine"}]),
              403, "not permitted to modify")
        fault(project_b("DELETE", f"/images/{img['id']}"), 403)
        assert admin_glance.show(img["id"])["name"] == "public-img"
    finally:
        assert admin_glance("DELETE", f"/images/{img['id']}").status_code == 204


@pytest.fixture(scope="module")
def listed(project_c):
    """Five images of project C with distinct names, formats, tags and properties."""
    specs = [
        dict(name="alpha", disk_format="qcow2", container_format="bare", tags=["os", "lin"], os_distro="debian"),
        dict(name="bravo", disk_format="raw", container_format="bare", tags=["os"], os_distro="fedora"),
        dict(name="charlie", disk_format="iso", container_format="bare", protected=True, os_distro="debian"),
        dict(name="delta", disk_format="qcow2", container_format="ovf", tags=["lin"]),
        dict(disk_format="vmdk", container_format="bare"),  # no name: sorts as ""
    ]
    made = [project_c.create(**s) for s in specs]
    yield {(i["name"] or ""): i for i in made}
    for i in made:
        if i["protected"]:
            project_c.patch(i["id"], [{"op": "replace", "path": "/protected", "value": False}])
        project_c("DELETE", f"/images/{i['id']}")


def test_list_filters(project_c, listed):
    ids = lambda **p: set(project_c.ids(**p))  # noqa: E731
    by = {k: v["id"] for k, v in listed.items()}
    assert ids() == set(by.values())
    assert ids(name="alpha") == {by["alpha"]}
    assert ids(name='in:alpha,"bravo"') == {by["alpha"], by["bravo"]}
    assert ids(id=f"in:{by['charlie']},{by['delta']}") == {by["charlie"], by["delta"]}
    assert ids(disk_format="qcow2") == {by["alpha"], by["delta"]}
    assert ids(disk_format="in:raw,iso") == {by["bravo"], by["charlie"]}
    assert ids(container_format="ovf") == {by["delta"]}
    assert ids(status="queued") == set(by.values())
    assert ids(status="active") == set()
    assert ids(protected="true") == {by["charlie"]}
    assert ids(owner=project_c.project_id) == set(by.values())
    assert ids(visibility="shared") == set(by.values())
    assert ids(visibility="private") == set()
    # extra property filters
    assert ids(os_distro="debian") == {by["alpha"], by["charlie"]}
    # tag is repeatable: every tag must be present
    r = project_c("GET", "/images", params=[("tag", "os"), ("tag", "lin")])
    assert {i["id"] for i in r.json()["images"]} == {by["alpha"]}
    assert ids(tag="lin") == {by["alpha"], by["delta"]}
    # time operators
    first = min(v["created_at"] for v in listed.values())
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(created_at=f"gte:{first}") == set(by.values())
    assert ids(created_at=f"gt:{future}") == set()
    assert ids(updated_at=f"lt:{future}") == set(by.values())
    assert ids(updated_at=f"lte:{past}") == set()
    assert ids(created_at=f"neq:{past}") == set(by.values())
    assert ids(**{"changes-since": past}) == set(by.values())
    assert ids(**{"changes-since": future}) == set()
    # sizes are unknown until data arrives: no range matches
    assert ids(size_min="0") == set()


def test_list_sort_and_paging(sqlite_controller, project_c, listed):
    names = lambda **p: [i["name"] for i in project_c("GET", "/images", params=p).json()["images"]]  # noqa: E731
    assert names(sort_key="name", sort_dir="asc") == [None, "alpha", "bravo", "charlie", "delta"]
    assert names(sort="name:desc") == ["delta", "charlie", "bravo", "alpha", None]
    assert names(sort="disk_format:asc,name:desc")[:3] == ["charlie", "delta", "alpha"]
    r = project_c("GET", "/images", params=[("sort_key", "disk_format"), ("sort_key", "name"),
                                            ("sort_dir", "asc"), ("sort_dir", "asc")])
    assert [i["name"] for i in r.json()["images"]][:3] == ["charlie", "alpha", "delta"]
    # default order: newest first
    assert names() == names(sort="created_at:desc")

    # pages of two by marker, following Glance's next link
    seen, params = [], {"limit": "2", "sort": "name:asc"}
    page = project_c("GET", "/images", params=params).json()
    assert page["first"] == "/v2/images?limit=2&sort=name%3Aasc" and page["schema"] == "/v2/schemas/images"
    while True:
        seen += [i["name"] for i in page["images"]]
        if "next" not in page:
            break
        assert page["next"].startswith("/v2/images?")
        page = project_c("GET", "/images" + page["next"][len("/v2/images"):]).json()
    assert seen == [None, "alpha", "bravo", "charlie", "delta"]
    assert names(sort="name:asc", marker=listed["bravo"]["id"]) == ["charlie", "delta"]

    # the SDK pages by itself
    conn = sqlite_controller.conn(project_c.creds)
    got = [i.name for i in conn.image.images(sort="name:asc", limit=2, owner=project_c.project_id)]
    assert got == [None, "alpha", "bravo", "charlie", "delta"]


@pytest.mark.parametrize(("params", "text"), [
    ({"marker": str(uuid.uuid4())}, "No image found with ID"),
    ({"sort_key": "owner"}, "Invalid sort key: owner. It must be one of the following:"),
    ({"sort": "name:sideways"}, "Invalid sort direction: sideways"),
    ({"sort": "name", "sort_key": "name"}, "Old and new sorting syntax cannot be combined"),
    ([("sort_key", "name"), ("sort_key", "id"), ("sort_dir", "asc"), ("sort_dir", "desc"),
      ("sort_dir", "asc")], "Number of sort dirs does not match"),
    ({"limit": "ten"}, "limit param must be an integer"),
    ({"limit": "-1"}, "limit param must be positive"),
    ({"visibility": "everyone"}, "Invalid visibility value: everyone"),
    ({"member_status": "maybe"}, "Invalid status: maybe"),
    ({"os_hidden": "perhaps"}, "Invalid value 'perhaps' for 'os_hidden' filter"),
    ({"protected": "1"}, "Invalid value '1' for 'protected' filter"),
    ({"created_at": "gte:yesterday"}, 'Bad "created_at" query filter format'),
    ({"created_at": "around:2024-01-01T00:00:00"}, "Unable to filter by unknown operator 'around'"),
    ({"name": "like:alp"}, "Unable to filter by unknown operator 'like'"),
    ({"name": 'in:"alpha'}, "The quote is not closed"),
    ({"size_min": "big"}, "Unable to filter on a range with a non-numeric value"),
    ({"changes-since": "last week"}, 'Bad "changes-since" query filter format'),
])
def test_list_refusals_answer_400(project_c, params, text):
    fault(project_c("GET", "/images", params=params), 400, text)


def test_sdk_update_and_json_patch_dialects(sqlite_controller, project_a):
    conn = sqlite_controller.conn(project_a.creds)
    img = conn.image.create_image("patch-me", disk_format="qcow2", container_format="bare",
                                  os_distro="debian", allow_duplicates=True)
    conn.image.update_image(img, name="patched", os_distro="ubuntu", hw_disk_bus="virtio",
                            min_ram=256, is_protected=True)
    doc = project_a.show(img.id)
    assert (doc["name"], doc["os_distro"], doc["hw_disk_bus"], doc["min_ram"], doc["protected"]) == (
        "patched", "ubuntu", "virtio", 256, True)

    ops = [{"op": "remove", "path": "/hw_disk_bus"}, {"op": "add", "path": "/a~1b", "value": "slash"},
           {"op": "replace", "path": "/tags", "value": ["t1", "t2", "t1"]},
           {"op": "replace", "path": "/protected", "value": False},
           {"op": "replace", "path": "/disk_format", "value": "raw"}]
    r = project_a.patch(img.id, ops)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert "hw_disk_bus" not in doc and doc["a/b"] == "slash" and doc["disk_format"] == "raw"
    assert sorted(doc["tags"]) == ["t1", "t2"] and doc["protected"] is False
    # the 2.0 dialect: {"replace": "/name"}; add of a present attribute is a conflict there
    r = project_a.patch(img.id, [{"replace": "/name", "value": "v20"}], PATCH_20)
    assert r.status_code == 200 and r.json()["name"] == "v20"
    fault(project_a.patch(img.id, [{"add": "/os_distro", "value": "x"}], PATCH_20), 409,
          "Property os_distro already present.")
    # the 2.1 dialect's add sets it
    assert project_a.patch(img.id, [{"op": "add", "path": "/os_distro", "value": "arch"}]).json()["os_distro"] == "arch"
    # the SDK's tag calls
    conn.image.add_tag(img, "sdk-tag")
    assert "sdk-tag" in project_a.show(img.id)["tags"]
    conn.image.remove_tag(img, "sdk-tag")
    assert "sdk-tag" not in project_a.show(img.id)["tags"]
    fault(project_a("DELETE", f"/images/{img.id}/tags/sdk-tag"), 404, "sdk-tag")
    fault(project_a("PUT", f"/images/{img.id}/tags/{'t' * 256}"), 400, "is too long")
    conn.image.delete_image(img)
    fault(project_a("GET", f"/images/{img.id}"), 404, f"No image found with ID {img.id}")


@pytest.mark.parametrize(("ops", "media", "status", "text"), [
    ([{"op": "replace", "path": "/name", "value": "x"}], "application/json", 415,
     "Image PATCH expects Content-Type one of: application/openstack-images-v2.0-json-patch, "
     "application/openstack-images-v2.1-json-patch"),
    ({"op": "replace", "path": "/name", "value": "x"}, PATCH_21, 400,
     "Request body must be a JSON array of operation objects."),
    (["replace"], PATCH_21, 400, "Operations must be JSON objects."),
    ([{"path": "/name", "value": "x"}], PATCH_21, 400, "Unable to find `op` in JSON Schema change"),
    ([{"op": "move", "path": "/name", "value": "x"}], PATCH_21, 400, "Invalid operation: `move`"),
    ([{"op": "replace", "value": "x"}], PATCH_21, 400, "Unable to find 'path' in JSON Schema change"),
    ([{"op": "replace", "path": "name", "value": "x"}], PATCH_21, 400, 'Pointer `name` does not start with "/".'),
    ([{"op": "replace", "path": "/name/first", "value": "x"}], PATCH_21, 400, "Invalid JSON pointer for this resource: '/name/first'"),
    ([{"op": "replace", "path": "/a~2", "value": "x"}], PATCH_21, 400, "not part of a recognized escape sequence"),
    ([{"op": "replace", "path": "/name"}], PATCH_21, 400, 'Operation "replace" requires a member named "value".'),
    ([{"add": "/x", "remove": "/y"}], PATCH_20, 400, "must contain only one member"),
    ([{"op": "replace", "path": "/status", "value": "active"}], PATCH_21, 403, "Attribute 'status' is read-only."),
    ([{"op": "replace", "path": "/id", "value": str(uuid.uuid4())}], PATCH_21, 403, "Attribute 'id' is read-only."),
    ([{"op": "add", "path": "/os_glance_x", "value": "1"}], PATCH_21, 403, "Attribute 'os_glance_x' is reserved."),
    ([{"op": "replace", "path": "/locations", "value": []}], PATCH_21, 403, "locations"),
    ([{"op": "remove", "path": "/name"}], PATCH_21, 403, "Property name may not be removed."),
    ([{"op": "remove", "path": "/nothere"}], PATCH_21, 409, "Property nothere does not exist."),
    ([{"op": "replace", "path": "/nothere", "value": "x"}], PATCH_21, 409, "Property nothere does not exist."),
    ([{"op": "replace", "path": "/min_ram", "value": -5}], PATCH_21, 400, "Cannot be a negative value"),
    ([{"op": "replace", "path": "/os_distro", "value": 7}], PATCH_21, 400, "7 is not of type 'string'"),
    ([{"op": "replace", "path": "/disk_format", "value": "floppy"}], PATCH_21, 400, "'floppy' is not one of"),
    ([{"op": "replace", "path": "/visibility", "value": "public"}], PATCH_21, 403, "publicize_image"),
    ([{"op": "replace", "path": "/owner", "value": "other"}], PATCH_21, 403, "Owner can't be updated by non admin."),
    # the first op is valid: a refusal later in the list leaves the image untouched
    ([{"op": "replace", "path": "/name", "value": "half"}, {"op": "remove", "path": "/nothere"}],
     PATCH_21, 409, "Property nothere does not exist."),
])
def test_patch_refusals_change_nothing(project_a, ops, media, status, text):
    img = project_a.create(name="patch-target", os_distro="debian", disk_format="qcow2")
    fault(project_a.patch(img["id"], ops, media), status, text)
    assert project_a.show(img["id"]) == img


def test_deactivate_needs_an_active_image(sqlite_controller, project_a):
    img = project_a.create(name="queued-one")
    fault(project_a("POST", f"/images/{img['id']}/actions/deactivate"), 403,
          "Not allowed to deactivate image in status 'queued'")
    fault(project_a("POST", f"/images/{img['id']}/actions/reactivate"), 403,
          "Not allowed to reactivate image in status 'queued'")
    assert project_a.show(img["id"])["status"] == "queued"


def test_schemas_are_what_requests_are_checked_against(sqlite_controller, project_a):
    conn = sqlite_controller.conn(project_a.creds)
    image = project_a("GET", "/schemas/image").json()
    props = image["properties"]
    assert props["disk_format"]["enum"][1:] == ["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso"]
    assert image["additionalProperties"] == {"type": "string"}
    assert {"id", "name", "tags", "visibility", "os_hidden", "os_hash_value"} <= set(props)
    images = project_a("GET", "/schemas/images").json()
    assert images["properties"]["images"]["items"]["name"] == "image"
    assert conn.image.get_member_schema().properties["status"]["enum"] == ["pending", "accepted", "rejected"]
    assert conn.image.get_members_schema().properties["members"]["type"] == "array"
    assert conn.image.get_image_schema().properties["min_ram"]["type"] == "integer"


def test_image_count_quota_answers_413(controller_factory):
    c = controller_factory(quota_defaults={"image_count_total": 1})
    creds = c.new_project_user(prefix="imgq")
    glance = Glance(c, creds)
    first = glance.create(name="one")
    fault(glance("POST", "/images", json={"name": "two"}), 413,
          f"Project {creds.project_id} is over a limit for [Resource image_count_total is over "
          "limit of 1 due to current usage 1 and delta 1]")
    assert glance.ids() == [first["id"]]
    assert glance("DELETE", f"/images/{first['id']}").status_code == 204
    assert glance.create(name="three")["name"] == "three"
