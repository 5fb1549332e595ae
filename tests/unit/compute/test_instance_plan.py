"""Drivers without libvirt: qemu-img argv, power-state plans, update plans, input checks,
virt type (the image cache: test_image_cache.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.domain import Disk, Interface
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    InvalidInput,
    NotFound,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.host import resolve_virt_type
from ansible_collections.stratus.cloud.plugins.module_utils.compute.instance import (
    DEFAULT_VOLUME_ROOTS,
    InstanceSpec,
    build_guest,
    device_changes,
    normalize_mac,
    plan_update,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.paths import InstancePaths

UUID = "0d4a1c52-8b1e-4c3a-9f7e-5a2b1c0d9e8f"


@pytest.mark.parametrize(
    "cur, want, steps",
    [
        ("running", "running", []),
        ("stopped", "running", ["start"]),
        ("suspended", "running", ["start"]),
        ("paused", "running", ["resume"]),
        ("running", "suspended", ["managed_save"]),
        ("running", "stopped", ["shutdown"]),
        ("suspended", "stopped", ["discard_managed_save"]),
        ("stopped", "paused", ["start_paused"]),
        ("crashed", "running", ["destroy", "start"]),
    ],
)
def test_power_state_plans(cur, want, steps):
    assert LibvirtDriver.plan_power_state(cur, want) == steps


def test_power_state_plan_of_missing_domain():
    with pytest.raises(NotFound):
        LibvirtDriver.plan_power_state("absent", "running")


def spec(**kw):
    p = dict(uuid=UUID, image_id="img", vcpus=1, memory_mb=128, nics=None, volumes=None)
    p.update(kw)
    return InstanceSpec.from_params(p)


def guest(s, current=None):
    return build_guest(s, "qemu", InstancePaths.for_uuid(UUID, "/v/inst"), current)


def test_update_plans():
    base = guest(spec(max_vcpus=4, max_memory_mb=512))
    assert plan_update(base, base) == "none"
    assert plan_update(base, guest(spec(max_vcpus=4, max_memory_mb=512, display_name="x"))) == "config"
    assert plan_update(base, guest(spec(vcpus=2, max_vcpus=4, max_memory_mb=512))) == "live"
    assert plan_update(base, guest(spec(memory_mb=256, max_vcpus=4, max_memory_mb=512))) == "live"
    assert plan_update(base, guest(spec(vcpus=2))) == "cold"  # maximum changes
    assert plan_update(base, replace(base, machine="pc")) == "cold"


def test_volumes_attached_by_others_are_kept_unless_managed():
    vol = Disk(target="vdd", source="/var/lib/stratus/volumes/v1", format="raw", serial="v1")
    current = replace(guest(spec()), disks=(*guest(spec()).disks, vol))
    assert vol in guest(spec(), current).disks  # volumes omitted: kept
    assert vol not in guest(spec(volumes=[]), current).disks  # []: removed
    add, remove = device_changes(current, guest(spec(volumes=[]), current))
    assert remove == [vol] and add == []


def test_nics_and_macs():
    s = spec(nics=[{"bridge": "br0", "mac": "FA-16-3E-00-00-01", "target": "tap1"}])
    assert guest(s).interfaces == (Interface(mac="fa:16:3e:00:00:01", bridge="br0", target="tap1"),)
    for bad in ("fa:16:3e:zz", "01:00:5e:00:00:01", ""):
        with pytest.raises(InvalidInput):
            normalize_mac(bad)
    with pytest.raises(InvalidInput):
        spec(nics=[{"bridge": "b", "mac": "fa:16:3e:00:00:01"}, {"bridge": "b", "mac": "fa:16:3e:00:00:01"}])


@pytest.mark.parametrize(
    "bad",
    [dict(uuid="../etc"), dict(vcpus=0), dict(swap_mb=-1),
     dict(volumes=[{"path": "/v", "target": "vda"}]), dict(volumes=[{"target": "vdd"}])],
)
def test_bad_specs(bad):
    with pytest.raises(InvalidInput):
        spec(**bad)


def test_virt_type_auto_reads_host_config_not_dev_kvm(tmp_path):
    conf = tmp_path / "compute.conf"
    assert resolve_virt_type("auto", conf) == "qemu"  # no config: TCG, whatever /dev/kvm says
    conf.write_text("# set by the compute role\nvirt_type = kvm\n")
    assert resolve_virt_type("auto", conf) == "kvm"
    assert resolve_virt_type("qemu", conf) == "qemu"
    conf.write_text("virt_type = xen\n")
    with pytest.raises(InvalidInput):
        resolve_virt_type("auto", conf)


@pytest.mark.parametrize("path", ["/etc/shadow", "/var/lib/stratus/volumes/../../../etc/shadow", "/dev/sda",
                                  "/dev/stratus-volumes/../sda", "/dev/stratus-volumes/a/b", "relative"])
def test_volume_paths_outside_the_roots_are_refused(path):
    with pytest.raises(InvalidInput, match="is not a volume of this host"):
        InstanceSpec.from_params(dict(uuid=UUID, image_id="img", vcpus=1, memory_mb=128, nics=None,
                                      volumes=[{"path": path, "target": "vdd"}]), DEFAULT_VOLUME_ROOTS)


def test_volume_paths_inside_the_roots_are_kept(tmp_path):
    (tmp_path / "v1").touch()
    roots = (str(tmp_path), "/dev/stratus-volumes")
    spec = InstanceSpec.from_params(dict(uuid=UUID, image_id="img", vcpus=1, memory_mb=128, nics=None,
                                         volumes=[{"path": str(tmp_path / "v1"), "target": "vdd"},
                                                  {"path": "/dev/stratus-volumes/volume-1", "target": "vde"}]),
                                    roots)
    assert [v.path for v in spec.volumes] == [str(tmp_path / "v1"), "/dev/stratus-volumes/volume-1"]
