"""Object storage as its users drive it: a Swift cluster brought up by the
object_storage role on this machine (``swift_cloud``: three directory devices in three
zones, three replicas, the proxy's authtoken + keystoneauth against the controller),
reached with Stratus tokens through the ``openstack`` CLI, swiftclient and the ``swift``
command.

A project member makes, lists, shows and deletes containers and objects with the
``openstack`` CLI; another project's member is refused (403) on that account until a
container's read ACL names its project; Swift's own answers to bad input come back
(an unknown container is a 404, a name past 1024 bytes a 400, unicode and ``//`` in
names survive the round trip); temp URLs, form posts, static large objects
(``swift upload --use-slo``), versioned containers and ``/info`` work as Swift has them;
and a partition removed from one device is put back by the replicator.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import VENV_BIN, Creds

pytestmark = [pytest.mark.e2e, pytest.mark.object_storage, pytest.mark.slow]


class Account:
    """A project's Swift account: ``url`` (``/v1/AUTH_<project id>`` on the proxy) and a
    Stratus ``token`` of ``creds``, for swiftclient's functions."""

    def __init__(self, cloud, creds: Creds) -> None:
        self.creds = creds
        self.token = cloud.token(creds)
        self.base = cloud.settings["object_store_url"]
        self.path = f"/v1/AUTH_{creds.project_id}"
        self.url = self.base + self.path


@pytest.fixture(scope="module")
def cloud(swift_cloud):
    return swift_cloud


@pytest.fixture(scope="module")
def alice(cloud) -> Account:
    return Account(cloud, cloud.new_project_user("member", prefix="osa"))


@pytest.fixture(scope="module")
def bob(cloud) -> Account:
    return Account(cloud, cloud.new_project_user("member", prefix="osb"))


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def status_of(call, *args, **kw) -> int:
    """The HTTP status of a swiftclient call: 2xx when it returned, else Swift's answer."""
    from swiftclient.exceptions import ClientException

    try:
        call(*args, **kw)
    except ClientException as e:
        return e.http_status
    return 200


# --- the openstack CLI with a Stratus token --------------------------------------------


def test_containers_and_objects_through_the_cli(cloud, alice, tmp_path):
    creds = alice.creds
    name = unique("docs")
    made = cloud.cli("container", "create", name, "-f", "json", creds=creds)
    assert made[0]["container"] == name
    assert made[0]["account"] == f"AUTH_{creds.project_id}"
    assert name in [c["Name"] for c in cloud.cli("container", "list", "-f", "json", creds=creds)]

    data = secrets.token_bytes(4096)
    src = tmp_path / "report.bin"
    src.write_bytes(data)
    up = cloud.cli("object", "create", name, str(src), "--name", "2026/report.bin", "-f", "json", creds=creds)
    assert up[0]["etag"] == hashlib.md5(data).hexdigest()
    listed = cloud.cli("object", "list", name, "-f", "json", creds=creds)
    assert [o["Name"] for o in listed] == ["2026/report.bin"]
    shown = cloud.cli("object", "show", name, "2026/report.bin", "-f", "json", creds=creds)
    assert int(shown["content-length"]) == len(data)
    assert shown["etag"] == hashlib.md5(data).hexdigest()
    assert shown["account"] == f"AUTH_{creds.project_id}"
    box = cloud.cli("container", "show", name, "-f", "json", creds=creds)
    assert int(box["object_count"]) == 1 and int(box["bytes_used"]) == len(data)

    out = tmp_path / "saved.bin"
    cloud.cli("object", "save", name, "2026/report.bin", "--file", str(out), creds=creds)
    assert out.read_bytes() == data

    cloud.cli("object", "delete", name, "2026/report.bin", creds=creds)
    assert cloud.cli("object", "list", name, "-f", "json", creds=creds) == []
    cloud.cli("container", "delete", name, creds=creds)
    assert name not in [c["Name"] for c in cloud.cli("container", "list", "-f", "json", creds=creds)]


def test_unknown_container_is_swifts_404(cloud, alice):
    """The CLI reports the proxy's own answer (its request id is Swift's ``tx...``)."""
    box = unique("absent")
    for args in (("container", "show", box), ("object", "list", box),
                 ("object", "show", box, "o"), ("container", "delete", box)):
        r = cloud.cli(*args, creds=alice.creds, check=False)
        assert r.returncode == 1, (args, r.stdout)
        assert "Not Found (HTTP 404) (Request-ID: tx" in r.stderr, (args, r.stderr)


