"""A Swift ring (account, container, object or a storage policy's object ring) made to
hold exactly the wanted devices, on Swift's own ``RingBuilder``.

The builder file (``<ring>.builder``) is the ring's memory: device ids, where every
partition replica lives and when it last moved. The ring file (``<ring>.ring.gz``) is
what the servers read, written from the builder. :func:`ensure_ring` loads the builder
(or starts one), applies the difference between the devices it holds and the wanted
ones as ``swift-ring-builder`` would (add, remove, set weight/region/zone, set the
replication address or meta), rebalances only when placement can change, and writes
the builder and ring atomically. Check mode does the same in memory and writes nothing.

A device is known by its ``ip``, ``port`` and ``device`` name, as ``swift-ring-builder``
knows duplicates: changing any of these is removing one device and adding another.

This runs on the Swift host with the interpreter of the venv Swift is installed in (it
imports ``swift.common.ring``); it never imports the Stratus daemon.
"""

from __future__ import annotations

import copy
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.stratus.cloud.plugins.module_utils.common import validate
from ansible_collections.stratus.cloud.plugins.module_utils.common.outcome import Outcome
from ansible_collections.stratus.cloud.plugins.module_utils.object_store.swift_import import (
    standard_library_kept,
)

try:
    with standard_library_kept():
        from swift.common import exceptions as swift_exceptions
        from swift.common.ring import RingBuilder, RingData
        from swift.common.ring.utils import validate_and_normalize_address
except Exception as exc:  # ImportError, or a broken dependency of Swift's (eventlet, pyOpenSSL)
    SWIFT_IMPORT_ERROR: Exception | None = exc
else:
    SWIFT_IMPORT_ERROR = None

RING_NAME = re.compile(r"^(account|container|object(-[1-9][0-9]{0,8})?)$")
MAX_PART_POWER = 32
# swift-ring-builder keeps a rebalance only when it moves the balance or dispersion by this much.
MIN_IMPROVEMENT = 1.0


class RingError(Exception):
    """A ring request that cannot be honoured; ``str()`` says what and how to fix it."""


class InvalidRing(RingError, validate.InvalidValue):
    """The wanted ring is not a valid one (bad device, duplicate, out of range)."""


@dataclass(frozen=True)
class Device:
    """One device of a ring as the builder stores it (``id`` aside)."""

    region: int
    zone: int
    ip: str
    port: int
    device: str
    weight: float
    replication_ip: str
    replication_port: int
    meta: str = ""

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.ip, self.port, self.device)

    @property
    def name(self) -> str:
        return f"{self.ip}:{self.port}/{self.device}"

    def to_builder(self) -> dict[str, Any]:
        return {
            "region": self.region, "zone": self.zone, "ip": self.ip, "port": self.port,
            "device": self.device, "weight": self.weight, "replication_ip": self.replication_ip,
            "replication_port": self.replication_port, "meta": self.meta,
        }

    @classmethod
    def from_builder(cls, dev: dict[str, Any]) -> Device:
        return cls(
            region=int(dev["region"]), zone=int(dev["zone"]), ip=dev["ip"], port=int(dev["port"]),
            device=dev["device"], weight=float(dev["weight"]),
            replication_ip=dev.get("replication_ip") or dev["ip"],
            replication_port=int(dev.get("replication_port") or dev["port"]),
            meta=dev.get("meta") or "",
        )


@dataclass(frozen=True)
class RingSpec:
    """The whole wanted ring."""

    ring: str
    builder_dir: str
    part_power: int
    replicas: float
    min_part_hours: int
    devices: tuple[Device, ...]

    @property
    def builder_file(self) -> str:
        return os.path.join(self.builder_dir, f"{self.ring}.builder")

    @property
    def ring_file(self) -> str:
        return os.path.join(self.builder_dir, f"{self.ring}.ring.gz")


@dataclass
class RingResult:
    """What :func:`ensure_ring` did (or would do) and the ring's facts after it."""

    outcome: Outcome
    facts: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- the wanted ring


