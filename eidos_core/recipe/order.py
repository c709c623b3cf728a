"""Dependency checks and the deployment order of a merged recipe.

The order is the lexicographically smallest topological order: among the components whose
dependencies are all placed, the smallest name goes next. Deterministic for any input order.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from eidos_core.errors import RecipeBuildError
from eidos_core.recipe.model import ComponentRef


def _find_cycle(refs: Mapping[str, ComponentRef]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for dep in sorted(refs[name].dependency_refs):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(refs):
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return []


def deployment_order(refs: Mapping[str, ComponentRef]) -> list[str]:
    """Validate dependencies and return the deployment order, or raise RecipeBuildError."""
    for name in sorted(refs):
        for dep in refs[name].dependency_refs:
            if dep not in refs:
                message = f'component "{name}" references unknown dependency "{dep}"'
                raise RecipeBuildError(message, details={"component": name, "dependency": dep, "error": message})
    waiting = {name: set(ref.dependency_refs) for name, ref in refs.items()}
    dependents: dict[str, list[str]] = {name: [] for name in refs}
    for name, deps in waiting.items():
        for dep in deps:
            dependents[dep].append(name)
    ready = [name for name, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = heapq.heappop(ready)
        order.append(name)
        for child in dependents[name]:
            waiting[child].discard(name)
            if not waiting[child]:
                heapq.heappush(ready, child)
    if len(order) != len(refs):
        cycle = _find_cycle(refs)
        # details.error in the reference's words: the cycle as Go prints a slice, [a b a].
        raise RecipeBuildError(
            f"circular dependency detected: {' -> '.join(cycle)}",
            details={"cycle": cycle, "error": f"circular dependency detected: [{' '.join(cycle)}]"},
        )
    return order
