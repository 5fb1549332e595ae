"""Unified limits (/v3/registered_limits, /v3/limits, /v3/limits/model) through the
`openstack` CLI, and the image service enforcing them: a project limit of
image_count_total=1 makes the project's second `openstack image create` answer 413.
Members read their project's limits only and cannot write any; refusals change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text


@pytest.fixture(scope="module")
def ctl(sqlite_controller):
    yield sqlite_controller
    # the controller is shared: leave no limit behind for other modules' images
    for lim in sqlite_controller.request("GET", "/identity/v3/limits").json()["limits"]:
        sqlite_controller.request("DELETE", f"/identity/v3/limits/{lim['id']}")
    for reg in sqlite_controller.request("GET", "/identity/v3/registered_limits").json()["registered_limits"]:
        sqlite_controller.request("DELETE", f"/identity/v3/registered_limits/{reg['id']}")


@pytest.fixture(scope="module")
def image_service(ctl):
    (svc,) = [s for s in ctl.cli("service", "list", "-f", "json") if s["Type"] == "image"]
    return svc["ID"]


@pytest.fixture(scope="module")
def member(ctl):
    return ctl.new_project_user(prefix="lim")


def table(ctl, name: str) -> list[tuple]:
    engine = create_engine(ctl.database_url)
    try:
        with engine.connect() as c:
            return sorted(tuple(r) for r in c.execute(text(f"SELECT * FROM {name}")))
    finally:
        engine.dispose()


def make_image(ctl, creds, name: str):
    """`openstack image create NAME --file F` (without --file the CLI reads stdin)."""
    data = ctl.workdir / "limits-image.raw"
    data.write_bytes(b"\0" * 1024)
    return ctl.cli("image", "create", name, "--disk-format", "raw", "--container-format", "bare",
                   "--file", str(data), "-f", "json", creds=creds, check=False)


def err(r) -> str:
    return r.json()["error"]["message"]


def test_limits_model(ctl, member):
    r = ctl.request("GET", "/identity/v3/limits/model", ctl.token(member))
    assert r.status_code == 200
    assert r.json()["model"]["name"] == "flat" and "hierarchy" in r.json()["model"]["description"]


def test_registered_limit_and_project_limit_drive_the_image_quota(ctl, image_service, member):
    reg = ctl.cli("registered", "limit", "create", "--service", "glance", "--default-limit", "2",
                  "image_count_total", "-f", "json")
    assert reg["service_id"] == image_service and reg["default_limit"] == 2
    listed = ctl.cli("registered", "limit", "list", "-f", "json", creds=member)  # everyone reads them
    assert [r["Resource Name"] for r in listed] == ["image_count_total"]

    lim = ctl.cli("limit", "create", "--project", member.project_id, "--service", "glance",
                  "--resource-limit", "1", "image_count_total", "-f", "json")
    assert lim["project_id"] == member.project_id and lim["resource_limit"] == 1

    assert make_image(ctl, member, "one").returncode == 0
    r = make_image(ctl, member, "two")
    assert r.returncode != 0 and "413" in r.stderr, r.stderr
    assert "image_count_total is over limit of 1" in r.stderr

    # raised to 2 with `limit set`: the second image fits, the third does not
    ctl.cli("limit", "set", "--resource-limit", "2", lim["id"])
    assert ctl.cli("limit", "show", lim["id"], "-f", "json", creds=member)["resource_limit"] == 2
    assert make_image(ctl, member, "two").returncode == 0
    assert "413" in make_image(ctl, member, "three").stderr

    # without the project limit the registered default (2) applies
    ctl.cli("limit", "delete", lim["id"])
    assert ctl.cli("limit", "list", "-f", "json") == []
    assert "413" in make_image(ctl, member, "three").stderr
    ctl.cli("registered", "limit", "set", "--default-limit", "3", reg["id"])
    assert make_image(ctl, member, "three").returncode == 0


def test_members_read_their_own_limits_and_write_none(ctl, image_service, member):
    other = ctl.new_project_user(prefix="lim")
    regs = ctl.cli("registered", "limit", "list", "--resource-name", "image_size_total", "-f", "json")
    if not regs:
        ctl.cli("registered", "limit", "create", "--service", image_service, "--default-limit", "1000",
                "image_size_total")
    mine = ctl.cli("limit", "create", "--project", member.project_id, "--service", image_service,
                   "--resource-limit", "10", "image_size_total", "-f", "json")
    theirs = ctl.cli("limit", "create", "--project", other.project_id, "--service", image_service,
                     "--resource-limit", "20", "image_size_total", "-f", "json")
    assert [x["ID"] for x in ctl.cli("limit", "list", "-f", "json", creds=member)] == [mine["id"]]
    tok = ctl.token(member)
    assert ctl.request("GET", f"/identity/v3/limits/{theirs['id']}", tok).status_code == 403
    assert ctl.request("GET", f"/identity/v3/limits/{mine['id']}", tok).status_code == 200

    before = (table(ctl, "identity_limits"), table(ctl, "identity_registered_limits"))
    body = {"limits": [{"project_id": member.project_id, "service_id": image_service,
                        "resource_name": "image_count_total", "resource_limit": 100}]}
    for method, path, payload in (
        ("POST", "/identity/v3/limits", body),
        ("PATCH", f"/identity/v3/limits/{mine['id']}", {"limit": {"resource_limit": 100}}),
        ("DELETE", f"/identity/v3/limits/{mine['id']}", None),
        ("POST", "/identity/v3/registered_limits",
         {"registered_limits": [{"service_id": image_service, "resource_name": "x", "default_limit": 1}]}),
    ):
        r = ctl.request(method, path, tok, json=payload)
        assert r.status_code == 403, (method, path, r.text)
        assert "identity:" in err(r)
    r = ctl.cli("limit", "create", "--project", member.project_id, "--service", image_service,
                "--resource-limit", "100", "image_stage_total", creds=member, check=False)
    assert r.returncode != 0
    assert (table(ctl, "identity_limits"), table(ctl, "identity_registered_limits")) == before
    for lim in (mine, theirs):
        ctl.cli("limit", "delete", lim["id"])


def test_refusals_change_nothing(ctl, image_service, member):
    regs = ctl.cli("registered", "limit", "list", "--resource-name", "image_stage_total", "-f", "json")
    if not regs:
        ctl.cli("registered", "limit", "create", "--service", image_service, "--default-limit", "5",
                "image_stage_total")
    (reg,) = ctl.cli("registered", "limit", "list", "--resource-name", "image_stage_total", "-f", "json")
    before = (table(ctl, "identity_limits"), table(ctl, "identity_registered_limits"))
    lim = {"project_id": member.project_id, "service_id": image_service,
           "resource_name": "image_stage_total", "resource_limit": 1}
    cases = [
        ("/identity/v3/limits", {"limits": [{**lim, "resource_name": "unregistered_thing"}]}, 403,
         "no corresponding registered limit"),
        ("/identity/v3/limits", {"limits": [lim, lim]}, 409, "Duplicate"),
        ("/identity/v3/limits", {"limits": [{**lim, "resource_limit": "ten"}]}, 400, "resource_limit"),
        ("/identity/v3/limits", {"limits": [{**lim, "resource_limit": -2}]}, 400, "resource_limit"),
        ("/identity/v3/limits", {"limits": [{**lim, "domain_id": "default"}]}, 400, "project_id and domain_id"),
        ("/identity/v3/limits", {"limits": [{**lim, "service_id": "nope"}]}, 400, "service_id"),
        ("/identity/v3/limits", {"limits": [{**lim, "region_id": "Atlantis"}]}, 400, "region_id"),
        ("/identity/v3/limits", {"limits": [{**lim, "colour": "red"}]}, 400, "colour"),
        ("/identity/v3/limits", {"limits": []}, 400, "limits"),
        ("/identity/v3/registered_limits",
         {"registered_limits": [{"service_id": image_service, "resource_name": "image_stage_total",
                                 "default_limit": 1}]}, 409, "Duplicate"),
        ("/identity/v3/registered_limits",
         {"registered_limits": [{"service_id": image_service, "resource_name": "fresh"}]}, 400, "default_limit"),
    ]
    for path, body, status, words in cases:
        r = ctl.request("POST", path, json=body)
        assert r.status_code == status, (body, r.text)
        assert words in err(r), (words, err(r))
    # a registered limit that limits reference cannot be deleted
    made = ctl.request("POST", "/identity/v3/limits", json={"limits": [lim]}).json()["limits"][0]
    r = ctl.request("DELETE", f"/identity/v3/registered_limits/{reg['ID']}")
    assert r.status_code == 403 and "limit delete" in err(r)
    ctl.request("DELETE", f"/identity/v3/limits/{made['id']}")
    assert (table(ctl, "identity_limits"), table(ctl, "identity_registered_limits")) == before
