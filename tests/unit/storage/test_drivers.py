"""The one driver contract: ensure_present(spec, *, check) / ensure_absent(spec, *, check)
-> Outcome, for volumes, snapshots, exports and attachments. The file backend runs for
real (qemu-img on files under tmp_path); who uses a volume is given."""

from __future__ import annotations

import inspect
import os

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.storage.attachments import (
    AttachmentDriver,
    AttachmentSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    CommandFailed,
    InUse,
    InvalidRequest,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.exports import ExportDriver
from ansible_collections.stratus.cloud.plugins.module_utils.storage.filebackend import FileBackend
from ansible_collections.stratus.cloud.plugins.module_utils.storage.model import GiB
from ansible_collections.stratus.cloud.plugins.module_utils.storage.snapshots import (
    SnapshotDriver,
    SnapshotSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.volumes import (
    VolumeDriver,
    VolumeSpec,
)

DRIVERS = (VolumeDriver, SnapshotDriver, ExportDriver, AttachmentDriver)


@pytest.mark.parametrize("driver", DRIVERS)
def test_every_driver_has_the_one_contract(driver):
    for name in ("ensure_present", "ensure_absent"):
        params = inspect.signature(getattr(driver, name)).parameters
        assert list(params) == ["self", "spec", "check"], (driver, name)
        assert params["check"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.fixture
def backend(tmp_path):
    return FileBackend(QemuImg(error=CommandFailed, invalid=InvalidRequest), str(tmp_path))


def test_volume_lifecycle_with_outcomes(backend, tmp_path):
    users: list[str] = []
    drv = VolumeDriver(backend, users=lambda v: users)
    spec = VolumeSpec("v1", size_gb=1)
    planned = drv.ensure_present(spec, check=True)
    assert isinstance(planned, Outcome) and planned.changed and planned.before == {}
    assert planned.after["size"] == GiB and not os.listdir(tmp_path)
    made = drv.ensure_present(spec, check=False)
    assert made.changed and made.actions[0].startswith("created volume v1") and os.path.exists(tmp_path / "volume-v1")
    assert drv.ensure_present(spec, check=False) == Outcome(False, made.after, made.after)

    users.append("guest instance-1")
    with pytest.raises(InUse, match="instance-1"):
        drv.ensure_present(VolumeSpec("v1", size_gb=2), check=False)
    with pytest.raises(InUse, match="detach it before deleting"):
        drv.ensure_absent(spec, check=False)
    assert os.path.exists(tmp_path / "volume-v1")
    users.clear()

    grown = drv.ensure_present(VolumeSpec("v1", size_gb=2), check=False)
    assert grown.changed and grown.before["size"] == GiB and grown.after["size"] == 2 * GiB
    with pytest.raises(InvalidRequest, match="cannot shrink"):
        drv.ensure_present(spec, check=False)

    snaps = SnapshotDriver(backend, users=lambda v: [])
    assert snaps.ensure_present(SnapshotSpec("s1", "v1"), check=False).changed
    with pytest.raises(InUse, match="cascade"):
        drv.ensure_absent(spec, check=False)
    cascade = VolumeSpec("v1", cascade=True)
    assert drv.ensure_absent(cascade, check=True).actions == ["clear (zero) and remove volume v1"]
    assert os.path.exists(tmp_path / "snapshot-s1")
    gone = drv.ensure_absent(cascade, check=False)
    assert gone.changed and gone.after == {} and os.listdir(tmp_path) == []
    assert [a.split()[0] for a in gone.actions] == ["zeroed", "removed", "zeroed", "removed"]
    assert drv.ensure_absent(spec, check=False) == Outcome(False)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "/etc", ""])
def test_specs_refuse_ids_that_are_no_names(bad):
    with pytest.raises(InvalidRequest, match="volume id"):
        VolumeSpec(bad)
    with pytest.raises(InvalidRequest, match="snapshot id"):
        SnapshotSpec(bad)
    with pytest.raises(InvalidRequest, match="instance"):
        AttachmentSpec(bad, "v1")


class Untouchable:
    def __getattr__(self, name):
        raise AssertionError(f"the guest was looked at ({name}) before the connection was checked")


def test_attach_checks_the_connection_before_the_guest(backend, tmp_path):
    drv = AttachmentDriver(Untouchable(), lambda: backend)
    for path in ("/etc/shadow", f"{tmp_path}/../x", str(tmp_path)):
        spec = AttachmentSpec("instance-1", "v1", connection={"driver_volume_type": "local", "path": path})
        with pytest.raises(InvalidRequest, match="volume path"):
            drv.ensure_present(spec, check=False)
    spec = AttachmentSpec("instance-1", "v1", connection={"driver_volume_type": "nbd", "host": "1.2.3.4 x",
                                                          "port": 10809, "name": "volume-v1-a"})
    with pytest.raises(InvalidRequest, match="connection host"):
        drv.ensure_present(spec, check=False)
