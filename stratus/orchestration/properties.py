"""Heat-like property schemas: type, required, default, constraints (allowed values,
range ``min_value``/``max_value``, length ``min_length``/``max_length`` of a string,
list or map, ``allowed_pattern`` of a string), help text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stratus.orchestration.errors import TemplateError
from stratus.orchestration.functions import Function

STRING, INTEGER, NUMBER, BOOLEAN, MAP, LIST, ANY = (
    "string", "integer", "number", "boolean", "map", "list", "any",
)
_PY = {
    STRING: (str,),
    INTEGER: (int,),
    NUMBER: (int, float),
    BOOLEAN: (bool,),
    MAP: (dict,),
    LIST: (list,),
}


@dataclass(frozen=True)
class Schema:
    type: str
    description: str = ""
    required: bool = False
    default: Any = None
    allowed_values: tuple[Any, ...] = ()
    min_value: int | float | None = None
    update_allowed: bool = False
    max_value: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    allowed_pattern: str | None = None

    def check(self, name: str, value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, Function) or self.type == ANY:
            return  # resolved later; checked again at compile time
        types = _PY[self.type]
        if isinstance(value, bool) and self.type in (INTEGER, NUMBER) or not isinstance(value, types):
            raise TemplateError(
                f"the property {name!r} must be a {self.type}, not {type(value).__name__} ({value!r})",
                path,
            )
        if self.allowed_values and value not in self.allowed_values:
            raise TemplateError(
                f"the property {name!r} is {value!r}; allowed values: "
                + ", ".join(map(repr, self.allowed_values)),
                path,
            )
        if self.min_value is not None and value < self.min_value:
            raise TemplateError(f"the property {name!r} must be >= {self.min_value}", path)
        if self.max_value is not None and value > self.max_value:
            raise TemplateError(f"the property {name!r} must be <= {self.max_value}", path)
        if self.min_length is not None and len(value) < self.min_length:
            raise TemplateError(f"the property {name!r} must have a length of at least {self.min_length}",
                                path)
        if self.max_length is not None and len(value) > self.max_length:
            raise TemplateError(f"the property {name!r} must have a length of at most {self.max_length}",
                                path)
        if self.allowed_pattern is not None and re.fullmatch(self.allowed_pattern, value) is None:
            raise TemplateError(f"the property {name!r} ({value!r}) must match {self.allowed_pattern!r}", path)


@dataclass
class Properties:
    """Validated properties of one resource (values may still hold functions)."""

    schema: dict[str, Schema]
    data: dict[str, Any] = field(default_factory=dict)
    open: bool = False  # OS::Heat::None-like types accept anything

    def validate(self, path: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(self.data, dict):
            raise TemplateError("properties must be a mapping", path)
        out: dict[str, Any] = {}
        for key in self.data:
            if key not in self.schema and not self.open:
                raise TemplateError(
                    f"unknown property {key!r}; known properties: {', '.join(sorted(self.schema))}",
                    (*path, key),
                )
        for key, sch in self.schema.items():
            if key in self.data and self.data[key] is not None:
                sch.check(key, self.data[key], (*path, key))
                out[key] = self.data[key]
            elif sch.required:
                raise TemplateError(f"the property {key!r} is required", path)
            elif sch.default is not None:
                out[key] = sch.default
        if self.open:
            out.update({k: v for k, v in self.data.items() if k not in self.schema})
        return out
