"""LibvirtDriver's stated contracts against the real libvirtd."""

from __future__ import annotations

import secrets
import uuid as uuidlib

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.domain import (
    Disk,
    Guest,
    InstanceMetadata,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import LibvirtError
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)

pytestmark = [pytest.mark.compute]


@pytest.fixture
def drv(libvirt_daemon):
    d = LibvirtDriver(libvirt_daemon)
    yield d
    d.close()


def test_destroy_and_undefine_of_a_missing_guest_succeed(drv):
    name = f"instance-missing-{secrets.token_hex(4)}"
    drv.destroy(name)
    drv.undefine(name)
    assert drv.power_state(name) == "absent"
    assert drv.get_guest(name) is None
    assert drv.check_owned(name) is False


def test_failed_spawn_cleans_up(drv, tmp_path):
    uuid = str(uuidlib.uuid4())
    name = f"instance-{uuid}"
    guest = Guest(
        name=name, uuid=uuid, vcpus=1, memory_kib=32768,
        disks=(Disk(target="vda", source=str(tmp_path / "no-such-disk")),),
        metadata=InstanceMetadata(uuid=uuid),
    )
    cleaned = []
    with pytest.raises(LibvirtError) as exc:
        drv.spawn(guest, cleanup=lambda: cleaned.append(True))
    assert exc.value.operation == "start" and "no-such-disk" in exc.value.message
    assert drv.power_state(name) == "absent" and cleaned == [True]
