"""List and map functions: ``repeat``, ``map_merge``, ``map_replace``, ``list_concat``
(+ ``_unique``), ``contains``, ``filter``.

They work on plan-time lists and maps; items only known at run time (``Expr``) may pass
through them as items, but a whole list or map only known at run time is refused."""

from __future__ import annotations

import itertools
from typing import Any

from stratus.orchestration.functions import Expr, Function, ResolveContext, resolve


# --------------------------------------------------------------------- repeat
class Repeat(Function):
    """Repeats a template once for each item of the for_each lists (all combinations)."""

    name = "repeat"
    maps = False  # for_each values may be maps (their keys): HOT 2016-10-14 and later
    permutations = False  # the 'permutations' option: HOT 2017-09-01 and later
    EXAMPLE = "{template: <anything>, for_each: {'%var%': [a, b, c]}}"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, dict) or "template" not in args or "for_each" not in args:
            raise self.usage(self.EXAMPLE)
        allowed = {"template", "for_each"} | ({"permutations"} if self.permutations else set())
        bad = set(args) - allowed
        if bad:
            hint = (" ('permutations' needs heat_template_version 2017-09-01 or later)"
                    if "permutations" in bad else "")
            raise self.error(f"unknown key(s) {', '.join(sorted(map(str, bad)))} in {self.name}; "
                             f"allowed: {', '.join(sorted(allowed))}{hint}")
        self.nested = args.get("permutations", True)
        if not isinstance(self.nested, bool):
            raise self.error(f"'permutations' of {self.name} must be true or false, not {self.nested!r}")
        if not isinstance(args["for_each"], dict | Function):
            raise self.error(f"the 'for_each' of {self.name} must be a map of placeholder: list")

    def result(self, ctx: ResolveContext) -> Any:
        for_each = self.plan_time(resolve(self.args["for_each"], ctx), "the 'for_each' lists")
        if not isinstance(for_each, dict) or not for_each:
            raise self.error(f"the 'for_each' of {self.name} must be a non-empty map of placeholder: list")
        keys = [str(k) for k in for_each]
        values = [self.items(k, v) for k, v in for_each.items()]
        if not self.nested and len({len(v) for v in values}) > 1:
            raise self.error(f"with 'permutations: false' every for_each list of {self.name} "
                             "must have the same length")
        template = resolve(self.args["template"], ctx)
        combos = itertools.product(*values) if self.nested else zip(*values, strict=True)
        return [self.substitute(template, keys, [self.text(v) for v in combo]) for combo in combos]

    def items(self, key: Any, value: Any) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, dict) and self.maps and self.nested:
            return list(value)
        if isinstance(value, list):
            return value
        kinds = "lists or maps" if self.maps and self.nested else "lists"
        raise self.error(f"the for_each values of {self.name} must be {kinds}; {key!r} is {value!r}")

    def text(self, value: Any) -> str:
        if isinstance(value, str | int | float | bool):
            return str(value)
        raise self.error(f"{self.name} substitutes strings or numbers, not {value!r}")

    def substitute(self, template: Any, keys: list[str], values: list[str]) -> Any:
        if isinstance(template, Expr):
            used = [k for k in keys if k in template.inner]
            if used:
                raise self.error(f"{self.name} cannot substitute {used[0]!r} inside a value only "
                                 "known when the playbook runs")
            return template
        if isinstance(template, str):
            for key, value in zip(keys, values, strict=True):
                template = template.replace(key, value)
            return template
        if isinstance(template, list):
            return [self.substitute(t, keys, values) for t in template]
        if isinstance(template, dict):
            return {self.substitute(k, keys, values): self.substitute(v, keys, values)
                    for k, v in template.items()}
        return template


class RepeatWithMaps(Repeat):
    """Repeats a template once for each item of the for_each lists or keys of maps."""

    maps = True


class RepeatWithPermutations(RepeatWithMaps):
    """Repeats a template for each item of the for_each lists (all combinations, or
    pairwise with permutations: false)."""

    permutations = True


# --------------------------------------------------------------------- maps
class MapMerge(Function):
    """Merges maps; later maps' keys win."""

    name = "map_merge"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list | Function):
            raise self.usage("a list of maps: [{k1: v1}, {k2: v2}]")

    def result(self, ctx: ResolveContext) -> Any:
        maps = resolve(self.args, ctx)
        if not isinstance(maps, list):
            raise self.usage("a list of maps: [{k1: v1}, {k2: v2}]")
        out: dict[Any, Any] = {}
        for m in maps:
            if isinstance(m, Expr):
                self.plan_time(m, "a map to merge")
            if m is None:
                continue
            if not isinstance(m, dict):
                raise self.error(f"{self.name} merges maps; {m!r} is not a map")
            out.update(m)
        return out


