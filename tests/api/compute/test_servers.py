"""Nova ``servers`` on a live controller with no compute host: every create is a
NoValidHost, which Nova answers 202 with the server in ERROR. That is enough for the
documents (every microversion's keys), the checks of the request, quotas, listing
filters and paging, update and delete. A real boot is in test_servers_boot.py."""

from __future__ import annotations

import base64
import uuid

import pytest

from tests.api.compute.servers_helpers import (
    Nova,
    add_flavors,
    add_group,
    fault,
    set_state,
    start_controller,
    upload_raw_image,
)

pytestmark = [pytest.mark.api, pytest.mark.compute]
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


@pytest.fixture(scope="module")
def ctl(request, tmp_path_factory):
    factory, c = start_controller(request, tmp_path_factory)
    try:
        yield c
    finally:
        factory.close()


@pytest.fixture(scope="module")
def member(ctl):
    return ctl.new_project_user("member", prefix="srv")


@pytest.fixture(scope="module")
def env(ctl, member):
    add_flavors(ctl, private={"secret": member.project_id})
    return {"image": upload_raw_image(ctl)}


@pytest.fixture
def nova(ctl, env):
    """A fresh project (member) for each test: its servers are its own."""
    return Nova(ctl, ctl.new_project_user("member", prefix="srv"))


