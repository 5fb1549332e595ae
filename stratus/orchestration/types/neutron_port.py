"""``OS::Neutron::Port``: a port on a network, plugged on the host it is bound to.

The record is Neutron's (``stratus.network.ports``): ``POST /v2.0/ports`` writes it and
submits this type with the record's id; from a Heat stack, ``check`` writes it through
the same service function. ``check`` then records the desired host state of the port
and its network (``stratus.network.hostplan.converge``: the segment on the binding
host, the DHCP lease, the tap plugged with its security groups) and ``plan_*`` emit
it as tasks. A port bound to no host runs nothing. ``on_state`` keeps the record's
status: ACTIVE once realized on its host, DOWN while unbound or administratively down.
It shares the converging record base of ``OS::Neutron::Net`` (``neutron_net.Converging``)
and adds the port itself to the state (with the state recorded before, so a port that
was unbound, moved or deleted is removed where it was).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stratus.db.models.jobs import ACTIVE, ERROR
from stratus.db.models.network import Port as PortRow
from stratus.errors import ApiError
from stratus.network import hostplan
from stratus.orchestration.errors import ResourceCheckFailed
from stratus.orchestration.properties import BOOLEAN, LIST, STRING, Schema
from stratus.orchestration.resources import PlannedResource
from stratus.orchestration.types.neutron_net import Converging, _admin, _failed, _settings

# Heat property → Neutron attribute, where the names differ
_ATTR = {"network": "network_id"}
_PASSED = ("name", "mac_address", "security_groups", "allowed_address_pairs", "port_security_enabled",
           "binding:vnic_type", "binding:host_id", "device_id", "device_owner", "admin_state_up", "tags")


@dataclass(frozen=True)
class _Caller:
    """Who a stack's port is made for (the service's ``ctx``)."""

    project_id: str | None
    is_admin: bool


class Port(Converging):
    type_name = "OS::Neutron::Port"
    property_aliases = {"network_id": "network"}  # Heat's deprecated name
    model = PortRow
    description = "A Neutron port: fixed IPs and a MAC on a network, plugged on its binding host."
    properties_schema = {
        "network": Schema(STRING, "The network's id.", required=True),
        "name": Schema(STRING, "The port's name.", update_allowed=True),
        "fixed_ips": Schema(LIST, "Fixed IPs: [{subnet (or subnet_id), ip_address}]; one address "
                            "from each subnet when not given.", update_allowed=True),
        "mac_address": Schema(STRING, "The MAC (generated when not given).", update_allowed=True),
        "security_groups": Schema(LIST, "Security group ids (the project's default group when not "
                                  "given and port security is on).", update_allowed=True),
        "allowed_address_pairs": Schema(LIST, "[{ip_address, mac_address}] the port may also use.",
                                        update_allowed=True),
        "port_security_enabled": Schema(BOOLEAN, "Port security (the network's setting when not given).",
                                        update_allowed=True),
        "binding:vnic_type": Schema(STRING, "The vNIC type.", default="normal", allowed_values=("normal",),
                                    update_allowed=True),
        "binding:host_id": Schema(STRING, "The host the port is plugged on (cloud administrators).",
                                  update_allowed=True),
        "device_id": Schema(STRING, "The device using the port.", update_allowed=True),
        "device_owner": Schema(STRING, "The kind of device using the port.", update_allowed=True),
        "admin_state_up": Schema(BOOLEAN, "Administrative state.", default=True, update_allowed=True),
        "tags": Schema(LIST, "Tags of the port.", update_allowed=True),
    }
    attributes_schema = {
        "mac_address": "The MAC.", "fixed_ips": "[{subnet_id, ip_address}].", "network_id": "The network.",
        "device": "The tap device on the host.", "status": "The port's status.", "show": "All attributes.",
    }

    @classmethod
    def check(cls, db, res: PlannedResource, planned: dict[str, PlannedResource] | None = None) -> None:
        """Find the port's record (or write it, for a stack) and record the host state."""
        from stratus.network import ports

        row = db.get(PortRow, res.resource_id)
        if row is None:
            row = cls._ensure_row(db, res)
        else:
            cls._follow(db, res, row)
        res.attributes.update(cls.recorded(row), fixed_ips=ports.fixed_ips(db, row.id))
        cls._converge(db, res, networks=[row.network_id], ports=[row.id])

    @classmethod
    def recorded(cls, row) -> dict[str, Any]:
        return {"mac_address": row.mac_address, "network_id": row.network_id, "device": "tap" + row.id[:11]}

    @classmethod
    def _ensure_row(cls, db, res: PlannedResource) -> PortRow:
        """The record of a port a template makes, written as ``POST /ports`` would."""
        from stratus.network import ports

        caller, attrs = cls._request(res)
        try:
            return ports.write_row(db, caller, attrs, project_id=res.project_id, settings=_settings(res),
                                   port_id=res.resource_id)
        except ApiError as exc:
            raise _failed(res, exc) from None

    @classmethod
    def _follow(cls, db, res: PlannedResource, row: PortRow) -> None:
        """A stack update: the properties the record does not hold yet, applied as
        ``PUT /ports/{id}`` would (the API's own updates find nothing left to apply)."""
        from stratus.network import ports

        caller, attrs = cls._request(res)
        now = {_ATTR.get(k, k): v for k, v in ports.properties_of(db, row).items()}
        changed = {k: v for k, v in attrs.items()
                   if k in ports.UPDATE_ATTRS and not _holds(k, v, now.get(k))}
        if not changed:
            return
        try:
            ports.apply_update(db, caller, row, changed)
        except ApiError as exc:
            raise _failed(res, exc) from None

    @classmethod
    def _request(cls, res: PlannedResource) -> tuple[_Caller, dict[str, Any]]:
        """The caller and Neutron's port body that the properties stand for."""
        admin = _admin(res)
        p = res.properties
        if p.get("binding:host_id") and not admin:
            raise ResourceCheckFailed("only a cloud administrator may set binding:host_id",
                                      ("resources", res.name, "properties", "binding:host_id"), status=403)
        attrs: dict[str, Any] = {_ATTR.get(k, k): p[k] for k in ("network", *_PASSED) if p.get(k) is not None}
        if p.get("fixed_ips") is not None:
            attrs["fixed_ips"] = [cls._fixed_ip(ip) for ip in p["fixed_ips"]]
        return _Caller(res.project_id, admin), attrs

    @staticmethod
    def _fixed_ip(item: Any) -> dict[str, Any]:
        if not isinstance(item, dict):
            return item
        out = {k: v for k, v in item.items() if k in ("subnet_id", "ip_address") and v is not None}
        if item.get("subnet") is not None:
            out["subnet_id"] = item["subnet"]
        return out

    @classmethod
    def check_delete(cls, db, res: PlannedResource) -> None:
        """The state of its network without the port (unplugged, the segment gone from a
        host with no port left). ``DELETE /ports`` deleted the record already; a stack's
        delete deletes it here, through the same service function."""
        from stratus.network import ports

        row = db.get(PortRow, res.resource_id)
        before = list(res.hosts) if res.placed else []
        network = res.attributes.get("network_id") or res.properties.get("network")
        if row is not None:  # a stack's delete: the state with the port first, as it is now
            cls._converge(db, res, networks=[row.network_id], ports=[row.id])
            before = sorted(set(before) | set(res.hosts))
            ports.delete_row(db, row)
        cls._converge(db, res, networks=[network] if network else [], ports=[res.resource_id])
        res.hosts = sorted(set(before) | set(res.hosts))

    @classmethod
    def _converge(cls, db, res: PlannedResource, **objects) -> None:
        """Record the desired host state (the state recorded before, if any, makes the
        port absent where it no longer is: unbound, moved or deleted)."""
        hostplan.record(db, res, previous=True, **objects)

    @classmethod
    def quota_usage(cls, props: dict[str, Any], attributes: dict[str, Any] | None = None) -> dict[str, int]:
        return {"port": 1}

    @classmethod
    def locks(cls, res):
        network = res.attributes.get("network_id") or res.properties.get("network")
        return [*super().locks(res), *([network] if isinstance(network, str) else [])]

    @classmethod
    def plan_update(cls, res, prop_diff):
        cls.check_update_allowed(res, prop_diff)  # another network: a new port (UpdateReplace)
        return super().plan_update(res, prop_diff)

    @classmethod
    def on_state(cls, db, resource) -> None:
        """The record's status: ACTIVE when its job realized it on its binding host."""
        from stratus.network import ports

        row = db.get(PortRow, resource.id)
        if row is not None:
            ports.settle_status(row, {ACTIVE: True, ERROR: False}.get(resource.status))


def _holds(key: str, wanted: Any, now: Any) -> bool:
    """The record already holds ``wanted``: fixed IPs match when each asked-for entry
    (a subnet, an address or both) is one of the port's addresses."""
    if key != "fixed_ips":
        return wanted == now
    have = list(now or [])
    if len(wanted) != len(have):
        return False
    for item in wanted:
        match = next((h for h in have if isinstance(item, dict) and all(h.get(k) == v for k, v in item.items())),
                     None)
        if match is None:
            return False
        have.remove(match)
    return True


def resource_mapping():
    return {c.type_name: c for c in (Port,)}
