"""Round trips of the storage and block-copy XML objects (and that values are escaped,
never pasted into the XML)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.storage_xml import (
    CopyDestination,
    DirPool,
    Volume,
)


@pytest.mark.parametrize(
    "obj",
    [
        DirPool(name="stratus-0a1b2c3d4e5f", path="/var/lib/stratus/instances/u1"),
        DirPool(name="p", path="/var/lib/stratus/instances/u1", mode="0700", owner=64055, group=107),
        Volume(name="disk.config", capacity=1 << 20, format="raw", mode="0600"),
        Volume(name="disk", capacity=1 << 30, format="qcow2", mode="0600",
               backing_path="/var/lib/stratus/images/img", backing_format="qcow2"),
        CopyDestination(path="/var/lib/stratus/images/.snap.part", format="qcow2"),
        CopyDestination(path="/v/raw", format="raw"),
    ],
)
def test_round_trip(obj):
    assert type(obj).from_xml(obj.to_xml()) == obj


def test_values_are_escaped_not_pasted():
    evil = "x</path><path>/etc"
    pool = DirPool(name="p'<>&", path=f"/srv/{evil}")
    root = ET.fromstring(pool.to_xml())
    assert [p.text for p in root.iter("path")] == [f"/srv/{evil}"]
    assert DirPool.from_xml(pool.to_xml()) == pool
    vol = Volume(name="a'b\"c", capacity=1)
    assert Volume.from_xml(vol.to_xml()).name == "a'b\"c"


def test_parses_what_libvirt_writes():
    pool = DirPool.from_xml(
        "<pool type='dir'><name>default</name><uuid>x</uuid><capacity unit='bytes'>1</capacity>"
        "<target><path>/var/lib/libvirt/images</path><permissions><mode>0711</mode>"
        "<owner>0</owner><group>0</group></permissions></target></pool>"
    )
    assert pool == DirPool(name="default", path="/var/lib/libvirt/images", mode="0711", owner=0, group=0)
    vol = Volume.from_xml(
        "<volume type='file'><name>disk</name><key>/d/disk</key><capacity unit='bytes'>1073741824"
        "</capacity><allocation unit='bytes'>200704</allocation><target><path>/d/disk</path>"
        "<format type='qcow2'/><permissions><mode>0600</mode><owner>0</owner></permissions>"
        "</target><backingStore><path>/i/base</path><format type='raw'/></backingStore></volume>"
    )
    assert vol == Volume(name="disk", capacity=1 << 30, format="qcow2", mode="0600",
                         backing_path="/i/base", backing_format="raw")
