#!/usr/bin/python
# Copyright: Stratus developers
# Apache-2.0
"""stratus.cloud.instance: a libvirt guest in a wanted state (Nova's compute host side)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: instance
short_description: A libvirt guest (a Stratus/Nova instance) in a wanted state
description:
  - Makes the libvirt domain C(instance-<uuid>) of a Stratus instance exist in the wanted
    power state with the wanted vCPUs, RAM, disks, NICs and config drive, or removes it.
  - "Files live where Nova keeps them: C(/var/lib/stratus/instances/<uuid>/) holds C(disk)
    (a qcow2 overlay on the cached base image C(/var/lib/stratus/images/<image_id>), grown
    to O(root_gb)) unless the guest boots from a volume (O(root_volume)), C(disk.eph0), C(disk.swap), C(disk.config) (the config drive, a
    config-2 ISO on a SATA cdrom C(sda)) and C(console.log) (the serial console log)."
  - The domain carries C(<metadata><stratus:instance>) with the instance uuid; a domain of
    the same name without it is not touched (the module fails).
  - Changing O(vcpus) or O(memory_mb) is a resize. Within O(max_vcpus)/O(max_memory_mb) it
    is done live on a running guest (libvirt setVcpus/setMemory); otherwise cold (the guest
    is stopped, redefined and brought back to its power state). Volumes and NICs added or
    removed on a running guest are hot-plugged.
  - "Power states: C(running), C(paused), C(suspended) (libvirt managed save), C(stopped)
    (shut off) and C(absent) (domain and instance directory removed)."
  - The module talks to libvirt through the driver C(LibvirtDriver) in
    C(plugins/module_utils/compute/libvirt_driver.py).
version_added: "0.1.0"
author: Stratus developers
options:
  uuid:
    description: The instance uuid. Names the domain and the instance directory.
    type: str
    required: true
  name:
    description: The libvirt domain name; C(instance-<uuid>) when not given.
    type: str
  display_name:
    description: The instance's display name (also the default guest hostname).
    type: str
    default: ''
  state:
    description: Wanted power state, or V(absent) to remove the guest and its files.
    type: str
    choices: [running, stopped, paused, suspended, absent]
    default: running
  image_id:
    description:
      - The base image in the host's image cache (see M(stratus.cloud.image_cache)).
        Required to create the instance unless it boots from O(root_volume); unused later
        (with O(root_volume) only recorded in the domain's metadata).
    type: str
  root_volume:
    description:
      - Boot from a volume (Nova's boot from volume) - the root disk C(vda) is this volume
        instead of an overlay on O(image_id), and O(root_gb) is not applied to it (the
        volume's size is the disk's; extend the volume to grow it).
      - The volume's file or device is never removed with the instance (O(state=absent)
        removes only the domain and the instance directory).
      - The root disk of a defined guest changes only while it is stopped; a running
        guest whose root disk would change is refused.
    type: dict
    suboptions:
      serial:
        description: The volume id (the disk's serial, as Nova sets it).
        type: str
        required: true
      connection:
        description:
          - How this host reaches the volume, as M(stratus.cloud.volume_attachment) takes it
            (Cinder's connection info) - C(driver_volume_type=local) with C(path) and
            C(format) (V(raw) or V(qcow2)), or C(driver_volume_type=nbd) with C(host) (an IP
            address), C(port) and C(name) (the export of M(stratus.cloud.volume_export)).
          - A local C(path) must lie in O(volume_roots), like O(volumes[].path).
        type: dict
        required: true
  vcpus:
    description: vCPUs the guest has.
    type: int
    default: 1
  max_vcpus:
    description: Most vCPUs a live resize may give (V(0) means O(vcpus)).
    type: int
    default: 0
  memory_mb:
    description: RAM in MiB. More than the host has is refused.
    type: int
    default: 128
  max_memory_mb:
    description: Most RAM a live resize may give (V(0) means O(memory_mb)).
    type: int
    default: 0
  root_gb:
    description:
      - Root disk size in GiB (V(0) = the image's size). The root disk only grows.
    type: int
    default: 0
  ephemeral_gb:
    description: Size of the ephemeral disk C(disk.eph0) (C(vdb), unformatted); V(0) = none.
    type: int
    default: 0
  swap_mb:
    description: Size of the swap disk C(disk.swap) (C(vdc), unformatted); V(0) = none.
    type: int
    default: 0
  nics:
    description:
      - The guest's NICs, in order. Omit to keep the NICs the guest has.
    type: list
    elements: dict
    suboptions:
      bridge:
        description: Linux bridge the tap device is plugged into.
        type: str
        required: true
      mac:
        description: MAC address (unicast), for example C(fa:16:3e:00:00:01).
        type: str
        required: true
      target:
        description: The tap device name (Neutron's C(tap) + 11 characters of the port id).
        type: str
      model:
        description: NIC model.
        type: str
        default: virtio
      mtu:
        description: MTU of the tap device (V(0) = the bridge's).
        type: int
        default: 0
  volumes:
    description:
      - Volume disks. Omit to keep whatever volume disks the guest has (so volumes that
        M(stratus.cloud.volume_attachment) attached stay); V([]) removes them all.
    type: list
    elements: dict
    suboptions:
      path:
        description: File or block device of the volume.
        type: str
        required: true
        aliases: [source]
      target:
        description: Guest device name, for example C(vdd) (C(vda)-C(vdc) and C(sda) are taken).
        type: str
        required: true
      bus:
        description: Disk bus.
        type: str
        default: virtio
      format:
        description: Format of the volume's data.
        type: str
        choices: [raw, qcow2]
        default: raw
      serial:
        description: Disk serial (the volume id, as Nova sets it).
        type: str
  volume_roots:
    description:
      - Where volume disks may come from; a O(volumes[].path) or local
        O(root_volume.connection) path elsewhere (C(/etc/shadow), a
        host disk) is refused. A directory root admits files inside it (links resolved); a
        C(/dev/<vg>) root admits C(/dev/<vg>/<lv>).
      - Default, when not given, is C(volume_roots) of C(/etc/stratus/compute.conf)
        (written by the compute role), else C(/var/lib/stratus/volumes) and
        C(/dev/stratus-volumes) (the block-storage role's file directory and volume group).
    type: list
    elements: str
  config_drive:
    description: Attach a config drive (C(disk.config)) built from the options below.
    type: bool
    default: true
  hostname:
    description: Hostname in the config drive's C(meta_data.json) (default from the name).
    type: str
  metadata:
    description: Key/value metadata (C(meta) in C(meta_data.json)).
    type: dict
    default: {}
  user_data:
    description: User data, as given to Nova (a script or cloud-config).
    type: str
  network_data:
    description: Nova's C(network_data.json) content (links, networks, services).
    type: dict
  keys:
    description: Public SSH keys, name to key (C(public_keys) in C(meta_data.json)).
    type: dict
    default: {}
  virt_type:
    description:
      - V(kvm) or V(qemu) (TCG). V(auto) reads C(virt_type) from
        C(/etc/stratus/compute.conf), which the C(compute) role writes, and else uses
        V(qemu). C(/dev/kvm) existing is not taken as proof that KVM works.
    type: str
    choices: [auto, kvm, qemu]
    default: auto
  machine:
    description: QEMU machine type.
    type: str
    default: q35
  uri:
    description: libvirt connection URI.
    type: str
    default: qemu:///system
  shutdown_timeout:
    description: Seconds to wait for an ACPI shutdown before powering off (V(0) powers off at once).
    type: int
    default: 60
  instances_dir:
    description: Parent directory of instance directories.
    type: path
    default: /var/lib/stratus/instances
  images_dir:
    description: The image cache.
    type: path
    default: /var/lib/stratus/images
attributes:
  check_mode:
    support: full
    details: Plans every step (files, definition, power state) and changes nothing.
  diff_mode:
    support: full
    details: Before/after domain XML (the parts Stratus manages) and the power state.
notes:
  - Metadata, user data and network data changes rebuild the config drive; the guest
    sees them at its next boot, as with Nova.
requirements:
  - libvirt-python, qemu-img and genisoimage (or xorriso) on the compute host.
"""

