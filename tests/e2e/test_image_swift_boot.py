"""An image kept in Swift boots a guest: on the session's Heat controller
(``heat_cloud``, whose Swift cluster ``swift_cloud`` brings up), a member imports the tiny
qcow2 into the ``swift`` store (a static large object of 4 MiB segments), and
``openstack server create --image`` boots it on this host: the compute host's image
cache fetches the image from the controller, which streams it out of Swift, and the
guest prints its ready marker on the serial console. One guest, deleted at the end.
"""

from __future__ import annotations

import uuid

import pytest

from tests.api.object_storage.test_image_store_swift import queued_image, service_conn, wait_active
from tests.helpers.guest_console import GuestConsole
from tests.integration.compute.actions_guest import cleanup, remove_images

pytestmark = [pytest.mark.object_storage, pytest.mark.compute, pytest.mark.slow]


def test_a_guest_boots_from_an_image_kept_in_swift(swift_cloud, guest_image, request):
    cloud = swift_cloud
    tag = uuid.uuid4().hex[:6]
    member = cloud.new_project_user(prefix="swiftboot")
    iid = queued_image(cloud, member, f"tiny-swift-{tag}")
    request.addfinalizer(lambda: remove_images(iid))
    cloud.cli("image", "stage", "--file", guest_image["qcow2"], iid, creds=member)
    cloud.cli("image", "import", iid, "--method", "glance-direct", "--store", "swift", creds=member)
    assert wait_active(cloud, member, iid)["stores"] == "swift"
    assert service_conn(cloud).object_store.get_object_metadata(iid, container="glance").is_static_large_object
    cloud.cli("flavor", "create", f"swift.tiny-{tag}", "--vcpus", "1", "--ram", "128", "--disk", "1")

    server = cloud.cli("server", "create", f"swiftboot-{tag}", "--image", iid, "--flavor", f"swift.tiny-{tag}",
                       "--nic", "none", "--wait", "-f", "json", creds=member)
    sid = server["id"]
    request.addfinalizer(lambda: cleanup(sid))
    assert server["status"] == "ACTIVE", server
    with GuestConsole(f"instance-{sid}") as con:
        con.wait_for(r"STRATUS-GUEST ready", timeout=240)
    cloud.cli("server", "delete", "--wait", sid, creds=member)
    cloud.cli("image", "delete", iid, creds=member)
    cloud.cli("flavor", "delete", f"swift.tiny-{tag}")
