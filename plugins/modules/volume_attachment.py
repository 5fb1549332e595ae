#!/usr/bin/python
"""stratus.cloud.volume_attachment: a volume attached to a guest (Nova's volume attach)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: volume_attachment
short_description: Attach and detach volumes to libvirt guests, live and persistent
description:
  - Makes the volume a disk of the guest O(instance) (running or stopped), in the live guest
    and in its persistent definition, as Nova's volume attach does. The disk carries the volume
    id as its serial, which makes the task idempotent and lets every guest be searched for it.
  - The volume is reached by O(connection) (Cinder's connection info) - a local path, or an
    NBD export from stratus.cloud.volume_export on another host - or, when O(connection) is
    unset, on this host's backend (O(backend), O(vg), O(directory)).
  - A volume in use by another guest on this host is attached again only when it is
    multiattach (the disk is then C(<shareable/>)); otherwise it is a clear error.
  - Detaching a disk from a running guest waits until the guest has let it go, then removes it
    from the definition; when the guest does not, nothing is changed and the task fails.
version_added: "0.1.0"
author: Stratus
options:
  instance:
    description: The libvirt domain name of the guest (C(instance-<uuid>)).
    type: str
    required: true
  volume_id:
    description: The volume.
    type: str
    required: true
  state:
    description: Whether the volume is attached.
    type: str
    choices: [present, absent]
    default: present
  device:
    description: The guest device name to use (C(vdb)); unset takes the first free one.
    type: str
  connection:
    description:
      - How this host reaches the volume. C(driver_volume_type=local) with C(path) and C(format),
        or C(driver_volume_type=nbd) with C(host), C(port), C(name) (the RV(stratus.cloud.volume_export#module:export.connection) of the export).
      - A local C(path) must be a volume of this host's backend (inside O(directory), or C(/dev/<vg>/<lv>));
        an NBD C(host) must be an IP address. Anything else is refused before the guest is touched.
    type: dict
  multiattach:
    description: Whether the volume is multiattach. Unset reads it from this host's backend (false for a connection).
    type: bool
  detach_timeout:
    description: Seconds to wait for a running guest to release the disk.
    type: int
    default: 60
  iotune:
    description:
      - I/O limits of the disk (libvirt C(<iotune>)), keyed by Cinder's front-end QoS spec names, which
        libvirt uses too - C(total_bytes_sec), C(read_bytes_sec), C(write_bytes_sec), C(total_iops_sec),
        C(read_iops_sec), C(write_iops_sec) and their burst variants C(<name>_max). Values are whole
        numbers (strings of digits too, as Cinder stores them); C(0) means no limit.
      - Set on attach; on a volume already attached, the limits are made exactly these in the
        persistent definition and, when the guest runs, live (C({}) removes every limit).
        Unset leaves an attached disk's limits as they are.
      - C(total_*) cannot be combined with C(read_*)/C(write_*) of the same unit, and a C(*_max)
        needs its rate set and at least as large (QEMU refuses both when the guest starts).
    type: dict
extends_documentation_fragment:
  - stratus.cloud.storage_backend
  - stratus.cloud.storage_backend.usage
notes:
  - Device names start at C(vdd) (the instance module keeps C(vda) root, C(vdb) ephemeral, C(vdc)
    swap). As with Nova, the name is the one in the domain XML; a Linux guest names hot-plugged
    disks in probe order, so inside the guest find the volume by its serial
    (C(/sys/block/*/serial) holds the first 20 characters of the volume id).
  - On a host without device-mapper, LVM volumes cannot be opened, so they can only be attached to
    stopped guests (definition only); use the C(file) backend or an export there.
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
"""

EXAMPLES = r"""
- name: Attach a file-backend volume of this host
  stratus.cloud.volume_attachment:
    instance: instance-5e0cbd8e-9b0e-4d6f-8a7e-1b2c3d4e5f60
    volume_id: 0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33
    backend: file
  register: attached

- name: Attach a volume exported by a storage host
  stratus.cloud.volume_attachment:
    instance: instance-5e0cbd8e-9b0e-4d6f-8a7e-1b2c3d4e5f60
    volume_id: 0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33
    connection: "{{ export.export.connection }}"

- name: Attach with the front-end QoS specs of the volume's type
  stratus.cloud.volume_attachment:
    instance: instance-5e0cbd8e-9b0e-4d6f-8a7e-1b2c3d4e5f60
    volume_id: 0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33
    backend: file
    iotune:
      read_iops_sec: 500
      write_iops_sec: 200
      total_bytes_sec: 104857600

- name: Detach it
  stratus.cloud.volume_attachment:
    instance: instance-5e0cbd8e-9b0e-4d6f-8a7e-1b2c3d4e5f60
    volume_id: 0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33
    state: absent
"""

RETURN = r"""
device:
  description: The device path the guest sees (C(/dev/vdb)); empty when detached.
  returned: always
  type: str
attachment:
  description: The volume disk of the guest after the task; empty when detached.
  returned: always
  type: dict
  contains:
    volume_id: {description: The volume (the disk's serial)., type: str, returned: when attached}
    device: {description: Device path in the guest., type: str, returned: when attached}
    target: {description: Device name in the domain XML., type: str, returned: when attached}
    kind: {description: C(file), C(block) or C(network)., type: str, returned: when attached}
    path: {description: Local file or device (empty for network disks)., type: str, returned: when attached}
    format: {description: Disk driver format., type: str, returned: when attached}
    nbd: {description: NBD host, port and export name for network disks., type: dict, returned: when attached}
    shareable: {description: Whether the disk is shared (multiattach)., type: bool, returned: when attached}
    iotune: {description: "The disk's I/O limits, by libvirt/Cinder key (empty when unlimited).", type: dict, returned: when attached}
diff:
  description: The volume disk before and after (C({}) when absent); shown under C(--diff).
  returned: always
  type: dict
actions:
  description: The steps taken (in check mode, the steps that would be taken), in order.
  returned: always
  type: list
  elements: str
"""

from functools import partial

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.storage.attach import VolumeAttacher
from ansible_collections.stratus.cloud.plugins.module_utils.storage.attachments import (
    AttachmentDriver,
    AttachmentSpec,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.backends import (
    BACKEND_ARGS,
    USAGE_ARGS,
    open_backend,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import StorageError


def main() -> None:
    argument_spec = {
        "instance": {"type": "str", "required": True},
        "volume_id": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "device": {"type": "str"},
        "connection": {"type": "dict"},
        "multiattach": {"type": "bool"},
        "detach_timeout": {"type": "int", "default": 60},
        "iotune": {"type": "dict"},
        **BACKEND_ARGS,
        **USAGE_ARGS,
    }
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        spec = AttachmentSpec(instance=params["instance"], volume_id=params["volume_id"],
                              device=params["device"] or "", connection=params["connection"],
                              multiattach=params["multiattach"], detach_timeout=params["detach_timeout"],
                              iotune=params["iotune"])
        driver = AttachmentDriver(VolumeAttacher(params["libvirt_uri"]), partial(open_backend, params))
        ensure = driver.ensure_present if params["state"] == "present" else driver.ensure_absent
        outcome = ensure(spec, check=module.check_mode)
    except StorageError as exc:
        module.fail_json(msg=str(exc), volume_id=params["volume_id"], instance=params["instance"])
    exit_with(module, outcome, attachment=outcome.after, device=outcome.after.get("device", ""))


if __name__ == "__main__":
    main()
