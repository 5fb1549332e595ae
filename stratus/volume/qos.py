"""QoS specs: Cinder's ``/qos-specs``, stored and associated with volume types (a type
has at most one, ``VolumeType.qos_specs_id``).

``consumer`` says who applies them: ``front-end`` (the compute host: libvirt's
``<iotune>`` on the guest's disk), ``back-end`` (the storage backend; neither Stratus
backend throttles, so they are only stored) or ``both``. :func:`front_end_specs` gives
what an attachment applies: the libvirt-known keys of the specs associated with the
volume's type, as integers — the attach service (``stratus.volume.attachments``) passes
them to the ``volume_attachment`` module's ``iotune``.

The keys libvirt applies are checked when they are set (non-negative integers), so a
bad value is a 400 here and not a failed attach later. Every operation is for
administrators, as in Cinder.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from stratus.db.models.volume import QosSpecs, VolumeType
from stratus.errors import BadRequest, Conflict, NotFound
from stratus.identity.policy import RuleDefault, register_defaults

ADMIN = "rule:admin_required"
register_defaults([
    RuleDefault(f"volume_extension:qos_specs_manage:{op}", ADMIN, f"QoS specs: {op}")
    for op in ("create", "get", "get_all", "update", "delete")
])

CONSUMERS = ("front-end", "back-end", "both")
# Cinder's front-end keys that libvirt's <iotune> takes (the same names)
IOTUNE_KEYS = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec",
               "total_iops_sec", "read_iops_sec", "write_iops_sec",
               "total_bytes_sec_max", "read_bytes_sec_max", "write_bytes_sec_max",
               "total_iops_sec_max", "read_iops_sec_max", "write_iops_sec_max", "size_iops_sec")
MAX_LEN = 255


def view(qos: QosSpecs) -> dict[str, Any]:
    return {"id": qos.id, "name": qos.name, "consumer": qos.consumer, "specs": dict(qos.specs or {})}


def get(db: Session, qos_id: str) -> QosSpecs:
    qos = db.get(QosSpecs, str(qos_id))
    if qos is None:
        raise NotFound(f"QoS Specs {qos_id} could not be found.")
    return qos


def _consumer(value: Any) -> str:
    if value not in CONSUMERS:
        raise BadRequest(f"Invalid qos specs: Valid consumer of QoS specs are: {list(CONSUMERS)}")
    return value


def _specs(specs: dict[str, Any]) -> dict[str, str]:
    """String keys and values (numbers are taken as text); libvirt's keys non-negative integers."""
    out: dict[str, str] = {}
    for key, value in specs.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_LEN:
            raise BadRequest(f"Invalid qos specs: the key {key!r} must be 1 to {MAX_LEN} characters.")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise BadRequest(f"Invalid qos specs: the value of {key} must be a string.")
        value = str(value)
        if len(value) > MAX_LEN:
            raise BadRequest(f"Invalid qos specs: the value of {key} is longer than {MAX_LEN} characters.")
        if key in IOTUNE_KEYS and not (value.isdigit() and value.isascii()):
            raise BadRequest(f"Invalid qos specs: {key} must be a non-negative integer, not {value!r}.")
        out[key] = value
    return out


def list_specs(db: Session, *, name: str | None = None, consumer: str | None = None,
               limit: int | None = None, marker: str | None = None) -> list[QosSpecs]:
    stmt = select(QosSpecs).order_by(QosSpecs.created_at, QosSpecs.id)
    if name is not None:
        stmt = stmt.where(QosSpecs.name == name)
    if consumer is not None:
        stmt = stmt.where(QosSpecs.consumer == consumer)
    rows = list(db.scalars(stmt))
    if marker:
        ids = [r.id for r in rows]
        if marker not in ids:
            raise BadRequest(f"Marker {marker} could not be found.")
        rows = rows[ids.index(marker) + 1:]
    return rows if limit is None else rows[:limit]


