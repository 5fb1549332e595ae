"""instance_action's drivers at the level of the libvirt calls they make (fakes of the
libvirt objects; the real runs are in tests/integration/compute/test_instance_action*.py)."""

from __future__ import annotations

import importlib

import libvirt
import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.compute.actions import (
    InstanceActions,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.domain import (
    Disk,
    Guest,
    InstanceMetadata,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    ActionTimeout,
    Conflict,
    InvalidInput,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.libvirt_driver import (
    LibvirtDriver,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.migration import (
    Migration,
    MigrationError,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.storage_xml import (
    CopyDestination,
)

UUID = "11111111-2222-3333-4444-555555555555"
NAME = f"instance-{UUID}"


class FakeDom:
    def __init__(self, calls, active=True):
        self.calls = calls
        self.active = active
        self.fail = False

    def __getattr__(self, name):
        def record(*args):
            self.calls.append((name, *args))
            if name == "isActive":
                return self.active
            if name in ("migrate3", "migrateToURI3") and self.fail:
                raise libvirt.libvirtError("migration failed: boom")
            return None

        return record


class FakeDriver:
    uri = "qemu:///system"

    def __init__(self, tmp_path, state="running"):
        self.calls = []
        self.state = state
        self.dom = FakeDom(self.calls, active=state == "running")
        d = tmp_path / "instances" / UUID
        d.mkdir(parents=True)
        self.guest = Guest(
            name=NAME, uuid=UUID, vcpus=1, memory_kib=131072,
            disks=(
                Disk(target="vda", source=str(d / "disk")),
                Disk(target="sda", source=str(d / "disk.config"), bus="sata", device="cdrom",
                     format="raw", readonly=True),
            ),
            metadata=InstanceMetadata(uuid=UUID, image_id="img-a"),
        )

    def check_owned(self, name, uuid=None):
        return True

    def lookup(self, name):
        return self.dom

    def get_guest(self, name, inactive=True):
        return self.guest

    def get_xml(self, name, inactive=True):
        return self.guest.to_xml()

    def power_state(self, name):
        return self.state

    def migrate(self, name, dest, params, flags, *, peer2peer=False):
        # as LibvirtDriver.migrate: the destination driver's URI or connection
        if peer2peer:
            self.dom.migrateToURI3(dest.uri, params, flags)
        else:
            self.dom.migrate3(dest.conn, params, flags)

    def __getattr__(self, name):  # destroy, start, define, ...
        return lambda *args, **kw: self.calls.append((f"driver.{name}", *args))


class FakeQemuImg:
    def __init__(self, base):
        self.base = str(base)
        self.formats = []  # the -f of every call: never probed

    def info(self, path, fmt=""):
        self.formats.append(fmt)
        if str(path).endswith("/disk"):
            return {"virtual-size": 1 << 30, "full-backing-filename": self.base,
                    "backing-filename-format": "qcow2", "format": "qcow2"}
        return {"virtual-size": 1 << 20, "format": "raw"}

    def virtual_size(self, path, fmt=""):
        return self.info(path, fmt)["virtual-size"]


class FakeVol:
    def __init__(self, log, name):
        self.log, self.name = log, name

    def delete(self, flags):
        self.log.append(("vol.delete", self.name))

    def upload(self, *args):
        self.log.append(("vol.upload", self.name))


class FakePool:
    def __init__(self, log, path):
        self.log, self.path, self.vols = log, path, set()

    def refresh(self, flags):
        pass

    def storageVolLookupByName(self, name):
        if name in self.vols:
            return FakeVol(self.log, f"{self.path}/{name}")
        raise libvirt.libvirtError("no vol")

    def createXML(self, xml, flags):
        name = xml.split("<name>")[1].split("</name>")[0]
        self.vols.add(name)
        self.log.append(("vol.create", f"{self.path}/{name}", "backingStore" in xml))
        return FakeVol(self.log, f"{self.path}/{name}")

    def destroy(self):
        self.log.append(("pool.destroy", self.path))


class FakeDConn:
    def __init__(self):
        self.log = []

    def lookupByUUIDString(self, uuid):
        err = libvirt.libvirtError("no domain")
        err.err = (libvirt.VIR_ERR_NO_DOMAIN,)
        raise err

    def listAllStoragePools(self, flags):
        return []

    def storagePoolCreateXML(self, xml, flags):
        return FakePool(self.log, xml.split("<path>")[1].split("</path>")[0])

    def newStream(self, flags):
        class S:
            def sendAll(self, *a):
                pass

            def finish(self):
                pass

        return S()

    def close(self):
        pass


def make(tmp_path, state="running"):
    drv = FakeDriver(tmp_path, state)
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "img-a").write_bytes(b"base")
    actions = InstanceActions(drv, UUID, qemu_img=FakeQemuImg(tmp_path / "images" / "img-a"), instances_dir=tmp_path / "instances",
                              images_dir=tmp_path / "images")
    (drv.guest.disks[1].source and open(drv.guest.disks[1].source, "wb").close())
    return drv, actions


def test_live_migration_flags_and_precreated_storage(tmp_path):
    drv, actions = make(tmp_path)
    dconn = FakeDConn()
    mig = Migration(actions, "qemu+tcp://node2/system", open_conn=lambda uri: dconn)
    res = mig.live(migration_uri="tcp://10.0.0.2")
    call = [c for c in drv.calls if c[0] == "migrate3"][0]
    _, conn, params, flags = call
    assert conn is dconn
    assert params == {libvirt.VIR_MIGRATE_PARAM_MIGRATE_DISKS: ["vda"],
                      libvirt.VIR_MIGRATE_PARAM_URI: "tcp://10.0.0.2"}
    want = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PERSIST_DEST
            | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE | libvirt.VIR_MIGRATE_NON_SHARED_INC)
    assert flags == want
    created = [c for c in dconn.log if c[0] == "vol.create"]
    # base image uploaded, overlay pre-created on its backing file, config drive uploaded
    assert ("vol.create", str(tmp_path / "images" / "img-a"), False) in created
    assert ("vol.create", f"{actions.paths.directory}/disk", True) in created
    assert ("vol.create", f"{actions.paths.directory}/disk.config", False) in created
    assert res.changed and res.after["host"] == "qemu+tcp://node2/system"
    assert not actions.paths.directory.exists()


def test_live_migration_peer2peer_uses_migrate_to_uri(tmp_path):
    drv, actions = make(tmp_path)
    mig = Migration(actions, "qemu+tcp://node2/system", open_conn=lambda uri: FakeDConn())
    mig.live(peer2peer=True)
    call = [c for c in drv.calls if c[0] == "migrateToURI3"][0]
    assert call[1] == "qemu+tcp://node2/system"
    assert call[3] & libvirt.VIR_MIGRATE_PEER2PEER


def test_live_migration_failure_removes_copies_and_keeps_guest(tmp_path):
    drv, actions = make(tmp_path)
    drv.dom.fail = True
    dconn = FakeDConn()
    mig = Migration(actions, "qemu+tcp://node2/system", open_conn=lambda uri: dconn)
    with pytest.raises(MigrationError, match="boom.*still runs on qemu:///system"):
        mig.live()
    deleted = {c[1] for c in dconn.log if c[0] == "vol.delete"}
    assert f"{actions.paths.directory}/disk" in deleted
    assert str(tmp_path / "images" / "img-a") in deleted
    assert not any(c[0].startswith("driver.") for c in drv.calls)  # nothing done here
    assert actions.paths.directory.exists()


def test_check_mode_makes_no_libvirt_writes(tmp_path):
    drv, actions = make(tmp_path)
    dconn = FakeDConn()
    mig = Migration(actions, "qemu+tcp://node2/system", open_conn=lambda uri: dconn)
    assert mig.live(check=True).changed
    assert mig.cold(check=True).changed
    assert dconn.log == [] and drv.calls == []


def test_unreachable_destination_touches_nothing(tmp_path):
    drv, actions = make(tmp_path)

    def refuse(uri):
        raise libvirt.libvirtError("Failed to connect socket: Connection refused")

    mig = Migration(actions, "qemu+tcp://127.0.0.1:1/system", open_conn=refuse)
    with pytest.raises(MigrationError, match="cannot reach the destination host.*Connection refused"):
        mig.cold()
    assert drv.calls == []


def test_migrate_to_own_host_is_refused(tmp_path):
    _, actions = make(tmp_path)
    with pytest.raises(InvalidInput, match="own host"):
        Migration(actions, "qemu:///system")


def test_live_needs_running_guest(tmp_path):
    _, actions = make(tmp_path, state="stopped")
    mig = Migration(actions, "qemu+tcp://node2/system", open_conn=lambda uri: FakeDConn())
    with pytest.raises(Conflict, match="live migration needs a running guest"):
        mig.live()


def test_soft_reboot_falls_back_to_hard_after_timeout(tmp_path):
    drv, actions = make(tmp_path)
    drv.shutdown = lambda name, timeout: drv.calls.append(("driver.shutdown", timeout)) or False
    res = actions.reboot("soft", timeout=7)
    assert drv.calls == [("driver.shutdown", 7), ("driver.start", NAME)]
    assert res.details["method"] == "hard (soft timed out)"


def test_hard_reboot_destroys_and_starts(tmp_path):
    drv, actions = make(tmp_path)
    res = actions.reboot("hard")
    assert drv.calls == [("driver.destroy", NAME), ("driver.start", NAME)]
    assert res.details["method"] == "hard"


def test_soft_reboot_of_stopped_guest_is_refused(tmp_path):
    _, actions = make(tmp_path, state="stopped")
    with pytest.raises(Conflict, match="reboot_type=hard"):
        actions.reboot("soft")


def test_snapshot_to_foreign_image_id_is_a_conflict(tmp_path):
    _, actions = make(tmp_path)
    (tmp_path / "images" / "taken").write_bytes(b"x")
    with pytest.raises(Conflict, match="already exists"):
        actions.snapshot("taken")


def test_snapshot_running_uses_blockcopy_into_a_part_file(tmp_path):
    drv, actions = make(tmp_path)

    def block_copy(name, target, dest, *, timeout):
        drv.calls.append(("driver.block_copy", name, target, dest))
        open(dest.path, "wb").close()

    drv.block_copy = block_copy
    res = actions.snapshot("snap1")
    _, name, target, dest = next(c for c in drv.calls if c[0] == "driver.block_copy")
    assert (name, target, dest.format) == (NAME, "vda", "qcow2")
    assert dest.path == str(tmp_path / "images" / "snap1.part")
    assert res.details["method"] == "blockcopy"
    assert (tmp_path / "images" / "snap1").exists()
    assert not (tmp_path / "images" / "snap1.part").exists()
    assert not actions.snapshot("snap1").changed


class CopyDom:
    def __init__(self, infos):
        self.infos, self.calls = iter(infos), []

    def blockCopy(self, disk, xml, params, flags):
        self.calls.append(("blockCopy", disk, xml, flags))

    def blockJobInfo(self, disk, flags):
        return next(self.infos)

    def blockJobAbort(self, disk, flags):
        self.calls.append(("blockJobAbort", disk, flags))


class CopyConn:
    def __init__(self, dom):
        self.dom = dom

    def lookupByName(self, name):
        return self.dom


def test_driver_block_copy_waits_for_sync_and_aborts_without_pivot():
    dom = CopyDom([{"cur": 5, "end": 10}, {"cur": 10, "end": 10}])
    drv = LibvirtDriver(open_conn=lambda uri: CopyConn(dom), sleep=lambda s: None)
    drv.block_copy(NAME, "vda", CopyDestination("/x/snap'1.part"), timeout=5)
    _, disk, xml, flags = dom.calls[0]
    assert disk == "vda" and flags == libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB
    assert CopyDestination.from_xml(xml) == CopyDestination("/x/snap'1.part", "qcow2")
    assert dom.calls[-1] == ("blockJobAbort", "vda", 0)  # 0: no pivot


def test_driver_block_copy_times_out_and_aborts():
    dom = CopyDom([{"cur": 1, "end": 10}] * 100)
    now = iter(range(100))
    drv = LibvirtDriver(open_conn=lambda uri: CopyConn(dom), sleep=lambda s: None,
                        clock=lambda: next(now))
    with pytest.raises(ActionTimeout, match="did not finish"):
        drv.block_copy(NAME, "vda", CopyDestination("/x/p"), timeout=3)
    assert dom.calls[-1] == ("blockJobAbort", "vda", 0)


def test_module_refuses_arguments_of_other_actions():
    mod = importlib.import_module("ansible_collections.stratus.cloud.plugins.modules.instance_action")
    base = dict.fromkeys(mod.OPTIONAL)
    with pytest.raises(ValueError, match="dest_uri does not apply to action reboot"):
        mod.check_args({**base, "action": "reboot", "dest_uri": "qemu+tcp://x/system"})
    with pytest.raises(ValueError, match="needs dest_uri"):
        mod.check_args({**base, "action": "migrate"})
    mod.check_args({**base, "action": "migrate", "dest_uri": "qemu+tcp://x/system", "live": True})
