"""Nova's block_device_mapping_v2 as ``stratus.volume.boot`` reads it (the shapes the
openstack CLI sends) and the template a boot from volume becomes; the refusals with
Nova's words are tested through the API (tests/api/volume/test_boot_from_volume.py)."""

from __future__ import annotations

import pytest

from stratus.errors import BadRequest
from stratus.versions import APIVersion
from stratus.volume import boot

IMG = "0b6f7c3e-2d4a-4b5c-9e8f-1a2b3c4d5e6f"
VOL = "5b0f6c2e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
V = APIVersion(2, 79)


def parse(bdm, image="", count=1):
    return boot.parse({"block_device_mapping_v2": bdm}, image, count, V)


def test_the_clis_shapes():
    # server create --boot-from-volume 1 --image IMG [--delete-on-termination]
    got = parse([{"uuid": IMG, "boot_index": 0, "source_type": "image", "destination_type": "volume",
                  "volume_size": 1, "delete_on_termination": True}])
    assert got == boot.BootVolume("image", IMG, 1, True)
    # server create --volume VOL
    got = parse([{"uuid": VOL, "boot_index": 0, "source_type": "volume", "destination_type": "volume"}])
    assert got == boot.BootVolume("volume", VOL, None, False)
    # server create --image IMG: the plain image boot, no volume
    assert parse([{"uuid": IMG, "boot_index": 0, "source_type": "image", "destination_type": "local",
                   "delete_on_termination": True}], image=IMG) is None
    assert boot.parse({}, IMG, 1, V) is None


def test_one_volume_for_many_servers_and_image_with_a_volume_are_refused():
    with pytest.raises(BadRequest, match="multiple instances"):
        parse([{"uuid": VOL, "boot_index": 0, "source_type": "volume"}], count=2)
    with pytest.raises(BadRequest, match="Boot sequence"):
        parse([{"uuid": VOL, "boot_index": 0, "source_type": "volume"}], image=IMG)
    with pytest.raises(BadRequest, match="Mapping image to local is not supported"):
        parse([{"uuid": IMG, "boot_index": 0, "source_type": "image", "destination_type": "local"}])
    with pytest.raises(BadRequest, match="server add volume"):
        parse([{"uuid": IMG, "boot_index": 0, "source_type": "image", "destination_type": "volume",
                "volume_size": 1}, {"uuid": VOL, "boot_index": 1, "source_type": "volume"}])


def test_the_template_makes_the_volume_the_server_depends_on():
    res, props = boot.template(boot.BootVolume("image", IMG, 2, True), "server", "s", "nova")
    assert res == {"server-root-volume": {"type": "OS::Cinder::Volume", "properties": {
        "size": 2, "image": IMG, "name": "", "availability_zone": "nova"}}}
    assert props == {"block_device_mapping_v2": [{"volume_id": {"get_resource": "server-root-volume"},
                                                  "boot_index": 0, "delete_on_termination": True}]}
    res, props = boot.template(boot.BootVolume("volume", VOL), "server", "s", None)
    assert res == {} and props["block_device_mapping_v2"][0]["volume_id"] == VOL


class _Res:
    def __init__(self, root):
        self.attributes = {"root_volume": root}


def test_instance_option_is_the_recorded_local_connection():
    root = {"id": VOL, "connection": {"driver_volume_type": "local", "path": f"/v/volume-{VOL}",
                                      "format": "raw"}, "volume_roots": ["/v", "/dev/vg"]}
    assert boot.instance_option(_Res(root)) == {
        "root_volume": {"serial": VOL, "connection": root["connection"]}, "volume_roots": ["/v", "/dev/vg"]}
    assert boot.instance_option(_Res(None)) == {}
