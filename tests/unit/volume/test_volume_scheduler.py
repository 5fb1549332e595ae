"""The volume scheduler on a real SQLite database: hosts as the registry holds them after
``stratus host refresh``, volumes as the records hold them."""

from __future__ import annotations

import uuid

import pytest

import stratus.db.models.hosts  # noqa: F401 - registers tables
import stratus.db.models.volume  # noqa: F401
from stratus.config import Settings
from stratus.db.base import Base
from stratus.db.models.hosts import Host
from stratus.db.models.volume import Volume, VolumeSnapshot, VolumeType, VolumeTypeExtraSpec
from stratus.db.session import Database
from stratus.volume import scheduler
from stratus.volume.scheduler import NoValidBackend, choose


def _backend(driver, total, free, provisioned=0.0, thin=None, activation=True):
    return {"available": True, "driver": driver, "total_capacity_gb": total, "free_capacity_gb": free,
            "provisioned_capacity_gb": provisioned,
            "thin_provisioning": driver == "file" if thin is None else thin, "activation": activation}


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        yield s
    database.dispose()


@pytest.fixture
def settings():
    return Settings(volume_max_over_subscription_ratio=2.0)


def host(db, name, backends, *, zone=None, groups=("block_storage",), enabled=True):
    hv = {"ansible_connection": "local"}
    if zone:
        hv["stratus_storage_availability_zone"] = zone
    db.add(Host(name=name, groups=list(groups), vars=hv, enabled=enabled,
                reported={"storage_backends": backends}))
    db.flush()


def volume(db, host_name, backend, size):
    vid = str(uuid.uuid4())
    db.add(Volume(id=vid, project_id="p", size=size, host=host_name, backend=backend, status="available"))
    db.flush()
    return vid


def vtype(db, **specs):
    tid = str(uuid.uuid4())
    db.add(VolumeType(id=tid, name=f"t-{tid[:8]}"))
    for k, v in specs.items():
        db.add(VolumeTypeExtraSpec(volume_type_id=tid, key=k, value=v))
    db.flush()
    return tid


def pick(db, settings, size=1, type_id=None, zone=None, need_data=False):
    return choose(db, settings, size_gb=size, volume_type_id=type_id, availability_zone=zone, need_data=need_data)


def test_most_free_wins_and_records_count(db, settings):
    host(db, "a", {"lvm": _backend("lvm", 10, 10)})
    host(db, "b", {"lvm": _backend("lvm", 10, 8)})
    assert pick(db, settings) == ("a", "lvm")
    # what the records hold since the last refresh counts: a now has 5 free, b 8
    volume(db, "a", "lvm", 5)
    assert pick(db, settings) == ("b", "lvm")
    # an LVM snapshot takes room in the VG too
    snap_vol = volume(db, "b", "lvm", 1)
    db.add(VolumeSnapshot(id=str(uuid.uuid4()), project_id="p", volume_id=snap_vol, size=4))
    db.flush()
    assert pick(db, settings) == ("a", "lvm")


def test_thick_full_refuses_with_reasons(db, settings):
    host(db, "a", {"lvm": _backend("lvm", 10, 10)})
    volume(db, "a", "lvm", 8)
    with pytest.raises(NoValidBackend) as exc:
        pick(db, settings, size=3)
    assert exc.value.message.startswith("No valid backend was found.")
    assert "a@lvm#lvm" in exc.value.message and "< 3 GiB" in exc.value.message
    assert pick(db, settings, size=2) == ("a", "lvm")


def test_thin_over_subscription(db, settings):
    host(db, "a", {"file": _backend("file", 10, 9)})
    # ratio 2: 20 GiB may be provisioned on a 10 GiB file system
    volume(db, "a", "file", 15)
    assert pick(db, settings, size=5) == ("a", "file")
    with pytest.raises(NoValidBackend, match="max_over_subscription_ratio"):
        pick(db, settings, size=6)


def test_reserved_percentage(db):
    s = Settings(volume_reserved_percentage=50)
    host(db, "a", {"lvm": _backend("lvm", 10, 10)})
    assert pick(db, s, size=5) == ("a", "lvm")
    with pytest.raises(NoValidBackend):
        pick(db, s, size=6)


def test_type_backend_zone_and_data(db, settings):
    host(db, "a", {"lvm": _backend("lvm", 100, 100, activation=False), "file": _backend("file", 10, 10)})
    host(db, "z", {"file": _backend("file", 50, 50)}, zone="az2")
    assert pick(db, settings) == ("a", "lvm")
    assert pick(db, settings, type_id=vtype(db, volume_backend_name="file")) == ("z", "file")
    assert pick(db, settings, zone="nova", type_id=vtype(db, volume_backend_name="file")) == ("a", "file")
    # data must be written: the LVs cannot be activated here
    assert pick(db, settings, zone="nova", need_data=True) == ("a", "file")
    assert pick(db, settings, type_id=vtype(db, **{"RESKEY:availability_zones": "az2"})) == ("z", "file")
    with pytest.raises(NoValidBackend, match="volume_backend_name='nfs'"):
        pick(db, settings, type_id=vtype(db, volume_backend_name="nfs"))
    with pytest.raises(NoValidBackend, match="availability zone"):
        pick(db, settings, zone="elsewhere")


def test_disabled_and_foreign_hosts_are_skipped(db, settings):
    host(db, "off", {"file": _backend("file", 100, 100)}, enabled=False)
    host(db, "cmp", {"file": _backend("file", 100, 100)}, groups=("compute",))
    with pytest.raises(NoValidBackend, match="stratus host refresh"):
        pick(db, settings)
    host(db, "on", {"file": _backend("file", 1, 1), "gone": {"available": False, "driver": "lvm"}})
    assert pick(db, settings) == ("on", "file")
    assert [p["name"] for p in scheduler.pools(db, settings)] == ["on@file#file"]


def test_pools_capabilities(db, settings):
    host(db, "a", {"file": _backend("file", 10, 9, provisioned=1), "lvm": _backend("lvm", 20, 20)})
    volume(db, "a", "lvm", 3)
    pools = {p["name"]: p["capabilities"] for p in scheduler.pools(db, settings)}
    assert set(pools) == {"a@file#file", "a@lvm#lvm"}
    lvm = pools["a@lvm#lvm"]
    assert lvm["allocated_capacity_gb"] == 3 and lvm["free_capacity_gb"] == 17
    assert lvm["thick_provisioning_support"] and not lvm["thin_provisioning_support"]
    assert lvm["volume_backend_name"] == "lvm" and lvm["pool_name"] == "lvm"
    assert pools["a@file#file"]["max_over_subscription_ratio"] == "2.0"


def test_a_disabled_volume_service_takes_no_volumes(db, settings):
    from stratus.db.models.volume import VolumeService

    host(db, "a", {"file": _backend("file", 100, 100)})
    host(db, "b", {"file": _backend("file", 10, 10)})
    db.add(VolumeService(host="a@file", binary="cinder-volume", disabled=True, disabled_reason="maint"))
    db.flush()
    assert pick(db, settings) == ("b", "file")
    pools = {p["name"]: p["capabilities"]["backend_state"] for p in scheduler.pools(db, settings)}
    assert pools == {"a@file#file": "down", "b@file#file": "up"}
    db.add(VolumeService(host="b@file", binary="cinder-volume", disabled=True))
    db.flush()
    with pytest.raises(NoValidBackend, match="a@file#file: its cinder-volume service is disabled"):
        pick(db, settings)
