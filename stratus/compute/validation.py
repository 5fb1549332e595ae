"""Request bodies of the compute API checked as Nova checks them
(``nova/api/validation/validators.py``), answering Nova's 400 (never FastAPI's 422):
"Invalid input for field/attribute X. Value: Y. <reason>" (X is the last element of the
path to the value at fault), or the bare reason for a fault at the top level.

    validate(body, {"type": "object", "properties": {...}, "required": [...]})
    validate(call.body, REBOOT_SCHEMA, "reboot")    # a server action: the value under "reboot"

The parameter types and builders below are Nova's (``nova/api/validation/parameter_types.py``);
the hand-written checks (``section``/``only``/``text``/``boolean`` of the admin APIs,
``check_*`` of servers, metadata and tags) answer in the same words through :func:`bad`.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, NoReturn

import jsonschema

from stratus.errors import BadRequest

MAX_INT = 2**31 - 1  # Nova's db_const.MAX_INT
SQL_SP_FLOAT_MAX = 3.40282e38
MAX_TAGS = 50
MAX_TAG_LEN = 60
MAX_METADATA_KEY = MAX_METADATA_VALUE = 255

# printable, no leading or trailing whitespace (Nova's "name")
_PRINTABLE_NO_EDGE_SPACE = r"^(?![\s])[^\x00-\x1f\x7f]*(?<![\s])$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TRUE = ("true", "1", "on", "yes", "y", "t")
_FALSE = ("false", "0", "off", "no", "n", "f")
_TYPE_NAMES = {str: "string", int: "integer", dict: "object", list: "array", bool: "boolean"}

# --- Nova's parameter types and schema builders ----------------------------------------

name: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": _PRINTABLE_NO_EDGE_SPACE}
description: dict[str, Any] = {"type": ["string", "null"], "minLength": 0, "maxLength": 255,
                               "pattern": r"^[^\x00-\x1f\x7f]*$"}
boolean_type: dict[str, Any] = {"type": ["boolean", "string"],
                                "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES",
                                         "Yes", "yes", "y", "t",
                                         False, "False", "FALSE", "false", "0", "OFF", "Off", "off",
                                         "NO", "No", "no", "n", "f"]}


def integer(minimum: int, maximum: int = MAX_INT) -> dict[str, Any]:
    """An integer, or a string of one (Nova accepts both), in [minimum, maximum]."""
    return {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": minimum,
            "maximum": maximum}


def string(max_length: int = 255, min_length: int = 0) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def obj(properties: dict[str, Any], required: tuple[str, ...] = (), *, nullable: bool = False,
        extra: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": ["object", "null"] if nullable else "object",
                              "properties": properties, "additionalProperties": extra}
    if required:
        schema["required"] = list(required)
    return schema


def as_bool(value: Any) -> bool:
    """A value :data:`boolean_type` accepted, as a bool."""
    if isinstance(value, bool):
        return value
    return str(value).lower() in _TRUE


# --- the one answer --------------------------------------------------------------------

def message(field: Any, value: Any, reason: str) -> str:
    return f"Invalid input for field/attribute {field}. Value: {value}. {reason}"


def bad(field: Any, value: Any, reason: str) -> NoReturn:
    raise BadRequest(message(field, value, reason))


def bad_query(field: Any, value: Any, reason: str) -> NoReturn:
    """Nova's answer to a query parameter its schema refuses."""
    raise BadRequest(f"Invalid input for query parameters {field}. Value: {value}. {reason}")


def validate(document: Any, schema: dict[str, Any], name: str | None = None) -> None:
    """BadRequest in Nova's words unless ``document`` matches ``schema``. ``name`` is the
    key ``document`` was found under (a server action's), named for a fault at its top."""
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(document), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        error = errors[0]
        field = error.path[-1] if error.path else name
        if field is None:
            raise BadRequest(error.message)
        bad(field, error.instance, error.message)
    _ranges(document, schema, (name,))


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
            bad(path[-1], document, f"{document!r} is less than the minimum of {low}")
        if value > high:
            bad(path[-1], document, f"{document!r} is greater than the maximum of {high}")


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


# --- hand-written checks, in the same words --------------------------------------------

def section(body: Any, key: str) -> dict[str, Any]:
    """``body[key]``, which must be an object (Nova's "'key' is a required property")."""
    if not isinstance(body, dict) or key not in body:
        bad(key, body, f"'{key}' is a required property")
    value = body[key]
    if not isinstance(value, dict):
        bad(key, value, f"{value!r} is not of type 'object'")
    return value


def only(obj: dict[str, Any], field: str, allowed: tuple[str, ...] | set[str]) -> None:
    """Nova's ``additionalProperties: false`` for ``obj`` found under ``field``."""
    extra = sorted(k for k in obj if k not in allowed)
    if extra:
        bad(field, obj, _unexpected(extra))


