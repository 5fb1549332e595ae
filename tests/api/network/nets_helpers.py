"""Helpers of the network API tests: Neutron requests as a user, Neutron's error
document, and direct rows for what other parts make (ports) so that in-use refusals
can be shown before those parts exist."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

API = "/network/v2.0"


_TOKENS: dict[tuple[int, str], str] = {}


def _token(controller, creds) -> str:
    key = (id(controller), creds.username)
    if key not in _TOKENS:
        _TOKENS[key] = controller.token(creds)
    return _TOKENS[key]


def neutron(controller, method: str, path: str, creds=None, **kw):
    token = _token(controller, creds) if creds else controller.admin_token()
    return controller.request(method, API + path, token=token, **kw)


def ok(r, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json() if r.content else {}


def error(r, status: int, type_: str | None = None) -> str:
    """The NeutronError of ``r`` (status and type checked); its message."""
    assert r.status_code == status, r.text
    body = r.json()["NeutronError"]
    assert set(body) == {"type", "message", "detail"}
    if type_ is not None:
        assert body["type"] == type_, body
    return body["message"]


def name(prefix: str = "n") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def database(controller):
    from stratus.db.session import Database

    db = getattr(controller, "_nets_db", None)
    if db is None:
        db = controller._nets_db = Database(controller.database_url)
    return db


def count(controller, model, **where) -> int:
    with database(controller).session() as s:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return s.scalar(stmt)


def add_port(controller, network_id: str, project_id: str, *, owner: str = "compute:nova",
             fixed_ips=None) -> str:
    """A port row with addresses from IPAM, as the ports service will make it."""
    from stratus.db.models.network import Port
    from stratus.network import ipam

    pid = str(uuid.uuid4())
    with database(controller).session() as s:
        port = Port(id=pid, project_id=project_id, network_id=network_id, device_owner=owner,
                    mac_address="fa:16:3e:" + ":".join(f"{b:02x}" for b in uuid.uuid4().bytes[:3]))
        s.add(port)
        ipam.allocate(s, port, fixed_ips)
    return pid


def drop_port(controller, port_id: str) -> None:
    from stratus.db.models.network import IPAllocation, Port

    with database(controller).session() as s:
        for row in s.scalars(select(IPAllocation).where(IPAllocation.port_id == port_id)):
            s.delete(row)
        s.flush()
        s.delete(s.get(Port, port_id))