def test_unicode_and_double_slash_names_round_trip(cloud, alice, tmp_path):
    from swiftclient import client as sc

    box = unique("näme")
    cloud.cli("container", "create", box, "-f", "json", creds=alice.creds)
    names = ["répertoire//fichier ☃.txt", "a//b", "//lead", "tail//", "日本語/データ"]
    for i, obj in enumerate(names):
        src = tmp_path / f"f{i}"
        src.write_bytes(obj.encode())
        cloud.cli("object", "create", box, str(src), "--name", obj, "-f", "json", creds=alice.creds)
    listed = [o["Name"] for o in cloud.cli("object", "list", box, "-f", "json", creds=alice.creds)]
    assert sorted(listed) == sorted(names)
    for obj in names:
        _, body = sc.get_object(alice.url, alice.token, box, obj)
        assert body == obj.encode(), obj
    out = tmp_path / "saved"
    cloud.cli("object", "save", box, names[0], "--file", str(out), creds=alice.creds)
    assert out.read_bytes() == names[0].encode()
    sc.put_container(alice.url, alice.token, box)  # nothing changes: 202
    for obj in names:
        sc.delete_object(alice.url, alice.token, box, obj)
    sc.delete_container(alice.url, alice.token, box)


def test_too_long_object_name_is_swifts_400(cloud, alice, tmp_path):
    from swiftclient import client as sc
    from swiftclient.exceptions import ClientException

    box = unique("long")
    sc.put_container(alice.url, alice.token, box)
    with pytest.raises(ClientException) as e:
        sc.put_object(alice.url, alice.token, box, "x" * 1025, b"data")
    assert e.value.http_status == 400
    assert "Object name length of 1025 longer than 1024" in e.value.http_response_content.decode()
    # the CLI says the same
    src = tmp_path / "f"
    src.write_bytes(b"data")
    r = cloud.cli("object", "create", box, str(src), "--name", "y" * 1025, creds=alice.creds, check=False)
    assert r.returncode == 1 and "Bad Request (HTTP 400) (Request-ID: tx" in r.stderr, r.stderr
    sc.put_object(alice.url, alice.token, box, "x" * 1024, b"data")  # the limit itself is fine
    sc.delete_object(alice.url, alice.token, box, "x" * 1024)
    sc.delete_container(alice.url, alice.token, box)


# --- who may do what -------------------------------------------------------------------


def test_other_projects_token_is_refused(cloud, alice, bob):
    from swiftclient import client as sc

    box = unique("private")
    sc.put_container(alice.url, alice.token, box)
    sc.put_object(alice.url, alice.token, box, "o", b"secret")
    # bob's token is valid (his own account answers) but alice's account is not his
    assert status_of(sc.get_account, bob.url, bob.token) == 200
    assert status_of(sc.get_account, alice.url, bob.token) == 403
    assert status_of(sc.get_container, alice.url, bob.token, box) == 403
    assert status_of(sc.get_object, alice.url, bob.token, box, "o") == 403
    assert status_of(sc.put_object, alice.url, bob.token, box, "o2", b"x") == 403
    assert status_of(sc.delete_object, alice.url, bob.token, box, "o") == 403
    # no token at all: 401, and where to get one
    r = httpx.get(f"{alice.url}/{box}/o")
    assert r.status_code == 401
    assert f'Keystone uri="{cloud.auth_url}"' in r.headers["www-authenticate"]
    assert status_of(sc.get_object, alice.url, alice.token, box, "o") == 200
    sc.delete_object(alice.url, alice.token, box, "o")
    sc.delete_container(alice.url, alice.token, box)


def test_container_read_acl_lets_another_project_read(cloud, alice, bob):
    from swiftclient import client as sc

    shared, closed = unique("shared"), unique("closed")
    sc.put_container(alice.url, alice.token, shared,
                     headers={"X-Container-Read": f"{bob.creds.project_id}:*"})
    sc.put_container(alice.url, alice.token, closed)
    for box in (shared, closed):
        sc.put_object(alice.url, alice.token, box, "doc", b"for bob")
    headers = sc.head_container(alice.url, alice.token, shared)
    assert headers["x-container-read"] == f"{bob.creds.project_id}:*"

    _, body = sc.get_object(alice.url, bob.token, shared, "doc")
    assert body == b"for bob"
    _, listing = sc.get_container(alice.url, bob.token, shared)
    assert [o["name"] for o in listing] == ["doc"]
    # read, not write; and not the container without the ACL
    assert status_of(sc.put_object, alice.url, bob.token, shared, "bob", b"x") == 403
    assert status_of(sc.get_object, alice.url, bob.token, closed, "doc") == 403
    # the ACL taken away: refused again
    sc.post_container(alice.url, alice.token, shared, headers={"X-Container-Read": ""})
    assert status_of(sc.get_object, alice.url, bob.token, shared, "doc") == 403
    for box in (shared, closed):
        sc.delete_object(alice.url, alice.token, box, "doc")
        sc.delete_container(alice.url, alice.token, box)


# --- Swift's middlewares ---------------------------------------------------------------


