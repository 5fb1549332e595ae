"""The rest of the volume catalog against one controller of its own (its host registry
is what these endpoints show): discovery, availability zones, os-services, the
scheduler's pools, QoS specs, limits and extensions — through the ``openstack`` CLI and
openstacksdk, with members refused where Cinder refuses them and refusals that change
nothing."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import openstack.exceptions
import pytest

from stratus.api.microversions import VOLUME_MAX
from tests.api.conftest import _Factory
from tests.integration.pipeline.conftest import sync_hosts

pytestmark = [pytest.mark.api, pytest.mark.block_storage]

HOST = "st-cat"
ZONE = "az-cat"


@pytest.fixture(scope="module")
def cloud(request, tmp_path_factory):
    """A controller with one storage host (a file backend in a fresh /var/tmp directory,
    zone ``az-cat``), refreshed, and a member of a project of its own."""
    factory = _Factory(request, tmp_path_factory.mktemp("catalog"))
    voldir = Path(tempfile.mkdtemp(prefix="stratus-vol-cat-", dir="/var/tmp"))
    os.chmod(voldir, 0o755)
    try:
        ctl = _started(factory)
        sync_hosts(ctl, tmp_path_factory.mktemp("inv"), {HOST: {
            "ansible_connection": "local", "stratus_volume_dir": str(voldir),
            "stratus_volume_vg": f"stv-none-{uuid.uuid4().hex[:6]}",  # no such VG: lvm is unavailable
            "stratus_storage_availability_zone": ZONE,
            "stratus_storage_info": {"backends": [{"name": "file", "driver": "file", "directory": str(voldir)}]},
        }}, ["block_storage"])
        ctl.stratus("host", "refresh")
        ctl.member = ctl.new_project_user("member", "cat")
        yield ctl
    finally:
        factory.close()
        shutil.rmtree(voldir, ignore_errors=True)


def _started(factory):
    """A new controller; on a loaded machine its first answer may come after the 30 s
    ``Controller.start`` waits: then wait for the process it started a while longer."""
    try:
        return factory("sqlite")
    except RuntimeError as exc:
        ctl = factory.started[-1] if factory.started else None
        if ctl is None or ctl.proc is None or "did not answer" not in str(exc):
            raise
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and ctl.proc.poll() is None:
        try:
            if ctl.http.get("/", timeout=2).status_code == 300:
                return ctl
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"stratus serve did not answer on {ctl.url} within 120 s")


def _fault(r, status: int, key: str) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {key} and body[key]["code"] == status, body
    return body[key]["message"]


def test_discovery(cloud):
    root = cloud.http.get("/volume/")
    assert root.status_code == 300
    (v3,) = root.json()["versions"]
    assert (v3["id"], v3["status"], v3["min_version"], v3["version"]) == ("v3.0", "CURRENT", "3.0", str(VOLUME_MAX))
    assert {"rel": "self", "href": f"{cloud.url}/volume/v3/"} in v3["links"]
    assert cloud.http.get("/volume").status_code == 300
    pid = cloud.member.project_id
    for path in ("/volume/v3", "/volume/v3/", f"/volume/v3/{pid}/"):
        r = cloud.http.get(path, headers={"OpenStack-API-Version": "volume 3.27"})
        assert r.status_code == 200 and r.json()["versions"][0]["version"] == str(VOLUME_MAX), path
        assert r.headers["OpenStack-API-Version"] == "volume 3.27"
    assert cloud.http.get("/volume/v3/", headers={"OpenStack-API-Version": "volume 3.99"}).status_code == 406
    # openstacksdk discovers the range from the catalog's /volume/v3/<project> endpoint
    conn = cloud.conn(cloud.member)
    data = conn.block_storage.get_endpoint_data()
    assert data.min_microversion == (3, 0) and data.max_microversion == (VOLUME_MAX.major, VOLUME_MAX.minor)
    assert conn.block_storage.get_api_major_version() == (3, 0)
    shown = cloud.cli("versions", "show", "--service", "block-storage", "-f", "json")
    assert [(v["Version"], v["Max Microversion"]) for v in shown] == [("3.0", str(VOLUME_MAX))]


def test_zones_services_and_pools(cloud):
    member = cloud.member
    zones = cloud.cli("availability", "zone", "list", "--volume", "-f", "json", creds=member)
    assert zones == [{"Zone Name": ZONE, "Zone Status": "available"}]
    services = cloud.cli("volume", "service", "list", "-f", "json")
    by_binary = {s["Binary"]: s for s in services}
    assert set(by_binary) == {"cinder-scheduler", "cinder-volume"}
    vol = by_binary["cinder-volume"]
    assert (vol["Host"], vol["Zone"], vol["Status"], vol["State"]) == (f"{HOST}@file", ZONE, "enabled", "up")
    pools = list(cloud.conn().block_storage.backend_pools())
    assert [p.name for p in pools] == [f"{HOST}@file#file"]
    caps = pools[0].capabilities
    assert caps["volume_backend_name"] == "file" and caps["thin_provisioning_support"] is True
    assert caps["total_capacity_gb"] > 0 and caps["allocated_capacity_gb"] == 0
    assert caps["max_over_subscription_ratio"] == "20.0"
    names = cloud.request("GET", "/volume/v3/scheduler-stats/get_pools").json()
    assert names == {"pools": [{"name": f"{HOST}@file#file"}]}

    # members see zones, not services or pools; and cannot disable anything
    tok = cloud.token(member)
    _fault(cloud.request("GET", "/volume/v3/os-services", token=tok), 403, "forbidden")
    _fault(cloud.request("GET", "/volume/v3/scheduler-stats/get_pools", token=tok), 403, "forbidden")
    r = cloud.request("PUT", "/volume/v3/os-services/disable", token=tok,
                      json={"host": f"{HOST}@file", "binary": "cinder-volume"})
    _fault(r, 403, "forbidden")
    for body in ({"host": "nowhere@file", "binary": "cinder-volume"}, {"host": f"{HOST}@file", "binary": "x"}):
        _fault(cloud.request("PUT", "/volume/v3/os-services/disable", json=body), 404, "itemNotFound")
    _fault(cloud.request("PUT", "/volume/v3/os-services/disable", json={"binary": "cinder-volume"}),
           400, "badRequest")
    assert cloud.cli("volume", "service", "list", "-f", "json") == services

    # an administrator disables the backend: it shows, the zone has nothing left, the pool is down
    cloud.cli("volume", "service", "set", "--disable", "--disable-reason", "disk swap", f"{HOST}@file",
              "cinder-volume")
    try:
        listed = cloud.cli("volume", "service", "list", "--long", "-f", "json")
        vol = next(s for s in listed if s["Binary"] == "cinder-volume")
        assert (vol["Status"], vol["Disabled Reason"]) == ("disabled", "disk swap")
        zones = cloud.cli("availability", "zone", "list", "--volume", "-f", "json", creds=member)
        assert zones == [{"Zone Name": ZONE, "Zone Status": "not available"}]
        caps = next(cloud.conn().block_storage.backend_pools()).capabilities
        assert caps["backend_state"] == "down"
    finally:
        cloud.cli("volume", "service", "set", "--enable", f"{HOST}@file", "cinder-volume")
    vol = next(s for s in cloud.cli("volume", "service", "list", "-f", "json") if s["Binary"] == "cinder-volume")
    assert vol["Status"] == "enabled"


def test_qos_specs_with_types(cloud):
    name = f"qos-{uuid.uuid4().hex[:6]}"
    vtype = cloud.cli("volume", "type", "create", f"vt-{name}", "-f", "json")
    other = cloud.cli("volume", "type", "create", f"vt2-{name}", "-f", "json")
    made = cloud.cli("volume", "qos", "create", "--consumer", "front-end", "--property", "total_iops_sec=500",
                     name, "-f", "json")
    assert made["consumer"] == "front-end" and made["properties"] == {"total_iops_sec": "500"}
    try:
        cloud.cli("volume", "qos", "associate", name, vtype["name"])
        cloud.cli("volume", "qos", "set", "--property", "read_bytes_sec=1048576", name)
        cloud.cli("volume", "qos", "unset", "--property", "total_iops_sec", name)
        shown = cloud.cli("volume", "qos", "show", name, "-f", "json")
        assert shown["properties"] == {"read_bytes_sec": "1048576"}
        assert shown["associations"] == [vtype["name"]]
        listed = cloud.cli("volume", "qos", "list", "-f", "json")
        assert [q["Associations"] for q in listed if q["Name"] == name] == [[vtype["name"]]]
        r = cloud.request("GET", f"/volume/v3/types/{vtype['id']}")
        assert r.json()["volume_type"]["qos_specs_id"] == made["id"]
        assoc = cloud.request("GET", f"/volume/v3/qos-specs/{made['id']}/associations").json()
        assert assoc == {"qos_associations": [{"association_type": "volume_type", "name": vtype["name"],
                                               "id": vtype["id"]}]}
        # members see no QoS at all, not even the type's qos_specs_id
        tok = cloud.token(cloud.member)
        _fault(cloud.request("GET", "/volume/v3/qos-specs", token=tok), 403, "forbidden")
        _fault(cloud.request("GET", f"/volume/v3/qos-specs/{made['id']}/associate",
                             params={"vol_type_id": other["id"]}, token=tok), 403, "forbidden")
        assert "qos_specs_id" not in cloud.request("GET", f"/volume/v3/types/{vtype['id']}",
                                                    token=tok).json()["volume_type"]
        # refusals: bad consumer, a rate that is no integer, a second QoS for the type,
        # deleting what is in use, a missing type id, a key that is not there
        before = cloud.request("GET", f"/volume/v3/qos-specs/{made['id']}").json()
        second = cloud.request("POST", "/volume/v3/qos-specs", json={"qos_specs": {"name": name + "-2"}}).json()
        base = f"/volume/v3/qos-specs/{made['id']}"
        for method, path, kw, status, key in [
            ("POST", "/volume/v3/qos-specs", {"json": {"qos_specs": {"name": "q-x", "consumer": "middle"}}},
             400, "badRequest"),
            ("POST", "/volume/v3/qos-specs", {"json": {"qos_specs": {"name": name}}}, 409, "conflictingRequest"),
            ("PUT", base, {"json": {"qos_specs": {"total_iops_sec": "fast"}}}, 400, "badRequest"),
            ("GET", f"/volume/v3/qos-specs/{second['qos_specs']['id']}/associate",
             {"params": {"vol_type_id": vtype["id"]}}, 400, "badRequest"),
            ("GET", base + "/associate", {}, 400, "badRequest"),
            ("GET", base + "/associate", {"params": {"vol_type_id": str(uuid.uuid4())}}, 404, "itemNotFound"),
            ("DELETE", base, {}, 400, "badRequest"),
            ("PUT", base + "/delete_keys", {"json": {"keys": ["nope"]}}, 404, "itemNotFound"),
            ("GET", f"/volume/v3/qos-specs/{uuid.uuid4()}", {}, 404, "itemNotFound"),
        ]:
            _fault(cloud.request(method, path, **kw), status, key)
        assert cloud.request("GET", base).json() == before
        assert cloud.request("GET", base + "/associations").json() == assoc
        assert not [q for q in cloud.cli("volume", "qos", "list", "-f", "json") if q["Name"] == "q-x"]
        cloud.request("DELETE", f"/volume/v3/qos-specs/{second['qos_specs']['id']}")
        cloud.cli("volume", "qos", "disassociate", "--volume-type", vtype["name"], name)
        assert not cloud.cli("volume", "qos", "show", name, "-f", "json").get("associations")
        cloud.cli("volume", "qos", "associate", name, other["name"])
    finally:
        # --force takes it off the types it is associated with
        cloud.cli("volume", "qos", "delete", "--force", name)
    assert cloud.request("GET", f"/volume/v3/types/{other['id']}").json()["volume_type"]["qos_specs_id"] is None
    cloud.cli("volume", "type", "delete", vtype["name"], other["name"])


def test_limits_and_extensions(cloud):
    member = cloud.member
    limits = cloud.conn(member).block_storage.get_limits()
    absolute = limits.absolute
    assert absolute.max_total_volumes == 10 and absolute.max_total_volume_gigabytes == 1000
    assert absolute.total_volumes_used == 0 and absolute.total_gigabytes_used == 0
    assert limits.rate == []
    # an administrator's quota for the project shows in its limits
    r = cloud.request("PUT", f"/volume/v3/{member.project_id}/os-quota-sets/{member.project_id}",
                      json={"quota_set": {"volumes": 3}})
    assert r.status_code == 200, r.text
    assert cloud.conn(member).block_storage.get_limits().absolute.max_total_volumes == 3
    raw = cloud.request("GET", f"/volume/v3/{member.project_id}/limits", token=cloud.token(member)).json()
    assert raw["limits"]["absolute"]["maxTotalSnapshots"] == 10 and "totalSnapshotsUsed" in raw["limits"]["absolute"]
    # the project in the path must be the token's
    other = cloud.request("GET", f"/volume/v3/{uuid.uuid4().hex}/limits", token=cloud.token(member))
    assert "doesn't match" in _fault(other, 400, "badRequest")
    aliases = {e["Alias"] for e in cloud.cli("extension", "list", "--volume", "-f", "json", creds=member)}
    assert {"os-types-manage", "os-volume-type-access", "qos-specs", "os-services", "scheduler-stats"} <= aliases


def test_sdk_refusals_are_cinder_errors(cloud):
    conn = cloud.conn(cloud.member)
    with pytest.raises(openstack.exceptions.ForbiddenException):
        list(conn.block_storage.services())
    with pytest.raises(openstack.exceptions.ForbiddenException):
        conn.block_storage.create_qos_spec(name="mine")
