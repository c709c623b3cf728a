"""Namespaced objects in a namespace nothing has created when they are applied."""

from __future__ import annotations

from eidos_cli.bundle.check.objects import CLUSTER_SCOPED, PREEXISTING_NAMESPACES, Rendered, crds_by_kind
from eidos_cli.bundle.check.report import NAMESPACE, Finding


def missing_namespaces(objects: list[Rendered], steps: list[tuple[str, str]]) -> list[Finding]:
    """An object's namespace must exist by its step: a cluster's own, a step's namespace (Helm's
    ``--create-namespace``, from that step on) or a Namespace object of an earlier or the same step.

    ``steps[i]`` is step i's (component, namespace) (enabled steps only, in install order).
    """
    created: dict[str, int] = {}
    for i, (_, ns) in enumerate(steps):
        created.setdefault(ns, i)
    for item in objects:
        if (item.group, item.kind) == ("", "Namespace") and item.name:
            created[item.name] = min(created.get(item.name, item.step), item.step)
    crds = crds_by_kind(objects)
    findings = []
    for item in objects:
        explicit = item.explicit_namespace
        if explicit is None or explicit in PREEXISTING_NAMESPACES:
            continue  # without one it lands in its step's namespace, which Helm creates
        if (item.group, item.kind) in CLUSTER_SCOPED:
            continue
        crd = crds.get((item.group, item.kind))
        if crd is not None and crd.scope == "Cluster":
            continue
        ns = explicit
        first = created.get(ns)
        if first is None:
            message = f"namespace {ns!r} is created by no step"
        elif first > item.step:
            message = f"namespace {ns!r} is created only later, by {steps[first][0]!r}"
        else:
            continue
        findings.append(Finding(item.component, item.source, f"{item.label()}", NAMESPACE, message))
    return findings
