"""Glance's JSON schemas: what ``GET /v2/schemas/image(s)`` and ``/schemas/member(s)``
answer, and the same documents that requests are validated against (one truth for the
wire and the checks).

The image schema is permissive as Glance's: any extra property is allowed, and must be a
string. ``disk_format``/``container_format`` list the formats of the settings.
"""

from __future__ import annotations

from typing import Any

import jsonschema

from stratus.errors import BadRequest

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")
IMAGE_STATUSES = ["queued", "saving", "active", "killed", "deleted", "uploading", "importing",
                  "pending_delete", "deactivated"]


def _ro(kind: Any, description: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "readOnly": True, "description": description, **more}


def image_properties(settings) -> dict[str, Any]:
    """The base attributes of an image (Glance's ``get_base_properties``)."""
    return {
        "id": {"type": "string", "description": "An identifier for the image",
               "pattern": UUID_PATTERN},
        "name": {"type": ["null", "string"], "description": "Descriptive name for the image",
                 "maxLength": 255},
        "status": _ro("string", "Status of the image", enum=IMAGE_STATUSES),
        "visibility": {"type": "string", "description": "Scope of image accessibility",
                       "enum": ["community", "public", "private", "shared"]},
        "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
        "os_hidden": {"type": "boolean",
                      "description": "If true, image will not appear in default image list response."},
        "checksum": _ro(["null", "string"], "md5 hash of image contents.", maxLength=32),
        "os_hash_algo": _ro(["null", "string"], "Algorithm to calculate the os_hash_value",
                            maxLength=64),
        "os_hash_value": _ro(["null", "string"], "Hexdigest of the image contents using the "
                             "algorithm specified by the os_hash_algo", maxLength=128),
        "owner": {"type": ["null", "string"], "description": "Owner of the image", "maxLength": 255},
        "size": _ro(["null", "integer"], "Size of image file in bytes"),
        "virtual_size": _ro(["null", "integer"], "Virtual size of image in bytes"),
        "container_format": {"type": ["null", "string"], "description": "Format of the container",
                             "enum": [None, *settings.image_container_formats]},
        "disk_format": {"type": ["null", "string"], "description": "Format of the disk",
                        "enum": [None, *settings.image_disk_formats]},
        "created_at": _ro("string", "Date and time of image registration"),
        "updated_at": _ro("string", "Date and time of the last image modification"),
        "tags": {"type": "array", "description": "List of strings related to the image",
                 "items": {"type": "string", "maxLength": 255}},
        "direct_url": _ro("string", "URL to access the image file kept in external store"),
        "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
        "min_disk": {"type": "integer",
                     "description": "Amount of disk space (in GB) required to boot image."},
        "self": _ro("string", "An image self url"),
        "file": _ro("string", "An image file url"),
        "stores": _ro("string", "Store in which image data resides.  Only present when the "
                      "operator has enabled multiple stores.  May be a comma-separated list of "
                      "store identifiers."),
        "schema": _ro("string", "An image schema url"),
        "locations": {"type": "array", "description": "A set of URLs to access the image file "
                      "kept in external store (not shown: create and patch refuse it)",
                      "items": {"type": "object", "properties": {
                          "url": {"type": "string", "maxLength": 255},
                          "metadata": {"type": "object"}}, "required": ["url", "metadata"]}},
    }


def image(settings) -> dict[str, Any]:
    return {
        "name": "image",
        "properties": image_properties(settings),
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


MEMBER_PROPERTIES: dict[str, Any] = {
    "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
    "image_id": {"type": "string", "description": "An identifier for the image",
                 "pattern": UUID_PATTERN},
    "created_at": {"type": "string", "description": "Date and time of image member creation"},
    "updated_at": {"type": "string",
                   "description": "Date and time of last modification of image member"},
    "status": {"type": "string", "description": "The status of this image member",
               "enum": ["pending", "accepted", "rejected"]},
    "schema": {"readOnly": True, "type": "string"},
}


def member() -> dict[str, Any]:
    return {"name": "member", "properties": MEMBER_PROPERTIES, "additionalProperties": False}


def collection(name: str, item: dict[str, Any]) -> dict[str, Any]:
    """Glance's CollectionSchema: the items plus ``first``/``next``/``schema`` links."""
    return {
        "name": name,
        "properties": {
            name: {"type": "array", "items": item},
            "first": {"type": "string"},
            "next": {"type": "string"},
            "schema": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def validate(document: dict[str, Any], schema: dict[str, Any]) -> None:
    """400 in Glance's words when ``document`` does not match ``schema``, naming the
    attribute at fault."""
    try:
        jsonschema.validate(document, schema)
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path)
        at = f" (attribute '{where}')" if where else ""
        raise BadRequest(f"Provided object does not match schema '{schema['name']}': "
                         f"{e.message}{at}") from None