class MapReplace(Function):
    """Replaces keys and values of a map with the given mappings."""

    name = "map_replace"
    EXAMPLE = "[{k1: v1}, {keys: {k1: K1}, values: {v1: V1}}]"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list) or len(args) != 2:
            raise self.usage(self.EXAMPLE)
        if isinstance(args[1], dict) and set(args[1]) - {"keys", "values"}:
            raise self.usage(self.EXAMPLE + " (the second map has only 'keys' and 'values')")

    def result(self, ctx: ResolveContext) -> Any:
        in_map, repl = (resolve(a, ctx) for a in self.args)
        if isinstance(in_map, Expr):
            self.plan_time(in_map, "the map")
        if not isinstance(in_map, dict):
            raise self.usage(self.EXAMPLE + f" ({in_map!r} is not a map)")
        repl = self.plan_time(repl, "the replacements")
        if not isinstance(repl, dict) or set(repl) - {"keys", "values"}:
            raise self.usage(self.EXAMPLE)
        keys, values = repl.get("keys") or {}, repl.get("values") or {}
        if not isinstance(keys, dict) or not isinstance(values, dict):
            raise self.usage(self.EXAMPLE + " ('keys' and 'values' are maps)")
        out: dict[Any, Any] = {}
        for k, v in in_map.items():
            key = keys.get(k, k)
            if key != k and key in in_map:
                raise self.error(f"the key replacement {key!r} collides with a key of the input map")
            if key in out:
                raise self.error(f"the key replacement {key!r} collides with a key of the output map")
            try:
                out[key] = v if isinstance(v, Expr) else values.get(v, v)
            except TypeError:  # unhashable values are never replaced
                out[key] = v
        return out


# --------------------------------------------------------------------- lists
class ListConcat(Function):
    """Concatenates lists."""

    name = "list_concat"
    unique = False

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list | Function):
            raise self.usage("a list of lists: [[a, b], [c]]")

    def result(self, ctx: ResolveContext) -> Any:
        lists = resolve(self.args, ctx)
        if not isinstance(lists, list):
            raise self.usage("a list of lists: [[a, b], [c]]")
        out: list[Any] = []
        for x in lists:
            if isinstance(x, Expr):
                self.plan_time(x, "a list to concatenate")
            if x is None:
                continue
            if not isinstance(x, list):
                raise self.error(f"{self.name} concatenates lists; {x!r} is not a list")
            for item in x:
                if not self.unique or not any(_same(item, seen) for seen in out):
                    out.append(item)
        return out


class ListConcatUnique(ListConcat):
    """Concatenates lists, keeping the first of equal items."""

    name = "list_concat_unique"
    unique = True


def _same(a: Any, b: Any) -> bool:
    """Equal, and not a run-time expression equal to user text that looks like one."""
    return a == b and isinstance(a, Expr) == isinstance(b, Expr)


class Contains(Function):
    """Whether a value is in a list (or a substring of a string)."""

    name = "contains"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list) or len(args) != 2:
            raise self.usage("[value, [item, ...]]")

    def result(self, ctx: ResolveContext) -> Any:
        value = self.plan_time(resolve(self.args[0], ctx), "the value")
        seq = self.plan_time(resolve(self.args[1], ctx), "the list")
        if not isinstance(seq, list | str):
            raise self.error(f"the second argument of {self.name} must be a list, not {seq!r}")
        return value in seq


class Filter(Function):
    """Returns the list without the given values."""

    name = "filter"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list) or len(args) != 2:
            raise self.usage("[values_to_remove, list]")

    def result(self, ctx: ResolveContext) -> Any:
        seq = self.plan_time(resolve(self.args[1], ctx), "the list")
        if not seq:
            return seq
        if not isinstance(seq, list):
            raise self.error(f"{self.name} works on lists, not {seq!r}")
        values = self.plan_time(resolve(self.args[0], ctx), "the values to remove")
        if not values:
            return seq
        if not isinstance(values, list):
            raise self.error(f"the values {self.name} removes must be a list, not {values!r}")
        return [i for i in seq if i not in values]
