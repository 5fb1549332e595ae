"""Flavors as Nova has them, through openstacksdk, the CLI and raw HTTP: the defaults
bootstrap makes, admin create/delete with Nova's 400/409 words, private flavors seen
only by projects on their access list, extra specs, and the shapes of 2.55/2.61/2.75."""

from __future__ import annotations

import uuid

import pytest

API = "/compute/v2.1"


def nova(controller, method, path, version="2.1", creds=None, **kw):
    token = controller.token(creds) if creds else controller.admin_token()
    headers = {"OpenStack-API-Version": f"compute {version}", **kw.pop("headers", {})}
    return controller.request(method, API + path, token=token, headers=headers, **kw)


def fault(r, status: int) -> str:
    assert r.status_code == status, r.text
    (body,) = r.json().values()
    assert body["code"] == status
    return body["message"]


@pytest.fixture(scope="module")
def member(sqlite_controller):
    return sqlite_controller.new_project_user("member", prefix="flv")


def _name() -> str:
    return "f-" + uuid.uuid4().hex[:8]


def test_defaults_from_bootstrap_listed_by_sdk(sqlite_controller, member):
    conn = sqlite_controller.conn(member)
    by_name = {f.name: f for f in conn.compute.flavors()}
    expected = {"m1.nano": ("42", 1, 128, 1), "m1.micro": ("84", 1, 192, 1), "m1.tiny": ("1", 1, 512, 1),
                "m1.small": ("2", 1, 2048, 20), "m1.medium": ("3", 2, 4096, 40),
                "m1.large": ("4", 4, 8192, 80)}
    for name, (fid, vcpus, ram, disk) in expected.items():
        f = by_name[name]
        assert (f.id, f.vcpus, f.ram, f.disk, f.is_public) == (fid, vcpus, ram, disk, True)
    shown = nova(sqlite_controller, "GET", "/flavors/1", creds=member).json()["flavor"]
    assert shown["swap"] == "" and shown["OS-FLV-EXT-DATA:ephemeral"] == 0
    assert shown["links"][0]["href"].endswith("/compute/v2.1/flavors/1")
    assert "description" not in shown and "extra_specs" not in shown


def test_microversion_shapes(sqlite_controller):
    r = nova(sqlite_controller, "GET", "/flavors/42", version="2.75").json()["flavor"]
    assert r["swap"] == 0 and r["description"] is None and r["extra_specs"] == {}
    r = nova(sqlite_controller, "GET", "/flavors", version="2.55").json()["flavors"]
    assert set(r[0]) == {"id", "name", "links", "description"}
    r = nova(sqlite_controller, "GET", "/flavors", version="2.54").json()["flavors"]
    assert set(r[0]) == {"id", "name", "links"}


