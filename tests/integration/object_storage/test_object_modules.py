"""stratus.cloud.object_container and stratus.cloud.object against the real cluster.

The modules run through ansible-playbook (several tasks a run: each run costs seconds)
as a fresh project member logging in to the swift_cloud controller (Keystone v3 →
catalog → the keystone-authenticated proxy). What they did is checked with
python-swiftclient using the member's own token, so a module that only reports
success would fail here.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import pytest
from swiftclient import client as swift

from ansible_collections.stratus.cloud.plugins.module_utils.object_store import auth
from tests.helpers.ansible import run_tasks

pytestmark = [pytest.mark.object_storage, pytest.mark.slow]

SEGMENT = 4096
UNICODE_NAME = "ünï//cødé/名前.txt"


@pytest.fixture(scope="module")
def account(swift_cloud):
    """A fresh project member: the modules' ``auth`` and swiftclient's (url, token)."""
    creds = swift_cloud.new_project_user("member", prefix="objmod")
    url = swift_cloud.settings["object_store_url"] + "/v1/AUTH_" + creds.project_id
    return {"conn": {"auth": creds.auth(swift_cloud.auth_url)}, "url": url,
            "token": swift_cloud.token(creds), "project_id": creds.project_id}


def test_login_finds_the_account_in_the_catalog(swift_cloud, account):
    """The modules' Keystone login against Stratus identity: the member's token and the
    catalog's object-store endpoint for its project."""
    client = auth.connect(account["conn"])
    assert client.storage_url == account["url"]
    assert client.head_account()["x-account-container-count"] == "0"


def listing(account, container: str) -> list[str]:
    return [o["name"] for o in swift.get_container(account["url"], account["token"], container,
                                                   full_listing=True)[1]]


@pytest.fixture(scope="module")
def first_run(account, tmp_path_factory):
    """Containers and uploads: create (check mode first), repeat, change; plain, unicode,
    file and SLO objects; downloads."""
    tmp = tmp_path_factory.mktemp("objmod")
    sfx = uuid.uuid4().hex[:6]
    box, never = f"box-{sfx}", f"never-{sfx}"
    small = tmp / "small.bin"
    small.write_bytes(os.urandom(3000))
    big = tmp / "big.bin"
    big.write_bytes(os.urandom(2 * SEGMENT + 100))  # three segments
    auth = account["conn"]
    box_args = dict(auth, name=box, metadata={"Color": "blue", "note": "grüße"}, read_acl=".r:*,.rlistings")
    steps = [
        ("object_container", dict(box_args, name=never), True),                       # 0
        ("object_container", box_args, True),                                         # 1
        ("object_container", box_args, False),                                        # 2
        ("object_container", box_args, False),                                        # 3
        ("object_container", dict(auth, name=box, metadata={"size": "big"}, purge_metadata=True,
                                  write_acl=f"{account['project_id']}:*"), False),  # 4
        ("object", dict(auth, container=box, name=UNICODE_NAME, content="hello ü\n"), False),  # 5
        ("object", dict(auth, container=box, name=UNICODE_NAME, content="hello ü\n"), False),  # 6
        ("object", dict(auth, container=box, name="small.bin", src=str(small)), False),  # 7
        ("object", dict(auth, container=box, name="small.bin", src=str(small)), False),  # 8
        ("object", dict(auth, container=box, name="small.bin", metadata={"kind": "random"}), False),  # 9
        ("object", dict(auth, container=box, name=UNICODE_NAME, dest=str(tmp / "u.out")), False),  # 10
        ("object", dict(auth, container=box, name=UNICODE_NAME, dest=str(tmp / "u.out")), False),  # 11
        ("object", dict(auth, container=box, name="big.bin", src=str(big), segment_size=SEGMENT), True),  # 12
        ("object", dict(auth, container=box, name="big.bin", src=str(big), segment_size=SEGMENT), False),  # 13
        ("object", dict(auth, container=box, name="big.bin", src=str(big), segment_size=SEGMENT), False),  # 14
        ("object", dict(auth, container=box, name="big.bin", dest=str(tmp / "big.out")), False),  # 15
        ("object", dict(auth, container=box, name="big.bin", dest=str(tmp / "big.out")), False),  # 16
        ("object", dict(auth, container=box, name="never.txt", content="x"), True),  # 17
        ("object", dict(auth, container=f"missing-{sfx}", name="o", content="x"), False),  # 18
        ("object", dict(auth, container=box, name="n" * 1025, content="x"), False),  # 19
    ]
    results = run_tasks(tmp, steps, name="first")
    return {"r": results, "box": box, "never": never, "tmp": tmp, "small": small, "big": big}


def test_container_check_mode_create_repeat_and_diff(account, first_run):
    r, box = first_run["r"], first_run["box"]
    assert account["conn"]["auth"]["password"] not in json.dumps(r)  # no_log
    assert r[0].changed and r[1].changed and not r[1].failed
    assert r[1]["diff"]["before"] == {} and r[1]["diff"]["after"]["metadata"] == {"color": "blue", "note": "grüße"}
    with pytest.raises(swift.ClientException) as info:  # check mode made nothing
        swift.head_container(account["url"], account["token"], first_run["never"])
    assert info.value.http_status == 404
    assert r[2].changed and r[2]["container"]["read_acl"] == ".r:*,.rlistings"
    assert r[2]["headers"]["x-container-meta-note"] == "grüße"  # the HEAD answer, UTF-8 decoded
    assert not r[3].changed and r[3]["diff"]["before"] == r[3]["diff"]["after"]
    assert r[4].changed, r[4].msg
    assert r[4]["diff"]["before"]["metadata"] == {"color": "blue", "note": "grüße"}
    assert r[4]["diff"]["after"]["metadata"] == {"size": "big"}
    head = swift.head_container(account["url"], account["token"], box)
    assert head["x-container-meta-size"] == "big" and "x-container-meta-color" not in head
    assert head["x-container-read"] == ".r:*,.rlistings"
    assert head["x-container-write"] == r[4]["container"]["write_acl"]


