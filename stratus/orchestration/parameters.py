"""Template parameters as Heat's HOT has them: the five types with Heat's coercions,
``default``, ``hidden``, ``immutable``, ``label``/``description``, ``tags`` and the
constraints ``length``, ``range``, ``modulo`` (2017-02-24 on), ``allowed_values``,
``allowed_pattern`` and ``custom_constraint`` (checked against the DB by
:mod:`stratus.orchestration.constraints` when there is one).

Every error is a TemplateError at ``parameters.<name>`` saying what the value is, what
was expected, and the constraint's own ``description`` when the template gives one.

The pseudo parameters (``OS::stack_name``, ``OS::stack_id``, ``OS::project_id``, their
``AWS::*`` names) are defined by every template (:data:`PSEUDO`); a caller cannot give them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stratus.orchestration.errors import TemplateError
from stratus.orchestration.functions import PSEUDO_PARAMETERS

TYPES = ("string", "number", "json", "comma_delimited_list", "boolean")
PSEUDO = PSEUDO_PARAMETERS  # set by the stack (planner.pseudo_parameters), never given
TRUE = ("1", "t", "true", "on", "y", "yes")
FALSE = ("0", "f", "false", "off", "n", "no")
# keys of a parameter definition, by the first HOT version that has them
_KEYS = {"type": "", "label": "", "description": "", "default": "", "hidden": "", "constraints": "",
         "immutable": "", "tags": "2018-03-02"}
_CONSTRAINT_KEYS = {"length": "", "range": "", "allowed_values": "", "allowed_pattern": "",
                    "custom_constraint": "", "modulo": "2017-02-24"}
# which constraints apply to which parameter types
_APPLIES = {"length": ("string", "comma_delimited_list", "json"), "range": ("number",),
            "modulo": ("number",), "allowed_values": ("string", "number", "comma_delimited_list", "boolean"),
            "allowed_pattern": ("string", "comma_delimited_list"),
            "custom_constraint": TYPES}


@dataclass(frozen=True)
class Constraint:
    """One entry of a parameter's ``constraints``: ``kind`` (length, range, modulo,
    allowed_values, allowed_pattern, custom_constraint), its ``args`` and the template's
    ``description`` (used as the error message when given)."""

    kind: str
    args: Any
    description: str = ""

    def describe(self) -> str:
        """What the constraint asks for, in words."""
        a = self.args
        if self.kind in ("length", "range"):
            what = "length" if self.kind == "length" else "value"
            if a.get("min") is not None and a.get("max") is not None:
                return f"{what} must be between {a['min']} and {a['max']}"
            if a.get("min") is not None:
                return f"{what} must be at least {a['min']}"
            return f"{what} must be at most {a['max']}"
        if self.kind == "modulo":
            return f"value modulo {a['step']} must be {a['offset']}"
        if self.kind == "allowed_values":
            return "allowed values: " + ", ".join(map(repr, a))
        if self.kind == "allowed_pattern":
            return f"must match the pattern {a!r}"
        return f"must be a valid {a}"

    def to_heat(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.kind: self.args}
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class ParamSchema:
    """One parameter's definition (``parameters.<name>``)."""

    name: str
    type: str
    default: Any = None
    has_default: bool = False
    label: str = ""
    description: str = ""
    hidden: bool = False
    immutable: bool = False
    tags: tuple[str, ...] = ()
    constraints: tuple[Constraint, ...] = field(default_factory=tuple)

    @property
    def path(self) -> tuple[str, ...]:
        return ("parameters", self.name)

    @property
    def custom_constraints(self) -> list[str]:
        return [c.args for c in self.constraints if c.kind == "custom_constraint"]

    def coerce(self, value: Any) -> Any:
        """``value`` as the parameter's type (Heat's coercions: "5" is a number, "yes" a
        boolean, "a, b" a list, a JSON text a mapping); TemplateError otherwise."""
        return coerce(self.type, value, self.path, self.name)

    def check(self, value: Any) -> Any:
        """The coerced value after every constraint but the custom ones (they need the
        DB: :func:`stratus.orchestration.constraints.check`)."""
        value = self.coerce(value)
        for c in self.constraints:
            if c.kind != "custom_constraint":
                _check_constraint(c, self, value)
        return value

    def to_heat(self) -> dict[str, Any]:
        """The definition as Heat's ``validate`` answers it (``Type``, ``Default`` …)."""
        out: dict[str, Any] = {
            "Type": {"string": "String", "number": "Number", "json": "Json", "boolean": "Boolean",
                     "comma_delimited_list": "CommaDelimitedList"}[self.type],
            "Description": self.description, "Label": self.label or self.name,
            "NoEcho": "true" if self.hidden else "false",
        }
        if self.has_default:
            out["Default"] = self.default
        if self.immutable:
            out["Immutable"] = True
        for c in self.constraints:
            if c.kind == "allowed_values":
                out["AllowedValues"] = list(c.args)
            elif c.kind == "allowed_pattern":
                out["AllowedPattern"] = c.args
            elif c.kind in ("length", "range"):
                pre = "Length" if c.kind == "length" else "Value"
                if c.args.get("min") is not None:
                    out[f"Min{pre}"] = c.args["min"]
                if c.args.get("max") is not None:
                    out[f"Max{pre}"] = c.args["max"]
            if c.description:
                out["ConstraintDescription"] = c.description
        return out