def test_create_private_with_cli_and_access(sqlite_controller, member):
    c = sqlite_controller
    other = c.new_project_user("member", prefix="flv2")
    name = _name()
    made = c.cli("flavor", "create", "--ram", "256", "--vcpus", "1", "--disk", "2", "--private",
                 "--project", member.project_id, "-f", "json", name)
    assert made["os-flavor-access:is_public"] is False and len(made["id"]) == 36
    # the member's project sees and uses it; another project does not know it
    assert name in {f.name for f in c.conn(member).compute.flavors()}
    assert nova(c, "GET", f"/flavors/{made['id']}", creds=member).status_code == 200
    assert name not in {f.name for f in c.conn(other).compute.flavors()}
    assert fault(nova(c, "GET", f"/flavors/{made['id']}", creds=other), 404) == \
        f"Flavor {made['id']} could not be found."
    access = nova(c, "GET", f"/flavors/{made['id']}/os-flavor-access").json()["flavor_access"]
    assert access == [{"flavor_id": made["id"], "tenant_id": member.project_id}]
    # a member may not share it further, nor list the access
    r = nova(c, "POST", f"/flavors/{made['id']}/action", creds=member,
             json={"addTenantAccess": {"tenant": other.project_id}})
    assert "os_compute_api:os-flavor-access:add_tenant_access" in fault(r, 403)
    conn = c.conn()
    conn.compute.flavor_add_tenant_access(made["id"], other.project_id)
    assert nova(c, "GET", f"/flavors/{made['id']}", creds=other).status_code == 200
    msg = fault(nova(c, "POST", f"/flavors/{made['id']}/action",
                     json={"addTenantAccess": {"tenant": other.project_id}}), 409)
    assert msg == (f"Flavor access already exists for flavor {made['id']} and project "
                   f"{other.project_id} combination.")
    conn.compute.flavor_remove_tenant_access(made["id"], other.project_id)
    assert nova(c, "GET", f"/flavors/{made['id']}", creds=other).status_code == 404
    # public flavors have no access list; sharing one is refused
    assert fault(nova(c, "GET", "/flavors/1/os-flavor-access"), 404) == \
        "Access list not available for public flavors."
    assert fault(nova(c, "POST", "/flavors/1/action", version="2.7",
                      json={"addTenantAccess": {"tenant": other.project_id}}), 409) == \
        "Can not add access to a public flavor."
    assert fault(nova(c, "POST", f"/flavors/{made['id']}/action",
                      json={"addTenantAccess": {"tenant": "nosuchproject"}}), 400) == \
        "Project ID nosuchproject is not a valid project."
    # admins list private flavors with is_public=false or none
    listed = nova(c, "GET", "/flavors", params={"is_public": "false"}).json()["flavors"]
    assert made["id"] in {f["id"] for f in listed} and "1" not in {f["id"] for f in listed}
    # the CLI finds it by name and sets extra specs and access on it
    c.cli("flavor", "set", "--property", "hw:cpu_policy=dedicated", "--project", other.project_id, name)
    shown = c.cli("flavor", "show", "-f", "json", name, creds=other)
    assert shown["id"] == made["id"] and shown["properties"] in ({"hw:cpu_policy": "dedicated"},
                                                                "hw:cpu_policy='dedicated'")
    c.cli("flavor", "delete", made["id"])
    assert fault(nova(c, "GET", f"/flavors/{made['id']}"), 404) == f"Flavor {made['id']} could not be found."


def test_create_refusals_change_nothing(sqlite_controller, member):
    c = sqlite_controller
    before = nova(c, "GET", "/flavors/detail", params={"is_public": "none"}).json()["flavors"]
    body = {"flavor": {"name": _name(), "ram": 0, "vcpus": 1, "disk": 1}}
    assert fault(nova(c, "POST", "/flavors", json=body), 400) == \
        "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1"
    body = {"flavor": {"name": _name(), "ram": 64, "vcpus": 1}}
    assert "'disk' is a required property" in fault(nova(c, "POST", "/flavors", json=body), 400)
    body = {"flavor": {"name": _name(), "ram": 64, "vcpus": 1, "disk": 1, "description": "x"}}
    assert "Additional properties are not allowed ('description' was unexpected)" in \
        fault(nova(c, "POST", "/flavors", json=body), 400)
    body = {"flavor": {"name": "m1.tiny", "ram": 64, "vcpus": 1, "disk": 1}}
    assert fault(nova(c, "POST", "/flavors", json=body), 409) == "Flavor with name m1.tiny already exists."
    body = {"flavor": {"name": _name(), "ram": 64, "vcpus": 1, "disk": 1, "id": "42"}}
    assert fault(nova(c, "POST", "/flavors", json=body), 409) == "Flavor with ID 42 already exists."
    body = {"flavor": {"name": _name(), "ram": 64, "vcpus": 1, "disk": 1}}
    assert "os_compute_api:os-flavor-manage:create" in fault(nova(c, "POST", "/flavors", json=body,
                                                                  creds=member), 403)
    assert "os_compute_api:os-flavor-manage:delete" in fault(nova(c, "DELETE", "/flavors/1", creds=member), 403)
    after = nova(c, "GET", "/flavors/detail", params={"is_public": "none"}).json()["flavors"]
    assert after == before


