"""``OS::Heat::RandomString`` and ``OS::Heat::TestResource``: values made by the stack.

- ``RandomString`` makes its string at plan time with :mod:`secrets` and keeps it in
  the resource's attributes (``value``). A caller that knows the previous value of an
  unchanged resource (a stack update, an offline re-compile from its state file) seeds
  ``res.attributes["value"]`` before planning resolves properties, and the value is
  kept; every property is ``update_allowed: false``, so changing one replaces the
  resource and makes a new string, as in Heat.
- ``TestResource`` (Heat's test knob) stores ``value`` as its ``output`` and really
  waits and fails in tasks on its host group (``controller``), so a stack runs its
  waits in parallel and its failures are task failures the engine sees.
"""

from __future__ import annotations

import math
import secrets
import string
from typing import Any

from stratus.orchestration.errors import TemplateError, UpdateReplace
from stratus.orchestration.properties import BOOLEAN, INTEGER, LIST, MAP, NUMBER, STRING, Schema
from stratus.orchestration.resources import PlannedResource, ResourceType, task

# Heat's character classes (``sequence`` and ``character_classes[].class``).
CLASSES = {
    "lettersdigits": string.ascii_letters + string.digits,
    "letters": string.ascii_letters,
    "lowercase": string.ascii_lowercase,
    "uppercase": string.ascii_uppercase,
    "digits": string.digits,
    "hexdigits": string.digits + "ABCDEF",
    "octdigits": string.octdigits,
}
MAX_LENGTH = 512


class RandomString(ResourceType):
    type_name = "OS::Heat::RandomString"
    description = ("A random string made once when the resource is created (attribute 'value'); "
                   "changing any property makes a new one.")
    properties_schema = {
        "length": Schema(INTEGER, "Length of the string (1-512).", default=32, min_value=1),
        "sequence": Schema(STRING, "Character class of the whole string (deprecated in Heat: use "
                                   "character_classes).", allowed_values=tuple(CLASSES)),
        "character_classes": Schema(LIST, "Classes the string draws from: [{class: NAME, min: N}] "
                                          "(min: at least N characters of the class; default 1)."),
        "character_sequences": Schema(LIST, "Literal character sets the string draws from: "
                                            "[{sequence: CHARS, min: N}]."),
        "salt": Schema(STRING, "Any value; changing it makes a new string."),
    }
    attributes_schema = {
        "value": "The random string.",
        "show": "All attributes.",
    }

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        pools = pools_of(res.properties, ("resources", res.name, "properties"))
        known = res.attributes.get("value")
        if isinstance(known, str) and known:
            return {"value": known}
        return {"value": generate(res.properties.get("length") or 32, pools,
                                  ("resources", res.name, "properties"))}

    @classmethod
    def plan_update(cls, res: PlannedResource, prop_diff: dict[str, Any]) -> list[dict[str, Any]]:
        if prop_diff:
            raise UpdateReplace(res.name, sorted(prop_diff))
        return []


def pools_of(props: dict[str, Any], path: tuple[str, ...]) -> list[tuple[str, int]]:
    """``(characters, minimum)`` per class and sequence the properties name (Heat's
    default: ``lettersdigits``, or ``sequence`` when given)."""
    pools: list[tuple[str, int]] = []
    for i, item in enumerate(props.get("character_classes") or []):
        where = (*path, "character_classes", str(i))
        if not isinstance(item, dict) or set(item) - {"class", "min"}:
            raise TemplateError("each character class is a mapping {class: NAME, min: N}", where)
        name = item.get("class", "lettersdigits")
        if name not in CLASSES:
            raise TemplateError(f"unknown character class {name!r}; known classes: {', '.join(CLASSES)}",
                                (*where, "class"))
        pools.append((CLASSES[name], _minimum(item, (*where, "min"))))
    for i, item in enumerate(props.get("character_sequences") or []):
        where = (*path, "character_sequences", str(i))
        if not isinstance(item, dict) or set(item) - {"sequence", "min"}:
            raise TemplateError("each character sequence is a mapping {sequence: CHARS, min: N}", where)
        chars = item.get("sequence")
        if not isinstance(chars, str) or not chars:
            raise TemplateError("the sequence is required and must be a non-empty string", (*where, "sequence"))
        pools.append(("".join(dict.fromkeys(chars)), _minimum(item, (*where, "min"))))
    if not pools:
        pools.append((CLASSES[props.get("sequence") or "lettersdigits"], 0))
    return pools


