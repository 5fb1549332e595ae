"""The volume disk element: from connection info to libvirt XML and back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.storage.attach import (
    _volume_disk_of,
    disk_facts,
    next_target,
    volume_disk,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import InvalidRequest


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


def test_next_target():
    assert next_target({"vda"}) == "vdd"
    assert next_target({"vda", "vdd", "vdf"}) == "vde"
