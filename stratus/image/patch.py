"""Glance's JSON-patch dialects for ``PATCH /v2/images/{id}``: parse the request into a
list of :class:`Change` (op, attribute name, value) with Glance's refusals.

- ``application/openstack-images-v2.1-json-patch`` (JSON Schema draft 10, RFC 6902
  shape): ``{"op": "replace", "path": "/name", "value": "x"}``.
- ``application/openstack-images-v2.0-json-patch`` (draft 4): ``{"replace": "/name",
  "value": "x"}``; ``add`` of an attribute that exists is a conflict there.

Paths name one top-level attribute (``/name``, ``/tags``, ``/hw_disk_bus``; ``~1`` and
``~0`` escape ``/`` and ``~``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from stratus.errors import ApiError, BadRequest, Forbidden
from stratus.image import records

MEDIA_TYPES = {
    "application/openstack-images-v2.0-json-patch": 4,
    "application/openstack-images-v2.1-json-patch": 10,
}
OPERATIONS = ("add", "remove", "replace")
LOCATIONS = "locations"
# Glance's request deserializer: reserved names besides the os_glance* namespace
RESERVED = frozenset({"location", "deleted", "deleted_at"})


@dataclass(frozen=True)
class Change:
    op: str
    name: str
    value: Any = None
    draft: int = 10


def draft_of(content_type: str | None) -> int:
    """The JSON-schema draft of a PATCH media type; 415 (with Accept-Patch) for others."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in MEDIA_TYPES:
        allowed = ", ".join(sorted(MEDIA_TYPES))
        raise ApiError(f"Image PATCH expects Content-Type one of: {allowed}", status=415,
                       headers={"Accept-Patch": allowed})
    return MEDIA_TYPES[media]


def _pointer(pointer: Any) -> list[str]:
    if not isinstance(pointer, str):
        raise BadRequest(f"Pointer `{pointer}` is not a string: a path is a JSON pointer "
                         "such as \"/name\".")
    if not pointer.startswith("/"):
        raise BadRequest(f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"/\s*?/", pointer[1:]):
        raise BadRequest(f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise BadRequest(f'Pointer `{pointer}` end with "/".')
    if pointer[1:].strip() == "/" or pointer == "/":
        raise BadRequest(f"Pointer `{pointer}` does not contains valid token.")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise BadRequest(f'Pointer `{pointer}` contains "~" not part of a recognized escape sequence.')
    return [p.replace("~1", "/").replace("~0", "~").strip() for p in pointer.lstrip("/").split("/")]


def _op_and_path(raw: dict, draft: int) -> tuple[str, Any]:
    available = ", ".join(OPERATIONS)
    if draft == 10:
        op = raw.get("op")
        if op is None:
            raise BadRequest("Unable to find `op` in JSON Schema change. "
                             f"It must be one of the following: {available}.")
        if op not in OPERATIONS:
            raise BadRequest(f"Invalid operation: `{op}`. It must be one of the following: {available}.")
        if "path" not in raw:
            raise BadRequest("Unable to find 'path' in JSON Schema change")
        return op, raw["path"]
    ops = [k for k in OPERATIONS if k in raw]
    if len(ops) > 1:
        raise BadRequest('Operation objects must contain only one member named "add", "remove", or "replace".')
    if not ops:
        raise BadRequest('Operation objects must contain exactly one member named "add", "remove", or "replace".')
    return ops[0], raw[ops[0]]


def check_name(name: str) -> None:
    """403 for attributes no request may set (Glance's read-only and reserved names)."""
    if name in records.READ_ONLY:
        raise Forbidden(f"Attribute '{name}' is read-only.")
    if name in RESERVED or records.is_reserved(name):
        raise Forbidden(f"Attribute '{name}' is reserved.")


def parse(body: Any, draft: int) -> list[Change]:
    """The changes of a PATCH body (already decoded JSON), or Glance's 400/403."""
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    changes = []
    for raw in body:
        if not isinstance(raw, dict):
            raise BadRequest("Operations must be JSON objects.")
        op, pointer = _op_and_path(raw, draft)
        path = _pointer(pointer)
        if path[0] == LOCATIONS:
            verb = "remove" if op == "remove" else "update"
            raise Forbidden(f"It's not allowed to {verb} locations if locations are invisible.")
        if len(path) != 1:
            raise BadRequest(f"Invalid JSON pointer for this resource: '/{'/'.join(path)}'")
        name = path[0]
        check_name(name)
        if op == "remove":
            changes.append(Change(op, name, draft=draft))
            continue
        if "value" not in raw:
            raise BadRequest(f'Operation "{op}" requires a member named "value".')
        changes.append(Change(op, name, raw["value"], draft))
    return changes
