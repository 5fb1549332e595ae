#!/usr/bin/python
"""stratus.cloud.instance_action: Nova's server actions on the compute host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: instance_action
short_description: Reboot, snapshot, rebuild, rescue, migrate an instance or read its console log
description:
  - Runs one of Nova's server actions on the libvirt domain C(instance-<uuid>) of this compute
    host and the files under C(/var/lib/stratus/instances/<uuid>/).
  - C(reboot) soft is an ACPI shutdown and a start; a guest that does not stop within
    O(timeout) seconds is rebooted hard (destroy and start), as Nova falls back. A hard reboot
    of a stopped guest starts it; a soft one fails. Each run reboots again.
  - C(snapshot) copies the root disk into the image cache as a standalone qcow2
    C(/var/lib/stratus/images/<image_id>). A running guest is copied by libvirt's block copy
    (qemu mirrors the whole backing chain into the new file, the job is aborted without pivot
    once in sync, so the copy is crash-consistent and the guest never pauses); a stopped guest
    by C(qemu-img convert). A snapshot to an image id this instance already made is not a
    change; an image id that exists otherwise is an error.
  - C(rebuild) re-creates the root disk as a new overlay on O(image_id) of the same size,
    keeps uuid, name and MACs, records the new image in the domain metadata, rewrites the
    config drive when O(config_drive) is given and leaves the guest running or stopped as it
    was. Each run rebuilds again.
  - C(rescue) boots the guest from O(image_id) (default the instance's own image) with its
    root disk as the second disk, and keeps the original definition in C(unrescue.xml);
    C(unrescue) restores it. Both are states (no change when already there).
  - C(migrate) moves the instance to the libvirt host O(dest_uri). Cold (O(live=false)) stops
    it, copies its disks (and the base image when the destination lacks it) over libvirt's
    storage streams, defines it there with the same XML, starts it if it ran, then removes it
    here. Live keeps it running (libvirt migration with incremental storage copy). An
    instance already on the destination only is not a change; on a failure the instance stays
    (or is put back) here as it was.
  - C(console_log) returns the last O(lines) lines of the serial console log; it changes nothing.
version_added: "0.1.0"
author: Stratus
options:
  uuid:
    description: The instance's UUID (Nova's server id); the domain is C(instance-<uuid>).
    type: str
    required: true
  action:
    description: The action to run.
    type: str
    required: true
    choices: [reboot, snapshot, rebuild, rescue, unrescue, migrate, console_log]
  uri:
    description: The libvirt URI of this (the source) host.
    type: str
    default: qemu:///system
  reboot_type:
    description: For C(reboot). C(soft) tries an ACPI shutdown first; C(hard) destroys and starts.
    type: str
    choices: [soft, hard]
  timeout:
    description:
      - Seconds to wait for the guest to stop on an ACPI shutdown (C(reboot) soft, C(rebuild) and
        cold C(migrate) of a running guest) before destroying it; for C(snapshot), the most seconds
        the block copy may take.
    type: int
  image_id:
    description:
      - For C(snapshot), the id of the new image; for C(rebuild), the image to rebuild on; for
        C(rescue), the rescue image (default the instance's own image). The image must be in the
        host's image cache (C(/var/lib/stratus/images/)) for C(rebuild) and C(rescue).
    type: str
  config_drive:
    description:
      - For C(rebuild), new config drive content. Keys C(meta_data) (dict; its C(uuid) is set to
        the instance's), C(user_data) (str), C(network_data) (dict), C(vendor_data) (dict).
    type: dict
  dest_uri:
    description: For C(migrate), the libvirt URI of the destination host.
    type: str
  live:
    description: For C(migrate), migrate the running guest live instead of stopping it.
    type: bool
  migration_uri:
    description:
      - For live C(migrate), where the destination's QEMU listens (C(tcp://HOST)); by default libvirt
        uses the destination's hostname.
    type: str
  peer2peer:
    description: For live C(migrate), let the source libvirtd drive the migration (C(VIR_MIGRATE_PEER2PEER)).
    type: bool
  lines:
    description: For C(console_log), how many lines from the end of the log.
    type: int
attributes:
  check_mode:
    support: full
    details: Reports what the action would do (and, for migrate, which files would move) and changes nothing.
  diff_mode:
    support: full
    details: >-
      Before and after of the instance's host, power state, image, disks and rescue state; the domain XML
      for rebuild and rescue/unrescue.
notes:
  - Arguments that do not belong to the chosen action are refused, so a typo cannot be ignored silently.
"""