def test_description_and_extra_specs(sqlite_controller, member):
    c = sqlite_controller
    conn = c.conn()
    name = _name()
    made = nova(c, "POST", "/flavors", version="2.55",
                json={"flavor": {"name": name, "ram": 64, "vcpus": 1, "disk": 0, "id": None,
                                 "description": "first"}}).json()["flavor"]
    assert made["description"] == "first"
    f = conn.compute.get_flavor(made["id"])
    r = nova(c, "PUT", f"/flavors/{f.id}", version="2.55", json={"flavor": {"description": "second"}})
    assert r.json()["flavor"]["description"] == "second"
    assert nova(c, "PUT", f"/flavors/{f.id}", version="2.54",
                json={"flavor": {"description": "x"}}).status_code == 404
    conn.compute.create_flavor_extra_specs(f.id, {"hw:cpu_policy": "dedicated", "quota:disk_read_iops_sec": 100})
    assert conn.compute.fetch_flavor_extra_specs(f.id).extra_specs == {
        "hw:cpu_policy": "dedicated", "quota:disk_read_iops_sec": "100"}
    r = nova(c, "PUT", f"/flavors/{f.id}/os-extra_specs/hw:cpu_policy", json={"hw:cpu_policy": "shared"})
    assert r.json() == {"hw:cpu_policy": "shared"}
    assert fault(nova(c, "PUT", f"/flavors/{f.id}/os-extra_specs/a", json={"b": "1"}), 400) == \
        "Request body and URI mismatch"
    shown = nova(c, "GET", f"/flavors/{f.id}", version="2.61", creds=member).json()["flavor"]
    assert shown["extra_specs"] == {"hw:cpu_policy": "shared", "quota:disk_read_iops_sec": "100"}
    assert "os_compute_api:os-flavor-extra-specs:create" in fault(
        nova(c, "POST", f"/flavors/{f.id}/os-extra_specs", creds=member, json={"extra_specs": {"a": "b"}}), 403)
    assert nova(c, "DELETE", f"/flavors/{f.id}/os-extra_specs/hw:cpu_policy").status_code == 200
    assert fault(nova(c, "GET", f"/flavors/{f.id}/os-extra_specs/hw:cpu_policy"), 404) == \
        f"Flavor {f.id} has no extra specs with key hw:cpu_policy."
    conn.compute.delete_flavor(f.id)


def test_list_filters_sort_and_paging(controller):
    """On both database backends: the list's filters, order and paging are SQL."""
    c = controller
    r = nova(c, "GET", "/flavors/detail", params={"minRam": 2048, "minDisk": 40, "sort_key": "memory_mb",
                                                  "sort_dir": "desc"}).json()["flavors"]
    assert [f["name"] for f in r][:2] == ["m1.large", "m1.medium"]
    assert all(f["ram"] >= 2048 and f["disk"] >= 40 for f in r)
    page = nova(c, "GET", "/flavors", params={"limit": 2}).json()
    assert len(page["flavors"]) == 2 and "marker=" in page["flavors_links"][0]["href"]
    rest = nova(c, "GET", "/flavors", params={"marker": page["flavors"][-1]["id"]}).json()["flavors"]
    all_ids = [f["id"] for f in nova(c, "GET", "/flavors").json()["flavors"]]
    assert [f["id"] for f in page["flavors"]] + [f["id"] for f in rest] == all_ids
    # sdk pages through with a small limit and sees the same flavors
    assert [f.id for f in c.conn().compute.flavors(limit=2)] == all_ids
    assert fault(nova(c, "GET", "/flavors", params={"marker": "nope"}), 400) == "Marker nope could not be found."
    assert fault(nova(c, "GET", "/flavors", params={"minRam": "x"}), 400) == "Invalid minRam filter [x]"
    # NUL never reaches the database (PostgreSQL refuses it): 404 / 400, never 500
    assert fault(nova(c, "GET", "/flavors/a%00b"), 404) == "The resource could not be found."  # the guard
    assert nova(c, "GET", "/os-keypairs/a%00b").status_code == 404
    assert nova(c, "GET", "/os-server-groups/a%00b").status_code == 404
    assert nova(c, "GET", "/os-keypairs", version="2.10", params={"user_id": "a\x00"}).status_code == 400
    assert nova(c, "GET", "/limits", params={"tenant_id": "a\x00"}).status_code == 400
    r = nova(c, "POST", "/flavors/1/os-extra_specs", json={"extra_specs": {"k": "a\x00"}})
    assert r.status_code == 400 and nova(c, "GET", "/flavors/1/os-extra_specs").json() == {"extra_specs": {}}
