"""The volume disk element: from connection info to libvirt XML and back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.attach import (
    VolumeAttacher,
    _volume_disk_of,
    disk_facts,
    iotune_limits,
    next_target,
    volume_disk,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    InvalidRequest,
    NotFound,
    StorageError,
)

libvirt = pytest.importorskip("libvirt")


def test_nbd_disk_xml_and_round_trip():
    disk = volume_disk("v1", target="vdc", connection={
        "driver_volume_type": "nbd", "host": "198.18.0.2", "port": 10809, "name": "volume-v1-a1"})
    el = disk.to_element()
    assert el.get("type") == "network"
    src = el.find("source")
    assert (src.get("protocol"), src.get("name")) == ("nbd", "volume-v1-a1")
    assert src.find("host").attrib == {"name": "198.18.0.2", "port": "10809"}
    assert el.findtext("serial") == "v1"
    back = _volume_disk_of(ET.fromstring(ET.tostring(el)))
    assert back == disk
    assert disk_facts(back)["nbd"] == {"host": "198.18.0.2", "port": 10809, "name": "volume-v1-a1"}


def test_local_file_and_block_disks():
    f = volume_disk("v2", connection={"driver_volume_type": "local", "path": "/srv/volume-v2", "format": "qcow2"})
    assert (f.source_type, f.format) == ("file", "qcow2")
    b = volume_disk("v3", connection={"path": "/dev/vg0/volume-v3"}, shareable=True)
    el = b.to_element()
    assert el.get("type") == "block" and el.find("source").get("dev") == "/dev/vg0/volume-v3"
    assert el.find("shareable") is not None


def test_disks_without_serial_are_not_volumes():
    el = ET.fromstring("<disk type='file' device='disk'><source file='/x'/><target dev='vda'/></disk>")
    assert _volume_disk_of(el) is None


def test_bad_connections():
    with pytest.raises(InvalidRequest, match="port"):
        volume_disk("v", connection={"driver_volume_type": "nbd", "host": "h", "name": "n"})
    with pytest.raises(InvalidRequest, match="iscsi"):
        volume_disk("v", connection={"driver_volume_type": "iscsi"})


def test_iotune_from_cinder_qos_keys_round_trips_through_the_disk_xml():
    limits = iotune_limits({"read_iops_sec": "500", "write_iops_sec": 200, "total_bytes_sec": 1048576,
                            "total_bytes_sec_max": 2097152, "read_bytes_sec_max": 0})
    assert limits == (("read_iops_sec", 500), ("total_bytes_sec", 1048576),
                      ("total_bytes_sec_max", 2097152), ("write_iops_sec", 200))
    disk = volume_disk("v4", connection={"path": "/srv/volume-v4"}, iotune=limits)
    el = disk.to_element()
    assert el.find("iotune/read_iops_sec").text == "500"
    assert el.find("iotune/read_bytes_sec_max") is None  # 0 = no limit, left out
    back = _volume_disk_of(ET.fromstring(ET.tostring(el)))
    assert back == disk and disk_facts(back)["iotune"]["total_bytes_sec"] == 1048576
    assert iotune_limits(None) == iotune_limits({}) == ()


@pytest.mark.parametrize("qos, words", [
    ({"size_iops_sec": 1}, "not one of"),
    ({"read_iops_sec": "-1"}, "whole number"),
    ({"read_iops_sec": True}, "whole number"),
    ({"read_iops_sec": "1.5"}, "whole number"),
    ({"total_iops_sec": 10, "read_iops_sec": 5}, "cannot be combined with read_iops_sec"),
    ({"write_bytes_sec_max": 10}, "needs write_bytes_sec"),
    ({"write_bytes_sec": 100, "write_bytes_sec_max": 10}, "at least as large"),
])
def test_iotune_refusals(qos, words):
    with pytest.raises(InvalidRequest, match=words):
        iotune_limits(qos)


def test_next_target():
    assert next_target({"vda"}) == "vdd"
    assert next_target({"vda", "vdd", "vdf"}) == "vde"


class FakeDom:
    """A running guest with one volume disk (serial v1 on vdd); its OS ignores the first
    ``ignore`` live unplug requests, as a guest still booting does."""

    def __init__(self, ignore: int = 1):
        disk = ("<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                "<source file='/srv/volume-v1'/><target dev='vdd' bus='virtio'/><serial>v1</serial></disk>")
        self.config = [disk]
        self.live = [disk]
        self.ignore = ignore
        self.requests: list[int] = []

    def name(self):
        return "instance-1"

    def XMLDesc(self, flags):
        devices = self.config if flags & libvirt.VIR_DOMAIN_XML_INACTIVE else self.live
        return f"<domain><name>instance-1</name><devices>{''.join(devices)}</devices></domain>"

    def state(self):
        return libvirt.VIR_DOMAIN_RUNNING, 0

    def detachDeviceFlags(self, xml, flags):
        self.requests.append(flags)
        target = ET.fromstring(xml).find("target").get("dev")
        if flags & libvirt.VIR_DOMAIN_AFFECT_CONFIG:
            self.config = [d for d in self.config if f"dev='{target}'" not in d]
        if flags & libvirt.VIR_DOMAIN_AFFECT_LIVE:
            if self.ignore:
                self.ignore -= 1
            else:
                self.live = [d for d in self.live if f"dev='{target}'" not in d]


class FakeConn:
    def __init__(self, dom):
        self.dom = dom

    def lookupByName(self, name):
        if name != self.dom.name():
            exc = libvirt.libvirtError("no domain")
            exc.err = (libvirt.VIR_ERR_NO_DOMAIN, 0, f"Domain not found: {name}", 2, "", "", "", 0, 0)
            raise exc
        return self.dom

    def listAllDomains(self, flags):
        return [self.dom]


def attacher_for(dom) -> VolumeAttacher:
    att = VolumeAttacher(conn=FakeConn(dom), driver=LibvirtDriver(sleep=lambda s: None))
    att.ATTEMPT_TIMEOUT = 0.05  # seconds per unplug request (8 on a real host)
    return att


def test_detach_goes_through_the_compute_driver_and_re_sends_the_unplug():
    dom = FakeDom(ignore=1)
    disk = attacher_for(dom).detach("instance-1", "v1", timeout=1)
    assert disk.serial == "v1" and disk.target == "vdd"
    live, config = libvirt.VIR_DOMAIN_AFFECT_LIVE, libvirt.VIR_DOMAIN_AFFECT_CONFIG
    assert dom.requests == [live | config, live]  # the unplug the guest missed was sent again
    assert dom.live == [] and dom.config == []
    assert attacher_for(dom).detach("instance-1", "v1") is None  # idempotent


def test_detach_from_a_guest_that_never_lets_go_is_an_error():
    dom = FakeDom(ignore=10**6)
    with pytest.raises(StorageError, match="did not release disk vdd"):
        attacher_for(dom).detach("instance-1", "v1", timeout=0.2)
    assert len(dom.requests) > 2 and dom.live  # re-sent, and still there


def test_unknown_guest_is_not_found():
    with pytest.raises(NotFound, match="instance-2"):
        attacher_for(FakeDom()).detach("instance-2", "v1")


class GoneDom(FakeDom):
    """A guest listed a moment ago and deleted since (a server being deleted)."""

    def name(self):
        return "instance-gone"

    def _gone(self, *args):
        exc = libvirt.libvirtError("no domain")
        exc.err = (libvirt.VIR_ERR_NO_DOMAIN, 0, "Domain not found: instance-gone", 2, "", "", "", 0, 0)
        raise exc

    XMLDesc = state = hasManagedSaveImage = _gone


def test_a_guest_deleted_while_the_users_are_listed_holds_nothing():
    dom, gone = FakeDom(), GoneDom()
    conn = FakeConn(dom)
    conn.listAllDomains = lambda flags: [gone, dom]
    found, lookups = conn.lookupByName, iter([gone])

    def lookup(name):  # the gone guest is found once (while listed), then no more
        return (next(lookups, None) or found(name)) if name == "instance-gone" else found(name)

    conn.lookupByName = lookup
    att = VolumeAttacher(conn=conn, driver=LibvirtDriver(sleep=lambda s: None))
    assert att.attached_to("v1") == ["instance-1"]
