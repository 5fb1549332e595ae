"""Domain XML objects: round trips, parsing libvirt's own XML, comparison as objects."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.domain import (
    STRATUS_NS,
    Console,
    Disk,
    Guest,
    InstanceMetadata,
    Interface,
    Serial,
    metadata_of,
    normalize_machine,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import InvalidInput

UUID = "6f1c2f5e-1d5a-4c59-9d5e-0b7b3f1f0a11"


def make_guest(**kw) -> Guest:
    base = dict(
        name=f"instance-{UUID}",
        uuid=UUID,
        vcpus=1,
        memory_kib=131072,
        max_vcpus=2,
        disks=(
            Disk(target="vda", source=f"/var/lib/stratus/instances/{UUID}/disk"),
            Disk(target="vdb", source="/dev/loop7", source_type="block", format="raw", serial="vol-1"),
            Disk(target="sda", source="/x/disk.config", bus="sata", device="cdrom", format="raw", readonly=True),
        ),
        interfaces=(Interface(mac="fa:16:3e:00:00:01", bridge="brq12345678901", target="tap12345678901"),),
        serials=(Serial(log_file="/x/console.log"),),
        consoles=(Console(),),
        metadata=InstanceMetadata(uuid=UUID, display_name="demo", image_id="cirros", root_gb=1, swap_mb=64),
    )
    base.update(kw)
    return Guest(**base)


@pytest.mark.parametrize(
    "part",
    [
        Disk(target="vda", source="/a"),
        Disk(target="vdc", source="/dev/sdz", source_type="block", format="raw", serial="abc", readonly=True),
        Disk(target="sda", source="/c", bus="sata", device="cdrom", format="raw", readonly=True),
        Disk(target="vdd", source="vol", source_type="network", format="raw", protocol="nbd",
             host="127.0.0.1", port=10809, serial="v", shareable=True),
        Interface(mac="fa:16:3e:aa:bb:cc", bridge="br0"),
        Interface(mac="fa:16:3e:aa:bb:cc", bridge="br0", target="tapx", model="e1000", mtu=1450),
        Serial(),
        Serial(log_file="/l", log_append=True, port=1),
        Console(port=1),
        InstanceMetadata(uuid=UUID, display_name="n", image_id="i", root_gb=2, ephemeral_gb=1, swap_mb=3),
    ],
)
def test_part_round_trip(part):
    assert type(part).from_element(part.to_element()) == part


def test_guest_round_trip_through_text():
    guest = make_guest()
    assert Guest.from_xml(guest.to_xml()).normalized() == guest.normalized()


def test_guest_xml_has_nova_layout():
    root = ET.fromstring(make_guest().to_xml())
    assert root.get("type") == "qemu"
    assert root.find("os/type").get("machine") == "q35"
    assert root.find("vcpu").text == "2" and root.find("vcpu").get("current") == "1"
    assert root.find("devices/serial/log").get("file") == "/x/console.log"
    assert root.find("devices/serial/log").get("append") == "off"
    assert root.find("devices/console/target").get("type") == "serial"
    cd = [d for d in root.findall("devices/disk") if d.get("device") == "cdrom"][0]
    assert cd.find("target").attrib == {"dev": "sda", "bus": "sata"}
    assert root.find(f"metadata/{{{STRATUS_NS}}}instance/{{{STRATUS_NS}}}uuid").text == UUID


LIBVIRT_XML = f"""<domain type='qemu' id='3'>
  <name>instance-{UUID}</name>
  <uuid>{UUID}</uuid>
  <metadata>
    <stratus:instance xmlns:stratus="{STRATUS_NS}">
      <stratus:uuid>{UUID}</stratus:uuid>
      <stratus:name>demo</stratus:name>
      <stratus:image uuid="cirros"/>
      <stratus:flavor root_gb="1" ephemeral_gb="0" swap_mb="64"/>
    </stratus:instance>
  </metadata>
  <memory unit='MiB'>128</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><boot dev='hd'/></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/stratus/instances/{UUID}/disk' index='2'/>
      <backingStore type='file' index='3'><format type='raw'/><source file='/img'/></backingStore>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/loop7'/>
      <target dev='vdb' bus='virtio'/>
      <serial>vol-1</serial>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/x/disk.config'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <controller type='sata' index='0'/>
    <interface type='bridge'>
      <mac address='FA:16:3E:00:00:01'/>
      <source bridge='brq12345678901'/>
      <target dev='tap12345678901'/>
      <model type='virtio'/>
      <alias name='net0'/>
    </interface>
    <serial type='pty'>
      <source path='/dev/pts/3'/>
      <log file='/x/console.log' append='off'/>
      <target type='isa-serial' port='0'><model name='isa-serial'/></target>
    </serial>
    <console type='pty' tty='/dev/pts/3'>
      <log file='/x/console.log' append='off'/>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='virtio'/>
  </devices>
</domain>"""


def test_libvirt_expanded_xml_compares_equal_to_wanted():
    parsed = Guest.from_xml(LIBVIRT_XML)
    wanted = make_guest()
    assert parsed != wanted  # machine alias differs as text ...
    assert wanted.same_as(parsed)  # ... but it is the same guest


@pytest.mark.parametrize(
    "change",
    [
        {"vcpus": 2},
        {"memory_kib": 262144},
        {"virt_type": "kvm"},
        {"disks": ()},
        {"interfaces": (Interface(mac="fa:16:3e:00:00:02", bridge="brq12345678901"),)},
        {"metadata": None},
    ],
)
def test_any_managed_difference_is_seen(change):
    assert not make_guest(**change).same_as(Guest.from_xml(LIBVIRT_XML))


def test_max_equal_to_current_is_the_default():
    g = make_guest(max_vcpus=0, vcpus=2, memory_kib=65536, max_memory_kib=0)
    assert g.same_as(make_guest(max_vcpus=2, vcpus=2, memory_kib=65536, max_memory_kib=65536))


def test_metadata_of_tells_owned_from_foreign():
    assert metadata_of(LIBVIRT_XML).uuid == UUID
    assert metadata_of("<domain><name>x</name></domain>") is None


def test_units_and_aliases():
    assert Guest.from_xml(LIBVIRT_XML).max_memory_kib == 131072
    assert normalize_machine("pc-i440fx-7.2") == "pc"
    assert normalize_machine("virt") == "virt"


def test_bad_xml_is_a_typed_error():
    with pytest.raises(InvalidInput):
        Guest.from_xml("<domain>")
