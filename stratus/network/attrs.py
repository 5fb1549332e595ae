"""Neutron's request bodies and standard attributes, shared by every resource.

- ``section(body, "network")``: the resource document of a create/update body, or 400;
- ``only(doc, allowed)``: 400 "Unrecognized attribute(s) 'x'" for anything else;
- ``read_only(doc, names)``: 400 "Cannot update read-only attribute x";
- ``text``/``boolean``/``integer``/``string_list``: typed values with Neutron's
  "Invalid input for <field>. Reason: ..." refusals (type InvalidInput);
- ``project_of(ctx, doc, admin)``: the project a new record belongs to (an admin may
  create for another project with ``project_id``/``tenant_id``);
- ``standard(row, tags)``: description, tags, revision and timestamps of a view;
- ``touch(row)``: bump ``revision_number`` on a change.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from stratus.errors import BadRequest, Forbidden

NAME_MAX = 255
DESCRIPTION_MAX = 255


def invalid(field: str, reason: str) -> BadRequest:
    return BadRequest(f"Invalid input for {field}. Reason: {reason}", type="InvalidInput")


def invalid_op(message: str) -> BadRequest:
    return BadRequest(f"Invalid input for operation: {message}", type="InvalidInput")


def section(body: Any, name: str) -> dict[str, Any]:
    if not isinstance(body, dict) or name not in body:
        raise BadRequest(f"Resource body required: the request needs a '{name}' object.")
    doc = body[name]
    if not isinstance(doc, dict):
        raise BadRequest(f"Invalid input for operation: '{name}' must be an object.", type="InvalidInput")
    return doc


def only(doc: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(doc) - set(allowed))
    if unknown:
        raise BadRequest("Unrecognized attribute(s) '" + ", ".join(unknown) + "'")


def read_only(doc: dict[str, Any], names: Iterable[str]) -> None:
    for name in names:
        if name in doc:
            raise BadRequest(f"Cannot update read-only attribute {name}")


def text(doc: dict[str, Any], field: str, *, max_len: int = NAME_MAX, default: str | None = None) -> str | None:
    if field not in doc:
        return default
    value = doc[field]
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise invalid(field, f"'{value}' is not a valid string")
    if len(value) > max_len:
        raise invalid(field, f"'{value}' exceeds maximum length of {max_len}")
    if "\x00" in value:
        raise invalid(field, "NUL characters are not allowed")
    return value


def boolean(doc: dict[str, Any], field: str, default: bool | None = None) -> bool | None:
    if field not in doc:
        return default
    value = doc[field]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise invalid(field, f"'{value}' cannot be converted to boolean")


def integer(doc: dict[str, Any], field: str, *, low: int | None = None, high: int | None = None,
            default: int | None = None) -> int | None:
    if field not in doc or doc[field] is None:
        return default
    value = doc[field]
    if isinstance(value, bool):
        raise invalid(field, f"'{value}' is not an integer")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise invalid(field, f"'{value}' is not an integer") from None
    if low is not None and n < low:
        raise invalid(field, f"'{n}' is too small - must be at least '{low}'")
    if high is not None and n > high:
        raise invalid(field, f"'{n}' is too large - must be no larger than '{high}'")
    return n


def string_list(doc: dict[str, Any], field: str, default: list[str] | None = None) -> list[str] | None:
    if field not in doc:
        return default
    value = doc[field]
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(field, f"'{value}' is not a list of strings")
    return value


def project_of(ctx, doc: dict[str, Any], admin: bool) -> str:
    """The project a new record belongs to: the caller's, or (admins) the one named."""
    wanted = doc.get("project_id") or doc.get("tenant_id")
    if doc.get("project_id") and doc.get("tenant_id") and doc["project_id"] != doc["tenant_id"]:
        raise invalid_op("project_id and tenant_id do not match")
    if wanted and wanted != ctx.project_id:
        if not admin:
            raise Forbidden("You are not authorized to create a resource for another project: "
                            "only an administrator may set project_id.")
        if not isinstance(wanted, str) or len(wanted) > 64:
            raise invalid("project_id", f"'{wanted}' is not a valid project id")
        return wanted
    if not ctx.project_id:
        raise BadRequest("A project-scoped token is needed to create a resource (or give project_id).")
    return ctx.project_id


def timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def standard(row: Any, tags: list[str]) -> dict[str, Any]:
    """Neutron's standard attributes of ``row`` (with its project)."""
    return {"project_id": row.project_id, "tenant_id": row.project_id,
            "description": row.description or "", "tags": tags,
            "created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at),
            "revision_number": row.revision_number or 0}


def touch(row: Any) -> None:
    row.revision_number = (row.revision_number or 0) + 1
    row.updated_at = datetime.now(UTC)