def check_unknown(body: dict, allowed: set[str]) -> None:
    """Nova's ``additionalProperties: false`` at the top of the body (the bare reason)."""
    extra = sorted(set(body) - allowed)
    if extra:
        raise BadRequest(_unexpected(extra))


def _unexpected(extra: list[str]) -> str:
    names = ", ".join(repr(k) for k in extra)
    return f"Additional properties are not allowed ({names} {'was' if len(extra) == 1 else 'were'} unexpected)"


def text(obj: dict[str, Any], key: str, *, required: bool = False, nullable: bool = False,
         max_length: int = 255, min_length: int = 1, strip: bool = False) -> str | None:
    """``obj[key]`` as a one-line string of ``min_length``..``max_length`` characters
    (leading/trailing blanks refused unless ``strip``, as Nova's name format)."""
    if key not in obj:
        if required:
            bad(key, obj, f"'{key}' is a required property")
        return None
    value = obj[key]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        bad(key, value, f"{value!r} is not of type 'string'")
    if strip:
        value = value.strip()
    if len(value) < min_length:
        bad(key, value, f"{value!r} is too short")
    if len(value) > max_length:
        bad(key, value, f"{value!r} is too long")
    if _CONTROL.search(value) or (not strip and value != value.strip()):
        bad(key, value, "The name may not hold control characters, nor begin or end with blanks.")
    return value


def boolean(obj: dict[str, Any], key: str) -> bool | None:
    """``obj[key]`` as Nova's boolean parameter, None when absent."""
    if key not in obj:
        return None
    return parse_bool(obj[key], key)


def parse_bool(value: Any, field: str, *, allow_empty: bool = False) -> bool:
    """Nova's boolean: true/false or their strings (``"True"``, ``"1"``, ``"yes"`` ...)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE or (allow_empty and low == ""):
            return False
    bad(field, value, f"{value!r} is not of type 'boolean'")


def check_type(value: Any, field: str, kind: type, *, max_len: int | None = None, min_len: int = 0) -> Any:
    """``value`` of JSON type ``kind`` (bool is not an integer), within the lengths."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        bad(field, value, f"{value!r} is not of type '{_TYPE_NAMES.get(kind, kind.__name__)}'")
    if isinstance(value, str | list | dict):
        if len(value) < min_len:
            bad(field, value, f"{value!r} is too short")
        if max_len is not None and len(value) > max_len:
            bad(field, value, f"{value!r} is too long")
    if isinstance(value, str) and "\x00" in value:
        bad(field, value, "NUL characters are not allowed.")
    return value


def parse_count(body: dict, field: str, default: int = 1) -> int:
    """``min_count``/``max_count``: a positive integer or its string."""
    if field not in body:
        return default
    value = body[field]
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        bad(field, body[field], f"{body[field]!r} is not of type 'integer'")
    if value < 1:
        bad(field, value, f"{value} is less than the minimum of 1")
    return value


def check_metadata(value: Any, field: str = "metadata") -> dict[str, str]:
    """Nova's metadata: keys 1..255 characters, values strings up to 255."""
    check_type(value, field, dict)
    for k, v in value.items():
        if not 1 <= len(k) <= MAX_METADATA_KEY:
            bad(field, value, f"Metadata key {k[:40]!r} must be 1 to {MAX_METADATA_KEY} characters long.")
        if "\x00" in k:
            bad(field, value, "NUL characters are not allowed.")
        check_type(v, field, str, max_len=MAX_METADATA_VALUE)
    return dict(value)


def check_tag(tag: Any, field: str = "tags") -> str:
    """Nova's server tag: 1..60 characters, no '/' or ','."""
    check_type(tag, field, str, max_len=MAX_TAG_LEN, min_len=1)
    if "/" in tag or "," in tag:
        bad(field, tag, f"{tag!r} must not contain '/' or ','.")
    return tag


def check_tags(tags: Any, field: str = "tags") -> list[str]:
    check_type(tags, field, list)
    if len(tags) > MAX_TAGS:
        bad(field, tags, f"{tags!r} is too long: at most {MAX_TAGS} tags.")
    return list(dict.fromkeys(check_tag(t, field) for t in tags))


def check_access_ip(value: Any, field: str) -> str | None:
    """``accessIPv4``/``accessIPv6``: an address of that family ("" or null clears it)."""
    if value is None or value == "":
        return None
    check_type(value, field, str, max_len=39)
    family = ipaddress.IPv4Address if field == "accessIPv4" else ipaddress.IPv6Address
    try:
        return str(family(value))
    except ValueError:
        bad(field, value, f"{value!r} is not a '{'ipv4' if field == 'accessIPv4' else 'ipv6'}'")
