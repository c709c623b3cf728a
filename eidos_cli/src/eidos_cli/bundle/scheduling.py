"""Node scheduling: ``--{system,accelerated}-node-{selector,toleration}`` and where they go.

Selectors are ``key=value``; tolerations ``key=value:effect`` (operator Equal), ``key:effect``
(operator Exists) or ``:`` (every taint). Each registry component names the dotted values paths
that receive the system and the accelerated settings; the leaf there is replaced, never merged,
so the flags always win.

Defaults differ from the reference, which tolerates every taint in both groups: a pod that
tolerates everything also tolerates ``node.kubernetes.io/unreachable:NoExecute`` forever (never
evicted from a failed node) and lands on GPU nodes it should leave free. So without flags the
system group keeps each chart's own tolerations (nothing is written), and the accelerated group
tolerates the GPU taint ``nvidia.com/gpu`` (NoSchedule), the taint EKS, GKE and the GPU
Operator use for GPU nodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eidos_cli.nodeflags import parse_selectors, parse_tolerations
from eidos_core.recipe.model import NodeSchedulingPaths, RegistryComponent
from eidos_core.recipe.values import put_path

GPU_TAINT_TOLERATIONS: tuple[Mapping[str, str], ...] = (
    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
)


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """Where one group of workloads (system or accelerated) may run; ``None`` tolerations
    leave each chart's own in place."""

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, str], ...] | None = None


@dataclass(frozen=True, slots=True)
class Scheduling:
    system: NodeGroup = field(default_factory=NodeGroup)
    accelerated: NodeGroup = field(default_factory=lambda: NodeGroup(tolerations=GPU_TAINT_TOLERATIONS))


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
        system=NodeGroup(node_selector=sys_sel, tolerations=sys_tol or None),
        accelerated=NodeGroup(node_selector=acc_sel, tolerations=acc_tol or GPU_TAINT_TOLERATIONS),
    )


def _apply_group(values: dict[str, Any], paths: NodeSchedulingPaths, group: NodeGroup) -> None:
    if group.node_selector:
        for path in paths.node_selector_paths:
            put_path(values, path, dict(group.node_selector))
    if group.tolerations is not None:
        for path in paths.toleration_paths:
            put_path(values, path, [dict(t) for t in group.tolerations])


def apply_scheduling(values: dict[str, Any], component: RegistryComponent | None, scheduling: Scheduling) -> None:
    """Inject selectors and tolerations at the component's registry paths (none if unknown)."""
    if component is None:
        return
    _apply_group(values, component.system, scheduling.system)
    _apply_group(values, component.accelerated, scheduling.accelerated)