EXAMPLES = r"""
- name: Boot a guest from a cached image
  stratus.cloud.instance:
    uuid: 6f1c2f5e-1d5a-4c59-9d5e-0b7b3f1f0a11
    display_name: demo
    image_id: tiny
    vcpus: 1
    memory_mb: 256
    root_gb: 1
    nics:
      - bridge: brq0123456789a
        mac: fa:16:3e:00:00:01
        target: tap0123456789a
    user_data: |
      #!/bin/sh
      echo hello
    state: running

- name: Boot a guest from a volume of this host's file backend
  stratus.cloud.instance:
    uuid: 2b7e4a1c-3d5f-4e6a-8b9c-0d1e2f3a4b5c
    display_name: from-volume
    root_volume:
      serial: 0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33
      connection:
        driver_volume_type: local
        path: /var/lib/stratus/volumes/volume-0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33
        format: raw
    memory_mb: 256
    state: running

- name: Resize it (live, within the maximums)
  stratus.cloud.instance:
    uuid: 6f1c2f5e-1d5a-4c59-9d5e-0b7b3f1f0a11
    image_id: tiny
    vcpus: 2
    max_vcpus: 2
    memory_mb: 256

- name: Remove it with its files
  stratus.cloud.instance:
    uuid: 6f1c2f5e-1d5a-4c59-9d5e-0b7b3f1f0a11
    state: absent
"""