def test_objects_upload_idempotent_unicode_and_metadata(account, first_run):
    r, box = first_run["r"], first_run["box"]
    assert r[5].changed and not r[6].changed, (r[5].msg, r[6].msg)
    assert r[5]["object"]["etag"] == hashlib.md5("hello ü\n".encode()).hexdigest()
    headers, body = swift.get_object(account["url"], account["token"], box, UNICODE_NAME)
    assert body == "hello ü\n".encode()
    assert UNICODE_NAME in listing(account, box)
    assert r[7].changed and not r[8].changed
    assert r[9].changed and r[9]["diff"]["after"]["metadata"] == {"kind": "random"}
    head = swift.head_object(account["url"], account["token"], box, "small.bin")
    assert head["x-object-meta-kind"] == "random"
    assert head["etag"] == hashlib.md5(first_run["small"].read_bytes()).hexdigest()


def test_download_writes_once(first_run):
    r, tmp = first_run["r"], first_run["tmp"]
    assert r[10].changed and not r[11].changed, (r[10].msg, r[11].msg)
    assert (tmp / "u.out").read_bytes() == "hello ü\n".encode()


def test_slo_upload_as_swift_upload_makes_it(account, first_run):
    r, box, big = first_run["r"], first_run["box"], first_run["big"]
    assert r[12].changed and r[12]["diff"]["before"] == {}  # check mode
    assert r[13].changed and not r[14].changed, (r[13].msg, r[14].msg)
    segments = listing(account, box + "_segments")
    assert len(segments) == 3 and all(s.startswith("big.bin/slo/") for s in segments), segments
    head = swift.head_object(account["url"], account["token"], box, "big.bin")
    assert head["x-static-large-object"] == "True"
    md5s = [hashlib.md5(big.read_bytes()[i:i + SEGMENT]).hexdigest() for i in range(0, big.stat().st_size, SEGMENT)]
    assert head["etag"].strip('"') == hashlib.md5("".join(md5s).encode()).hexdigest() == r[13]["object"]["etag"]
    assert r[15].changed and not r[16].changed
    assert (first_run["tmp"] / "big.out").read_bytes() == big.read_bytes()


def test_check_mode_upload_and_swifts_refusals(account, first_run):
    r, box = first_run["r"], first_run["box"]
    assert r[17].changed and not r[17].failed
    assert "never.txt" not in listing(account, box)
    assert r[18].failed and r[18]["status"] == 404 and "Swift answered 404 Not Found to PUT" in r[18].msg, r[18].msg
    assert r[19].failed and r[19]["status"] == 400, r[19].msg
    assert "Object name length of 1025 longer than 1024" in r[19].msg


@pytest.fixture(scope="module")
def second_run(account, first_run):
    box, auth = first_run["box"], account["conn"]
    token = {"token": account["token"], "storage_url": account["url"]}
    steps = [
        ("object", dict(auth, container=box, name="big.bin", state="absent"), False),  # 0
        ("object", dict(auth, container=box, name="big.bin", state="absent"), False),  # 1
        ("object_container", dict(auth, name=box, state="absent"), False),  # 2
        ("object_container", dict(auth, name=box, state="absent", delete_objects=True), True),  # 3
        ("object_container", dict(auth, name=box, state="absent", delete_objects=True), False),  # 4
        ("object_container", dict(auth, name=box, state="absent", delete_objects=True), False),  # 5
        ("object_container", dict(token, name=box + "-t", metadata={"by": "token"}), False),  # 6
    ]
    return run_tasks(first_run["tmp"], steps, name="second")


def test_delete_takes_segments_and_container_delete_needs_delete_objects(account, first_run, second_run):
    r, box = second_run, first_run["box"]
    assert r[0].changed and not r[1].changed, (r[0].msg, r[1].msg)
    assert listing(account, box + "_segments") == []
    assert r[2].failed and r[2]["status"] == 409 and "delete_objects" in r[2].msg, r[2].msg
    assert r[3].changed and r[4].changed and not r[5].changed, (r[3].msg, r[4].msg)
    assert any(UNICODE_NAME in a for a in r[4]["actions"])
    with pytest.raises(swift.ClientException) as info:
        swift.head_container(account["url"], account["token"], box)
    assert info.value.http_status == 404
    swift.delete_container(account["url"], account["token"], box + "_segments")


def test_a_token_and_storage_url_work_as_given(account, first_run, second_run):
    r = second_run[6]
    assert r.changed and r["storage_url"] == account["url"], r.msg
    assert account["token"] not in json.dumps(r)  # no_log
    head = swift.head_container(account["url"], account["token"], first_run["box"] + "-t")
    assert head["x-container-meta-by"] == "token"
    swift.delete_container(account["url"], account["token"], first_run["box"] + "-t")
