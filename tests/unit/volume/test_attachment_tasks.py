"""The tasks of ``OS::Cinder::VolumeAttachment`` (no DB, no host): on one host the disk
alone from the host's backend; across two the export delegated to the storage host
with that host's variables, its connection feeding the disk, and a rescue that removes
both halves and fails; the delete in the reverse order. And the device names the
service chooses (the name the guest will see)."""

from __future__ import annotations

from stratus.orchestration.resources import PlannedResource
from stratus.orchestration.types.cinder_attachment import VolumeAttachment, on_host
from stratus.volume.attachments import next_device

VID, SID, AID = "0d6e1e1a-8c49-4a43-9f5b-4f7f0f1d2c33", "5e0cbd8e-9b0e-4d6f-8a7e-1b2c3d4e5f60", "att-1"


def planned(storage: str, compute: str = "c1") -> PlannedResource:
    return PlannedResource("attachment", VolumeAttachment.type_name, AID,
                           {"volume_id": VID, "instance_uuid": SID, "mountpoint": "/dev/vdb"},
                           hosts=[compute], placed=True,
                           attributes={"compute_host": compute, "storage_host": storage, "backend": "file",
                                       "multiattach": False, "device": "/dev/vdb"})


def _module(task: dict) -> tuple[str, dict]:
    ((name, args),) = [(k, v) for k, v in task.items() if k.startswith("stratus.cloud.")]
    return name, args


def _data(value):
    return value["__ansible_unsafe"] if isinstance(value, dict) and "__ansible_unsafe" in value else value


def test_same_host_attaches_from_the_hosts_backend_without_an_export():
    (block,) = VolumeAttachment.plan_create(planned("c1"))
    (disk,) = block["block"]
    name, args = _module(disk)
    assert name == "stratus.cloud.volume_attachment"
    assert {k: _data(args[k]) for k in ("instance", "volume_id", "state", "device", "backend")} == {
        "instance": f"instance-{SID}", "volume_id": VID, "state": "present", "device": "vdb", "backend": "file"}
    assert "connection" not in args and args["directory"].startswith("{{ stratus_volume_dir")
    assert "delegate_to" not in disk
    assert [_module(t)[1]["state"] for t in block["rescue"][:-1]] == [{"__ansible_unsafe": "absent"}]
    assert "ansible.builtin.fail" in block["rescue"][-1]


def test_two_hosts_export_on_the_storage_host_feeds_the_disk_and_the_rescue_removes_both():
    res = planned("st1")
    assert VolumeAttachment.hosts(None, res) == ["c1", "st1"]  # both in the job's inventory
    (block,) = VolumeAttachment.plan_create(res)
    assert block["when"] == 'inventory_hostname == "c1"'
    export, disk = block["block"]
    name, args = _module(export)
    assert name == "stratus.cloud.volume_export" and export["delegate_to"] == "st1"
    assert _data(args["attachment_id"]) == AID and _data(args["state"]) == "present"
    # the delegated task reads the storage host's variables, not the play host's
    assert args["directory"].startswith('{{ hostvars["st1"]["stratus_volume_dir"]')
    assert "hostvars[\"st1\"]['stratus_storage_ip']" in args["host"]
    assert "hostvars[\"c1\"]['stratus_storage_ip']" in args["allowed"]
    _, dargs = _module(disk)
    assert dargs["connection"] == "{{ " + export["register"] + ".export.connection }}"
    undo_disk, undo_export, fail = block["rescue"]
    assert _module(undo_disk)[0] == "stratus.cloud.volume_attachment" and undo_disk["ignore_errors"]
    assert undo_export["delegate_to"] == "st1" and _data(_module(undo_export)[1]["state"]) == "absent"
    assert "ansible_failed_result.msg" in fail["ansible.builtin.fail"]["msg"]
    # every task is named after the resource, so its events map back to it
    assert all(t["name"].startswith("attachment: ") for t in (export, disk, undo_disk, undo_export, fail))


def test_delete_removes_the_disk_then_the_export():
    (block,) = VolumeAttachment.plan_delete(planned("st1"))
    disk, export = block["block"]
    assert _module(disk)[0] == "stratus.cloud.volume_attachment" and _data(_module(disk)[1]["state"]) == "absent"
    assert _module(export)[0] == "stratus.cloud.volume_export" and export["delegate_to"] == "st1"


def test_on_host_rewrites_only_stratus_variables():
    got = on_host({"a": "{{ stratus_x | default('y') }}", "b": "{{ other }}"}, "st1")
    assert got == {"a": "{{ hostvars[\"st1\"][\"stratus_x\"] | default('y') }}", "b": "{{ other }}"}


def test_device_is_the_lowest_name_free_in_the_guest_and_the_domain():
    # root only: the first volume is vdb, as Nova reports and the guest names it
    assert next_device({"vda"}, {"vda"}) == "vdb"
    # ephemeral + swap (guest vda vdb vdc, domain the same): vdd
    assert next_device({"vda", "vdb", "vdc"}, {"vda", "vdb", "vdc"}) == "vdd"
    # a gap left by a detach is filled first, as the guest's kernel does
    assert next_device({"vda", "vdc"}, {"vda", "vdc"}) == "vdb"