def ids(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [s["id"] for s in r.json()["servers"]]


def test_create_without_a_host_is_202_and_the_server_goes_to_error_with_novas_fault(ctl, env, nova):
    r = nova("POST", "/servers", json={"server": {"name": "vm", "flavorRef": "42", "imageRef": env["image"]}})
    assert r.status_code == 202, r.text
    got = r.json()["server"]
    sid = got["id"]
    assert uuid.UUID(sid) and got["adminPass"] and got["OS-DCF:diskConfig"] == "MANUAL"
    assert got["links"][0]["href"].endswith(f"/compute/v2.1/servers/{sid}")
    assert r.headers["Location"] == got["links"][0]["href"]
    s = nova.show(sid)
    assert s["status"] == "ERROR" and s["OS-EXT-STS:vm_state"] == "error"
    assert s["fault"]["code"] == 500 and s["fault"]["message"] == NO_VALID_HOST
    assert "details" not in s["fault"]  # a 500's details are for admins
    admin = Nova(ctl).show(sid)
    assert admin["fault"]["details"]  # the scheduler's reasons, for admins
    assert s["flavor"] == {"id": "42", "links": [{"rel": "bookmark",
                                                   "href": f"{ctl.url}/compute/flavors/42"}]}
    assert s["image"]["id"] == env["image"] and s["hostId"] == "" and s["addresses"] == {}
    assert s["tenant_id"] == nova.creds.project_id and s["user_id"] == nova.creds.user_id


def test_the_document_follows_the_microversion_both_ways(ctl, env, nova):
    sid = nova.at("2.52").create(imageRef=env["image"], description="d1", tags=["a", "b"],
                                 metadata={"k": "v"})["server"]["id"]
    old = nova.show(sid, "2.1")
    for key in ("locked", "description", "tags", "host_status", "trusted_image_certificates",
                "server_groups", "locked_reason"):
        assert key not in old, key
    assert "OS-EXT-SRV-ATTR:host" not in old  # admins only
    assert old["metadata"] == {"k": "v"} and old["config_drive"] == "True"
    assert old["OS-EXT-AZ:availability_zone"] == "" and old["os-extended-volumes:volumes_attached"] == []
    new = nova.show(sid, "2.79")
    assert new["locked"] is False and new["locked_reason"] is None
    assert new["description"] == "d1" and new["tags"] == ["a", "b"]
    assert new["trusted_image_certificates"] is None and new["server_groups"] == []
    assert new["flavor"] == {"vcpus": 1, "ram": 128, "disk": 1, "ephemeral": 0, "swap": 0,
                             "original_name": "m1.nano", "extra_specs": {}}
    assert nova.show(sid, "2.46")["flavor"]["id"] == "42"
    assert "tags" not in nova.show(sid, "2.25") and "description" not in nova.show(sid, "2.18")
    admin = Nova(ctl)
    a = admin.show(sid, "2.79")
    assert a["OS-EXT-SRV-ATTR:host"] is None and a["OS-EXT-SRV-ATTR:instance_name"] == f"instance-{sid}"
    assert a["OS-EXT-SRV-ATTR:hostname"] == "vm" and a["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")
    assert a["host_status"] == ""
    assert "OS-EXT-SRV-ATTR:hostname" not in admin.show(sid, "2.2")


def test_requests_nova_refuses_write_nothing(ctl, env, nova):
    image = env["image"]
    cases = [
        ({"flavorRef": "nope", "imageRef": image}, "Flavor nope could not be found"),
        ({"flavorRef": "m1.secret", "imageRef": image}, "could not be found"),
        ({"imageRef": str(uuid.uuid4())}, "could not be found"),
        ({"imageRef": image, "bogus": 1}, "Additional properties are not allowed ('bogus' was unexpected)"),
        ({"imageRef": image, "name": " x"}, "Invalid input for field/attribute name"),
        ({"imageRef": image, "user_data": "not base64!"}, "User data needs to be valid base 64."),
        ({"imageRef": image, "user_data": "A" * 65536}, "user_data"),
        ({"imageRef": image, "min_count": 3, "max_count": 2}, "min_count must be <= max_count"),
        ({"imageRef": image, "networks": [{"uuid": str(uuid.uuid4())}]}, "could not be found."),
        ({"imageRef": image, "block_device_mapping_v2": [{"source_type": "volume", "uuid": image,
                                                           "destination_type": "volume", "boot_index": 0}]},
         "Boot sequence for the instance and image/block device mapping combination is not valid."),
        ({"imageRef": image, "key_name": "nokey"}, "Invalid key_name provided."),
        ({"imageRef": image, "availability_zone": "nova:somehost"}, "forced_host"),
        ({"imageRef": image, "availability_zone": "elsewhere"}, "The requested availability zone is not available"),
        ({"imageRef": image, "description": "x"}, "Additional properties"),  # 2.19
        ({"imageRef": image, "accessIPv4": "::1"}, "Invalid input for field/attribute accessIPv4"),
        ({"imageRef": image, "personality": [{"path": "/x", "contents": "eA=="}]}, "user_data"),
        ({"imageRef": image, "max_count": 101}, "compute_max_count"),
    ]
    for body, words in cases:
        r = nova("POST", "/servers", json={"server": {"name": "vm", "flavorRef": "42", **body}})
        assert r.status_code in (400, 403), (body, r.text)
        assert words in r.json()[next(iter(r.json()))]["message"], (body, r.text)
    r = nova.at("2.37")("POST", "/servers", json={"server": {"name": "vm", "flavorRef": "42", "imageRef": image}})
    assert "'networks' is a required property" in fault(r, 400)
    assert fault(nova("POST", "/servers", content=b"{nope"), 400)
    assert ids(nova("GET", "/servers")) == []
    # the private flavor is fine for the project that has access
    owner = Nova(ctl, ctl.new_project_user("member"))  # another project: no access
    assert "could not be found" in fault(owner("POST", "/servers", json={"server": {
        "name": "vm", "flavorRef": "secret", "imageRef": image}}), 400)


def test_private_flavor_for_the_project_with_access_and_the_plain_image_bdm(ctl, env, member):
    nova = Nova(ctl, member)
    bdm = [{"source_type": "image", "destination_type": "local", "uuid": env["image"], "boot_index": 0}]
    sid = nova.create(imageRef=env["image"], flavorRef="secret", block_device_mapping_v2=bdm)["server"]["id"]
    assert nova.show(sid, "2.47")["flavor"]["original_name"] == "secret"
    assert nova("DELETE", f"/servers/{sid}").status_code == 204


def test_quota_answers_403_in_novas_words_and_min_count_takes_what_fits(ctl, env, nova):
    pid = nova.creds.project_id
    r = ctl.request("PUT", f"/compute/v2.1/os-quota-sets/{pid}", json={"quota_set": {"instances": 2}})
    assert r.status_code == 200, r.text
    r = nova("POST", "/servers", json={"server": {"name": "vm", "flavorRef": "42", "imageRef": env["image"],
                                                  "min_count": 3}})
    assert fault(r, 403) == "Quota exceeded for instances: Requested 3, but already used 0 of 2 instances"
    assert ids(nova("GET", "/servers")) == []
    got = nova.create(imageRef=env["image"], min_count=1, max_count=5, return_reservation_id=True)
    listed = nova("GET", "/servers/detail", params={"reservation_id": got["reservation_id"]}).json()["servers"]
    assert sorted(s["name"] for s in listed) == ["vm-1", "vm-2"]


def test_user_data_key_name_zone_and_hints_are_recorded(ctl, env, nova):
    data = base64.b64encode(b"#!/bin/sh\necho hi\n").decode()
    sid = nova.create(imageRef=env["image"], user_data=data, availability_zone="nova",
                      config_drive=True)["server"]["id"]
    a = Nova(ctl).show(sid, "2.3")
    assert a["OS-EXT-SRV-ATTR:user_data"] == data
    assert a["OS-EXT-AZ:availability_zone"] == "nova"


def test_list_filters_sorting_and_paging(ctl, env, nova):
    image = env["image"]
    made = {}
    for name, tags in (("alpha", ["x"]), ("beta", ["x", "y"]), ("gamma", []), ("alphabet", ["y"])):
        made[name] = nova.at("2.52").create(name=name, imageRef=image, tags=tags)["server"]["id"]
    n = nova.at("2.73")

    def names(**params):
        r = n("GET", "/servers/detail", params=params)
        assert r.status_code == 200, r.text
        return sorted(s["name"] for s in r.json()["servers"])

    assert names() == ["alpha", "alphabet", "beta", "gamma"]
    assert names(name="^alpha") == ["alpha", "alphabet"] and names(name="bet") == ["alphabet", "beta"]
    assert names(status="ERROR") == names() and names(status="ACTIVE") == []
    assert names(tags="x") == ["alpha", "beta"] and names(tags="x,y") == ["beta"]
    assert names(**{"tags-any": "x,y"}) == ["alpha", "alphabet", "beta"]
    assert names(**{"not-tags": "x,y"}) == ["alpha", "alphabet", "gamma"]
    assert names(**{"not-tags-any": "x,y"}) == ["gamma"]
    assert names(image=image) == names() and names(flavor="84") == []
    assert names(ip="10.0.0.1") == [] and names(locked="false") == names()
    assert names(**{"changes-since": "2000-01-01T00:00:00Z"}) == names()
    assert names(**{"changes-before": "2000-01-01T00:00:00Z"}) == []
    assert "changes-since" in fault(n("GET", "/servers", params={"changes-since": "2030-01-01T00:00:00Z",
                                                                 "changes-before": "2000-01-01T00:00:00Z"}), 400)
    assert "date-time" in fault(n("GET", "/servers", params={"changes-since": "yesterday"}), 400)
    assert "Invalid status value" in fault(n("GET", "/servers", params={"status": "NOPE"}), 400)
    assert ids(nova.at("2.37")("GET", "/servers", params={"status": "NOPE"})) == []
    assert "Additional properties" in fault(n.at("2.75")("GET", "/servers", params={"bogus": "1"}), 400)
    assert ids(n.at("2.74")("GET", "/servers", params={"bogus": "1"}))
    assert "marker [nope] not found" in fault(n("GET", "/servers", params={"marker": "nope"}), 400)
    assert "sort_key" in fault(n("GET", "/servers", params={"sort_key": "nope"}), 400)
    assert fault(n("GET", "/servers", params={"sort_key": "host"}), 403)
    assert fault(n("GET", "/servers", params={"all_tenants": "1"}), 403)
    # sorting by name both ways, and paging through with the next links
    r = n("GET", "/servers", params={"sort_key": "display_name", "sort_dir": "asc"})
    assert [s["name"] for s in r.json()["servers"]] == ["alpha", "alphabet", "beta", "gamma"]
    r = n("GET", "/servers", params={"sort_key": "display_name", "sort_dir": "desc"})
    assert [s["name"] for s in r.json()["servers"]] == ["gamma", "beta", "alphabet", "alpha"]
    seen, params = [], {"limit": 3, "sort_key": "display_name", "sort_dir": "asc"}
    r = n("GET", "/servers", params=params)
    seen += [s["name"] for s in r.json()["servers"]]
    nxt = r.json()["servers_links"][0]
    assert nxt["rel"] == "next" and "marker=" in nxt["href"]
    r = n.ctl.http.get(nxt["href"].replace(ctl.url, ""), headers={"X-Auth-Token": n.token})
    seen += [s["name"] for s in r.json()["servers"]]
    assert seen == ["alpha", "alphabet", "beta", "gamma"] and "servers_links" not in r.json()
    # the SDK pages the same way
    conn = ctl.conn(nova.creds)
    assert sorted(s.name for s in conn.compute.servers(limit=1, paginated=True)) == names()
    # admins see every project with all_tenants, filtered by project
    admin = Nova(ctl)
    everything = ids(admin("GET", "/servers", params={"all_tenants": "1", "project_id": nova.creds.project_id}))
    assert sorted(everything) == sorted(made.values())
    assert set(made.values()).isdisjoint(ids(admin("GET", "/servers")))


def test_update_and_delete(ctl, env, nova):
    sid = nova.create(imageRef=env["image"])["server"]["id"]
    n = nova.at("2.19")
    r = n("PUT", f"/servers/{sid}", json={"server": {"name": "renamed", "description": "now"}})
    assert r.status_code == 200, r.text
    assert r.json()["server"]["name"] == "renamed" and r.json()["server"]["description"] == "now"
    assert "OS-EXT-STS:vm_state" not in r.json()["server"] and "key_name" not in r.json()["server"]
    r = nova.at("2.75")("PUT", f"/servers/{sid}", json={"server": {"accessIPv4": "192.0.2.7"}})
    assert r.json()["server"]["OS-EXT-STS:vm_state"] == "error" and r.json()["server"]["accessIPv4"] == "192.0.2.7"
    assert "Additional properties" in fault(nova("PUT", f"/servers/{sid}", json={"server": {"description": "x"}}), 400)
    assert "Invalid input for field/attribute name" in fault(n("PUT", f"/servers/{sid}", json={"server": {"name": ""}}), 400)
    other = Nova(ctl, ctl.new_project_user("member"))
    assert fault(other("GET", f"/servers/{sid}"), 404) == f"Instance {sid} could not be found."
    assert fault(other("DELETE", f"/servers/{sid}"), 404)
    set_state(ctl, sid, "error", locked=True, locked_by="owner")
    assert fault(nova("DELETE", f"/servers/{sid}"), 409) == f"Instance {sid} is locked"
    set_state(ctl, sid, "error", locked=False, locked_by=None)
    before = ctl.request("GET", f"/compute/v2.1/os-quota-sets/{nova.creds.project_id}/detail").json()
    assert before["quota_set"]["instances"]["in_use"] == 1
    assert nova("DELETE", f"/servers/{sid}").status_code == 204
    assert fault(nova("GET", f"/servers/{sid}"), 404) == f"Instance {sid} could not be found."
    assert ids(nova("GET", "/servers")) == []
    after = ctl.request("GET", f"/compute/v2.1/os-quota-sets/{nova.creds.project_id}/detail").json()
    assert after["quota_set"]["instances"]["in_use"] == 0
    # deleted rows stay for changes-since and admins' deleted=True
    gone = nova("GET", "/servers/detail", params={"changes-since": "2000-01-01T00:00:00Z"}).json()["servers"]
    assert [(s["id"], s["status"]) for s in gone] == [(sid, "DELETED")]
    admin = Nova(ctl)
    assert sid in ids(admin("GET", "/servers", params={"all_tenants": "1", "deleted": "true"}))
    assert sid in ids(admin("GET", "/servers", params={"all_tenants": "1", "status": "DELETED"}))
    assert sid not in ids(admin("GET", "/servers", params={"all_tenants": "1"}))
    assert ids(nova("GET", "/servers", params={"status": "DELETED"})) == []  # members: not theirs to see


def test_group_hint_makes_members_and_deleting_leaves_the_group(ctl, env, nova):
    gid = add_group(ctl, nova.creds.project_id, nova.creds.user_id)
    body = {"server": {"name": "g", "flavorRef": "42", "imageRef": env["image"], "min_count": 2},
            "os:scheduler_hints": {"group": gid}}
    assert nova("POST", "/servers", json=body).status_code == 202
    listed = nova.at("2.71")("GET", "/servers/detail").json()["servers"]
    assert [s["server_groups"] for s in listed] == [[gid], [gid]]
    assert all("server_groups" not in s for s in nova.at("2.70")("GET", "/servers/detail").json()["servers"])
    other = add_group(ctl, "another-project", "u")
    body["os:scheduler_hints"]["group"] = other
    assert fault(nova("POST", "/servers", json=body), 400) == f"Instance group {other} could not be found."
    assert len(ids(nova("GET", "/servers"))) == 2
    for s in listed:
        assert nova("DELETE", f"/servers/{s['id']}").status_code == 204
    gone = nova.at("2.71")("GET", "/servers/detail", params={"changes-since": "2000-01-01T00:00:00Z"})
    assert [s["server_groups"] for s in gone.json()["servers"]] == [[], []]


def test_openstack_cli_lists_shows_renames_and_deletes(ctl, env, nova):
    sid = nova.create(name="cli-vm", imageRef=env["image"])["server"]["id"]
    rows = ctl.cli("server", "list", "-n", "-f", "json", creds=nova.creds)
    assert [(r["ID"], r["Name"], r["Status"]) for r in rows] == [(sid, "cli-vm", "ERROR")]
    shown = ctl.cli("server", "show", sid, "-f", "json", creds=nova.creds)
    assert shown["id"] == sid and shown["status"] == "ERROR"
    ctl.cli("server", "set", "--name", "cli-renamed", sid, creds=nova.creds)
    assert nova.show(sid)["name"] == "cli-renamed"
    ctl.cli("server", "delete", sid, creds=nova.creds)
    assert ctl.cli("server", "list", "-n", "-f", "json", creds=nova.creds) == []


def test_auto_networks_pick_the_projects_one_network_or_refuse_as_nova(ctl, env, nova):
    """2.37 ``auto``: no network is 400, two are 409 NetworkAmbiguous (nothing written);
    one is the server's (a port made on it; with no host the server goes to ERROR
    and the port with it)."""
    mv = nova.at("2.37")
    body = {"server": {"name": "auto", "flavorRef": "42", "imageRef": env["image"], "networks": "auto"}}
    r = mv("POST", "/servers", json=body)
    assert r.status_code == 400 and "Unable to automatically allocate a network" in r.text, r.text
    net = ctl.conn(nova.creds).network
    first = net.create_network(name="one")
    net.create_subnet(network_id=first.id, cidr="10.9.1.0/24", ip_version=4)
    r = mv("POST", "/servers", json=body)
    assert r.status_code == 202, r.text  # no host here: NoValidHost, the port rolled back
    assert list(net.ports(network_id=first.id, device_owner="compute:nova")) == []
    second = net.create_network(name="two")
    r = mv("POST", "/servers", json=body)
    assert r.status_code == 409, r.text
    assert r.json()["conflictingRequest"]["message"] == (
        "Multiple possible networks found, use a Network ID to be more specific.")
    assert [s["name"] for s in mv("GET", "/servers").json()["servers"]] == ["auto"]
    net.delete_network(second)
