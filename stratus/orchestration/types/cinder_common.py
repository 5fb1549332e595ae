"""What the ``OS::Cinder::*`` types share: the storage host's backend options, as host
variables of the registry's inventory (defaults: the block_storage role's), for every
task of the volume modules (``volume``, ``volume_snapshot``, ``volume_export``,
``image_upload`` of a volume), and the registry of volume actions.

Host variables of a storage host (all optional):

- ``stratus_volume_dir``: the file backend's directory (``/var/lib/stratus/volumes``);
- ``stratus_volume_vg``: the LVM backend's volume group (``stratus-volumes``);
- ``stratus_lvm_activation`` (``auto``/``on``/``off``), ``stratus_lvm_system_dir``;
- ``stratus_export_state_dir``: where NBD exports keep their state;
- ``stratus_storage_ip``: its address on the storage network (exports listen there; on
  a compute host: the initiator address exports allow);
- ``stratus_storage_netns``: run exports in this network namespace (a test stand-in);
- ``stratus_storage_availability_zone``: its zone (default
  ``volume_default_availability_zone``).
"""

from __future__ import annotations

from stratus.orchestration.actions import Actions

# Options of the volume modules that come from the storage host's variables (the
# compiler's own Jinja: pass as ``task(..., templated=BACKEND)``).
BACKEND = {
    "directory": "{{ stratus_volume_dir | default('/var/lib/stratus/volumes') }}",
    "vg": "{{ stratus_volume_vg | default('stratus-volumes') }}",
    "lvm_activation": "{{ stratus_lvm_activation | default('auto') }}",
    "lvm_system_dir": "{{ stratus_lvm_system_dir | default(omit) }}",
}
# Where the volume modules ask who uses a volume (guests, exports).
USAGE = {
    "libvirt_uri": "{{ stratus_libvirt_uri | default('qemu:///system') }}",
    "export_state_dir": "{{ stratus_export_state_dir | default('/var/lib/stratus/exports') }}",
}

# the volume actions (``OS::Cinder::Volume.plan_action``): ``@action(name, help)``
action = Actions()
