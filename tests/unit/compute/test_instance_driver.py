"""InstanceDriver's contract (ensure_present / ensure_absent -> Outcome) in check mode,
against a libvirt double (the real runs: tests/integration/compute/test_instance.py)."""

from __future__ import annotations

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    ImageNotFound,
    InvalidInput,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.instance import InstanceSpec
from ansible_collections.stratus.cloud.plugins.module_utils.compute.instance_driver import (
    InstanceDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)

UUID = "0d4a1c52-8b1e-4c3a-9f7e-5a2b1c0d9e8f"


class NoDomain:
    """A host without the domain; every write is recorded (and must not happen)."""

    plan_power_state = staticmethod(LibvirtDriver.plan_power_state)

    def __init__(self):
        self.writes = []

    def check_owned(self, name, uuid=None):
        return False

    def power_state(self, name):
        return "absent"

    def host_info(self):
        return {"memory_mib": 2048}

    def __getattr__(self, name):
        return lambda *a, **kw: self.writes.append(name)


def spec(**kw) -> InstanceSpec:
    return InstanceSpec.from_params({"uuid": UUID, "vcpus": 1, "memory_mb": 128, "image_id": "img", **kw})


@pytest.fixture
def driver(tmp_path):
    lv = NoDomain()
    (tmp_path / "images").mkdir()
    QemuImg().create(tmp_path / "images" / "img", 1 << 20, "raw")
    drv = InstanceDriver(lv, QemuImg(), tmp_path / "instances", tmp_path / "images", virt_type="qemu")
    return drv, lv, tmp_path


def test_check_mode_plans_a_create_and_changes_nothing(driver):
    drv, lv, tmp_path = driver
    out = drv.ensure_present(spec(), state="running", check=True)
    assert isinstance(out, Outcome) and out.changed
    assert out.actions == ["create files", "define", "start"] and out.resize == "create"
    assert out.before == {} and out.after["state"] == "running" and "<domain" in out.after["xml"]
    assert out.facts["uuid"] == UUID
    assert lv.writes == [] and not (tmp_path / "instances").exists()


def test_absent_of_nothing_is_not_a_change(driver):
    drv, lv, _ = driver
    out = drv.ensure_absent(spec(), check=False)
    assert (out.changed, out.before, out.after, out.actions) == (False, {}, {}, [])
    assert lv.writes == []


def test_refusals_before_anything_is_made(driver):
    drv, lv, tmp_path = driver
    with pytest.raises(ImageNotFound, match="image_cache"):
        drv.ensure_present(spec(image_id="other"), check=False)
    with pytest.raises(InvalidInput, match="more than this host"):
        drv.ensure_present(spec(memory_mb=4096), check=False)
    assert lv.writes == [] and not (tmp_path / "instances").exists()
