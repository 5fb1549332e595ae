"""OS::Nova::Server with a Glance image: the checks of ``check`` (Nova's answers for an
image a project may not boot or a flavor too small for it), the compiled tasks (the
image's file URL, its sha512, a download ticket that Ansible never templates) and the
``snapshot`` action (an upload ticket for the queued image)."""

from __future__ import annotations

import uuid

import pytest
import yaml

import stratus.db.models.compute  # noqa: F401 - registers tables
import stratus.db.models.hosts  # noqa: F401
import stratus.db.models.images  # noqa: F401
import stratus.db.models.jobs  # noqa: F401
import stratus.db.models.quotas  # noqa: F401
from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.models.compute import Flavor
from stratus.db.models.hosts import Host
from stratus.db.models.images import ACCEPTED, Image, ImageMember
from stratus.db.models.jobs import Job, Resource
from stratus.db.session import Database
from stratus.identity.fernet import FernetKeys
from stratus.image import tickets
from stratus.image.records import visible_to_project
from stratus.jobs.runner import UNSAFE, playbook_yaml
from stratus.orchestration.errors import ResourceCheckFailed, TemplateError
from stratus.orchestration.resources import PlanContext
from stratus.orchestration.submit import submit, submit_action, submit_update

pytestmark = pytest.mark.orchestration
SHA512 = "ab" * 64
# Nova's devstack flavors: id -> (name, vcpus, memory_mb, root_gb)
FLAVORS = {"42": ("m1.nano", 1, 128, 1), "84": ("m1.micro", 1, 192, 1), "1": ("m1.tiny", 1, 512, 1),
           "2": ("m1.small", 1, 2048, 20)}
GIB = 1024**3


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        s.add(Host(name="cmp1", groups=["compute"], vars={},
                   capacity={"vcpus": 8, "memory_mb": 8192, "disk_gb": 100}))
        for fid, (name, vcpus, ram, disk) in FLAVORS.items():
            s.add(Flavor(id=fid, name=name, vcpus=vcpus, memory_mb=ram, root_gb=disk))
    yield database
    database.dispose()


@pytest.fixture
def context(tmp_path):
    keys = FernetKeys(tmp_path / "keys")
    keys.setup()
    return PlanContext(Settings(public_url="http://ctl.example:8700"), keys)


def add_image(db, **kw) -> str:
    values = dict(id=str(uuid.uuid4()), name="tiny", status="active", visibility="private",
                  owner="p1", disk_format="qcow2", container_format="bare", size=20 << 20,
                  virtual_size=512 << 20, os_hash_algo="sha512", os_hash_value=SHA512, checksum="c" * 32)
    values.update(kw)
    with db.session() as s:
        s.add(Image(**values))
    return values["id"]


def server(image: str, flavor: str = "m1.nano", **props) -> dict:
    return {"heat_template_version": "2018-08-31", "resources": {"vm": {
        "type": "OS::Nova::Server", "properties": {"name": "vm", "flavor": flavor, "image": image, **props}}}}


def tasks_of(job) -> list[dict]:
    return [t for play in job.playbook for t in play["tasks"]]


def unsafe(value) -> object:
    """The value of an argument the compiler marked as data (``!unsafe``)."""
    assert isinstance(value, dict) and set(value) == {UNSAFE}, value
    return value[UNSAFE]


def test_the_host_fetches_the_glance_image_with_a_download_ticket(db, context):
    image = add_image(db)
    with db.session() as s:
        job = submit(s, server(image, name="{{ 7 * 7 }}"), project_id="p1", context=context)
        cache, inst = tasks_of(job)
        facts = s.get(Resource, job.resource_map["vm"]).attributes["image_facts"]
    # every argument is data Ansible never templates (the libvirt URI is the compiler's own)
    args = unsafe(cache["stratus.cloud.image_cache"])
    base = "http://ctl.example:8700/image/v2"
    assert args["source"] == f"{base}/images/{image}/file"
    assert args["allowed_sources"] == [f"{base}/images/"]
    assert args["os_hash_algo"] == "sha512" and args["os_hash_value"] == SHA512
    assert args["source_format"] == args["disk_format"] == "qcow2"
    ticket = args["headers"][tickets.HEADER]
    assert tickets.verify(context.keys, image, tickets.DOWNLOAD, ticket)
    assert not tickets.verify(context.keys, image, tickets.UPLOAD, ticket)
    for key, value in inst["stratus.cloud.instance"].items():
        if key != "uri":
            assert isinstance(value, bool | int) or value == {} or set(value) == {UNSAFE}, (key, value)
    text = playbook_yaml(job.playbook)
    assert f"!unsafe 'X-Image-Ticket': !unsafe '{ticket}'" in text, text
    assert unsafe(inst["stratus.cloud.instance"]["image_id"]) == image
    # the facts are recorded, the ticket is not
    assert facts["os_hash_value"] == SHA512 and facts["disk_format"] == "qcow2"
    assert ticket not in yaml.safe_dump(facts)


def test_image_url_for_hosts_setting(db, context):
    image = add_image(db, disk_format="raw", visibility="public", owner="other")
    ctx = PlanContext(Settings(public_url="http://ctl:1", image_url_for_hosts="https://img.internal/v2/"),
                      context.keys)
    with db.session() as s:
        cache = tasks_of(submit(s, server(image), project_id="p1", context=ctx))[0]
    args = unsafe(cache["stratus.cloud.image_cache"])
    assert args["source"] == f"https://img.internal/v2/images/{image}/file"
    assert args["disk_format"] == "raw"
    assert Settings(bind_host="0.0.0.0", port=8700).hosts_image_url == "http://127.0.0.1:8700/image/v2"