def test_temp_url_gives_anonymous_access_until_it_expires(cloud, alice):
    from swiftclient import client as sc
    from swiftclient.utils import generate_temp_url

    key = secrets.token_hex(16)
    sc.post_account(alice.url, alice.token, headers={"X-Account-Meta-Temp-URL-Key": key})
    box = unique("tmpurl")
    sc.put_container(alice.url, alice.token, box)
    sc.put_object(alice.url, alice.token, box, "report", b"temp url body")
    path = f"{alice.path}/{box}/report"
    base = cloud.settings["object_store_url"]

    r = httpx.get(base + generate_temp_url(path, 300, key, "GET"))
    assert r.status_code == 200 and r.content == b"temp url body"
    # the signature binds the method, the path and the key
    assert httpx.put(base + generate_temp_url(path, 300, key, "GET"), content=b"x").status_code == 401
    assert httpx.get(base + generate_temp_url(path, 300, "wrong-key", "GET")).status_code == 401
    put = generate_temp_url(f"{alice.path}/{box}/uploaded", 300, key, "PUT")
    assert httpx.put(base + put, content=b"via temp url").status_code == 201
    assert sc.get_object(alice.url, alice.token, box, "uploaded")[1] == b"via temp url"
    expired = generate_temp_url(path, int(time.time()) - 10, key, "GET", absolute=True)
    assert httpx.get(base + expired).status_code == 401
    for obj in ("report", "uploaded"):
        sc.delete_object(alice.url, alice.token, box, obj)
    sc.delete_container(alice.url, alice.token, box)


def test_form_post_uploads_with_a_signed_form(cloud, alice):
    from swiftclient import client as sc

    key = secrets.token_hex(16)
    box = unique("form")
    sc.put_container(alice.url, alice.token, box, headers={"X-Container-Meta-Temp-URL-Key": key})
    path = f"{alice.path}/{box}/uploads/"
    expires = int(time.time() + 300)
    fields = {"redirect": "", "max_file_size": "1048576", "max_file_count": "2", "expires": str(expires)}
    body = "\n".join([path, *fields.values()])
    fields["signature"] = hmac.new(key.encode(), body.encode(), hashlib.sha512).hexdigest()
    files = [("file1", ("a.txt", b"first file", "text/plain")),
             ("file2", ("b.txt", b"second file", "text/plain"))]
    r = httpx.post(cloud.settings["object_store_url"] + path, data=fields, files=files)
    assert r.status_code == 201, r.text
    _, listing = sc.get_container(alice.url, alice.token, box)
    assert sorted(o["name"] for o in listing) == ["uploads/a.txt", "uploads/b.txt"]
    assert sc.get_object(alice.url, alice.token, box, "uploads/b.txt")[1] == b"second file"
    # a tampered form is refused
    fields["max_file_count"] = "3"
    r = httpx.post(cloud.settings["object_store_url"] + path, data=fields, files=files)
    assert r.status_code == 401
    for o in listing:
        sc.delete_object(alice.url, alice.token, box, o["name"])
    sc.delete_container(alice.url, alice.token, box)


