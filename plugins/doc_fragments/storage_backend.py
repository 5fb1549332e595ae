"""Options shared by the block-storage modules (stratus.cloud.volume and friends)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - The backend that holds the volume; C(lvm) (LVs in O(vg)) or C(file) (files in O(directory)).
      - When omitted, O(volume_type) picks it through O(volume_types).
    type: str
    choices: [lvm, file]
  volume_type:
    description:
      - Cinder volume type; mapped to a backend by O(volume_types). Unset means C(__DEFAULT__).
    type: str
  volume_types:
    description: Volume type name to backend (C(lvm) or C(file)), like Cinder's volume_backend_name.
    type: dict
    default: {__DEFAULT__: file, lvm: lvm, file: file}
  vg:
    description: Volume group of the C(lvm) backend.
    type: str
    default: stratus-volumes
  directory:
    description: Directory of the C(file) backend.
    type: path
    default: /var/lib/stratus/volumes
  lvm_activation:
    description:
      - Whether LVs may be activated. C(auto) probes for device-mapper (C(/dev/mapper/control)
        exists and C(dmsetup version) succeeds). C(off) runs every LVM command with
        C(--driverloaded n); metadata operations work, copying data into or out of LVs and
        LVM snapshots fail with a clear error.
    type: str
    choices: [auto, on, 'off']
    default: auto
  lvm_system_dir:
    description: LVM_SYSTEM_DIR for the LVM commands (a directory with an lvm.conf, e.g. C(activation = 0)).
    type: path
  volume_clear:
    description:
      - How a volume's or snapshot's data is cleared before it is deleted (Cinder's C(volume_clear)), so no
        tenant reads another's data from reused blocks. C(zero) overwrites it with zeros (files - only
        their data extents, then flushed; LVs - C(dd if=/dev/zero)), C(shred) overwrites it three times
        (C(shred -n 3)), C(none) leaves it.
      - LVs on a host with activation off were never opened, so there is nothing to clear (the result's
        C(actions) says so).
    type: str
    choices: [zero, none, shred]
    default: zero
  volume_clear_size:
    description: Clear only the first this many MiB (Cinder's C(volume_clear_size)); C(0) clears the whole volume.
    type: int
    default: 0
"""

    USAGE = r"""
options:
  libvirt_uri:
    description: Libvirt URI asked which guests on this host use the volume.
    type: str
    default: qemu:///system
  export_state_dir:
    description: Where stratus.cloud.volume_export keeps its exports (asked which exports use the volume).
    type: path
    default: /var/lib/stratus/exports
"""
