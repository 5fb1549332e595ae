"""QoS applied on attach: the front-end specs of a volume's type, as the ``iotune`` of
the guest's disk.

Cinder hands a volume type's QoS specs to Nova inside ``connection_info["data"]
["qos_specs"]`` when their consumer is ``front-end`` or ``both``; Nova's libvirt driver
copies the keys libvirt knows into the disk's ``<iotune>`` and ignores the rest. Stratus
does the same: :func:`qos_iotune` gives the ``iotune`` option of the
``stratus.cloud.volume_attachment`` module (whose names are libvirt's and Cinder's), for
``OS::Cinder::VolumeAttachment`` to pass, and the views to show in ``connection_info``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from stratus.db.models.volume import QosSpecs, Volume, VolumeType

# Cinder's front-end keys that libvirt's <iotune> takes under the same name (the module
# refuses any other key, so only these are passed)
RATES = ("total_bytes_sec", "read_bytes_sec", "write_bytes_sec",
         "total_iops_sec", "read_iops_sec", "write_iops_sec")
FRONT_END_KEYS = RATES + tuple(f"{k}_max" for k in RATES)
FRONT_END_CONSUMERS = ("front-end", "both")


def front_end_specs(db: Session, volume: Volume) -> dict[str, str]:
    """All specs of the QoS associated with the volume's type when their consumer is
    front-end or both (Cinder's ``qos_specs`` of the connection info); ``{}`` otherwise."""
    vtype = db.get(VolumeType, volume.volume_type_id) if volume.volume_type_id else None
    qos = db.get(QosSpecs, vtype.qos_specs_id) if vtype is not None and vtype.qos_specs_id else None
    if qos is None or qos.consumer not in FRONT_END_CONSUMERS:
        return {}
    return {str(k): str(v) for k, v in (qos.specs or {}).items()}


def qos_iotune(db: Session, volume: Volume) -> dict[str, int]:
    """The ``iotune`` of the volume's disk: its type's front-end QoS specs that libvirt
    applies (``total_bytes_sec``, ``read_iops_sec``, ... and their ``*_max``), as whole
    numbers; ``{}`` when the type has none. Values that are not whole numbers >= 0 are
    left out, as are ``total_*`` limits next to ``read_*``/``write_*`` ones of the same
    unit (libvirt takes one or the other; the finer ones win) and a ``*_max`` without
    its rate or below it, so the attach never fails on a spec libvirt would refuse."""
    tune: dict[str, int] = {}
    for key, value in front_end_specs(db, volume).items():
        text = value.strip()
        if key in FRONT_END_KEYS and text.isdigit() and int(text):
            tune[key] = int(text)
    for unit in ("bytes", "iops"):
        if f"read_{unit}_sec" in tune or f"write_{unit}_sec" in tune:
            tune.pop(f"total_{unit}_sec", None)
            tune.pop(f"total_{unit}_sec_max", None)
    for rate in RATES:
        peak = tune.get(f"{rate}_max")
        if peak is not None and peak < tune.get(rate, peak + 1):
            tune.pop(f"{rate}_max")
    return tune