def swift_cli(account: Account, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The ``swift`` command with a Stratus token and the account's storage URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ST_"))}
    r = subprocess.run([str(VENV_BIN / "swift"), "--os-auth-token", account.token,
                        "--os-storage-url", account.url, *args],
                       capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    assert r.returncode == 0, f"swift {' '.join(args)}: rc={r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def test_static_large_object_upload(cloud, alice, tmp_path):
    from swiftclient import client as sc

    box = unique("slo")
    data = secrets.token_bytes(5 * 1024 + 100)
    (tmp_path / "big.bin").write_bytes(data)
    swift_cli(alice, "upload", "--use-slo", "-S", "1024", box, "big.bin", cwd=tmp_path)
    headers, body = sc.get_object(alice.url, alice.token, box, "big.bin")
    assert body == data
    assert headers["x-static-large-object"] == "True"
    _, segments = sc.get_container(alice.url, alice.token, f"{box}_segments")
    assert len(segments) == 6 and all(s["bytes"] <= 1024 for s in segments)
    _, manifest = sc.get_object(alice.url, alice.token, box, "big.bin",
                                query_string="multipart-manifest=get")
    assert len(json.loads(manifest)) == 6
    # the object's ETag is Swift's for an SLO: the md5 of its segments' md5s, quoted
    seg_md5 = "".join(hashlib.md5(data[i:i + 1024]).hexdigest() for i in range(0, len(data), 1024))
    assert headers["etag"].strip('"') == hashlib.md5(seg_md5.encode()).hexdigest()
    swift_cli(alice, "delete", box, "big.bin", cwd=tmp_path)  # the segments too
    _, segments = sc.get_container(alice.url, alice.token, f"{box}_segments")
    assert segments == []
    for c in (box, f"{box}_segments"):
        sc.delete_container(alice.url, alice.token, c)


def test_versioned_container_keeps_and_restores_versions(cloud, alice):
    from swiftclient import client as sc

    box, versions = unique("ver"), unique("ver-archive")
    sc.put_container(alice.url, alice.token, versions)
    sc.put_container(alice.url, alice.token, box, headers={"X-Versions-Location": versions})
    for body in (b"v1", b"v2", b"v3"):
        sc.put_object(alice.url, alice.token, box, "doc", body)
    assert sc.get_object(alice.url, alice.token, box, "doc")[1] == b"v3"
    _, archived = sc.get_container(alice.url, alice.token, versions)
    assert len(archived) == 2
    sc.delete_object(alice.url, alice.token, box, "doc")  # pops the newest archived version
    assert sc.get_object(alice.url, alice.token, box, "doc")[1] == b"v2"
    sc.delete_object(alice.url, alice.token, box, "doc")
    assert sc.get_object(alice.url, alice.token, box, "doc")[1] == b"v1"
    sc.delete_object(alice.url, alice.token, box, "doc")
    assert status_of(sc.get_object, alice.url, alice.token, box, "doc") == 404
    for c in (box, versions):
        sc.delete_container(alice.url, alice.token, c)


def test_history_container_keeps_overwritten_and_deleted_objects(cloud, alice):
    from swiftclient import client as sc

    box, history = unique("hist"), unique("hist-archive")
    sc.put_container(alice.url, alice.token, history)
    sc.put_container(alice.url, alice.token, box, headers={"X-History-Location": history})
    for body in (b"v1", b"v2"):
        sc.put_object(alice.url, alice.token, box, "doc", body)
    sc.delete_object(alice.url, alice.token, box, "doc")
    # history mode: the object is gone, and every version plus a delete marker is archived
    assert status_of(sc.get_object, alice.url, alice.token, box, "doc") == 404
    _, archived = sc.get_container(alice.url, alice.token, history)
    bodies = [sc.get_object(alice.url, alice.token, history, o["name"])[1] for o in archived
              if o["content_type"] != "application/x-deleted;swift_versions_deleted=1"]
    assert sorted(bodies) == [b"v1", b"v2"]
    assert len(archived) == 3, archived
    for o in archived:
        sc.delete_object(alice.url, alice.token, history, o["name"])
    for c in (box, history):
        sc.delete_container(alice.url, alice.token, c)


def test_info_lists_the_pipelines_middlewares(cloud):
    r = httpx.get(cloud.settings["object_store_url"] + "/info")
    assert r.status_code == 200
    info = r.json()
    for feature in ("swift", "tempurl", "formpost", "slo", "versioned_writes", "symlink",
                    "bulk_upload", "bulk_delete", "account_quotas", "container_quotas", "ratelimit"):
        assert feature in info, (feature, sorted(info))
    assert info["swift"]["max_object_name_length"] == 1024
    assert info["versioned_writes"]
    assert "tempauth" not in info  # keystone auth, not tempauth


# --- durability ------------------------------------------------------------------------


def test_replicator_puts_a_removed_partition_back(cloud, alice):
    """Three replicas of an object on d1, d2, d3; the partition's directory removed from
    one device is there again, with the object's data file, after the object replicator's
    next pass (the fixture runs it every few seconds), and the object stays readable."""
    from swift.common.ring import Ring
    from swiftclient import client as sc

    cluster = cloud.swift
    box = unique("durable")
    sc.put_container(alice.url, alice.token, box)
    sc.put_object(alice.url, alice.token, box, "precious", b"keep me")
    ring = Ring(str(cluster.config_dir), ring_name="object")
    part, nodes = ring.get_nodes(f"AUTH_{alice.creds.project_id}", box, "precious")
    assert sorted(n["device"] for n in nodes) == sorted(cluster.devices)
    devices = Path(cluster.devices_dir)

    def data_files(device: str) -> list[Path]:
        return list((devices / device / "objects" / str(part)).glob("*/*/*.data"))

    for n in nodes:
        assert len(data_files(n["device"])) == 1, n["device"]
    victim = nodes[0]["device"]
    shutil.rmtree(devices / victim / "objects" / str(part))
    assert data_files(victim) == []
    assert sc.get_object(alice.url, alice.token, box, "precious")[1] == b"keep me"

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not data_files(victim):
        time.sleep(1)
    restored = data_files(victim)
    assert restored, f"partition {part} not back on {victim} after 90 s (logs: {cluster.log_dir})"
    assert restored[0].read_bytes() == b"keep me"
    sc.delete_object(alice.url, alice.token, box, "precious")
    sc.delete_container(alice.url, alice.token, box)
