"""Helpers shared by the identity routes (not a router)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from stratus.api.errors import BadRequest, Conflict, NotFound


def base_url(request: Request) -> str:
    return request.app.state.settings.endpoint_url + "/identity/v3"


def self_link(request: Request, path: str) -> dict:
    return {"self": f"{base_url(request)}{path}"}


def role_view(request: Request, role) -> dict:
    """A role as a resource that delegates roles (a trust, an OAuth access token) lists it."""
    return {
        "id": role.id,
        "name": role.name,
        "domain_id": role.domain_id or None,
        "links": self_link(request, f"/roles/{role.id}"),
    }


def list_links(request: Request) -> dict:
    return {"self": str(request.url), "previous": None, "next": None}


def get_or_404(db: Session, model, id_: str, what: str):
    obj = db.get(model, id_)
    if obj is None:
        raise NotFound(f"Could not find {what}: {id_}.")
    return obj


def qbool(value: str | None) -> bool | None:
    if value is None:
        return None
    v = value.lower()
    if v in ("", "1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise BadRequest(f"Expecting a boolean query value, got {value!r}.")


def ensure_unique_name(
    db: Session, model, name: str, what: str, action: str = "store", **scope
) -> None:
    """409 when a ``model`` row named ``name`` exists among rows matching ``scope``."""
    if db.scalars(select(model).filter_by(name=name, **scope)).first() is not None:
        raise Conflict(
            f"Conflict occurred attempting to {action} {what} - Duplicate entry found with name {name}."
        )


def apply_patch(
    db: Session,
    obj,
    values: dict,
    fields: tuple[str, ...],
    *,
    what: str,
    unique_within: tuple[str, ...] = (),
    nullable: tuple[str, ...] = (),
    unique_name: bool = True,
) -> None:
    """PATCH semantics: set each of ``fields`` present in ``values`` (a null leaves the
    field alone unless it is ``nullable``); a new name must stay unique among the rows
    sharing the ``unique_within`` columns, unless ``unique_name`` is off (services)."""
    name = values.get("name")
    if unique_name and name and name != obj.name:
        scope = {c: getattr(obj, c) for c in unique_within}
        ensure_unique_name(db, type(obj), name, what, "update", **scope)
    for k in fields:
        if k in values and (values[k] is not None or k in nullable):
            v = values[k]
            setattr(obj, k, list(v) if isinstance(v, list) else v)
