"""Nova's extra-spec comparison: how a flavor's ``extra_specs`` value (``">= 4"``,
``"<in> avx"``, ``"<or> a <or> b"``, ``"s== x"``, or a plain string) is matched against a
host's capability or an aggregate's metadata value."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any


def _num(op: Callable[[float, float], bool]) -> Callable[[Any, Any], bool]:
    def compare(value: Any, wanted: Any) -> bool:
        try:
            return op(float(value), float(wanted))
        except (TypeError, ValueError):  # a word where a number was asked for: no match
            return False
    return compare


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": _num(operator.ge),  # Nova's "=" means "at least"
    "==": _num(operator.eq),
    "!=": _num(operator.ne),
    ">=": _num(operator.ge),
    "<=": _num(operator.le),
    "<in>": lambda value, word: word in value,
    "<all-in>": lambda value, words: all(w in value for w in words),
    "s==": operator.eq,
    "s!=": operator.ne,
    "s<": operator.lt,
    "s<=": operator.le,
    "s>": operator.gt,
    "s>=": operator.ge,
}


def match(value: Any, requirement: str) -> bool:
    """Whether ``value`` (a string) meets ``requirement`` as Nova's scheduler reads it."""
    words = str(requirement).split()
    op = words.pop(0) if words else None
    if op != "<or>" and op not in _OPS:
        return value == requirement
    if value is None:
        return False
    if op == "<or>":  # "<or> v1 <or> v2 ...": any of the words
        return value in words[0::2]
    if not words:
        return False
    return _OPS[op](value, words if op == "<all-in>" else words[0])