def _since(version: str, first: str) -> bool:
    return not first or version >= first


def parse_schema(name: str, raw: Any, version: str) -> ParamSchema:
    """The definition ``parameters.<name>`` of a template of HOT ``version`` (a date)."""
    path = ("parameters", str(name))
    if not isinstance(raw, Mapping):
        raise TemplateError("a parameter must be a mapping with a 'type'", path)
    for key in raw:
        if key not in _KEYS:
            raise TemplateError(f"unknown key {key!r} in a parameter; allowed: {', '.join(_KEYS)}", path)
        if not _since(version, _KEYS[key]):
            raise TemplateError(f"{key!r} needs heat_template_version {_KEYS[key]} or later", (*path, key))
    ptype = raw.get("type")
    if ptype not in TYPES:
        raise TemplateError(f"the parameter needs a type: one of {', '.join(TYPES)} (got {ptype!r})",
                            (*path, "type"))
    for key in ("hidden", "immutable"):
        if key in raw and not isinstance(raw[key], bool):
            raise TemplateError(f"{key} must be true or false", (*path, key))
    tags = raw.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise TemplateError("tags must be a list of strings", (*path, "tags"))
    constraints = _parse_constraints(raw.get("constraints"), ptype, (*path, "constraints"), version)
    schema = ParamSchema(
        name=str(name), type=ptype, default=raw.get("default"), has_default="default" in raw,
        label=str(raw.get("label") or ""), description=str(raw.get("description") or ""),
        hidden=bool(raw.get("hidden", False)), immutable=bool(raw.get("immutable", False)),
        tags=tuple(tags), constraints=constraints,
    )
    if schema.has_default and schema.default is not None:
        schema.check(schema.default)  # a default that breaks its own constraints is an error
    return schema