def _int(value, what: str, low: int, high: int | None = None) -> int:
    try:
        number = int(value)
        if isinstance(value, float) and number != value:
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidRing(f"{what} {value!r} is not a whole number") from None
    if number < low or (high is not None and number > high):
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise InvalidRing(f"{what} {number} is out of range: use a whole number {bounds}")
    return number


def _weight(value, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidRing(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise InvalidRing(f"{what} {value!r} is out of range: use a number of 0 or more "
                          "(0 drains the device before it is removed)")
    return number


def _address(value, what: str) -> str:
    _require_swift()
    try:
        return validate_and_normalize_address(str(value if value is not None else ""))
    except ValueError:
        raise InvalidRing(f"{what} {value!r} is not an IP address or host name") from None


def parse_device(item: dict[str, Any], index: int) -> Device:
    """A device from the module's ``devices`` item ``index`` (counted from 0), checked and
    normalised (addresses as Swift stores them, replication address defaulting to the
    device's)."""
    if not isinstance(item, dict):
        raise InvalidRing(f"devices[{index}] must be a dict with region, zone, ip, port, device, weight")
    missing = [k for k in ("zone", "ip", "port", "device", "weight") if item.get(k) in (None, "")]
    if missing:
        raise InvalidRing(f"devices[{index}] lacks {', '.join(missing)}: every device needs "
                          "zone, ip, port, device and weight (region defaults to 1)")
    where = f"devices[{index}]"
    ip = _address(item["ip"], f"{where}.ip")
    port = _int(item["port"], f"{where}.port", 1, 65535)
    replication_ip = item.get("replication_ip")
    replication_port = item.get("replication_port")
    return Device(
        region=_int(1 if item.get("region") is None else item["region"], f"{where}.region", 0),
        zone=_int(item["zone"], f"{where}.zone", 0),
        ip=ip,
        port=port,
        device=validate.resource_id(item["device"], what=f"{where}.device (the directory under the "
                                    "devices dir)", error=InvalidRing),
        weight=_weight(item["weight"], f"{where}.weight"),
        replication_ip=_address(replication_ip, f"{where}.replication_ip") if replication_ip else ip,
        replication_port=(_int(replication_port, f"{where}.replication_port", 1, 65535)
                          if replication_port else port),
        meta=validate.single_line(item.get("meta") or "", what=f"{where}.meta", error=InvalidRing),
    )


def parse_spec(*, ring: str, builder_dir: str, part_power, replicas, min_part_hours,
               devices: list[dict[str, Any]]) -> RingSpec:
    """The wanted ring from the module's parameters, or :class:`InvalidRing` saying what to fix."""
    if not RING_NAME.match(str(ring or "")):
        raise InvalidRing(f"ring {ring!r} is not a Swift ring name: use account, container, object "
                          "or object-<policy index> (object-1, object-2, ...)")
    if not str(builder_dir or "").startswith("/"):
        raise InvalidRing(f"builder_dir {builder_dir!r} must be an absolute path (Swift's swift_dir, "
                          "e.g. /etc/swift)")
    power = _int(part_power, "part_power", 0, MAX_PART_POWER)
    try:
        copies = float(replicas)
    except (TypeError, ValueError):
        raise InvalidRing(f"replicas {replicas!r} is not a number") from None
    if not math.isfinite(copies) or copies < 1:
        raise InvalidRing(f"replicas {replicas!r} is out of range: a ring keeps at least 1 replica")
    hours = _int(min_part_hours, "min_part_hours", 0)
    parsed = tuple(parse_device(item, i) for i, item in enumerate(devices or []))
    seen: dict[tuple[str, int, str], int] = {}
    for i, dev in enumerate(parsed):
        if dev.key in seen:
            raise InvalidRing(f"devices[{seen[dev.key]}] and devices[{i}] are both {dev.name}: a device "
                              "is one ip, port and device name; list it once")
        seen[dev.key] = i
    active = sum(1 for dev in parsed if dev.weight > 0)
    if active < copies:
        raise InvalidRing(f"ring {ring}: {copies:g} replicas need at least {math.ceil(copies)} devices "
                          f"with a weight above 0, and {active} are given: add devices or lower replicas")
    return RingSpec(ring=ring, builder_dir=os.path.normpath(builder_dir), part_power=power,
                    replicas=copies, min_part_hours=hours, devices=parsed)


# ---------------------------------------------------------------- facts


def device_line(dev_id: int, dev: Device) -> str:
    """One device as the diff shows it (``swift-ring-builder``'s notation)."""
    line = f"d{dev_id} r{dev.region}z{dev.zone}-{dev.name} weight {dev.weight:g}"
    if (dev.replication_ip, dev.replication_port) != (dev.ip, dev.port):
        line += f" replication {dev.replication_ip}:{dev.replication_port}"
    if dev.meta:
        line += f" meta {dev.meta!r}"
    return line


def _live_devs(builder) -> list[dict[str, Any]]:
    removing = {d["id"] for d in builder._remove_devs}
    return [d for d in builder.devs if d is not None and d["id"] not in removing]


def _state(spec: RingSpec, builder) -> dict[str, Any]:
    """What the diff shows of a builder: its parameters and one line per device."""
    return {
        "ring": spec.ring,
        "part_power": builder.part_power,
        "replicas": builder.replicas,
        "min_part_hours": builder.min_part_hours,
        "devices": [device_line(d["id"], Device.from_builder(d))
                    for d in sorted(_live_devs(builder), key=lambda d: d["id"])],
    }


def _devices(builder) -> list[dict[str, Any]]:
    out = []
    for d in sorted(_live_devs(builder), key=lambda d: d["id"]):
        fact = {"id": d["id"], **Device.from_builder(d).to_builder(), "parts": int(d.get("parts", 0))}
        out.append(fact)
    return out


# ---------------------------------------------------------------- the work


def _require_swift() -> None:
    if SWIFT_IMPORT_ERROR is None:
        return
    if isinstance(SWIFT_IMPORT_ERROR, ImportError):
        raise RingError(
            f"swift_ring needs OpenStack Swift's Python package, which {sys.executable} cannot import "
            f"({SWIFT_IMPORT_ERROR}); run the task with ansible_python_interpreter set to the python "
            "of the venv Swift is installed in (e.g. /opt/swift/bin/python)")
    raise RingError(
        f"Swift is installed for {sys.executable} but importing swift.common.ring fails: "
        f"{SWIFT_IMPORT_ERROR!r}; repair that venv until `{sys.executable} -c 'import swift.common.ring'` "
        "works (a system pyOpenSSL older than the venv's cryptography breaks eventlet: install "
        "pyOpenSSL into the venv)")


def _load(spec: RingSpec):
    """The builder in ``builder_dir``, or None when there is none yet."""
    if not os.path.exists(spec.builder_file):
        return None
    try:
        builder = RingBuilder.load(spec.builder_file)
    except (swift_exceptions.SwiftException, OSError, ValueError, EOFError) as exc:
        raise RingError(f"cannot read the ring builder {spec.builder_file}: {exc}; restore it from "
                        f"{spec.builder_dir}/backups or remove it to build the ring anew") from exc
    if builder.part_power != spec.part_power:
        raise RingError(
            f"ring {spec.ring}: the builder {spec.builder_file} has part_power {builder.part_power}, "
            f"not {spec.part_power}; a ring's partition power is fixed once it is built: keep "
            f"part_power {builder.part_power}, or remove {spec.ring}.builder and {spec.ring}.ring.gz "
            "to start an empty cluster over (a live cluster needs swift-ring-builder's "
            "prepare_increase_partition_power procedure)")
    if builder.next_part_power:
        raise RingError(f"ring {spec.ring}: a partition power increase is in progress in "
                        f"{spec.builder_file}; finish it with swift-ring-builder first")
    seen: dict[tuple[str, int, str], int] = {}
    for d in _live_devs(builder):
        key = Device.from_builder(d).key
        if key in seen:
            raise RingError(f"ring {spec.ring}: the builder {spec.builder_file} holds "
                            f"{key[0]}:{key[1]}/{key[2]} twice (ids {seen[key]} and {d['id']}); "
                            "remove one with swift-ring-builder before managing it here")
        seen[key] = d["id"]
    return builder


def _apply(spec: RingSpec, builder, actions: list[str]) -> bool:
    """Make ``builder`` hold the wanted devices and parameters; True when placement can
    change (a rebalance is due)."""
    placement = bool(builder.devs_changed)
    if builder.min_part_hours != spec.min_part_hours:
        actions.append(f"set min_part_hours {builder.min_part_hours} -> {spec.min_part_hours}")
        builder.change_min_part_hours(spec.min_part_hours)
    if builder.replicas != spec.replicas:
        actions.append(f"set replicas {builder.replicas:g} -> {spec.replicas:g}")
        builder.set_replicas(spec.replicas)
        placement = True
    have = {Device.from_builder(d).key: d for d in _live_devs(builder)}
    wanted = {dev.key: dev for dev in spec.devices}
    for key, d in sorted(have.items(), key=lambda kv: kv[1]["id"]):
        if key not in wanted:
            actions.append(f"remove d{d['id']} {Device.from_builder(d).name}")
            builder.remove_dev(d["id"])
            placement = True
    for dev in spec.devices:
        d = have.get(dev.key)
        if d is None:
            dev_id = builder.add_dev(dev.to_builder())
            actions.append(f"add {device_line(dev_id, dev)}")
            placement = True
            continue
        current = Device.from_builder(d)
        if current.weight != dev.weight:
            actions.append(f"set d{d['id']} {dev.name} weight {current.weight:g} -> {dev.weight:g}")
            builder.set_dev_weight(d["id"], dev.weight)
            placement = True
        if current.region != dev.region:
            actions.append(f"set d{d['id']} {dev.name} region {current.region} -> {dev.region}")
            builder.set_dev_region(d["id"], dev.region)
            placement = True
        if current.zone != dev.zone:
            actions.append(f"set d{d['id']} {dev.name} zone {current.zone} -> {dev.zone}")
            builder.set_dev_zone(d["id"], dev.zone)
            placement = True
        for attr in ("replication_ip", "replication_port", "meta"):
            if getattr(current, attr) != getattr(dev, attr):
                # what swift-ring-builder set_info does: the ring is rewritten, nothing moves
                actions.append(f"set d{d['id']} {dev.name} {attr} {getattr(current, attr)!r} -> "
                               f"{getattr(dev, attr)!r}")
                d[attr] = getattr(dev, attr)
                builder.version += 1
    return placement


def _rebalance(spec: RingSpec, builder) -> None:
    try:
        builder.rebalance()
        builder.validate()
    except swift_exceptions.RingBuilderError as exc:
        raise RingError(f"ring {spec.ring}: Swift cannot place {builder.replicas:g} replicas of "
                        f"{builder.parts} partitions on these devices: {exc}; add devices or zones, "
                        "or lower replicas") from exc


def _try_improve(spec: RingSpec, builder):
    """A rebalanced copy of an unchanged builder when the last rebalance could not finish
    (partitions had moved less than min_part_hours before) and now can, by
    ``swift-ring-builder``'s rule: kept only if balance or dispersion improve by 1 or more."""
    if builder.min_part_seconds_left > 0 or not builder._replica2part2dev:
        return None
    balance, dispersion = builder.get_balance(), builder.dispersion or 0.0
    if balance < MIN_IMPROVEMENT and dispersion < MIN_IMPROVEMENT:
        return None
    trial = copy.deepcopy(builder)
    _rebalance(spec, trial)
    if (balance - trial.get_balance() >= MIN_IMPROVEMENT
            or dispersion - (trial.dispersion or 0.0) >= MIN_IMPROVEMENT):
        return trial
    return None


def _ring_matches(ring_file: str, builder) -> bool:
    """Whether the ring file on disk is the one the builder makes."""
    if not os.path.exists(ring_file):
        return False
    try:
        on_disk = RingData.load(ring_file)
    except Exception:  # a truncated or foreign file is rewritten
        return False
    made = builder.get_ring()
    if (on_disk.devs != made.devs or on_disk._part_shift != made._part_shift
            or on_disk.version != made.version or on_disk.next_part_power != made.next_part_power):
        return False
    mine, theirs = made._replica2part2dev_id, on_disk._replica2part2dev_id
    return len(mine) == len(theirs) and all(list(a) == list(b) for a, b in zip(mine, theirs, strict=True))


def _write(spec: RingSpec, builder, save_builder: bool, write_ring: bool) -> None:
    try:
        os.makedirs(spec.builder_dir, exist_ok=True)
        backups = os.path.join(spec.builder_dir, "backups")
        stamp = f"{time.time():.6f}"
        if save_builder:
            # as swift-ring-builder does: every builder kept in backups/, the live one replaced atomically
            os.makedirs(backups, exist_ok=True)
            builder.save(os.path.join(backups, f"{stamp}.{spec.ring}.builder"))
            tmp = os.path.join(spec.builder_dir, f".{spec.ring}.builder.tmp")
            builder.save(tmp)
            os.replace(tmp, spec.builder_file)
        if write_ring:
            builder.get_ring().save(spec.ring_file)  # Swift writes it to a temp file and renames it
    except OSError as exc:
        raise RingError(f"cannot write ring {spec.ring} into {spec.builder_dir}: {exc}") from exc


def ensure_ring(spec: RingSpec, check: bool = False) -> RingResult:
    """Make ``spec.builder_dir`` hold the builder and ring file of exactly ``spec``.

    Rebalances only when devices, weights, zones, regions or replicas changed (or, with
    nothing changed, when an unfinished rebalance can now improve the ring); rewrites the
    ring file when it is missing or is not the builder's. With ``check`` nothing is
    written and the result is what a real run would report.
    """
    _require_swift()
    actions: list[str] = []
    builder = _load(spec)
    before: dict[str, Any] = {} if builder is None else _state(spec, builder)
    existed = builder is not None
    if builder is None:
        actions.append(f"create {spec.builder_file}")
        try:
            builder = RingBuilder(spec.part_power, spec.replicas, spec.min_part_hours)
        except ValueError as exc:
            raise InvalidRing(f"ring {spec.ring}: {exc}") from exc
    placement = _apply(spec, builder, actions)
    rebalanced = False
    if placement:
        _rebalance(spec, builder)
        rebalanced = True
    else:
        improved = _try_improve(spec, builder)
        if improved is not None:
            builder = improved
            rebalanced = True
    if rebalanced:
        actions.append(f"rebalance {spec.ring}: balance {builder.get_balance():.2f}, "
                       f"dispersion {builder.dispersion or 0.0:.2f}")
    save_builder = not existed or bool(actions)
    builder._ring = None  # get_ring() caches; the devices may have changed since
    write_ring = not _ring_matches(spec.ring_file, builder)
    if write_ring:
        actions.append(f"write {spec.ring_file}")
    changed = save_builder or write_ring
    if changed and not check:
        _write(spec, builder, save_builder, write_ring)
    facts = {
        "ring_file": spec.ring_file,
        "builder_file": spec.builder_file,
        "devices": _devices(builder),
        "rebalanced": rebalanced,
        "balance": round(float(builder.get_balance()), 4),
        "dispersion": round(float(builder.dispersion or 0.0), 4),
        "part_power": builder.part_power,
        "replicas": float(builder.replicas),
        "min_part_hours": builder.min_part_hours,
    }
    warnings = []
    wait = builder.min_part_seconds_left
    if rebalanced and builder.get_balance() > 5 and wait > 0:
        # swift-ring-builder's own note after such a rebalance
        warnings.append(
            f"ring {spec.ring}: balance is {builder.get_balance():.2f} after the rebalance: partitions "
            f"that moved less than min_part_hours ({builder.min_part_hours} h) ago cannot move again "
            f"yet; push this ring, then run the task again in {wait // 3600}h{wait % 3600 // 60:02d}m "
            "to move more (it rebalances then when that improves the ring)")
    return RingResult(Outcome(changed, before, _state(spec, builder), actions), facts, warnings)