def create(db: Session, body: Any) -> QosSpecs:
    """From ``{"name", "consumer" (default back-end), <key>: <value>, ...}`` (Cinder's flat
    body; a nested ``"specs": {...}`` is taken too)."""
    if not isinstance(body, dict):
        raise BadRequest("Missing required element 'qos_specs' in request body.")
    body = dict(body)
    name = body.pop("name", None)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_LEN:
        raise BadRequest(f"Invalid input for field/attribute name: give a name of 1 to {MAX_LEN} characters.")
    name = name.strip()
    consumer = _consumer(body.pop("consumer", "back-end"))
    nested = body.pop("specs", None)
    if nested is not None and not isinstance(nested, dict):
        raise BadRequest("Invalid qos specs: 'specs' must be an object of key/value pairs.")
    specs = _specs({**(nested or {}), **body})
    if db.scalar(select(QosSpecs).where(QosSpecs.name == name)) is not None:
        raise Conflict(f"QoS Specs {name} already exists.")
    qos = QosSpecs(id=str(uuid.uuid4()), name=name, consumer=consumer, specs=specs)
    db.add(qos)
    db.flush()
    return qos


def set_keys(db: Session, qos: QosSpecs, body: Any) -> dict[str, Any]:
    """Add or replace keys (``consumer`` changes the consumer); returns what was given."""
    if not isinstance(body, dict) or not body:
        raise BadRequest("Invalid qos specs: give the keys to set, e.g. {\"qos_specs\": {\"total_iops_sec\": "
                         "\"500\"}}.")
    given = dict(body)
    rest = dict(body)
    consumer = _consumer(rest.pop("consumer")) if "consumer" in rest else None
    specs = {**(qos.specs or {}), **_specs(rest)}
    if consumer is not None:
        qos.consumer = consumer
    qos.specs = specs
    db.flush()
    return given


def delete_keys(db: Session, qos: QosSpecs, body: Any) -> None:
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise BadRequest("Invalid input: give the keys to delete as {\"keys\": [\"total_iops_sec\"]}.")
    specs = dict(qos.specs or {})
    for key in keys:
        if key not in specs:
            raise NotFound(f"QoS spec {qos.id} has no spec with key {key}.")
    for key in keys:
        specs.pop(key)
    qos.specs = specs
    db.flush()


def _types_of(db: Session, qos: QosSpecs) -> list[VolumeType]:
    return list(db.scalars(select(VolumeType).where(VolumeType.qos_specs_id == qos.id).order_by(VolumeType.name)))


def associations(db: Session, qos: QosSpecs) -> list[dict[str, str]]:
    return [{"association_type": "volume_type", "name": vt.name, "id": vt.id} for vt in _types_of(db, qos)]


def delete_specs(db: Session, qos: QosSpecs, *, force: bool) -> None:
    if _types_of(db, qos):
        if not force:
            raise BadRequest("Qos specs still in use.")
        disassociate_all(db, qos)
    db.delete(qos)
    db.flush()


def _type(db: Session, type_id: str | None) -> VolumeType:
    if not type_id:
        raise BadRequest("Volume Type id must not be None.")
    vt = db.get(VolumeType, str(type_id))
    if vt is None:
        raise NotFound(f"Volume type {type_id} could not be found.")
    return vt


def associate(db: Session, qos: QosSpecs, type_id: str | None) -> None:
    vt = _type(db, type_id)
    if vt.qos_specs_id and vt.qos_specs_id != qos.id:
        raise BadRequest(f"Invalid volume type: Type {vt.id} is already associated with another qos specs: "
                         f"{vt.qos_specs_id}; disassociate it first.")
    vt.qos_specs_id = qos.id
    db.flush()


def disassociate(db: Session, qos: QosSpecs, type_id: str | None) -> None:
    vt = _type(db, type_id)
    if vt.qos_specs_id == qos.id:
        vt.qos_specs_id = None
    db.flush()


def disassociate_all(db: Session, qos: QosSpecs) -> None:
    db.execute(update(VolumeType).where(VolumeType.qos_specs_id == qos.id).values(qos_specs_id=None))
    db.flush()


def front_end_specs(db: Session, volume_type_id: str | None) -> dict[str, int]:
    """The ``iotune`` an attachment of a volume of this type applies: the libvirt keys of
    its type's QoS specs when their consumer is ``front-end`` or ``both`` ({} otherwise)."""
    if not volume_type_id:
        return {}
    vt = db.get(VolumeType, volume_type_id)
    if vt is None or not vt.qos_specs_id:
        return {}
    qos = db.get(QosSpecs, vt.qos_specs_id)
    if qos is None or qos.consumer not in ("front-end", "both"):
        return {}
    return {k: int(v) for k, v in (qos.specs or {}).items() if k in IOTUNE_KEYS and str(v).isdigit()}