def _parse_constraints(raw: Any, ptype: str, path: tuple[str, ...], version: str) -> tuple[Constraint, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TemplateError("constraints must be a list of mappings, e.g. [{length: {min: 6}}]", path)
    out = []
    for i, item in enumerate(raw):
        where = (*path, str(i))
        if not isinstance(item, Mapping):
            raise TemplateError("a constraint must be a mapping, e.g. {length: {min: 6}}", where)
        kinds = [k for k in item if k != "description"]
        if len(kinds) != 1 or kinds[0] not in _CONSTRAINT_KEYS:
            raise TemplateError(
                f"a constraint needs exactly one of {', '.join(_CONSTRAINT_KEYS)} (and an optional "
                f"description); got {', '.join(map(str, kinds)) or 'none'}", where)
        kind = kinds[0]
        if not _since(version, _CONSTRAINT_KEYS[kind]):
            raise TemplateError(f"the constraint {kind!r} needs heat_template_version "
                                f"{_CONSTRAINT_KEYS[kind]} or later", (*where, kind))
        if ptype not in _APPLIES[kind]:
            raise TemplateError(f"the constraint {kind!r} does not apply to a {ptype} parameter", (*where, kind))
        args = _constraint_args(kind, item[kind], (*where, kind))
        out.append(Constraint(kind, args, str(item.get("description") or "")))
    return tuple(out)


def _constraint_args(kind: str, args: Any, path: tuple[str, ...]) -> Any:
    def number(v: Any, key: str) -> Any:
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            raise TemplateError(f"{key} must be a number, not {v!r}", (*path, key))
        return coerce("number", v, (*path, key), key)  # "5" is 5, as Heat's get_num

    if kind in ("length", "range"):
        if not isinstance(args, Mapping) or not args or set(args) - {"min", "max"}:
            raise TemplateError(f"{kind} takes a mapping with min and/or max", path)
        out = {k: number(v, k) for k, v in args.items() if v is not None}
        if "min" in out and "max" in out and out["min"] > out["max"]:
            raise TemplateError(f"{kind}: min {out['min']} is greater than max {out['max']}", path)
        return out
    if kind == "modulo":
        if not isinstance(args, Mapping) or set(args) != {"step", "offset"}:
            raise TemplateError("modulo takes a mapping with step and offset", path)
        step, offset = number(args["step"], "step"), number(args["offset"], "offset")
        if step == 0:
            raise TemplateError("modulo: step must not be 0", (*path, "step"))
        if abs(offset) >= abs(step):
            raise TemplateError("modulo: offset must be smaller than step", (*path, "offset"))
        if offset and (step > 0) != (offset > 0):
            raise TemplateError("modulo: step and offset must be both positive or both negative", path)
        return {"step": step, "offset": offset}
    if kind == "allowed_values":
        if not isinstance(args, list) or not args:
            raise TemplateError("allowed_values takes a non-empty list", path)
        return tuple(args)
    if kind == "allowed_pattern":
        if not isinstance(args, str):
            raise TemplateError("allowed_pattern takes a regular expression (a string)", path)
        try:
            re.compile(args)
        except re.error as exc:
            raise TemplateError(f"allowed_pattern {args!r} is not a valid regular expression: {exc}",
                                path) from None
        return args
    if not isinstance(args, str):  # custom_constraint
        raise TemplateError("custom_constraint takes a constraint name such as nova.flavor", path)
    from stratus.orchestration import constraints as custom

    if args not in custom.CHECKS:
        raise TemplateError(f"unknown custom constraint {args!r}; known: {', '.join(sorted(custom.CHECKS))}",
                            path)
    return args


def coerce(ptype: str, value: Any, path: tuple[str, ...], name: str = "") -> Any:
    """``value`` as a parameter of type ``ptype`` (Heat's coercions)."""
    label = f"the parameter {name!r}" if name else "the value"

    def fail(expected: str) -> TemplateError:
        return TemplateError(f"{label} must be {expected}, not {value!r}", path)

    if ptype == "string":
        if isinstance(value, str):
            return value
        if isinstance(value, bool | int | float):
            return str(value).lower() if isinstance(value, bool) else str(value)
        raise fail("a string")
    if ptype == "number":
        if isinstance(value, bool):
            raise fail("a number")
        if isinstance(value, int | float):
            out = value
        elif isinstance(value, str):
            try:
                out = int(value)
            except ValueError:
                try:
                    out = float(value)
                except ValueError:
                    raise fail("a number") from None
        else:
            raise fail("a number")
        if isinstance(out, float) and not math.isfinite(out):
            raise fail("a finite number")
        return out
    if ptype == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower() if isinstance(value, str | int) else None
        if text in TRUE:
            return True
        if text in FALSE:
            return False
        raise fail("a boolean (true/false, yes/no, on/off, 1/0)")
    if ptype == "json":
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except ValueError:
                raise fail("a JSON mapping or list") from None
        if not isinstance(value, dict | list):
            raise fail("a JSON mapping or list")
        return value
    if ptype == "comma_delimited_list":
        if isinstance(value, list):
            return [str(v) if not isinstance(v, str) else v for v in value]
        if isinstance(value, str):
            return [v.strip() for v in value.split(",")] if value.strip() else []
        raise fail("a comma-delimited list")
    raise TemplateError(f"unknown parameter type {ptype!r}", path)


def _check_constraint(c: Constraint, schema: ParamSchema, value: Any) -> None:
    a = c.args
    ok = True
    if c.kind == "length":
        n = len(value)
        ok = (a.get("min") is None or n >= a["min"]) and (a.get("max") is None or n <= a["max"])
    elif c.kind == "range":
        ok = (a.get("min") is None or value >= a["min"]) and (a.get("max") is None or value <= a["max"])
    elif c.kind == "modulo":
        ok = value % a["step"] == a["offset"] % a["step"]
    elif c.kind == "allowed_values":
        allowed = [coerce(schema.type if schema.type != "comma_delimited_list" else "string", v, schema.path)
                   for v in a]
        items = value if schema.type == "comma_delimited_list" else [value]
        ok = all(v in allowed for v in items)
    elif c.kind == "allowed_pattern":
        items = value if schema.type == "comma_delimited_list" else [value]
        ok = all(re.fullmatch(a, v) is not None for v in items)
    if not ok:
        raise constraint_error(schema, c, value)


def constraint_error(schema: ParamSchema, c: Constraint, value: Any, detail: str = "") -> TemplateError:
    """The error of ``value`` breaking ``c``: the template's description when given."""
    shown = "******" if schema.hidden else repr(value)
    why = c.description or detail or c.describe()
    return TemplateError(f"the value {shown} of the parameter {schema.name!r} is not allowed: {why}",
                         schema.path)


def parse_section(raw: Any, version: str) -> dict[str, ParamSchema]:
    """The ``parameters`` section: name → schema."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TemplateError("parameters must be a mapping of names to definitions", ("parameters",))
    out = {}
    for name, pdef in raw.items():
        if str(name) in PSEUDO:
            raise TemplateError(f"{name} is a pseudo parameter the stack sets; choose another name",
                                ("parameters", str(name)))
        out[str(name)] = parse_schema(str(name), pdef, version)
    return out


def values(schemas: Mapping[str, ParamSchema], given: Mapping[str, Any] | None = None,
           defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every parameter's value: ``given`` (user and environment ``parameters``), else
    ``defaults`` (the environment's ``parameter_defaults``), else the template's default;
    coerced and checked (custom constraints apart). Unknown names are refused."""
    given = dict(given or {})
    defaults = dict(defaults or {})
    for name in given:
        if name in PSEUDO:
            raise TemplateError(f"{name} is a pseudo parameter the stack sets; it cannot be given",
                                ("parameters", name))
    unknown = sorted(n for n in given if n not in schemas)
    if unknown:
        raise TemplateError(f"unknown parameter(s) {', '.join(unknown)}: not defined in the template, "
                            f"which defines: {', '.join(schemas) or 'none'}", ("parameters",))
    out = {}
    for name, schema in schemas.items():
        if name in given:
            value = given[name]
        elif name in defaults:
            value = defaults[name]
        elif schema.has_default:
            value = schema.default
        else:
            raise TemplateError(f"the parameter {name!r} has no default; give a value (-P {name}=...)",
                                schema.path)
        if value is None and schema.type != "string":
            raise TemplateError(f"the parameter {name!r} has no value; give one", schema.path)
        out[name] = schema.check("" if value is None else value)
    return out


def check_update(schemas: Mapping[str, ParamSchema], old_values: Mapping[str, Any],
                 new_values: Mapping[str, Any]) -> None:
    """Refuse an update that changes an ``immutable`` parameter (Heat's
    ImmutableParameterModified), naming it."""
    changed = sorted(n for n, s in schemas.items()
                     if s.immutable and n in old_values and n in new_values and old_values[n] != new_values[n])
    if changed:
        raise TemplateError(f"the parameter(s) {', '.join(changed)} are immutable: an update cannot change "
                            "them; keep their values or create a new stack", ("parameters", changed[0]))


def parse_groups(raw: Any, schemas: Mapping[str, ParamSchema]) -> list[dict[str, Any]]:
    """``parameter_groups``: each a mapping with ``label``, ``description`` and
    ``parameters`` naming parameters of the template, each parameter in one group only."""
    path = ("parameter_groups",)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TemplateError("parameter_groups must be a list of groups", path)
    seen: dict[str, int] = {}
    out = []
    for i, group in enumerate(raw):
        where = (*path, str(i))
        if not isinstance(group, Mapping):
            raise TemplateError("a parameter group must be a mapping with label and parameters", where)
        bad = set(group) - {"label", "description", "parameters"}
        if bad:
            raise TemplateError(f"unknown key(s) {', '.join(sorted(map(str, bad)))} in a parameter group; "
                                "allowed: label, description, parameters", where)
        names = group.get("parameters")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise TemplateError("a parameter group needs 'parameters': a list of parameter names",
                                (*where, "parameters"))
        for name in names:
            if name not in schemas:
                raise TemplateError(f"the group names the parameter {name!r}, which the template does not "
                                    "define", (*where, "parameters"))
            if name in seen:
                raise TemplateError(f"the parameter {name!r} is in group {seen[name]} already; a parameter "
                                    "may be in one group only", (*where, "parameters"))
            seen[name] = i
        out.append({k: group[k] for k in ("label", "description", "parameters") if k in group})
    return out
