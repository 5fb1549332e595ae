"""Dependency order of resources: a stable topological sort with cycle reporting."""

from __future__ import annotations

from stratus.orchestration.errors import DependencyCycle


def topological_order(deps: dict[str, set[str]]) -> list[str]:
    """Names so that each comes after all it depends on; ties keep the given order."""
    order: list[str] = []
    done: set[str] = set()
    index = {n: i for i, n in enumerate(deps)}  # once: rebuilding it per name was quadratic
    for name in deps:
        _visit(name, deps, done, [], order, index)
    return order


def _visit(name: str, deps: dict[str, set[str]], done: set[str], stack: list[str], order: list[str],
           index: dict[str, int]) -> None:
    if name in done:
        return
    if name in stack:
        raise DependencyCycle([*stack[stack.index(name):], name])
    stack.append(name)
    for dep in sorted(deps.get(name, ()), key=lambda d: (index.get(d, len(index)), d)):
        _visit(dep, deps, done, stack, order, index)
    stack.pop()
    done.add(name)
    order.append(name)


def levels(deps: dict[str, set[str]]) -> list[list[str]]:
    """Groups of names that can be made together: each level only needs earlier ones."""
    level: dict[str, int] = {}
    for name in topological_order(deps):
        level[name] = 1 + max((level[d] for d in deps[name]), default=-1)
    out: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for name in deps:
        out[level[name]].append(name)
    return out
