"""Request-body checks of the admin APIs (aggregates, services) answering as Nova's
JSON-schema validation does: 400 "Invalid input for field/attribute X. Value: Y. why"."""

from __future__ import annotations

import json
import re
from typing import Any

from stratus.errors import BadRequest

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def invalid(field: str, value: Any, why: str) -> BadRequest:
    shown = json.dumps(value) if not isinstance(value, str) else value
    return BadRequest(f"Invalid input for field/attribute {field}. Value: {shown}. {why}")


def section(body: Any, key: str) -> dict[str, Any]:
    """``body[key]``, which must be an object (Nova's "'key' is a required property")."""
    if not isinstance(body, dict) or key not in body:
        raise invalid(key, body, f"'{key}' is a required property")
    value = body[key]
    if not isinstance(value, dict):
        raise invalid(key, value, f"{json.dumps(value)} is not of type 'object'")
    return value


def only(obj: dict[str, Any], field: str, allowed: tuple[str, ...]) -> None:
    extra = sorted(k for k in obj if k not in allowed)
    if extra:
        raise invalid(field, obj, "Additional properties are not allowed "
                                  f"({', '.join(repr(k) for k in extra)} were unexpected)")


def text(obj: dict[str, Any], key: str, *, required: bool = False, nullable: bool = False,
         max_length: int = 255, min_length: int = 1, strip: bool = False) -> str | None:
    """``obj[key]`` as a one-line string of ``min_length``..``max_length`` characters
    (leading/trailing blanks refused unless ``strip``, as Nova's name format)."""
    if key not in obj:
        if required:
            raise invalid(key, obj, f"'{key}' is a required property")
        return None
    value = obj[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise invalid(key, value, f"{json.dumps(value)} is not of type 'string'")
    if strip:
        value = value.strip()
    if len(value) < min_length:
        raise invalid(key, value, f"{json.dumps(value)} is too short")
    if len(value) > max_length:
        raise invalid(key, value, f"{json.dumps(value)} is too long")
    if _CONTROL.search(value) or (not strip and value != value.strip()):
        raise invalid(key, value, "The name may not hold control characters, nor begin or end with blanks.")
    return value


def boolean(obj: dict[str, Any], key: str) -> bool | None:
    """``obj[key]`` as Nova's boolean parameter (true/false, also "true"/"false")."""
    if key not in obj:
        return None
    value = obj[key]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0", "on", "off"):
        return value.lower() in ("true", "yes", "1", "on")
    raise invalid(key, value, f"{json.dumps(value)} is not of type 'boolean'")
