"""The reconcile pass: what the compute hosts run against what the records say, as
Nova's ``_sync_power_states`` and its orphan/lost-instance checks do.

One playbook runs ``instance_info`` on every compute host of the registry; then
:func:`compare` (pure: records + reports → findings) finds

- ``orphan_domain``: a Stratus-owned domain (``<stratus:instance>`` metadata) whose
  instance no live server row nor live ``OS::Nova::Server`` resource holds;
- ``lost_server``: a server row placed on a host that answered but has no domain of it;
- ``power_state``: a server whose recorded power state differs from its domain's.

Servers with a task in progress, rows changed after the pass began, and hosts that did
not answer are left alone (a build, a delete or a migration may be under way). With
``repair``: power states are recorded (an ACTIVE server whose guest is shut off or
crashed becomes STOPPED, as Nova's sync stops it), orphan domains are removed with the
``instance`` module (state absent: domain and instance files), lost servers go to
ERROR with a fault that says what was found.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.compute import states
from stratus.compute.wire_time import nova_time
from stratus.db.models.compute import Server
from stratus.db.models.jobs import DELETED, Resource
from stratus.db.types import utcnow

log = logging.getLogger(__name__)

SERVER_TYPE = "OS::Nova::Server"
URI = "{{ stratus_libvirt_uri | default('qemu:///system') }}"
# vm_states whose guest should exist on the server's host
ON_HOST = (states.ACTIVE, states.STOPPED, states.PAUSED, states.SUSPENDED, states.RESCUED, states.RESIZED,
           states.SHELVED)

PLAYS = [{"name": "Stratus: guests on compute hosts", "hosts": "compute", "gather_facts": False,
          "tasks": [{"name": "guests", "stratus.cloud.instance_info": {"uri": URI}}]}]


@dataclass
class Finding:
    kind: str  # orphan_domain, lost_server, power_state
    host: str
    instance: str  # the instance (server) uuid
    domain: str = ""
    detail: str = ""
    repaired: bool = False


@dataclass
class Report:
    started_at: datetime
    hosts: list[str] = field(default_factory=list)  # hosts that answered
    unreachable: dict[str, str] = field(default_factory=dict)  # host -> why
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"started_at": nova_time(self.started_at), "hosts": self.hosts, "unreachable": self.unreachable,
                "findings": [asdict(f) for f in self.findings]}


# --- collecting ---------------------------------------------------------------------


def collect(database, state_dir: Path, hosts: list[str] | None = None) -> tuple[dict[str, list[dict]], dict[str, str]]:
    """({host: instance_info's instances}, {host: failure}) of the compute hosts."""
    from stratus.hosts import registry
    from stratus.jobs import runner

    with database.session() as s:
        inventory = registry.inventory(s, only=hosts)
    reports: dict[str, list[dict]] = {}
    failed: dict[str, str] = {}

    def on_event(ev: dict[str, Any]) -> bool:
        data = ev.get("event_data", {})
        host = data.get("host")
        if ev.get("event") == "runner_on_ok" and host:
            reports[host] = list((data.get("res") or {}).get("instances") or [])
        elif ev.get("event") in ("runner_on_failed", "runner_on_unreachable") and host:
            failed[host] = str((data.get("res") or {}).get("msg", "failed"))
        return True

    if inventory["all"]["children"].get("compute", {}).get("hosts"):
        runner.run_playbook(f"reconcile-{uuid.uuid4()}", PLAYS, inventory, state_dir, timeout=600,
                            event_handler=on_event)
    return reports, failed


# --- comparing ----------------------------------------------------------------------


def compare(db: Session, reports: dict[str, list[dict]], started_at: datetime) -> list[Finding]:
    """Findings of the hosts in ``reports`` against the records (changes nothing)."""
    out: list[Finding] = []
    seen: dict[str, tuple[str, dict]] = {}  # instance uuid -> (host, facts)
    for host, instances in reports.items():
        for inst in instances:
            if inst.get("owned") and inst.get("uuid"):
                seen[inst["uuid"]] = (host, inst)
    live = {s.id: s for s in db.scalars(select(Server).where(Server.deleted.is_(False)))}
    resources = set(db.scalars(select(Resource.id).where(Resource.type == SERVER_TYPE,
                                                         Resource.status != DELETED)))
    for iid, (host, inst) in sorted(seen.items()):
        if iid not in live and iid not in resources:
            out.append(Finding("orphan_domain", host, iid, inst.get("name", ""),
                               f"domain {inst.get('name')} ({inst.get('state')}) on {host} belongs to no server"))
    for sid, server in sorted(live.items()):
        if server.host not in reports or server.task_state is not None or server.vm_state not in ON_HOST:
            continue
        if server.updated_at and server.updated_at >= started_at:
            continue
        where = seen.get(sid)
        if where is None or where[0] != server.host:
            elsewhere = f" (a domain of it is on {where[0]})" if where else ""
            out.append(Finding("lost_server", server.host, sid, f"instance-{sid}",
                               f"server {sid} ({server.vm_state}) has no domain on its host {server.host}{elsewhere}"))
            continue
        power = states.POWER_STATES.get(str(where[1].get("state")), states.NOSTATE)
        if power != server.power_state:
            out.append(Finding("power_state", server.host, sid, where[1].get("name", ""),
                               f"power state {server.power_state} recorded, {power} "
                               f"({where[1].get('state')}) on {server.host}"))
    return out


# --- repairing ----------------------------------------------------------------------


def repair_records(db: Session, findings: list[Finding], reports: dict[str, list[dict]]) -> None:
    """Record what the hosts said for power_state and lost_server findings."""
    facts = {i["uuid"]: i for insts in reports.values() for i in insts if i.get("uuid")}
    for f in findings:
        server = db.get(Server, f.instance)
        if server is None or server.deleted or server.task_state is not None:
            continue
        if f.kind == "power_state":
            server.power_state = states.POWER_STATES.get(str(facts[f.instance].get("state")), states.NOSTATE)
            if server.vm_state == states.ACTIVE and server.power_state in (states.SHUTDOWN, states.CRASHED):
                server.vm_state = states.STOPPED
            f.repaired = True
        elif f.kind == "lost_server":
            server.vm_state, server.power_state = states.ERROR, states.NOSTATE
            server.fault = {"code": 500, "created": nova_time(utcnow()),
                            "message": f"The instance's domain is gone from host {f.host}",
                            "details": f"reconcile: {f.detail}; rebuild or delete the server"}
            f.repaired = True
    db.flush()


def remove_orphans(database, state_dir: Path, findings: list[Finding]) -> None:
    """Remove orphan domains with their files (``instance`` state absent on their host)."""
    from stratus.hosts import registry
    from stratus.jobs import runner

    orphans = [f for f in findings if f.kind == "orphan_domain"]
    if not orphans:
        return
    hosts = sorted({f.host for f in orphans})
    with database.session() as s:
        inventory = registry.inventory(s, only=hosts)
    plays = [{"name": f"Stratus: remove orphan guests on {host}", "hosts": host, "gather_facts": False,
              "tasks": [{"name": f"remove {f.instance}", "stratus.cloud.instance": {
                  "uuid": f.instance, "name": f.domain, "state": "absent", "uri": URI}}
                  for f in orphans if f.host == host]} for host in hosts]
    done: set[tuple[str, str]] = set()

    def on_event(ev: dict[str, Any]) -> bool:
        data = ev.get("event_data", {})
        if ev.get("event") == "runner_on_ok":
            done.add((data.get("host"), str(data.get("task", "")).removeprefix("remove ")))
        return True

    runner.run_playbook(f"reconcile-repair-{uuid.uuid4()}", plays, inventory, state_dir, timeout=600,
                        event_handler=on_event)
    for f in orphans:
        f.repaired = (f.host, f.instance) in done


def run(database, state_dir: Path, *, repair: bool = False, hosts: list[str] | None = None) -> Report:
    """One pass: collect, compare, and with ``repair`` fix what was found."""
    report = Report(started_at=utcnow())
    reports, report.unreachable = collect(database, state_dir, hosts)
    report.hosts = sorted(reports)
    with database.session() as s:
        report.findings = compare(s, reports, report.started_at)
        if repair:
            repair_records(s, report.findings, reports)
    if repair:
        remove_orphans(database, state_dir, report.findings)
    for f in report.findings:
        log.warning("reconcile: %s %s on %s: %s%s", f.kind, f.instance, f.host, f.detail,
                    " (repaired)" if f.repaired else "")
    return report


# --- the periodic pass ----------------------------------------------------------------


class Periodic:
    """A daemon thread running :func:`run` (repairing) every ``interval`` seconds."""

    def __init__(self, database, state_dir: Path, interval: int) -> None:
        self.database, self.state_dir, self.interval = database, state_dir, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stratus-reconcile", daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                run(self.database, self.state_dir, repair=True)
            except Exception:  # a failed pass is logged; the next one tries again
                log.exception("reconcile pass failed")


def start(app) -> Periodic | None:
    """The controller's periodic pass (``compute_reconcile_interval`` > 0), from its lifespan."""
    settings = app.state.settings
    if settings.compute_reconcile_interval <= 0:
        return None
    app.state.reconcile = Periodic(app.state.db, Path(settings.state_dir),
                                   settings.compute_reconcile_interval).start()
    return app.state.reconcile


def stop(app) -> None:
    periodic = getattr(app.state, "reconcile", None)
    if periodic is not None:
        periodic.stop()
        app.state.reconcile = None