EXAMPLES = r"""
- name: Reboot a guest, hard if it ignores ACPI for 30 seconds
  stratus.cloud.instance_action:
    uuid: 3f0c2a8e-7f44-4d5a-9b7e-2f1d1c1e0a11
    action: reboot
    reboot_type: soft
    timeout: 30

- name: Snapshot its root disk into the image cache
  stratus.cloud.instance_action:
    uuid: 3f0c2a8e-7f44-4d5a-9b7e-2f1d1c1e0a11
    action: snapshot
    image_id: 9a1f7c1e-snap

- name: Rebuild on another image with new user data
  stratus.cloud.instance_action:
    uuid: 3f0c2a8e-7f44-4d5a-9b7e-2f1d1c1e0a11
    action: rebuild
    image_id: debian-12
    config_drive:
      meta_data: {name: web1, hostname: web1}
      user_data: "#!/bin/sh\necho hello\n"

- name: Rescue, then unrescue
  stratus.cloud.instance_action:
    uuid: 3f0c2a8e-7f44-4d5a-9b7e-2f1d1c1e0a11
    action: "{{ item }}"
  loop: [rescue, unrescue]

- name: Live-migrate to another compute host
  stratus.cloud.instance_action:
    uuid: 3f0c2a8e-7f44-4d5a-9b7e-2f1d1c1e0a11
    action: migrate
    dest_uri: qemu+tcp://compute2/system
    live: true

- name: Last 20 console lines
  stratus.cloud.instance_action:
    uuid: 3f0c2a8e-7f44-4d5a-9b7e-2f1d1c1e0a11
    action: console_log
    lines: 20
  register: console
"""