RETURN = r"""
instance:
  description: The guest after the run ({} when absent).
  returned: always
  type: dict
  contains:
    name: {description: Domain name., type: str, returned: when present}
    uuid: {description: Instance uuid., type: str, returned: when present}
    owned: {description: The domain carries Stratus metadata., type: bool, returned: when present}
    display_name: {description: Display name., type: str, returned: when present}
    image_id: {description: The base image., type: str, returned: when present}
    state: {description: "Power state: running, paused, suspended, stopped.", type: str, returned: when present}
    virt_type: {description: kvm or qemu., type: str, returned: when present}
    machine: {description: Machine type., type: str, returned: when present}
    vcpus: {description: vCPUs., type: int, returned: when present}
    max_vcpus: {description: Most vCPUs a live resize may give., type: int, returned: when present}
    memory_mb: {description: RAM in MiB., type: int, returned: when present}
    max_memory_mb: {description: Most RAM a live resize may give., type: int, returned: when present}
    root_gb: {description: Root disk GiB (0 = image size)., type: int, returned: when present}
    ephemeral_gb: {description: Ephemeral disk GiB., type: int, returned: when present}
    swap_mb: {description: Swap disk MiB., type: int, returned: when present}
    disks: {description: "Disks: target, source, bus, device, format, type, serial, readonly.", type: list, elements: dict, returned: when present}
    nics: {description: "NICs: mac, bridge, target, model, mtu.", type: list, elements: dict, returned: when present}
    console_log: {description: The serial console log file., type: str, returned: when present}
  sample:
    name: instance-6f1c2f5e-1d5a-4c59-9d5e-0b7b3f1f0a11
    state: running
    vcpus: 1
    memory_mb: 256
steps:
  description: What the run did (or would do in check mode), in order.
  returned: always
  type: list
  elements: str
  sample: [create files, define, start]
resize:
  description: How vCPU/RAM/device changes were applied.
  returned: always
  type: str
  choices: [none, config, live, cold, create]
  sample: live
actions:
  description: The same steps as RV(steps) (the result every Stratus module carries).
  returned: always
  type: list
  elements: str
diff:
  description: Before/after C(state) (power state) and C(xml) (domain XML, the parts Stratus manages); {} when absent.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    ComputeError,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.host import read_conf
from ansible_collections.stratus.cloud.plugins.module_utils.compute.instance import (
    InstanceSpec,
    volume_roots,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.instance_driver import (
    InstanceDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.qemu import module_qemu_img

STATE_OPTS = ("running", "stopped", "paused", "suspended", "absent")


def run(module: AnsibleModule) -> None:
    p = module.params
    spec = InstanceSpec.from_params(p, volume_roots(p["volume_roots"], read_conf()))
    qemu_img = module_qemu_img(module)
    lv = LibvirtDriver(p["uri"])
    drv = InstanceDriver(lv, qemu_img, p["instances_dir"], p["images_dir"],
                         virt_type=p["virt_type"], shutdown_timeout=p["shutdown_timeout"])
    try:
        if p["state"] == "absent":
            outcome = drv.ensure_absent(spec, check=module.check_mode)
        else:
            outcome = drv.ensure_present(spec, state=p["state"], check=module.check_mode)
    finally:
        lv.close()
    exit_with(module, outcome, steps=list(outcome.actions), resize=outcome.resize, instance=outcome.facts)


def main() -> None:
    nic = dict(
        bridge=dict(type="str", required=True),
        mac=dict(type="str", required=True),
        target=dict(type="str"),
        model=dict(type="str", default="virtio"),
        mtu=dict(type="int", default=0),
    )
    volume = dict(
        path=dict(type="str", required=True, aliases=["source"]),
        target=dict(type="str", required=True),
        bus=dict(type="str", default="virtio"),
        format=dict(type="str", default="raw", choices=["raw", "qcow2"]),
        serial=dict(type="str"),
    )
    module = AnsibleModule(
        argument_spec=dict(
            uuid=dict(type="str", required=True),
            name=dict(type="str"),
            display_name=dict(type="str", default=""),
            state=dict(type="str", default="running", choices=list(STATE_OPTS)),
            image_id=dict(type="str"),
            vcpus=dict(type="int", default=1),
            max_vcpus=dict(type="int", default=0),
            memory_mb=dict(type="int", default=128),
            max_memory_mb=dict(type="int", default=0),
            root_gb=dict(type="int", default=0),
            ephemeral_gb=dict(type="int", default=0),
            swap_mb=dict(type="int", default=0),
            nics=dict(type="list", elements="dict", options=nic),
            volumes=dict(type="list", elements="dict", options=volume),
            root_volume=dict(type="dict", options=dict(
                serial=dict(type="str", required=True),
                connection=dict(type="dict", required=True),
            )),
            volume_roots=dict(type="list", elements="str"),
            config_drive=dict(type="bool", default=True),
            hostname=dict(type="str"),
            metadata=dict(type="dict", default={}),
            user_data=dict(type="str"),
            network_data=dict(type="dict"),
            keys=dict(type="dict", default={}, no_log=False),
            virt_type=dict(type="str", default="auto", choices=["auto", "kvm", "qemu"]),
            machine=dict(type="str", default="q35"),
            uri=dict(type="str", default="qemu:///system"),
            shutdown_timeout=dict(type="int", default=60),
            instances_dir=dict(type="path", default="/var/lib/stratus/instances"),
            images_dir=dict(type="path", default="/var/lib/stratus/images"),
        ),
        supports_check_mode=True,
    )
    try:
        run(module)
    except ComputeError as exc:
        module.fail_json(msg=str(exc), error=type(exc).__name__)


if __name__ == "__main__":
    main()
