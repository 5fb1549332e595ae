"""Request bodies of server actions checked against JSON schemas as Nova checks them:
400 "Invalid input for field/attribute <path>. Value: <value>. <reason>"."""

from __future__ import annotations

from typing import Any

import jsonschema

from stratus.errors import BadRequest


def validate(schema: dict[str, Any], body: Any, name: str) -> None:
    """Raise BadRequest in Nova's words unless ``body`` (the value under the action key
    ``name``) fits ``schema``."""
    validator = jsonschema.Draft4Validator(schema)
    error = next(iter(sorted(validator.iter_errors(body), key=lambda e: list(e.path))), None)
    if error is None:
        return
    path = "/".join(str(p) for p in error.path) or name
    value = error.instance
    if error.validator == "required":
        value = body
    raise BadRequest(f"Invalid input for field/attribute {path}. Value: {value}. {error.message}")


def string(max_length: int = 255, min_length: int = 0) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def obj(properties: dict[str, Any], required: tuple[str, ...] = (), *, nullable: bool = False,
        extra: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["object", "null"] if nullable else "object",
                              "properties": properties, "additionalProperties": extra}
    if required:
        schema["required"] = list(required)
    return schema
