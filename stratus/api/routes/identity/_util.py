"""Helpers shared by the identity routes (not a router)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from stratus.api.errors import BadRequest, NotFound


def base_url(request: Request) -> str:
    return request.app.state.settings.endpoint_url + "/identity/v3"


def self_link(request: Request, path: str) -> dict:
    return {"self": f"{base_url(request)}{path}"}


def list_links(request: Request) -> dict:
    return {"self": str(request.url), "previous": None, "next": None}


def get_or_404(db: Session, model, id_: str, what: str):
    obj = db.get(model, id_)
    if obj is None:
        raise NotFound(f"Could not find {what}: {id_}.")
    return obj


def set_fields(obj, values: dict, allowed: tuple[str, ...]) -> None:
    for k in allowed:
        if k in values:
            setattr(obj, k, values[k] if values[k] is not None or k not in ("description",) else "")


def qbool(value: str | None) -> bool | None:
    if value is None:
        return None
    v = value.lower()
    if v in ("", "1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise BadRequest(f"Expecting a boolean query value, got {value!r}.")