def _minimum(item: dict[str, Any], path: tuple[str, ...]) -> int:
    value = item.get("min", 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LENGTH:
        raise TemplateError(f"min must be an integer from 1 to {MAX_LENGTH}, not {value!r}", path)
    return value


def generate(length: int, pools: list[tuple[str, int]], path: tuple[str, ...] = ()) -> str:
    """A string of ``length`` characters with at least each pool's minimum from that
    pool, the rest from all pools together, shuffled (``secrets``: unpredictable)."""
    if length > MAX_LENGTH:
        raise TemplateError(f"length must be at most {MAX_LENGTH}", (*path, "length"))
    need = sum(m for _, m in pools)
    if need > length:
        raise TemplateError(f"the minimums of the character classes and sequences add up to {need}, "
                            f"more than length {length}; raise length or lower the minimums", path)
    chars = [secrets.choice(pool) for pool, m in pools for _ in range(m)]
    every = "".join(dict.fromkeys("".join(p for p, _ in pools)))
    chars += [secrets.choice(every) for _ in range(length - need)]
    for i in range(len(chars) - 1, 0, -1):  # Fisher-Yates with the secrets generator
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


ACTIONS = ("create", "update", "delete")
FOREVER = 10**9  # wait_secs < 0: wait until the stack times out or is cancelled


class TestResource(ResourceType):
    type_name = "OS::Heat::TestResource"
    description = ("Stores 'value' (attribute 'output'); for tests: waits, fails or asks for "
                   "replacement on demand. The waits and failures are tasks on its host group.")
    __test__ = False  # not a pytest test class
    properties_schema = {
        "value": Schema(STRING, "The string stored as the attribute 'output'.", default="test_string",
                        update_allowed=True),
        "update_replace": Schema(BOOLEAN, "An update that sets it to true replaces the resource.",
                                 default=False, update_allowed=True),
        "update_replace_value": Schema(STRING, "A value that cannot change in place: changing it "
                                               "replaces the resource."),
        "fail": Schema(BOOLEAN, "Make create and update fail (after the wait); delete still succeeds.",
                       default=False, update_allowed=True),
        "client_name": Schema(STRING, "Accepted for Heat's templates; nothing is polled.", default="",
                              update_allowed=True),
        "entity_name": Schema(STRING, "Accepted for Heat's templates; nothing is polled.", default="",
                              update_allowed=True),
        "wait_secs": Schema(NUMBER, "Seconds each action waits (-1: forever; fractions round up).",
                            default=0, update_allowed=True),
        "action_wait_secs": Schema(MAP, "Seconds per action, {create, update, delete}; an action "
                                        "not given waits wait_secs.", update_allowed=True),
        "attr_wait_secs": Schema(NUMBER, "Seconds the resource waits before its attributes are "
                                         "available (a wait after create and update).",
                                 default=0, update_allowed=True),
        "constraint_prop_secs": Schema(NUMBER, "Seconds a constraint check takes (a wait before "
                                               "create and update).", default=0, update_allowed=True),
    }
    attributes_schema = {
        "output": "The stored value.",
        "value": "The stored value (the same as output).",
        "show": "All attributes.",
    }

    @classmethod
    def plan_attributes(cls, res: PlannedResource) -> dict[str, Any]:
        _check_waits(res)
        value = res.properties.get("value")
        return {"output": value, "value": value}

    @classmethod
    def plan_create(cls, res: PlannedResource) -> list[dict[str, Any]]:
        return cls._action(res, "create")

    @classmethod
    def plan_update(cls, res: PlannedResource, prop_diff: dict[str, Any]) -> list[dict[str, Any]]:
        replace = [k for k in ("update_replace_value",) if k in prop_diff]
        if prop_diff.get("update_replace"):
            replace.append("update_replace")
        if replace:
            raise UpdateReplace(res.name, replace)
        return cls._action(res, "update")

    @classmethod
    def plan_delete(cls, res: PlannedResource) -> list[dict[str, Any]]:
        return cls._action(res, "delete")

    @classmethod
    def _action(cls, res: PlannedResource, action: str) -> list[dict[str, Any]]:
        props = res.properties
        tasks: list[dict[str, Any]] = []
        if action != "delete":
            tasks += _wait(res, props.get("constraint_prop_secs"), "constraint check")
        secs = (props.get("action_wait_secs") or {}).get(action)
        tasks += _wait(res, props.get("wait_secs") if secs is None else secs, f"wait {action}")
        if action != "delete" and props.get("fail"):
            tasks.append(task(res, "ansible.builtin.fail", {"msg": f"Test Resource failed {res.name}"},
                              f"fail {action}"))
        elif action != "delete":
            tasks += _wait(res, props.get("attr_wait_secs"), "wait attributes")
        return tasks


def _check_waits(res: PlannedResource) -> None:
    path = ("resources", res.name, "properties", "action_wait_secs")
    waits = res.properties.get("action_wait_secs") or {}
    if not isinstance(waits, dict):
        return  # a runtime value: checked by Ansible
    for key, value in waits.items():
        if key not in ACTIONS:
            raise TemplateError(f"unknown action {key!r}; known actions: {', '.join(ACTIONS)}", (*path, key))
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TemplateError(f"the wait must be a number of seconds, not {value!r}", (*path, key))


def _wait(res: PlannedResource, secs: Any, step: str) -> list[dict[str, Any]]:
    """A task that waits ``secs`` seconds on the resource's hosts (none for 0)."""
    if not isinstance(secs, (int, float)) or isinstance(secs, bool) or secs == 0:
        return []
    timeout = FOREVER if secs < 0 else math.ceil(secs)
    return [task(res, "ansible.builtin.wait_for", {"timeout": timeout}, step)]


def resource_mapping():
    return {c.type_name: c for c in (RandomString, TestResource)}