def refusal(db, context, image, flavor="m1.nano", project="p1") -> str:
    with db.session() as s, pytest.raises(ResourceCheckFailed) as err:
        submit(s, server(image, flavor), project_id=project, context=context)
    assert err.value.status == 400
    with db.session() as s:  # nothing was recorded
        assert s.query(Resource).count() == 0 and s.query(Job).count() == 0
    return err.value.message


def test_images_the_project_may_not_boot_are_refused_with_novas_words(db, context):
    missing = str(uuid.uuid4())
    assert refusal(db, context, missing) == f"Image {missing} could not be found."
    private = add_image(db, owner="p2")
    assert refusal(db, context, private) == f"Image {private} could not be found."
    shared = add_image(db, owner="p2", visibility="shared")
    assert refusal(db, context, shared) == f"Image {shared} could not be found."
    queued = add_image(db, status="queued", os_hash_value=None, size=None)
    assert refusal(db, context, queued) == f"Image {queued} is not active."
    deactivated = add_image(db, status="deactivated")
    assert refusal(db, context, deactivated) == f"Image {deactivated} is not active."
    vmdk = add_image(db, disk_format="vmdk")
    msg = refusal(db, context, vmdk)
    assert f"Image {vmdk} has disk_format 'vmdk'" in msg and "qcow2 or raw" in msg
    assert refusal(db, context, "x" * 40) == f"Image {'x' * 40} could not be found."


def test_images_shared_public_or_community_may_be_booted(db, context):
    shared = add_image(db, owner="p2", visibility="shared")
    with db.session() as s:
        s.add(ImageMember(image_id=shared, member="p1", status=ACCEPTED))
    for image in (shared, add_image(db, owner="p2", visibility="public"),
                  add_image(db, owner="p2", visibility="community")):
        with db.session() as s:
            assert submit(s, server(image), project_id="p1", context=context)
            assert visible_to_project(s, "p1", image).id == image
    with db.session() as s:  # not a member, no project
        assert visible_to_project(s, "p3", shared) is None and visible_to_project(s, None, shared) is None


def test_flavor_too_small_for_the_image(db, context):
    big = add_image(db, size=2 * GIB)
    assert refusal(db, context, big) == (
        f"Flavor's disk is too small for requested image. Flavor disk is {GIB} bytes, image is {2 * GIB} bytes.")
    wide = add_image(db, virtual_size=3 * GIB)
    assert f"image is {3 * GIB} bytes" in refusal(db, context, wide)
    min_disk = add_image(db, min_disk=20)
    assert refusal(db, context, min_disk) == (
        "Flavor's disk is smaller than the minimum size specified in image metadata. "
        f"Flavor disk is {GIB} bytes, minimum size is {20 * GIB} bytes.")
    min_ram = add_image(db, min_ram=1024)
    assert refusal(db, context, min_ram) == "Flavor's memory is too small for requested image."
    with db.session() as s:  # the flavor that fits
        assert submit(s, server(min_ram, "m1.small"), project_id="p1", context=context)


def test_resize_keeps_the_recorded_image_facts(db, context):
    image = add_image(db, min_ram=150)
    with db.session() as s:
        sid = submit(s, server(image, "m1.micro"), project_id="p1", context=context).resource_map["vm"]
        s.get(Resource, sid).status = "ACTIVE"
    with db.session() as s:
        s.delete(s.get(Image, image))  # gone from the image service: the server still resizes
    with db.session() as s:
        job = submit_update(s, sid, {"flavor": "m1.tiny"}, context=context)
        assert unsafe(tasks_of(job)[0]["stratus.cloud.image_cache"])["os_hash_value"] == SHA512
    with db.session() as s, pytest.raises(ResourceCheckFailed, match="memory is too small"):
        submit_update(s, sid, {"flavor": "m1.nano"}, context=context)


def test_snapshot_uploads_the_root_disk_with_an_upload_ticket(db, context):
    image = add_image(db)
    with db.session() as s:
        sid = submit(s, server(image), project_id="p1", context=context).resource_map["vm"]
    target = str(uuid.uuid4())
    with db.session() as s:
        job = submit_action(s, sid, "snapshot", {"image_id": target}, context=context)
        ((play_task,),) = [play["tasks"] for play in job.playbook]
        assert job.playbook[0]["hosts"] == "cmp1"
    args = unsafe(play_task["stratus.cloud.image_upload"])
    base = "http://ctl.example:8700/image/v2"
    assert args["uuid"] == sid and args["image_id"] == target
    assert args["url"] == f"{base}/images/{target}/file"
    assert args["allowed_sources"] == [f"{base}/images/"]
    ticket = args["headers"][tickets.HEADER]
    assert tickets.verify(context.keys, target, tickets.UPLOAD, ticket)
    assert not tickets.verify(context.keys, target, tickets.DOWNLOAD, ticket)
    for bad in ({}, {"image_id": "../../etc"}, {"image_id": "{{ 7 * 7 }}"}):
        with db.session() as s, pytest.raises(ResourceCheckFailed, match="snapshot needs image_id"):
            submit_action(s, sid, "snapshot", bad, context=context)


def test_without_the_controller_there_is_no_ticket(db, context):
    image = add_image(db)
    with db.session() as s, pytest.raises(TemplateError, match="submit it to the controller"):
        submit(s, server(image), project_id="p1")
    with db.session() as s:
        sid = submit(s, server(image), project_id="p1", context=context).resource_map["vm"]
    with db.session() as s, pytest.raises(TemplateError, match="submit it to the controller"):
        submit_action(s, sid, "snapshot", {"image_id": str(uuid.uuid4())})
