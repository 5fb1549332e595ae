"""Extra attributes of users and projects: Keystone stores properties it has no column
for and returns them with the entity (``openstack project create --property k=v``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# Names the API computes or owns: never taken as an extra attribute.
RESERVED = frozenset(
    {"id", "links", "options", "password_expires_at", "is_domain", "parent_id", "domain_id", "extra"}
)


def extras_in(body: BaseModel) -> dict[str, Any]:
    """The properties of ``body`` its schema does not declare."""
    return {k: v for k, v in (body.model_extra or {}).items() if k not in RESERVED}


def merge_extras(obj, body: BaseModel) -> None:
    """PATCH: the body's extra properties replace those of the same name on ``obj``."""
    new = extras_in(body)
    if new:
        obj.extra = {**(obj.extra or {}), **new}


def with_extras(view: dict, obj) -> dict:
    """``view`` with ``obj``'s extra attributes (the view's own fields win)."""
    return {**(obj.extra or {}), **view}