RETURN = r"""
action:
  description: The action that ran.
  type: str
  returned: always
instance:
  description: The instance after the action (in check mode, as it would be after it).
  type: dict
  returned: always
  contains:
    host:
      description: The libvirt URI of the host that has the instance.
      type: str
    power_state:
      description: running, paused, suspended, stopped or crashed.
      type: str
    image_id:
      description: The image recorded in the domain metadata (not for migrate).
      type: str
    rescued:
      description: Whether the instance is rescued (not for migrate).
      type: bool
    disks:
      description: Disk target to source path (not for migrate).
      type: dict
    macs:
      description: MAC addresses of the NICs (not for migrate).
      type: list
      elements: str
details:
  description:
    - What the action did. reboot - C(method) (soft, hard, or "hard (soft timed out)"). snapshot -
      C(image_id), C(path), C(method) (blockcopy or qemu-img convert), C(source), C(virtual_size).
      rebuild/rescue/unrescue - C(xml_before), C(xml_after). migrate - C(mode), C(dest_uri), C(files),
      C(base_images_copied), C(migrate_disks) (live), C(clean_shutdown) (cold of a running guest),
      C(already_migrated). console_log - C(path), C(lines), C(text).
  type: dict
  returned: always
lines:
  description: For console_log, the last lines of the console log.
  type: list
  elements: str
  returned: when action is console_log
actions:
  description: Steps taken (empty; the result every Stratus module carries).
  type: list
  elements: str
  returned: always
diff:
  description: Before/after summary of the instance (host, power state, image, disks, rescued), with C(xml) when the domain definition changed.
  type: dict
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import exit_with
from ansible_collections.stratus.cloud.plugins.module_utils.compute.actions import InstanceActions
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import ComputeError
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.migration import Migration

# Which optional arguments each action takes.
ACTION_ARGS = {
    "reboot": {"reboot_type", "timeout"},
    "snapshot": {"image_id", "timeout"},
    "rebuild": {"image_id", "config_drive", "timeout"},
    "rescue": {"image_id"},
    "unrescue": set(),
    "migrate": {"dest_uri", "live", "migration_uri", "peer2peer", "timeout"},
    "console_log": {"lines"},
}
OPTIONAL = {arg for args in ACTION_ARGS.values() for arg in args}


def check_args(params: dict) -> None:
    action = params["action"]
    extra = sorted(a for a in OPTIONAL - ACTION_ARGS[action] if params.get(a) is not None)
    if extra:
        raise ValueError(
            f"{', '.join(extra)} {'does' if len(extra) == 1 else 'do'} not apply to action "
            f"{action}; it takes {', '.join(sorted(ACTION_ARGS[action])) or 'no other arguments'}."
        )
    if action in ("snapshot", "rebuild") and not params.get("image_id"):
        raise ValueError(f"action {action} needs image_id.")
    if action == "migrate" and not params.get("dest_uri"):
        raise ValueError("action migrate needs dest_uri, the libvirt URI of the destination host.")


def run_action(actions: InstanceActions, params: dict, check: bool):
    action = params["action"]
    timeout = params.get("timeout")
    if action == "reboot":
        return actions.reboot(
            params.get("reboot_type") or "soft",
            timeout=60 if timeout is None else timeout,
            check=check,
        )
    if action == "snapshot":
        return actions.snapshot(params["image_id"], timeout=timeout or 600, check=check)
    if action == "rebuild":
        return actions.rebuild(
            params["image_id"],
            config_drive=params.get("config_drive"),
            timeout=60 if timeout is None else timeout,
            check=check,
        )
    if action == "rescue":
        return actions.rescue(params.get("image_id") or "", check=check)
    if action == "unrescue":
        return actions.unrescue(check=check)
    if action == "console_log":
        return actions.console_log(params.get("lines") or 50)
    migration = Migration(actions, params["dest_uri"])
    try:
        if params.get("live"):
            return migration.live(
                migration_uri=params.get("migration_uri") or "",
                peer2peer=bool(params.get("peer2peer")),
                check=check,
            )
        if params.get("migration_uri") or params.get("peer2peer") is not None:
            raise ValueError("migration_uri and peer2peer apply to live migration only (live: true).")
        return migration.cold(timeout=60 if timeout is None else timeout, check=check)
    finally:
        migration.close()


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "uuid": {"type": "str", "required": True},
            "action": {"type": "str", "required": True, "choices": list(ACTION_ARGS)},
            "uri": {"type": "str", "default": "qemu:///system"},
            "reboot_type": {"type": "str", "choices": ["soft", "hard"]},
            "timeout": {"type": "int"},
            "image_id": {"type": "str"},
            "config_drive": {"type": "dict"},
            "dest_uri": {"type": "str"},
            "live": {"type": "bool"},
            "migration_uri": {"type": "str"},
            "peer2peer": {"type": "bool"},
            "lines": {"type": "int"},
        },
        supports_check_mode=True,
    )
    params = module.params
    driver = LibvirtDriver(params["uri"])
    try:
        check_args(params)
        actions = InstanceActions(driver, params["uuid"])
        result = run_action(actions, params, module.check_mode)
    except (ComputeError, ValueError) as exc:
        module.fail_json(msg=str(exc), action=params["action"], uuid=params["uuid"])
    finally:
        driver.close()
    details = dict(result.details)
    xml_before = details.pop("xml_before", None)
    xml_after = details.pop("xml_after", None)
    if xml_before is not None and xml_after != xml_before:
        result.before = {**result.before, "xml": xml_before}
        result.after = {**result.after, "xml": xml_after}
    instance = result.after if result.changed else (result.before or result.after)
    facts = {"action": params["action"], "details": details,
             "instance": {k: v for k, v in instance.items() if k != "xml"}}
    if params["action"] == "console_log":
        facts["lines"] = details.get("lines", [])
    exit_with(module, result, **facts)

if __name__ == "__main__":
    main()
