"""QoS applied on attach: a volume type's front-end specs as the disk's iotune, on a
real SQLite database."""

from __future__ import annotations

import uuid

import pytest

import stratus.db.models.volume  # noqa: F401 - registers tables
from stratus.db.base import Base
from stratus.db.models.volume import QosSpecs, Volume, VolumeType
from stratus.db.session import Database
from stratus.volume.qos_apply import front_end_specs, qos_iotune


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(database.engine)
    with database.session() as s:
        yield s
    database.dispose()


def volume(db, consumer: str | None, specs: dict[str, str]) -> Volume:
    qos_id = None
    if consumer is not None:
        qos_id = str(uuid.uuid4())
        db.add(QosSpecs(id=qos_id, name=f"q-{qos_id[:6]}", consumer=consumer, specs=specs))
        db.flush()
    vt = VolumeType(id=str(uuid.uuid4()), name=f"t-{uuid.uuid4().hex[:6]}", qos_specs_id=qos_id)
    db.add(vt)
    db.flush()
    vol = Volume(id=str(uuid.uuid4()), project_id="p", size=1, volume_type_id=vt.id)
    db.add(vol)
    db.flush()
    return vol


def test_front_end_and_both_apply_back_end_does_not(db):
    specs = {"read_iops_sec": "500", "write_bytes_sec": "1048576", "maxIOPS": "9"}
    assert qos_iotune(db, volume(db, "front-end", specs)) == {"read_iops_sec": 500, "write_bytes_sec": 1048576}
    assert qos_iotune(db, volume(db, "both", specs)) == {"read_iops_sec": 500, "write_bytes_sec": 1048576}
    assert front_end_specs(db, volume(db, "both", specs)) == specs  # Cinder's qos_specs: every key
    assert qos_iotune(db, volume(db, "back-end", specs)) == {}
    assert qos_iotune(db, volume(db, None, {})) == {}


def test_what_libvirt_would_refuse_is_left_out(db):
    specs = {"total_iops_sec": "100", "read_iops_sec": "50", "total_iops_sec_max": "200",
             "write_bytes_sec": "10", "write_bytes_sec_max": "5", "read_bytes_sec_max": "7",
             "total_bytes_sec": "x", "write_iops_sec": "0"}
    assert qos_iotune(db, volume(db, "front-end", specs)) == {"read_iops_sec": 50, "write_bytes_sec": 10}
