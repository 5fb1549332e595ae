"""Request bodies of the compute API checked against JSON schemas, with Nova's 400:
"Invalid input for field/attribute X. Value: Y. <reason>" (X is the last element of
the path to the value at fault), or the bare reason for a fault at the top level.

    validate(body, {"type": "object", "properties": {...}, "required": [...]})

The parameter types below are Nova's (``nova/api/validation/parameter_types.py``) for
the records the compute API keeps (names, descriptions, flavor sizes).
"""

from __future__ import annotations

from typing import Any

import jsonschema

from stratus.errors import BadRequest

MAX_INT = 2**31 - 1  # Nova's db_const.MAX_INT
SQL_SP_FLOAT_MAX = 3.40282e38

# printable, no leading or trailing whitespace (Nova's "name")
_PRINTABLE_NO_EDGE_SPACE = r"^(?![\s])[^\x00-\x1f\x7f]*(?<![\s])$"

name: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": _PRINTABLE_NO_EDGE_SPACE}
description: dict[str, Any] = {"type": ["string", "null"], "minLength": 0, "maxLength": 255,
                               "pattern": r"^[^\x00-\x1f\x7f]*$"}
boolean: dict[str, Any] = {"type": ["boolean", "string"],
                           "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES",
                                    "Yes", "yes", "y", "t",
                                    False, "False", "FALSE", "false", "0", "OFF", "Off", "off",
                                    "NO", "No", "no", "n", "f"]}


def integer(minimum: int, maximum: int = MAX_INT) -> dict[str, Any]:
    """An integer, or a string of one (Nova accepts both), in [minimum, maximum]."""
    return {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": minimum,
            "maximum": maximum}


def as_bool(value: Any) -> bool:
    """A value :data:`boolean` accepted, as a bool."""
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "on", "yes", "y", "t")


def plain(value: str | None, field: str) -> str | None:
    """A query parameter, refused (400) when it holds a NUL, which no record can hold."""
    if value is not None and "\x00" in value:
        raise BadRequest(f"Invalid input for field/attribute {field}. Value: {value!r}. "
                         "NUL characters are not allowed")
    return value


def validate(document: Any, schema: dict[str, Any]) -> None:
    """BadRequest in Nova's words unless ``document`` matches ``schema``."""
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        raise BadRequest(_message(errors[0]))
    _ranges(document, schema, ())


def _message(error: jsonschema.ValidationError) -> str:
    if error.path:
        return (f"Invalid input for field/attribute {error.path[-1]}. "
                f"Value: {error.instance}. {error.message}")
    return error.message


def _ranges(document: Any, schema: dict[str, Any], path: tuple) -> None:
    """The integer-string case of :func:`integer`: "12" must be in range too."""
    if isinstance(document, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in document:
                _ranges(document[key], sub, (*path, key))
        return
    if isinstance(document, str) and "integer" in _types(schema) and "minimum" in schema:
        value = int(document)
        low, high = schema["minimum"], schema.get("maximum", MAX_INT)
        if value < low:
            raise BadRequest(f"Invalid input for field/attribute {path[-1]}. Value: {document}. "
                             f"{document!r} is less than the minimum of {low}")
        if value > high:
            raise BadRequest(f"Invalid input for field/attribute {path[-1]}. Value: {document}. "
                             f"{document!r} is greater than the maximum of {high}")


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)
