"""Node scheduling: ``--{system,accelerated}-node-{selector,toleration}`` and where they go.

Selectors are ``key=value``; tolerations ``key=value:effect`` (operator Equal) or
``key:effect`` (operator Exists). Without toleration flags a group tolerates every taint
(``[{operator: Exists}]``), as the reference does, so GPU components still land on tainted
GPU nodes. Each registry component names the dotted values paths that receive the system and
the accelerated settings; the leaf there is replaced, never merged, so the flags always win.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eidos_core.errors import InvalidRequestError
from eidos_core.recipe.model import NodeSchedulingPaths, RegistryComponent

TOLERATE_ALL: tuple[Mapping[str, str], ...] = ({"operator": "Exists"},)
EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """Where one group of workloads (system or accelerated) may run."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, str], ...] = TOLERATE_ALL


@dataclass(frozen=True, slots=True)
class Scheduling:
    system: NodeGroup = field(default_factory=NodeGroup)
    accelerated: NodeGroup = field(default_factory=NodeGroup)


def parse_selectors(entries: Iterable[str], *, flag: str) -> dict[str, str]:
    """``key=value`` pairs; a repeated key keeps its last value. Values stay strings."""
    out: dict[str, str] = {}
    for entry in entries:
        key, equals, value = entry.partition("=")
        if not equals:
            raise InvalidRequestError(f"invalid {flag}: invalid format {entry!r}, expected key=value")
        if not key.strip():
            raise InvalidRequestError(f"invalid {flag}: {entry!r} has an empty key")
        out[key.strip()] = value.strip()
    return out


def parse_toleration(entry: str, *, flag: str) -> dict[str, str]:
    parts = entry.split(":")
    if len(parts) != 2:
        raise InvalidRequestError(f"invalid {flag}: invalid format {entry!r}, expected key=value:effect or key:effect")
    head, effect = parts[0].strip(), parts[1].strip()
    if effect and effect not in EFFECTS:
        raise InvalidRequestError(
            f"invalid {flag}: {entry!r}: unknown effect {effect!r} (allowed: {', '.join(EFFECTS)})"
        )
    key, equals, value = head.partition("=")
    key, value = key.strip(), value.strip()
    toleration = {"key": key, "operator": "Equal" if equals and value else "Exists", "value": value, "effect": effect}
    # Empty fields are left out, as Kubernetes' own defaulting would leave them.
    return {k: v for k, v in toleration.items() if v}


def parse_tolerations(entries: Iterable[str], *, flag: str) -> tuple[Mapping[str, str], ...]:
    parsed = tuple(parse_toleration(entry, flag=flag) for entry in entries)
    return parsed or TOLERATE_ALL


def scheduling_from_flags(
    *,
    system_selectors: Iterable[str] = (),
    system_tolerations: Iterable[str] = (),
    accelerated_selectors: Iterable[str] = (),
    accelerated_tolerations: Iterable[str] = (),
) -> Scheduling:
    """Parse the four flags in the reference's order (selectors first), so the first bad one is reported."""
    sys_sel = parse_selectors(system_selectors, flag="--system-node-selector")
    acc_sel = parse_selectors(accelerated_selectors, flag="--accelerated-node-selector")
    sys_tol = parse_tolerations(system_tolerations, flag="--system-node-toleration")
    acc_tol = parse_tolerations(accelerated_tolerations, flag="--accelerated-node-toleration")
    return Scheduling(
        system=NodeGroup(node_selector=sys_sel, tolerations=sys_tol),
        accelerated=NodeGroup(node_selector=acc_sel, tolerations=acc_tol),
    )


def _put(values: dict[str, Any], path: str, value: Any) -> None:
    """Set ``path``, replacing anything on the way that is not a mapping (unlike ``--set``)."""
    segments = [s for s in path.split(".") if s]
    if not segments:
        return
    node = values
    for segment in segments[:-1]:
        child = node.get(segment)
        if not isinstance(child, dict):
            child = node[segment] = {}
        node = child
    node[segments[-1]] = value


def _apply_group(values: dict[str, Any], paths: NodeSchedulingPaths, group: NodeGroup) -> None:
    if group.node_selector:
        for path in paths.node_selector_paths:
            _put(values, path, dict(group.node_selector))
    for path in paths.toleration_paths:
        _put(values, path, [dict(t) for t in group.tolerations])


def apply_scheduling(values: dict[str, Any], component: RegistryComponent | None, scheduling: Scheduling) -> None:
    """Inject selectors and tolerations at the component's registry paths (none if unknown)."""
    if component is None:
        return
    _apply_group(values, component.system, scheduling.system)
    _apply_group(values, component.accelerated, scheduling.accelerated)
