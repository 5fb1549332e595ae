"""``OS::Nova::Flavor``, ``OS::Nova::KeyPair`` and ``OS::Nova::ServerGroup`` through the
jobs API: a template makes them, the compute API shows them, an update changes the
flavor's extra specs and access in place, a delete removes them, and a refusal (a
taken flavor name) leaves nothing of the request."""

from __future__ import annotations

import uuid

from tests.api.compute.test_flavors import nova
from tests.helpers.jobs import run_job


def _template(sfx: str, tenants: list[str], specs: dict) -> dict:
    return {"heat_template_version": "2018-08-31", "resources": {
        "flv": {"type": "OS::Nova::Flavor",
                "properties": {"name": f"tpl-f-{sfx}", "ram": 96, "vcpus": 1, "disk": 1, "is_public": False,
                               "tenants": tenants, "extra_specs": specs, "description": "from a template"}},
        "key": {"type": "OS::Nova::KeyPair", "properties": {"name": f"tpl-k-{sfx}", "save_private_key": True}},
        "grp": {"type": "OS::Nova::ServerGroup",
                "properties": {"name": f"tpl-g-{sfx}", "policies": ["anti-affinity"],
                               "rules": {"max_server_per_host": 2}}},
    }}


def test_template_makes_updates_and_deletes_compute_records(sqlite_controller):
    c = sqlite_controller
    member = c.new_project_user("member", prefix="tpl")
    sfx = uuid.uuid4().hex[:8]
    job = run_job(c, "POST", "/stratus/v1/jobs",
                  json={"template": _template(sfx, [member.project_id], {"hw:cpu_policy": "dedicated"})})
    ids = job["resources_by_name"]
    flv = nova(c, "GET", f"/flavors/{ids['flv']}", version="2.61").json()["flavor"]
    assert (flv["name"], flv["ram"], flv["os-flavor-access:is_public"], flv["description"]) == \
        (f"tpl-f-{sfx}", 96, False, "from a template")
    assert flv["extra_specs"] == {"hw:cpu_policy": "dedicated"}
    assert nova(c, "GET", f"/flavors/{ids['flv']}", creds=member).status_code == 200
    key = nova(c, "GET", f"/os-keypairs/tpl-k-{sfx}").json()["keypair"]
    res = c.request("GET", f"/stratus/v1/resources/{ids['key']}").json()["resource"]
    assert res["attributes"]["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert res["attributes"]["public_key"] == key["public_key"]
    grp = nova(c, "GET", f"/os-server-groups/{ids['grp']}", version="2.64").json()["server_group"]
    assert (grp["policy"], grp["rules"]) == ("anti-affinity", {"max_server_per_host": 2})

    # update in place: extra specs and access
    run_job(c, "PATCH", f"/stratus/v1/resources/{ids['flv']}",
            json={"properties": {"extra_specs": {"hw:mem_page_size": "large"}, "tenants": []}})
    assert nova(c, "GET", f"/flavors/{ids['flv']}/os-extra_specs").json() == \
        {"extra_specs": {"hw:mem_page_size": "large"}}
    assert nova(c, "GET", f"/flavors/{ids['flv']}", creds=member).status_code == 404

    # a refusal leaves nothing: the flavor name is taken
    r = c.request("POST", "/stratus/v1/jobs", json={"template": _template(sfx, [], {})})
    assert r.status_code in (400, 409), r.text
    assert "already exists" in r.text
    names = [k["keypair"]["name"] for k in nova(c, "GET", "/os-keypairs").json()["keypairs"]]
    assert names.count(f"tpl-k-{sfx}") == 1

    for name in ("flv", "key", "grp"):
        run_job(c, "DELETE", f"/stratus/v1/resources/{ids[name]}")
    assert nova(c, "GET", f"/flavors/{ids['flv']}").status_code == 404
    assert nova(c, "GET", f"/os-keypairs/tpl-k-{sfx}").status_code == 404
    assert nova(c, "GET", f"/os-server-groups/{ids['grp']}").status_code == 404
